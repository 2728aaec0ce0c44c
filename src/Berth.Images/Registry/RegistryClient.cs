using System.Net;
using System.Net.Http.Headers;
using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using Berth.Core;

namespace Berth.Images.Registry;

/// <summary>
/// A client of one repository on a registry speaking the Docker Registry HTTP API v2 / OCI distribution spec:
/// manifests by tag or digest, blobs by digest. Plain HTTP only for loopback hosts (127.0.0.0/8, ::1, localhost)
/// and registries the daemon lists as insecure; HTTPS with the system's CAs otherwise. Authentication:
/// anonymous, Basic, or the Bearer token flow answering the registry's WWW-Authenticate challenge (scope
/// repository:&lt;path&gt;:pull), with the credentials of X-Registry-Auth.
/// </summary>
public sealed class RegistryClient : IDisposable
{
    public const long MaxManifestBytes = 4 << 20;
    private readonly HttpClient _http;
    private readonly RegistryAuthConfig _auth;
    private readonly string _repository;
    private readonly string _scope;
    private AuthenticationHeaderValue? _authorization;

    public RegistryClient(ImageReference reference, RegistryAuthConfig? auth = null, IReadOnlyCollection<string>? insecureRegistries = null)
    {
        _auth = auth ?? new RegistryAuthConfig();
        _repository = reference.Path;
        _scope = $"repository:{reference.Path}:pull";
        var host = reference.Domain == ImageReference.DefaultDomain ? "registry-1.docker.io" : reference.Domain;
        if (!IsLoopback(host) && Environment.GetEnvironmentVariable(LoopbackOnlyVariable) == "1")
            throw new BerthException(ErrorKind.Forbidden,
                $"pull from {host} refused: {LoopbackOnlyVariable}=1 allows registries on this machine only");
        var scheme = IsLoopback(host) || (insecureRegistries?.Contains(reference.Domain) ?? false) ? "http" : "https";
        BaseUri = new Uri($"{scheme}://{host}/v2/");
        _http = new HttpClient(new SocketsHttpHandler
        {
            ConnectTimeout = TimeSpan.FromSeconds(30),
            AllowAutoRedirect = true,
            PooledConnectionLifetime = TimeSpan.FromMinutes(5),
            AutomaticDecompression = DecompressionMethods.None,
        })
        {
            Timeout = Timeout.InfiniteTimeSpan, // blobs may be large; stalls are cut by the read timeout below
        };
        _http.DefaultRequestHeaders.UserAgent.ParseAdd("berth/0.1 (linux)");
        if (!string.IsNullOrEmpty(_auth.RegistryToken))
            _authorization = new AuthenticationHeaderValue("Bearer", _auth.RegistryToken);
    }

    public Uri BaseUri { get; }

    /// <summary>Set to 1 in berthd's environment, no registry beyond loopback is contacted (not even its name looked
    /// up): the test suites set it, so a test that makes the docker CLI pull an image it lacks never reaches out.</summary>
    public const string LoopbackOnlyVariable = "BERTH_REGISTRIES_LOOPBACK_ONLY";

    /// <summary>Hosts served over plain HTTP: 127.0.0.0/8, ::1 and "localhost" (with or without a port).</summary>
    public static bool IsLoopback(string hostPort)
    {
        string host = hostPort;
        if (host.StartsWith('['))
        {
            int end = host.IndexOf(']');
            host = end > 0 ? host[1..end] : host;
        }
        else if (host.LastIndexOf(':') is var c and > 0) host = host[..c];
        if (host == "localhost") return true;
        return IPAddress.TryParse(host, out var ip) && IPAddress.IsLoopback(ip);
    }

    /// <summary>GETs a manifest (by tag or digest): its bytes, media type and digest (sha256 of the bytes).</summary>
    public async Task<(byte[] Body, string MediaType, Digest Digest)> GetManifestAsync(string tagOrDigest, string displayName, CancellationToken ct)
    {
        using var resp = await SendAsync(() =>
        {
            var req = new HttpRequestMessage(HttpMethod.Get, new Uri(BaseUri, $"{_repository}/manifests/{tagOrDigest}"));
            foreach (var a in MediaTypes.Accept) req.Headers.Accept.Add(new MediaTypeWithQualityHeaderValue(a));
            return req;
        }, ct);
        if (resp.StatusCode == HttpStatusCode.NotFound)
            throw BerthException.NotFound($"manifest for {displayName} not found: {await ErrorText(resp, ct)}");
        await EnsureSuccess(resp, displayName, ct);
        if (resp.Content.Headers.ContentLength is > MaxManifestBytes)
            throw new BerthException(ErrorKind.DataLoss, $"manifest for {displayName} is too large ({resp.Content.Headers.ContentLength} bytes)");
        var body = await ReadLimited(resp, MaxManifestBytes, ct);
        var mediaType = resp.Content.Headers.ContentType?.MediaType ?? "";
        // The body's own mediaType wins over a generic Content-Type (some registries answer application/json).
        try
        {
            var doc = JsonSerializer.Deserialize(body, RegistryJsonContext.Default.ManifestDocument);
            if (!string.IsNullOrEmpty(doc?.MediaType)) mediaType = doc.MediaType;
            else if (doc?.Manifests is not null && !MediaTypes.IsIndex(mediaType)) mediaType = MediaTypes.OciIndex;
            else if (doc?.Config is not null && !MediaTypes.IsManifest(mediaType)) mediaType = MediaTypes.OciManifest;
        }
        catch (JsonException e)
        {
            throw new BerthException(ErrorKind.DataLoss, $"invalid manifest for {displayName}: {e.Message}");
        }
        return (body, mediaType, Digest.Of(body));
    }

    /// <summary>GETs a blob; the caller reads (and verifies) the stream. Dispose the response.</summary>
    public async Task<HttpResponseMessage> GetBlobAsync(Digest digest, string displayName, CancellationToken ct)
    {
        var resp = await SendAsync(() => new HttpRequestMessage(HttpMethod.Get, new Uri(BaseUri, $"{_repository}/blobs/{digest}")), ct);
        try
        {
            if (resp.StatusCode == HttpStatusCode.NotFound)
                throw BerthException.NotFound($"blob {digest} of {displayName} not found: {await ErrorText(resp, ct)}");
            await EnsureSuccess(resp, displayName, ct);
            return resp;
        }
        catch
        {
            resp.Dispose();
            throw;
        }
    }

    /// <summary>A whole small blob (an image config), verified against its digest and size.</summary>
    public async Task<byte[]> GetSmallBlobAsync(Descriptor d, string displayName, CancellationToken ct)
    {
        var digest = Digest.Parse(d.Digest);
        using var resp = await GetBlobAsync(digest, displayName, ct);
        var body = await ReadLimited(resp, Math.Max(d.Size, 0) + 1, ct);
        if (body.Length != d.Size || Digest.Of(body) != digest)
            throw new BerthException(ErrorKind.DataLoss, $"image config verification failed for digest {digest}");
        return body;
    }

    private async Task<HttpResponseMessage> SendAsync(Func<HttpRequestMessage> make, CancellationToken ct)
    {
        var req = make();
        if (_authorization is not null) req.Headers.Authorization = _authorization;
        HttpResponseMessage resp;
        try
        {
            resp = await _http.SendAsync(req, HttpCompletionOption.ResponseHeadersRead, ct);
        }
        catch (HttpRequestException e)
        {
            throw new BerthException(ErrorKind.Unavailable, $"Get \"{req.RequestUri}\": {e.Message}");
        }
        if (resp.StatusCode != HttpStatusCode.Unauthorized) return resp;
        var challenge = resp.Headers.WwwAuthenticate.FirstOrDefault();
        if (challenge is null) return resp;
        var auth = await Authorize(challenge, ct);
        if (auth is null) return resp;
        resp.Dispose();
        _authorization = auth;
        var retry = make();
        retry.Headers.Authorization = auth;
        return await _http.SendAsync(retry, HttpCompletionOption.ResponseHeadersRead, ct);
    }

    /// <summary>The Authorization answering a challenge, or null when it cannot be answered (the 401 stands).</summary>
    private async Task<AuthenticationHeaderValue?> Authorize(AuthenticationHeaderValue challenge, CancellationToken ct)
    {
        if (challenge.Scheme.Equals("Basic", StringComparison.OrdinalIgnoreCase))
        {
            if (!_auth.HasCredentials) throw new BerthException(ErrorKind.System, $"Get \"{BaseUri}\": no basic auth credentials");
            return _authorization?.Scheme != "Basic" ? BasicAuth() : null;
        }
        if (!challenge.Scheme.Equals("Bearer", StringComparison.OrdinalIgnoreCase)) return null;
        var p = ParseChallenge(challenge.Parameter ?? "");
        if (!p.TryGetValue("realm", out var realm)) return null;
        var query = new StringBuilder();
        if (p.TryGetValue("service", out var service)) query.Append("service=").Append(Uri.EscapeDataString(service));
        var scope = p.GetValueOrDefault("scope") ?? _scope;
        if (query.Length > 0) query.Append('&');
        query.Append("scope=").Append(Uri.EscapeDataString(scope));
        var uri = new Uri(realm + (realm.Contains('?') ? "&" : "?") + query);
        using var req = new HttpRequestMessage(HttpMethod.Get, uri);
        if (_auth.HasCredentials) req.Headers.Authorization = BasicAuth();
        using var resp = await _http.SendAsync(req, ct);
        if (!resp.IsSuccessStatusCode)
            throw new BerthException(ErrorKind.System, $"Get \"{uri.GetLeftPart(UriPartial.Path)}\": unauthorized: token server answered {(int)resp.StatusCode}");
        var token = JsonSerializer.Deserialize(await resp.Content.ReadAsByteArrayAsync(ct), RegistryJsonContext.Default.TokenResponse);
        var t = token?.Token ?? token?.AccessToken;
        if (string.IsNullOrEmpty(t)) throw new BerthException(ErrorKind.System, "the token server answered no token");
        return new AuthenticationHeaderValue("Bearer", t);
    }

    private AuthenticationHeaderValue BasicAuth() =>
        new("Basic", Convert.ToBase64String(Encoding.UTF8.GetBytes($"{_auth.Username}:{_auth.Password}")));

    /// <summary>realm="…",service="…",scope="…" → a map (quoted values may hold commas).</summary>
    internal static Dictionary<string, string> ParseChallenge(string s)
    {
        var map = new Dictionary<string, string>(StringComparer.OrdinalIgnoreCase);
        int i = 0;
        while (i < s.Length)
        {
            while (i < s.Length && (s[i] == ',' || s[i] == ' ')) i++;
            int eq = s.IndexOf('=', i);
            if (eq < 0) break;
            var key = s[i..eq].Trim();
            i = eq + 1;
            string value;
            if (i < s.Length && s[i] == '"')
            {
                var sb = new StringBuilder();
                i++;
                while (i < s.Length && s[i] != '"')
                {
                    if (s[i] == '\\' && i + 1 < s.Length) i++;
                    sb.Append(s[i++]);
                }
                i++;
                value = sb.ToString();
            }
            else
            {
                int end = s.IndexOf(',', i);
                if (end < 0) end = s.Length;
                value = s[i..end].Trim();
                i = end;
            }
            map[key] = value;
        }
        return map;
    }

    private static async Task EnsureSuccess(HttpResponseMessage resp, string displayName, CancellationToken ct)
    {
        if (resp.IsSuccessStatusCode) return;
        var text = await ErrorText(resp, ct);
        throw resp.StatusCode switch
        {
            HttpStatusCode.Unauthorized or HttpStatusCode.Forbidden => new BerthException(ErrorKind.NotFound,
                $"pull access denied for {displayName}, repository does not exist or may require 'docker login': {text}"),
            _ => new BerthException(ErrorKind.Unavailable, $"error from registry for {displayName}: {(int)resp.StatusCode}: {text}"),
        };
    }

    /// <summary>Docker's rendering of a registry error: "manifest unknown: manifest unknown" (code text: message).</summary>
    private static async Task<string> ErrorText(HttpResponseMessage resp, CancellationToken ct)
    {
        byte[] body;
        try { body = await ReadLimited(resp, 64 << 10, ct); }
        catch (BerthException) { return resp.ReasonPhrase ?? ((int)resp.StatusCode).ToString(); }
        try
        {
            var errs = JsonSerializer.Deserialize(body, RegistryJsonContext.Default.RegistryErrors);
            if (errs?.Errors is { Count: > 0 } list)
                return string.Join(", ", list.Select(e => $"{(e.Code ?? "unknown").Replace('_', ' ').ToLowerInvariant()}: {e.Message}"));
        }
        catch (JsonException) { }
        return resp.StatusCode == HttpStatusCode.Unauthorized ? "authentication required" : resp.ReasonPhrase ?? ((int)resp.StatusCode).ToString();
    }

    private static async Task<byte[]> ReadLimited(HttpResponseMessage resp, long limit, CancellationToken ct)
    {
        await using var s = await resp.Content.ReadAsStreamAsync(ct);
        var ms = new MemoryStream();
        var buf = new byte[16384];
        int n;
        while ((n = await s.ReadAsync(buf, ct)) > 0)
        {
            if (ms.Length + n > limit) throw new BerthException(ErrorKind.DataLoss, $"the registry sent more than {limit} bytes");
            ms.Write(buf, 0, n);
        }
        return ms.ToArray();
    }

    public void Dispose() => _http.Dispose();
}
