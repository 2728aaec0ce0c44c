using System.Net;
using System.Text.Json;
using Berth.Core;
using Berth.Daemon;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Routing;

namespace Berth.Daemon.Tests;

/// <summary>The daemon started in-process on a temporary unix socket, driven with HttpClient.</summary>
public sealed class InProcessTests : IAsyncLifetime
{
    private readonly TempDir _dir = new();
    private DaemonHost? _host;
    private HttpClient? _http;

    private HttpClient Http => _http!;

    public async Task InitializeAsync()
    {
        _host = await DaemonHost.StartAsync(_dir.Options(), MapTestRoutes);
        _http = UnixHttp.Client(_dir.Socket);
    }

    public async Task DisposeAsync()
    {
        _http?.Dispose();
        if (_host is not null) await _host.DisposeAsync();
        _dir.Dispose();
    }

    /// <summary>/test/throw/{kind}: throws a BerthException of that kind, to reach the one error mapping.</summary>
    private static void MapTestRoutes(IEndpointRouteBuilder app)
    {
        app.MapMethods("/test/throw/{kind}", [HttpMethods.Get, HttpMethods.Head], ctx =>
        {
            var kind = Enum.Parse<ErrorKind>((string)ctx.Request.RouteValues["kind"]!);
            throw new BerthException(kind, $"boom {kind}");
        });
        app.MapGet("/test/crash", _ => throw new InvalidOperationException("unexpected"));
        // What attach will do: hijack, write a stdout frame, read stdin to its EOF (the client's half-close),
        // then keep writing: the echo and a stderr frame; returning closes the connection.
        app.MapPost("/test/hijack", async ctx =>
        {
            Stream raw = await Berth.Daemon.Server.Hijack.UpgradeAsync(ctx);
            await WriteFrame(raw, 1, "hello\n"u8.ToArray());
            var input = new MemoryStream();
            await raw.CopyToAsync(input);
            await WriteFrame(raw, 1, input.ToArray());
            await WriteFrame(raw, 2, "bye\n"u8.ToArray());
        });
        app.MapGet("/test/version", ctx => ctx.Response.WriteAsync(Berth.Daemon.Server.ApiVersionHttpContextExtensions.ApiVersion(ctx).ToString()));
    }

    private static async Task WriteFrame(Stream s, byte stream, byte[] payload)
    {
        var header = new byte[8];
        Berth.Daemon.Server.Hijack.WriteFrameHeader(header, stream, payload.Length);
        await s.WriteAsync(header);
        await s.WriteAsync(payload);
        await s.FlushAsync();
    }

    [Fact]
    public async Task Hijack_RawDuplexStream_SurvivesClientHalfClose()
    {
        using var sock = new System.Net.Sockets.Socket(System.Net.Sockets.AddressFamily.Unix, System.Net.Sockets.SocketType.Stream, System.Net.Sockets.ProtocolType.Unspecified);
        await sock.ConnectAsync(new System.Net.Sockets.UnixDomainSocketEndPoint(_dir.Socket));
        // The request exactly as the docker CLI sends it for attach (traffic/17).
        await sock.SendAsync(System.Text.Encoding.ASCII.GetBytes(
            "POST /v1.41/test/hijack HTTP/1.1\r\nHost: api.moby.localhost\r\nUser-Agent: Docker-Client/28.2.2 (linux)\r\n" +
            "Content-Length: 0\r\nConnection: Upgrade\r\nContent-Type: text/plain\r\nUpgrade: tcp\r\n\r\n"));
        byte[] all = await ReadUntil(sock, "hello\n", TimeSpan.FromSeconds(10));
        string head = System.Text.Encoding.ASCII.GetString(all);
        Assert.StartsWith("HTTP/1.1 101 ", head);
        Assert.Contains("Content-Type: application/vnd.docker.raw-stream\r\n", head);
        Assert.Contains("Connection: Upgrade\r\n", head);
        Assert.Contains("Upgrade: tcp\r\n", head);
        await sock.SendAsync("stdin-bytes"u8.ToArray());
        sock.Shutdown(System.Net.Sockets.SocketShutdown.Send); // the CLI's CloseWrite
        var rest = new MemoryStream();
        var buf = new byte[4096];
        int n;
        while ((n = await sock.ReceiveAsync(buf)) > 0) rest.Write(buf, 0, n);
        byte[] frames = rest.ToArray();
        Assert.Equal(
            [1, 0, 0, 0, 0, 0, 0, 11, .. "stdin-bytes"u8.ToArray(), 2, 0, 0, 0, 0, 0, 0, 4, .. "bye\n"u8.ToArray()],
            frames);
        int body = Array.IndexOf(all, (byte)1, head.IndexOf("\r\n\r\n", StringComparison.Ordinal) + 4);
        Assert.Equal(new byte[] { 1, 0, 0, 0, 0, 0, 0, 6 }, all[body..(body + 8)]);
    }

    private static async Task<byte[]> ReadUntil(System.Net.Sockets.Socket sock, string marker, TimeSpan timeout)
    {
        using var cts = new CancellationTokenSource(timeout);
        var acc = new MemoryStream();
        var buf = new byte[4096];
        while (!System.Text.Encoding.Latin1.GetString(acc.ToArray()).Contains(marker))
        {
            int n = await sock.ReceiveAsync(buf, System.Net.Sockets.SocketFlags.None, cts.Token);
            if (n == 0) break;
            acc.Write(buf, 0, n);
        }
        return acc.ToArray();
    }

    private static void AssertIdentityHeaders(HttpResponseMessage r)
    {
        Assert.Equal("1.41", Header(r, "Api-Version"));
        Assert.Equal("linux", Header(r, "Ostype"));
        Assert.Equal("false", Header(r, "Docker-Experimental"));
        Assert.Equal("Berth/0.1.0 (linux)", Header(r, "Server"));
    }

    private static string? Header(HttpResponseMessage r, string name) =>
        r.Headers.NonValidated.TryGetValues(name, out var v) ? v.ToString()
        : r.Content.Headers.NonValidated.TryGetValues(name, out var c) ? c.ToString() : null;

    [Fact]
    public async Task GetPing_ReturnsOkTextWithNoCacheHeaders()
    {
        using var r = await Http.GetAsync("/_ping");
        Assert.Equal(HttpStatusCode.OK, r.StatusCode);
        Assert.Equal("OK", await r.Content.ReadAsStringAsync());
        Assert.Equal("text/plain; charset=utf-8", r.Content.Headers.ContentType!.ToString());
        Assert.Equal("no-cache, no-store, must-revalidate", Header(r, "Cache-Control"));
        Assert.Equal("no-cache", Header(r, "Pragma"));
        AssertIdentityHeaders(r);
    }

    [Fact]
    public async Task HeadPing_HasHeadersAndNoBody()
    {
        using var r = await Http.SendAsync(new HttpRequestMessage(HttpMethod.Head, "/_ping"));
        Assert.Equal(HttpStatusCode.OK, r.StatusCode);
        AssertIdentityHeaders(r);
        Assert.Equal("no-cache, no-store, must-revalidate", Header(r, "Cache-Control"));
        Assert.Equal("no-cache", Header(r, "Pragma"));
        Assert.Equal(0, r.Content.Headers.ContentLength);
        Assert.Empty(await r.Content.ReadAsByteArrayAsync());
    }

    [Fact]
    public async Task Version_HasDockersFieldNamesInDockersOrder()
    {
        foreach (string path in new[] { "/version", "/v1.41/version", "/v1.24/version" })
        {
            using var r = await Http.GetAsync(path);
            Assert.Equal(HttpStatusCode.OK, r.StatusCode);
            Assert.Equal("application/json", r.Content.Headers.ContentType!.ToString());
            AssertIdentityHeaders(r);
            string body = await r.Content.ReadAsStringAsync();
            Assert.EndsWith("}\n", body);
            using var doc = JsonDocument.Parse(body);
            JsonElement root = doc.RootElement;
            Assert.Equal(
                ["Platform", "Components", "Version", "ApiVersion", "MinAPIVersion", "GitCommit", "GoVersion", "Os", "Arch", "KernelVersion", "BuildTime"],
                root.EnumerateObject().Select(p => p.Name));
            Assert.Equal("0.1.0", root.GetProperty("Version").GetString());
            Assert.Equal("1.41", root.GetProperty("ApiVersion").GetString());
            Assert.Equal("1.12", root.GetProperty("MinAPIVersion").GetString());
            Assert.Equal("linux", root.GetProperty("Os").GetString());
            Assert.Equal(File.ReadAllText("/proc/sys/kernel/osrelease").Trim(), root.GetProperty("KernelVersion").GetString());
            Assert.StartsWith("dotnet ", root.GetProperty("GoVersion").GetString());
            Assert.DoesNotContain("\\u002B", body);
            JsonElement engine = root.GetProperty("Components")[0];
            Assert.Equal("Engine", engine.GetProperty("Name").GetString());
            Assert.Equal(
                ["ApiVersion", "Arch", "BuildTime", "Experimental", "GitCommit", "GoVersion", "KernelVersion", "MinAPIVersion", "Os"],
                engine.GetProperty("Details").EnumerateObject().Select(p => p.Name));
        }
    }

    [Fact]
    public async Task Info_HasDockersFieldNamesInDockersOrder()
    {
        using var r = await Http.GetAsync("/v1.41/info");
        Assert.Equal(HttpStatusCode.OK, r.StatusCode);
        using var doc = JsonDocument.Parse(await r.Content.ReadAsStringAsync());
        JsonElement root = doc.RootElement;
        // The key order of Docker 20.10.24's /info (traffic/02-info.txt).
        Assert.Equal(
            ["ID", "Containers", "ContainersRunning", "ContainersPaused", "ContainersStopped", "Images", "Driver",
             "DriverStatus", "Plugins", "MemoryLimit", "SwapLimit", "KernelMemory", "KernelMemoryTCP", "CpuCfsPeriod",
             "CpuCfsQuota", "CPUShares", "CPUSet", "PidsLimit", "IPv4Forwarding", "BridgeNfIptables", "BridgeNfIp6tables",
             "Debug", "NFd", "OomKillDisable", "NGoroutines", "SystemTime", "LoggingDriver", "CgroupDriver",
             "CgroupVersion", "NEventsListener", "KernelVersion", "OperatingSystem", "OSVersion", "OSType",
             "Architecture", "IndexServerAddress", "RegistryConfig", "NCPU", "MemTotal", "GenericResources",
             "DockerRootDir", "HttpProxy", "HttpsProxy", "NoProxy", "Name", "Labels", "ExperimentalBuild",
             "ServerVersion", "Runtimes", "DefaultRuntime", "Swarm", "LiveRestoreEnabled", "Isolation", "InitBinary",
             "ContainerdCommit", "RuncCommit", "InitCommit", "SecurityOptions", "Warnings"],
            root.EnumerateObject().Select(p => p.Name));
        Assert.Equal(["Volume", "Network", "Authorization", "Log"], root.GetProperty("Plugins").EnumerateObject().Select(p => p.Name));
        Assert.Equal("0.1.0", root.GetProperty("ServerVersion").GetString());
        Assert.Equal(_dir.DataRoot, root.GetProperty("DockerRootDir").GetString());
        Assert.Equal("overlay2", root.GetProperty("Driver").GetString());
        Assert.Equal("linux", root.GetProperty("OSType").GetString());
        Assert.Equal("x86_64", root.GetProperty("Architecture").GetString());
        Assert.Equal(Environment.ProcessorCount, root.GetProperty("NCPU").GetInt32());
        Assert.True(root.GetProperty("MemTotal").GetInt64() > 0);
        Assert.Equal(File.Exists("/sys/fs/cgroup/cgroup.controllers") ? "2" : "1", root.GetProperty("CgroupVersion").GetString());
        Assert.Equal("cgroupfs", root.GetProperty("CgroupDriver").GetString());
        Assert.Equal(["name=seccomp,profile=default"], root.GetProperty("SecurityOptions").EnumerateArray().Select(e => e.GetString()));
        Assert.Equal(["bridge", "host", "macvlan", "null"], root.GetProperty("Plugins").GetProperty("Network").EnumerateArray().Select(e => e.GetString()));
        Assert.Equal(File.ReadAllText(Path.Combine(_dir.DataRoot, "engine-id")).Trim(), root.GetProperty("ID").GetString());
        string defaultRuntime = root.GetProperty("DefaultRuntime").GetString()!;
        Assert.True(root.GetProperty("Runtimes").TryGetProperty(defaultRuntime, out JsonElement rt));
        Assert.False(string.IsNullOrEmpty(rt.GetProperty("path").GetString()));
    }

    [Fact]
    public async Task UnknownRoute_Is404PageNotFound()
    {
        foreach (string path in new[] { "/v1.41/nonexistent/endpoint", "/nonexistent", "/v1.41/containers/x/nope.txt" })
        {
            using var r = await Http.GetAsync(path);
            Assert.Equal(HttpStatusCode.NotFound, r.StatusCode);
            Assert.Equal("application/json", r.Content.Headers.ContentType!.ToString());
            Assert.Equal("{\"message\":\"page not found\"}\n", await r.Content.ReadAsStringAsync());
        }
        // A known path with another method is not found either (dockerd has no 405).
        using var post = await Http.PostAsync("/v1.41/version", null);
        Assert.Equal(HttpStatusCode.NotFound, post.StatusCode);
    }

    [Fact]
    public async Task TooNewVersion_Is400Json()
    {
        using var r = await Http.GetAsync("/v1.50/version");
        Assert.Equal(HttpStatusCode.BadRequest, r.StatusCode);
        Assert.Equal("application/json", r.Content.Headers.ContentType!.ToString());
        AssertIdentityHeaders(r);
        Assert.Equal("{\"message\":\"client version 1.50 is too new. Maximum supported API version is 1.41\"}\n",
            await r.Content.ReadAsStringAsync());
    }

    [Fact]
    public async Task TooOldVersion_Is400PlainText()
    {
        using var r = await Http.GetAsync("/v1.11/version");
        Assert.Equal(HttpStatusCode.BadRequest, r.StatusCode);
        Assert.Equal("text/plain; charset=utf-8", r.Content.Headers.ContentType!.ToString());
        Assert.Equal("client version 1.11 is too old. Minimum supported API version is 1.12, please upgrade your client to a newer version\n",
            await r.Content.ReadAsStringAsync());
    }

    [Fact]
    public async Task VersionPrefix_IsStrippedAndRecorded()
    {
        using (var r = await Http.GetAsync("/v1.30/test/version")) Assert.Equal("1.30", await r.Content.ReadAsStringAsync());
        using (var r = await Http.GetAsync("/test/version")) Assert.Equal("1.41", await r.Content.ReadAsStringAsync());
        using (var r = await Http.GetAsync("/v1.12/_ping")) Assert.Equal("OK", await r.Content.ReadAsStringAsync());
    }

    [Theory]
    [InlineData(ErrorKind.NotFound, 404)]
    [InlineData(ErrorKind.InvalidParameter, 400)]
    [InlineData(ErrorKind.Conflict, 409)]
    [InlineData(ErrorKind.Forbidden, 403)]
    [InlineData(ErrorKind.Unauthorized, 401)]
    [InlineData(ErrorKind.Unavailable, 503)]
    [InlineData(ErrorKind.NotImplemented, 501)]
    [InlineData(ErrorKind.System, 500)]
    [InlineData(ErrorKind.DataLoss, 500)]
    [InlineData(ErrorKind.Cancelled, 500)]
    public async Task BerthException_IsMappedToStatusAndJsonMessage(ErrorKind kind, int status)
    {
        using var r = await Http.GetAsync($"/v1.41/test/throw/{kind}");
        Assert.Equal(status, (int)r.StatusCode);
        Assert.Equal("application/json", r.Content.Headers.ContentType!.ToString());
        AssertIdentityHeaders(r);
        Assert.Equal($"{{\"message\":\"boom {kind}\"}}\n", await r.Content.ReadAsStringAsync());
    }

    [Fact]
    public async Task HeadError_KeepsStatusAndLengthWithoutBody()
    {
        using var r = await Http.SendAsync(new HttpRequestMessage(HttpMethod.Head, "/v1.41/test/throw/NotFound"));
        Assert.Equal(HttpStatusCode.NotFound, r.StatusCode);
        AssertIdentityHeaders(r);
        Assert.Equal("{\"message\":\"boom NotFound\"}\n".Length, r.Content.Headers.ContentLength);
        Assert.Empty(await r.Content.ReadAsByteArrayAsync());
    }

    [Fact]
    public async Task UnexpectedException_Is500WithMessage()
    {
        using var r = await Http.GetAsync("/test/crash");
        Assert.Equal(HttpStatusCode.InternalServerError, r.StatusCode);
        Assert.Equal("{\"message\":\"unexpected\"}\n", await r.Content.ReadAsStringAsync());
    }

    [Fact]
    public void SocketIsMode0660AndPidFileNamesThisProcess()
    {
        Assert.Equal(UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.GroupRead | UnixFileMode.GroupWrite,
            File.GetUnixFileMode(_dir.Socket));
        Assert.Equal(Environment.ProcessId.ToString(), File.ReadAllText(_dir.PidFile));
    }
}
