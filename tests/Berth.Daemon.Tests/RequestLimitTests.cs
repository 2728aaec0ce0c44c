using System.Net;
using System.Net.Sockets;
using System.Text;
using System.Text.Json;
using Berth.Daemon;
using Berth.Daemon.Server;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Routing;

namespace Berth.Daemon.Tests;

/// <summary>
/// Request bodies are bounded (4 MiB) except on the endpoints that take an archive; an oversize body is 413 with
/// {"message"} naming the limit, is not persisted, and does not grow the daemon. Request line and headers keep
/// Kestrel's bounds.
/// </summary>
public sealed class RequestLimitTests : IAsyncLifetime
{
    private readonly TempDir _dir = new();
    private DaemonHost? _host;
    private HttpClient? _http;
    private HttpClient Http => _http!;

    public async Task InitializeAsync()
    {
        _host = await DaemonHost.StartAsync(_dir.Options(), app =>
            // Hijack, then echo stdin to its EOF as one stdout frame: what attach does with a large stdin.
            app.MapPost("/test/echo", async ctx =>
            {
                Stream raw = await Hijack.UpgradeAsync(ctx);
                var input = new MemoryStream();
                await raw.CopyToAsync(input);
                var header = new byte[8];
                Hijack.WriteFrameHeader(header, 1, (int)input.Length);
                await raw.WriteAsync(header);
                await raw.WriteAsync(input.ToArray());
                await raw.FlushAsync();
            }));
        _http = UnixHttp.Client(_dir.Socket);
    }

    public async Task DisposeAsync()
    {
        _http?.Dispose();
        if (_host is not null) await _host.DisposeAsync();
        _dir.Dispose();
    }

    /// <summary>A syntactically valid create body of about <paramref name="bytes"/> bytes (a huge label).</summary>
    private static byte[] HugeCreateBody(int bytes) =>
        Encoding.UTF8.GetBytes("{\"Image\":\"busybox\",\"Cmd\":[\"true\"],\"Labels\":{\"big\":\"" + new string('a', bytes) + "\"}}");

    private static async Task AssertTooLarge(HttpResponseMessage r)
    {
        Assert.Equal(HttpStatusCode.RequestEntityTooLarge, r.StatusCode);
        Assert.Equal("application/json", r.Content.Headers.ContentType?.MediaType);
        using var doc = JsonDocument.Parse(await r.Content.ReadAsStringAsync());
        Assert.Contains("the limit is 4194304 bytes (4 MiB)", doc.RootElement.GetProperty("message").GetString());
    }

    private int ContainerRecords() =>
        Directory.Exists(Path.Combine(_dir.DataRoot, "containers")) ? Directory.GetDirectories(Path.Combine(_dir.DataRoot, "containers")).Length : 0;

    [Fact]
    public async Task Create_With50MBBody_Is413_AndNothingIsPersisted()
    {
        using var r = await Http.PostAsync("/v1.41/containers/create", new ByteArrayContent(HugeCreateBody(50 << 20))
        {
            Headers = { ContentType = new("application/json") },
        });
        await AssertTooLarge(r);
        Assert.Equal(0, ContainerRecords());
    }

    [Fact]
    public async Task Create_WithChunked50MBBody_Is413()
    {
        var content = new StreamContent(new MemoryStream(HugeCreateBody(50 << 20)));
        content.Headers.ContentType = new("application/json");
        var req = new HttpRequestMessage(HttpMethod.Post, "/v1.41/containers/create") { Content = content };
        req.Headers.TransferEncodingChunked = true;
        HttpResponseMessage r;
        try
        {
            r = await Http.SendAsync(req);
        }
        catch (HttpRequestException)
        {
            // The daemon may answer and close while the client is still sending: the answer is then lost to
            // HttpClient. What matters is checked below: nothing persisted and the daemon well.
            Assert.Equal(0, ContainerRecords());
            Assert.Equal("OK", await Http.GetStringAsync("/_ping"));
            return;
        }
        using (r) await AssertTooLarge(r);
        Assert.Equal(0, ContainerRecords());
    }

    [Fact]
    public async Task Create_JustUnderTheLimit_IsNotRefusedForItsSize()
    {
        using var r = await Http.PostAsync("/v1.41/containers/create", new ByteArrayContent(HugeCreateBody(4_000_000))
        {
            Headers = { ContentType = new("application/json") },
        });
        Assert.NotEqual(HttpStatusCode.RequestEntityTooLarge, r.StatusCode);
    }

    [Fact]
    public async Task Import_TakesAnArchiveOverTheLimit()
    {
        var ms = new MemoryStream();
        using (var w = new System.Formats.Tar.TarWriter(ms, System.Formats.Tar.TarEntryFormat.Pax, leaveOpen: true))
            w.WriteEntry(new System.Formats.Tar.PaxTarEntry(System.Formats.Tar.TarEntryType.RegularFile, "six-mib")
            {
                Mode = (UnixFileMode)0x1a4, DataStream = new MemoryStream(new byte[6 << 20]),
            });
        using var r = await Http.PostAsync("/v1.41/images/create?fromSrc=-&repo=big&tag=1", new ByteArrayContent(ms.ToArray()));
        string body = await r.Content.ReadAsStringAsync();
        Assert.True(r.StatusCode == HttpStatusCode.OK, body);
        Assert.Contains("\"status\":\"sha256:", body);
        Assert.Contains("big:1", await Http.GetStringAsync("/v1.41/images/json"));
    }

    [Fact]
    public async Task HijackedStream_IsNotABody_AndCarriesMoreThanTheLimit()
    {
        using var sock = new Socket(AddressFamily.Unix, SocketType.Stream, ProtocolType.Unspecified);
        await sock.ConnectAsync(new UnixDomainSocketEndPoint(_dir.Socket));
        await sock.SendAsync(Encoding.ASCII.GetBytes(
            "POST /v1.41/test/echo HTTP/1.1\r\nHost: docker\r\nContent-Length: 0\r\nConnection: Upgrade\r\nUpgrade: tcp\r\n\r\n"));
        var payload = new byte[6 << 20];
        new Random(3).NextBytes(payload);
        var reading = Task.Run(async () =>
        {
            var all = new MemoryStream();
            var buf = new byte[65536];
            int n;
            while ((n = await sock.ReceiveAsync(buf)) > 0) all.Write(buf, 0, n);
            return all.ToArray();
        });
        await sock.SendAsync(payload);
        sock.Shutdown(SocketShutdown.Send);
        byte[] got = await reading.WaitAsync(TimeSpan.FromSeconds(30));
        string text = Encoding.Latin1.GetString(got);
        Assert.StartsWith("HTTP/1.1 101 ", text);
        int start = text.IndexOf("\r\n\r\n", StringComparison.Ordinal) + 4;
        Assert.Equal(payload.Length, got.Length - start - 8);
        Assert.Equal(payload, got[(start + 8)..]);
    }

    [Fact]
    public async Task OversizeHeaders_Are431_AndOversizeUrl_Is414()
    {
        var req = new HttpRequestMessage(HttpMethod.Get, "/_ping");
        req.Headers.TryAddWithoutValidation("X-Big", new string('h', 64 * 1024));
        using (var r = await Http.SendAsync(req)) Assert.Equal(HttpStatusCode.RequestHeaderFieldsTooLarge, r.StatusCode);
        using (var r = await Http.GetAsync("/containers/json?x=" + new string('u', 16 * 1024)))
            Assert.Equal(HttpStatusCode.RequestUriTooLong, r.StatusCode);
        Assert.Equal("OK", await Http.GetStringAsync("/_ping"));
    }

    [Fact]
    public void Unbounded_NamesOnlyTheArchiveAndStreamEndpoints()
    {
        Assert.True(RequestLimits.Unbounded("POST", "/images/create"));
        Assert.True(RequestLimits.Unbounded("POST", "/images/load"));
        Assert.True(RequestLimits.Unbounded("POST", "/build"));
        Assert.True(RequestLimits.Unbounded("PUT", "/containers/abc/archive"));
        Assert.True(RequestLimits.Unbounded("POST", "/containers/abc/attach"));
        Assert.True(RequestLimits.Unbounded("POST", "/exec/abc/start"));
        Assert.False(RequestLimits.Unbounded("PUT", "/containers/abc/x/archive"));
        Assert.False(RequestLimits.Unbounded("PUT", "/containers//archive"));
        Assert.False(RequestLimits.Unbounded("POST", "/containers/create"));
        Assert.False(RequestLimits.Unbounded("POST", "/containers/abc/exec"));
        Assert.False(RequestLimits.Unbounded("GET", "/images/create"));
    }
}

/// <summary>The same 50 MB body against berthd as a process: its resident memory stays low.</summary>
public sealed class RequestLimitMemoryTests : IDisposable
{
    private readonly TempDir _dir = new();

    public void Dispose() => _dir.Dispose();

    private static long StatusKb(int pid, string field)
    {
        foreach (var line in File.ReadAllLines($"/proc/{pid}/status"))
            if (line.StartsWith(field + ":", StringComparison.Ordinal))
                return long.Parse(line[(field.Length + 1)..].Trim().Split(' ')[0]);
        throw new InvalidOperationException(field + " not in /proc/pid/status");
    }

    [Fact]
    public async Task Create_With50MBBody_LeavesPeakRssLow()
    {
        using BerthdProcess d = BerthdProcess.StartIn(_dir);
        using var http = UnixHttp.Client(_dir.Socket);
        Assert.Equal("OK", await http.GetStringAsync("/_ping"));
        long before = StatusKb(d.Pid, "VmHWM");
        var body = Encoding.UTF8.GetBytes("{\"Image\":\"busybox\",\"Labels\":{\"big\":\"" + new string('a', 50 << 20) + "\"}}");
        for (int i = 0; i < 3; i++)
        {
            using var r = await http.PostAsync("/v1.41/containers/create", new ByteArrayContent(body) { Headers = { ContentType = new("application/json") } });
            Assert.Equal(HttpStatusCode.RequestEntityTooLarge, r.StatusCode);
        }
        long peak = StatusKb(d.Pid, "VmHWM");
        // Unbounded, one such body took berthd from 30 MB to 1 GB; bounded, it reads at most 4 MiB of it.
        Assert.True(peak - before < 64 * 1024, $"peak RSS grew from {before} kB to {peak} kB");
        Assert.Empty(Directory.GetDirectories(Path.Combine(_dir.DataRoot, "containers")));
    }
}
