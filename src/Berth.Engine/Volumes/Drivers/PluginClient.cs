using System.Net.Http.Headers;
using System.Net.Sockets;
using System.Text.Json;
using System.Text.Json.Serialization.Metadata;
using Berth.Core;
using Berth.Interop;

namespace Berth.Engine.Volumes.Drivers;

/// <summary>How long Berth waits for a plugin: dockerd's values (volume/drivers/proxy.go: Create and Mount 2 min,
/// the other calls 1 min; pkg/plugins/client.go: connection failures retried with backoff 1, 2, 4 ... s for 30 s).</summary>
public sealed record PluginTimeouts(TimeSpan Short, TimeSpan Long, TimeSpan RetryBudget)
{
    public static PluginTimeouts Docker { get; } = new(TimeSpan.FromMinutes(1), TimeSpan.FromMinutes(2), TimeSpan.FromSeconds(30));
}

/// <summary>
/// Docker's plugin RPC (pkg/plugins/client.go): HTTP/1.1 POST /Method with a JSON body and
/// `Accept: application/vnd.docker.plugins.v1.2+json`, over a unix socket or TCP. A plugin that cannot be reached
/// (connection refused, socket absent) is retried with dockerd's backoff until the retry budget is spent; a call that
/// reached the plugin is never repeated (a timed-out Create could have happened). A non-200 answer is an error
/// "Method: Err" (the body's {"Err"} or, failing that, the body itself), as dockerd words it.
/// </summary>
public sealed class PluginClient : IDisposable
{
    public const string MediaType = "application/vnd.docker.plugins.v1.2+json";

    private readonly HttpClient _http;
    private readonly Uri _base;
    private readonly string _name;

    public PluginClient(string name, Uri address, PluginTimeouts timeouts)
    {
        _name = name;
        Timeouts = timeouts;
        var handler = new SocketsHttpHandler { UseProxy = false, PooledConnectionIdleTimeout = TimeSpan.FromSeconds(30) };
        if (address.Scheme == "unix")
        {
            var socketPath = Uri.UnescapeDataString(address.AbsolutePath);
            handler.ConnectCallback = async (_, ct) => new NetworkStream(await UnixSocket.ConnectAsync(socketPath, ct), ownsSocket: true);
            _base = new Uri("http://plugin/"); // dockerd's Host for unix sockets is a placeholder too
        }
        else
        {
            _base = new UriBuilder("http", address.Host, address.Port, address.AbsolutePath.TrimEnd('/') + "/").Uri;
        }
        _http = new HttpClient(handler) { Timeout = Timeout.InfiniteTimeSpan };
    }

    public PluginTimeouts Timeouts { get; }

    /// <summary>POSTs <paramref name="request"/> to /<paramref name="method"/> and reads the 200 answer; throws as described
    /// in the class summary. Synchronous for the store's synchronous driver calls.</summary>
    public TResponse Call<TRequest, TResponse>(string method, TRequest? request, JsonTypeInfo<TRequest> requestType,
        JsonTypeInfo<TResponse> responseType, TimeSpan timeout) where TResponse : class, new()
    {
        byte[] body = request is null ? [] : JsonSerializer.SerializeToUtf8Bytes(request, requestType);
        var bytes = Send(method, body, timeout).GetAwaiter().GetResult();
        if (bytes.Length == 0) return new TResponse();
        try { return JsonSerializer.Deserialize(bytes, responseType) ?? new TResponse(); }
        catch (JsonException e)
        {
            throw new BerthException(ErrorKind.System, $"{method}: invalid answer from plugin {_name}: {e.Message}");
        }
    }

    private async Task<byte[]> Send(string method, byte[] body, TimeSpan timeout)
    {
        var start = DateTime.UtcNow;
        for (int retries = 0; ; retries++)
        {
            using var cts = new CancellationTokenSource(timeout);
            using var req = new HttpRequestMessage(HttpMethod.Post, new Uri(_base, method)) { Content = new ByteArrayContent(body) };
            req.Headers.Accept.Add(new MediaTypeWithQualityHeaderValue(MediaType));
            req.Content.Headers.ContentType = new MediaTypeHeaderValue(MediaType);
            HttpResponseMessage resp;
            try
            {
                resp = await _http.SendAsync(req, cts.Token).ConfigureAwait(false);
            }
            catch (Exception e) when (IsUnreachable(e))
            {
                var wait = Backoff(retries);
                if (DateTime.UtcNow - start + wait >= Timeouts.RetryBudget)
                    throw new BerthException(ErrorKind.Unavailable, $"{method}: plugin {_name} is not reachable: {Reason(e)}");
                await Task.Delay(wait).ConfigureAwait(false);
                continue;
            }
            catch (OperationCanceledException)
            {
                throw new BerthException(ErrorKind.Unavailable, $"{method}: plugin {_name} did not answer within {timeout.TotalSeconds:0.#}s");
            }
            catch (HttpRequestException e)
            {
                throw new BerthException(ErrorKind.System, $"{method}: plugin {_name}: {Reason(e)}");
            }
            using (resp)
            {
                byte[] answer;
                try { answer = await resp.Content.ReadAsByteArrayAsync(cts.Token).ConfigureAwait(false); }
                catch (OperationCanceledException)
                {
                    throw new BerthException(ErrorKind.Unavailable, $"{method}: plugin {_name} did not answer within {timeout.TotalSeconds:0.#}s");
                }
                if (resp.StatusCode == System.Net.HttpStatusCode.OK) return answer;
                throw new PluginCallException((int)resp.StatusCode, method, ErrText(answer));
            }
        }
    }

    private static string ErrText(byte[] answer)
    {
        try
        {
            if (JsonSerializer.Deserialize(answer, PluginJsonContext.Default.PluginErrJson) is { Err: { Length: > 0 } err }) return err;
        }
        catch (JsonException) { }
        return System.Text.Encoding.UTF8.GetString(answer);
    }

    /// <summary>A connection that was never made: the only failure dockerd's retry can safely repeat.</summary>
    private static bool IsUnreachable(Exception e) =>
        e is HttpRequestException { InnerException: SocketException or IOException { InnerException: SocketException } } ||
        e is HttpRequestException { HttpRequestError: HttpRequestError.ConnectionError };

    private static string Reason(Exception e) => (e.InnerException as SocketException)?.Message ?? e.InnerException?.Message ?? e.Message;

    /// <summary>dockerd's backoff: 1 s doubled per retry, at most 30 s.</summary>
    internal static TimeSpan Backoff(int retries)
    {
        int b = 1;
        while (b < 30 && retries-- > 0) b *= 2;
        return TimeSpan.FromSeconds(Math.Min(b, 30));
    }

    public void Dispose() => _http.Dispose();
}

/// <summary>A plugin's non-200 answer: "VolumeDriver.Create: the plugin's Err", with the HTTP status it gave.</summary>
public sealed class PluginCallException(int status, string method, string err)
    : BerthException(status == 404 ? ErrorKind.NotImplemented : ErrorKind.System, $"{method}: {err}")
{
    public int Status { get; } = status;
    public string Err { get; } = err;
}
