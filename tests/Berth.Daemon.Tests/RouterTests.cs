using Berth.Api.Images;
using System.Collections.Concurrent;
using System.Net;
using System.Net.Sockets;
using System.Runtime.CompilerServices;
using System.Text;
using System.Text.Json;
using Berth.Core;
using Berth.Engine.Backends;
using Berth.Engine.Containers;
using Berth.Engine.Logs;
using Berth.Images;

namespace Berth.Daemon.Tests;

/// <summary>
/// The routers' own logic (parameter parsing, validation before headers, framing, error bodies), hosted in-process
/// over fake backends: no root, no kernel, no engine.
/// </summary>
public sealed class RouterTests : IAsyncLifetime
{
    private readonly TempDir _dir = new();
    private readonly FakeContainers _containers = new();
    private readonly FakeImages _images = new();
    private DaemonHost? _host;
    private HttpClient? _http;

    private HttpClient Http => _http!;

    public async Task InitializeAsync()
    {
        _host = await DaemonHost.StartAsync(_dir.Options(), null, state =>
        {
            state.Containers = _containers;
            state.Images = _images;
            state.System = new SystemBackend(_containers, _images);
        });
        _http = UnixHttp.Client(_dir.Socket);
        _containers.Add("c1", "web", running: true);
        _containers.Add("c2", "done", running: false, tty: true);
        _containers.Add("c3", "term", running: true, tty: true);
    }

    public async Task DisposeAsync()
    {
        _http?.Dispose();
        if (_host is not null) await _host.DisposeAsync();
        _dir.Dispose();
    }

    private async Task<(HttpStatusCode Status, string Body)> Send(HttpMethod method, string path)
    {
        using var r = await Http.SendAsync(new HttpRequestMessage(method, path));
        return (r.StatusCode, await r.Content.ReadAsStringAsync());
    }

    private static readonly JsonSerializerOptions GoEscaping = new() { Encoder = System.Text.Encodings.Web.JavaScriptEncoder.UnsafeRelaxedJsonEscaping };

    private static string Error(string message) => JsonSerializer.Serialize(new Dictionary<string, string> { ["message"] = message }, GoEscaping) + "\n";

    // --- wait -------------------------------------------------------------------------------------------------

    [Fact]
    public async Task Wait_BadCondition_Is400BeforeHeaders_AndNeverWaits()
    {
        var (status, body) = await Send(HttpMethod.Post, "/v1.41/containers/c1/wait?condition=bogus");
        Assert.Equal(HttpStatusCode.BadRequest, status);
        Assert.Equal("{\"message\":\"invalid condition: \\\"bogus\\\"\"}\n", body);
        Assert.DoesNotContain(_containers.Calls, c => c.StartsWith("wait", StringComparison.Ordinal));
    }

    [Fact]
    public async Task Wait_UnknownContainer_Is404()
    {
        var (status, body) = await Send(HttpMethod.Post, "/v1.41/containers/nope/wait");
        Assert.Equal(HttpStatusCode.NotFound, status);
        Assert.Equal(Error("No such container: nope"), body);
    }

    [Fact]
    public async Task Wait_HeadersAtOnce_BodyAtExit()
    {
        using var r = await Http.SendAsync(new HttpRequestMessage(HttpMethod.Post, "/v1.41/containers/web/wait?condition=next-exit"),
            HttpCompletionOption.ResponseHeadersRead);
        // The headers arrived while the (fake) container still runs.
        Assert.Equal(HttpStatusCode.OK, r.StatusCode);
        Assert.Equal("application/json", r.Content.Headers.ContentType!.ToString());
        Assert.Contains("wait c1 next-exit", _containers.Calls);
        var body = r.Content.ReadAsStringAsync();
        Assert.False(body.IsCompleted);
        _containers.Exit.SetResult(3);
        Assert.Equal("{\"Error\":null,\"StatusCode\":3}\n", await body.WaitAsync(TimeSpan.FromSeconds(10)));
    }

    // --- stop, restart, kill, delete ----------------------------------------------------------------------------

    [Theory]
    [InlineData("", "stop c1 default")]
    [InlineData("?t=5", "stop c1 5")]
    [InlineData("?t=-1", "stop c1 -1")]
    [InlineData("?t=%2B7", "stop c1 7")]
    public async Task Stop_TimeoutParsed(string query, string call)
    {
        var (status, body) = await Send(HttpMethod.Post, "/v1.41/containers/c1/stop" + query);
        Assert.Equal(HttpStatusCode.NoContent, status);
        Assert.Equal("", body);
        Assert.Equal([call], _containers.Calls);
    }

    [Theory]
    [InlineData("/stop")]
    [InlineData("/restart")]
    public async Task StopAndRestart_BadTimeout_Is400_WithGosMessage(string verb)
    {
        var (status, body) = await Send(HttpMethod.Post, "/v1.41/containers/c1" + verb + "?t=1.5");
        Assert.Equal(HttpStatusCode.BadRequest, status);
        Assert.Equal(Error("strconv.Atoi: parsing \"1.5\": invalid syntax"), body);
        Assert.Empty(_containers.Calls);
    }

    [Fact]
    public async Task Stop_NotRunning_Is304()
    {
        var (status, _) = await Send(HttpMethod.Post, "/v1.41/containers/c2/stop");
        Assert.Equal(HttpStatusCode.NotModified, status);
    }

    [Fact]
    public async Task Restart_OfAStoppedContainer_Starts()
    {
        var (status, _) = await Send(HttpMethod.Post, "/v1.41/containers/c2/restart?t=2");
        Assert.Equal(HttpStatusCode.NoContent, status);
        Assert.Equal(["stop c2 2", "start c2"], _containers.Calls);
    }

    [Theory]
    [InlineData("", "kill c1 KILL")]
    [InlineData("?signal=", "kill c1 KILL")]
    [InlineData("?signal=HUP", "kill c1 HUP")]
    [InlineData("?signal=SIGUSR1", "kill c1 SIGUSR1")]
    public async Task Kill_SignalDefaultsToKill(string query, string call)
    {
        var (status, _) = await Send(HttpMethod.Post, "/v1.41/containers/c1/kill" + query);
        Assert.Equal(HttpStatusCode.NoContent, status);
        Assert.Equal([call], _containers.Calls);
    }

    [Fact]
    public async Task Kill_TheBackendsRefusal_IsItsStatusAndMessage()
    {
        var (status, body) = await Send(HttpMethod.Post, "/v1.41/containers/c1/kill?signal=NOPE");
        Assert.Equal(HttpStatusCode.BadRequest, status);
        Assert.Equal(Error("Invalid signal: NOPE"), body);
    }

    [Theory]
    [InlineData("", "remove c2 False")]
    [InlineData("?force=1", "remove c2 True")]
    [InlineData("?force=true", "remove c2 True")]
    [InlineData("?force=0", "remove c2 False")]
    public async Task Delete_ForceFlag(string query, string call)
    {
        var (status, _) = await Send(HttpMethod.Delete, "/v1.41/containers/c2" + query);
        Assert.Equal(HttpStatusCode.NoContent, status);
        Assert.Equal([call], _containers.Calls);
    }

    // --- logs ---------------------------------------------------------------------------------------------------

    [Fact]
    public async Task Logs_NoStream_Is400()
    {
        var (status, body) = await Send(HttpMethod.Get, "/v1.41/containers/c1/logs?timestamps=1");
        Assert.Equal(HttpStatusCode.BadRequest, status);
        Assert.Equal(Error("Bad parameters: you must choose at least one stream"), body);
        Assert.Empty(_containers.Calls);
    }

    [Fact]
    public async Task Logs_QueryParsed_AndFramedWithoutTty()
    {
        using var r = await Http.GetAsync("/v1.41/containers/c1/logs?stdout=1&stderr=true&tail=2&since=100.25&until=200&follow=0");
        Assert.Equal(HttpStatusCode.OK, r.StatusCode);
        var q = _containers.LastLogQuery!;
        Assert.True(q.Stdout && q.Stderr && !q.Follow && !q.Timestamps);
        Assert.Equal(2, q.Tail);
        Assert.Equal(DateTimeOffset.FromUnixTimeMilliseconds(100_250).UtcDateTime, q.Since); // the fraction kept, as dockerd's time.Unix(s, ns)
        Assert.Equal(DateTimeOffset.FromUnixTimeSeconds(200).UtcDateTime, q.Until);
        Assert.Equal(
            [1, 0, 0, 0, 0, 0, 0, 4, .. "out\n"u8.ToArray(), 2, 0, 0, 0, 0, 0, 0, 4, .. "err\n"u8.ToArray()],
            await r.Content.ReadAsByteArrayAsync());
    }

    [Fact]
    public async Task Logs_WithTty_AreRaw_AndTimestamped()
    {
        using var r = await Http.GetAsync("/v1.41/containers/c2/logs?stdout=1&timestamps=1&tail=all");
        Assert.Equal(HttpStatusCode.OK, r.StatusCode);
        Assert.Null(_containers.LastLogQuery!.Tail); // "all"
        Assert.Equal("2020-01-02T03:04:05.000000000Z out\n2020-01-02T03:04:05.000000000Z err\n", await r.Content.ReadAsStringAsync());
    }

    // --- resize -------------------------------------------------------------------------------------------------

    [Theory]
    [InlineData("?h=10")]
    [InlineData("?h=10&w=x")]
    [InlineData("")]
    public async Task Resize_BadParameters_Is400(string query)
    {
        var (status, body) = await Send(HttpMethod.Post, "/v1.41/containers/c3/resize" + query);
        Assert.Equal(HttpStatusCode.BadRequest, status);
        Assert.Equal(Error("invalid resize parameters"), body);
        Assert.Empty(_containers.Calls);
    }

    [Theory]
    [InlineData("c3", "resize c3 24 80")] // running, tty
    [InlineData("c1", null)] // no tty: nothing to resize
    [InlineData("c2", null)] // not running
    public async Task Resize_OnlyARunningTty(string id, string? call)
    {
        var (status, _) = await Send(HttpMethod.Post, $"/v1.41/containers/{id}/resize?h=24&w=80");
        Assert.Equal(HttpStatusCode.OK, status);
        Assert.Equal(call is null ? [] : [call], _containers.Calls);
    }

    // --- attach -------------------------------------------------------------------------------------------------

    [Theory]
    [InlineData("c1", false)]
    [InlineData("c3", true)]
    public async Task Attach_RelaysMonitorFrames_PayloadOnlyForATty(string id, bool tty)
    {
        // The fake monitor: a unix socket the backend's AttachAsync connects to.
        string path = Path.Combine(_dir.Path, "attach.sock");
        using var listener = new Socket(AddressFamily.Unix, SocketType.Stream, ProtocolType.Unspecified);
        listener.Bind(new UnixDomainSocketEndPoint(path));
        listener.Listen(1);
        _containers.AttachPath = path;

        using var client = new Socket(AddressFamily.Unix, SocketType.Stream, ProtocolType.Unspecified);
        await client.ConnectAsync(new UnixDomainSocketEndPoint(_dir.Socket));
        await client.SendAsync(Encoding.ASCII.GetBytes(
            $"POST /v1.41/containers/{id}/attach?stream=1&stdout=1&stdin=1 HTTP/1.1\r\nHost: docker\r\nContent-Length: 0\r\n" +
            "Connection: Upgrade\r\nUpgrade: tcp\r\n\r\n"));
        using var monitor = await listener.AcceptAsync().WaitAsync(TimeSpan.FromSeconds(10));
        await monitor.SendAsync(new byte[] { 1, 0, 0, 0, 0, 0, 0, 3, (byte)'h', (byte)'i', (byte)'\n' });
        // stdin reaches the monitor; the client's half-close closes it.
        await client.SendAsync("in"u8.ToArray());
        client.Shutdown(SocketShutdown.Send);
        var input = new MemoryStream();
        var buf = new byte[256];
        int n;
        while ((n = await monitor.ReceiveAsync(buf)) > 0) input.Write(buf, 0, n);
        Assert.Equal("in", Encoding.ASCII.GetString(input.ToArray()));
        monitor.Shutdown(SocketShutdown.Both); // the container ended: the relay ends

        var all = new MemoryStream();
        while ((n = await client.ReceiveAsync(buf)) > 0) all.Write(buf, 0, n);
        string text = Encoding.Latin1.GetString(all.ToArray());
        Assert.StartsWith("HTTP/1.1 101 ", text);
        string payload = text[(text.IndexOf("\r\n\r\n", StringComparison.Ordinal) + 4)..];
        Assert.Equal(tty ? "hi\n" : "\u0001\0\0\0\0\0\0\u0003hi\n", payload);
    }

    [Fact]
    public async Task Attach_ContainerGoneBeforeConnect_EndsTheConnection()
    {
        _containers.AttachPath = null; // AttachAsync answers null: the container exited first
        using var client = new Socket(AddressFamily.Unix, SocketType.Stream, ProtocolType.Unspecified);
        await client.ConnectAsync(new UnixDomainSocketEndPoint(_dir.Socket));
        await client.SendAsync(Encoding.ASCII.GetBytes(
            "POST /v1.41/containers/c2/attach?stream=1&stdout=1 HTTP/1.1\r\nHost: docker\r\nContent-Length: 0\r\nConnection: Upgrade\r\nUpgrade: tcp\r\n\r\n"));
        var all = new MemoryStream();
        var buf = new byte[256];
        int n;
        using var cts = new CancellationTokenSource(TimeSpan.FromSeconds(10));
        while ((n = await client.ReceiveAsync(buf, SocketFlags.None, cts.Token)) > 0) all.Write(buf, 0, n);
        string text = Encoding.Latin1.GetString(all.ToArray());
        Assert.StartsWith("HTTP/1.1 101 ", text);
        Assert.EndsWith("\r\n\r\n", text);
    }

    [Fact]
    public async Task Attach_UnknownContainer_Is404_NotAnUpgrade()
    {
        var (status, body) = await Send(HttpMethod.Post, "/v1.41/containers/nope/attach?stream=1");
        Assert.Equal(HttpStatusCode.NotFound, status);
        Assert.Equal(Error("No such container: nope"), body);
    }

    // --- list, inspect ------------------------------------------------------------------------------------------

    [Fact]
    public async Task List_FiltersThroughTheBackend()
    {
        var (status, body) = await Send(HttpMethod.Get, "/v1.41/containers/json?all=1&filters=" + Uri.EscapeDataString("{\"ancestor\":[\"busybox\"]}"));
        Assert.Equal(HttpStatusCode.OK, status);
        using var doc = JsonDocument.Parse(body);
        Assert.Equal(["c1", "c3"], doc.RootElement.EnumerateArray().Select(e => e.GetProperty("Id").GetString()).Order());
        Assert.Contains("resolve busybox", _containers.Calls);

        (status, body) = await Send(HttpMethod.Get, "/v1.41/containers/json?filters=" + Uri.EscapeDataString("{\"bogus\":[\"x\"]}"));
        Assert.Equal(HttpStatusCode.BadRequest, status);
        Assert.Contains("bogus", body);
    }

    [Fact]
    public async Task Inspect_PathsAndGraphDriverFromTheBackend()
    {
        var (status, body) = await Send(HttpMethod.Get, "/v1.41/containers/web/json");
        Assert.Equal(HttpStatusCode.OK, status);
        using var doc = JsonDocument.Parse(body);
        var root = doc.RootElement;
        Assert.Equal("c1", root.GetProperty("Id").GetString());
        Assert.Equal("/web", root.GetProperty("Name").GetString());
        Assert.Equal("/records/c1/hosts", root.GetProperty("HostsPath").GetString());
        Assert.Equal("/upper/c1", root.GetProperty("GraphDriver").GetProperty("Data").GetProperty("UpperDir").GetString());
        Assert.True(root.GetProperty("State").GetProperty("Running").GetBoolean());
    }

    // --- images, system, no engine --------------------------------------------------------------------------------

    [Fact]
    public async Task ImageTag_WithoutRepo_Is400()
    {
        var (status, body) = await Send(HttpMethod.Post, "/v1.41/images/busybox/tag");
        Assert.Equal(HttpStatusCode.BadRequest, status);
        Assert.Equal(Error("repository name must be given"), body);
        Assert.Empty(_images.Calls);

        (status, _) = await Send(HttpMethod.Post, "/v1.41/images/localhost:5000/a/b:1/tag?repo=x&tag=2");
        Assert.Equal(HttpStatusCode.Created, status);
        Assert.Equal(["tag localhost:5000/a/b:1 x 2"], _images.Calls);
    }

    [Theory]
    [InlineData("", "remove busybox False")]
    [InlineData("?force=1", "remove busybox True")]
    [InlineData("?force=true", "remove busybox True")]
    public async Task ImageDelete_ForceFlag_AndItsAnswer(string query, string call)
    {
        var (status, body) = await Send(HttpMethod.Delete, "/v1.41/images/busybox" + query);
        Assert.Equal(HttpStatusCode.OK, status);
        Assert.Equal([call], _images.Calls);
        Assert.Equal("[{\"Untagged\":\"busybox:latest\"}]\n", body);
    }

    [Fact]
    public async Task ImagePull_OnABackendWithoutPull_Is501()
    {
        var (status, body) = await Send(HttpMethod.Post, "/v1.41/images/create?fromImage=alpine&tag=3");
        Assert.Equal(HttpStatusCode.NotImplemented, status);
        Assert.Contains("image pull is not implemented in Berth yet", body);
        Assert.Empty(_images.Calls);
    }

    [Fact]
    public async Task Info_CountsFromTheSystemBackend()
    {
        var (status, body) = await Send(HttpMethod.Get, "/v1.41/info");
        Assert.Equal(HttpStatusCode.OK, status);
        using var doc = JsonDocument.Parse(body);
        var root = doc.RootElement;
        Assert.Equal(3, root.GetProperty("Containers").GetInt32());
        Assert.Equal(2, root.GetProperty("ContainersRunning").GetInt32());
        Assert.Equal(1, root.GetProperty("ContainersStopped").GetInt32());
        Assert.Equal(1, root.GetProperty("Images").GetInt32());
    }

    [Fact]
    public async Task NoEngine_Is503()
    {
        using var dir = new TempDir();
        await using var host = await DaemonHost.StartAsync(dir.Options(), null, _ => { });
        using var http = UnixHttp.Client(dir.Socket);
        using var r = await http.GetAsync("/v1.41/containers/json");
        Assert.Equal(HttpStatusCode.ServiceUnavailable, r.StatusCode);
        Assert.Equal(Error("the container engine is not running"), await r.Content.ReadAsStringAsync());
        using var i = await http.GetAsync("/v1.41/images/json");
        Assert.Equal(HttpStatusCode.ServiceUnavailable, i.StatusCode);
        using var info = await http.GetAsync("/v1.41/info");
        Assert.Equal(HttpStatusCode.OK, info.StatusCode); // counts are 0
    }
}

/// <summary>A container backend that records the calls the routers make.</summary>
internal sealed class FakeContainers : IContainerBackend
{
    private readonly List<ContainerRecord> _records = [];
    public readonly ConcurrentQueue<string> Calls = new();
    public readonly TaskCompletionSource<int> Exit = new(TaskCreationOptions.RunContinuationsAsynchronously);
    public LogQuery? LastLogQuery;
    public string? AttachPath;

    public void Add(string id, string name, bool running, bool tty = false) => _records.Insert(0, new ContainerRecord
    {
        Id = id, Name = name, Image = id == "c2" ? "sha256:other" : "sha256:busy", ImageRef = "busybox", Created = DateTime.UtcNow,
        Path = "sh", Config = new Berth.Api.Containers.ContainerConfig { Tty = tty },
        State = new ContainerStateRecord { Status = running ? "running" : "exited", StartedAt = DateTime.UtcNow },
    });

    public ContainerRecord Get(string idOrName) =>
        _records.FirstOrDefault(r => r.Id == idOrName || r.Name == idOrName) ?? throw BerthException.NotFound($"No such container: {idOrName}");

    public IReadOnlyList<ContainerRecord> List() => _records;

    public CreateResult Create(CreateInput input) => throw new NotSupportedException();

    public Task StartAsync(string idOrName, CancellationToken ct = default)
    {
        Calls.Enqueue($"start {Get(idOrName).Id}");
        return Task.CompletedTask;
    }

    public Task StopAsync(string idOrName, int? timeoutSeconds = null, CancellationToken ct = default)
    {
        var c = Get(idOrName);
        Calls.Enqueue($"stop {c.Id} {timeoutSeconds?.ToString(System.Globalization.CultureInfo.InvariantCulture) ?? "default"}");
        return c.State.Running ? Task.CompletedTask : throw new BerthException(ErrorKind.NotModified, "container already stopped");
    }

    public Task KillAsync(string idOrName, string signal = "KILL", CancellationToken ct = default)
    {
        if (signal == "NOPE") throw BerthException.Invalid($"Invalid signal: {signal}");
        Calls.Enqueue($"kill {Get(idOrName).Id} {signal}");
        return Task.CompletedTask;
    }

    public void RemoveLink(string name) => Calls.Enqueue($"rmlink {name}");

    public Task RemoveAsync(string idOrName, bool force, bool removeVolumes = false, CancellationToken ct = default)
    {
        Calls.Enqueue($"remove {Get(idOrName).Id} {force}");
        return Task.CompletedTask;
    }

    public Task<int> WaitAsync(string idOrName, string condition = "not-running", CancellationToken ct = default)
    {
        Calls.Enqueue($"wait {Get(idOrName).Id} {condition}");
        return Exit.Task;
    }

    public string? ResolveImageId(string reference)
    {
        Calls.Enqueue($"resolve {reference}");
        return reference == "busybox" ? "sha256:busy" : null;
    }

    public string RecordDirectory(string id) => "/records/" + id;

    public IReadOnlyList<KeyValuePair<string, string>> GraphDriverData(string id) => [new("UpperDir", "/upper/" + id)];

    public IAsyncEnumerable<LogEntry> Logs(string idOrName, LogQuery query, CancellationToken ct)
    {
        Get(idOrName);
        LastLogQuery = query;
        return Entries(ct);
    }

    private static async IAsyncEnumerable<LogEntry> Entries([EnumeratorCancellation] CancellationToken ct)
    {
        var time = new DateTime(2020, 1, 2, 3, 4, 5, DateTimeKind.Utc);
        yield return new LogEntry { Log = "out\n", Stream = "stdout", Time = time };
        await Task.Yield();
        ct.ThrowIfCancellationRequested();
        yield return new LogEntry { Log = "err\n", Stream = "stderr", Time = time };
    }

    public Task ResizeAsync(string id, int height, int width)
    {
        Calls.Enqueue($"resize {id} {height} {width}");
        return Task.CompletedTask;
    }

    public async Task<Socket?> AttachAsync(string id)
    {
        if (AttachPath is null) return null;
        var s = new Socket(AddressFamily.Unix, SocketType.Stream, ProtocolType.Unspecified);
        await s.ConnectAsync(new UnixDomainSocketEndPoint(AttachPath));
        return s;
    }
}

/// <summary>An image backend with one image, recording the calls.</summary>
internal sealed class FakeImages : IImageBackend
{
    public readonly ConcurrentQueue<string> Calls = new();

    public IReadOnlyList<ImageSummary> List() => [new ImageSummary { Id = "sha256:busy" }];
    public ImageInspect Inspect(string nameOrId) => throw BerthException.NotFound($"No such image: {nameOrId}");
    public string Import(Stream tar, string? repoTag, ImageConfigChanges? changes) => throw new NotSupportedException();

    public void Tag(string source, string repo, string? tag) => Calls.Enqueue($"tag {source} {repo} {tag}");

    public IReadOnlyList<ImageDeleteItem> Remove(string nameOrId, bool force)
    {
        Calls.Enqueue($"remove {nameOrId} {force}");
        return [new ImageDeleteItem("busybox:latest", null)];
    }

    public (string ImageId, Berth.Engine.Specs.ImageDefaults Defaults) Resolve(string reference) => throw new NotSupportedException();
}
