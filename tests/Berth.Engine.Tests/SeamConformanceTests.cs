using System.Diagnostics;
using System.Net.Sockets;
using Berth.Engine.Containers;

namespace Berth.Engine.Tests;

/// <summary>
/// What every <see cref="IOciRuntime"/> must do, run against the real implementations: berth-runtime linked in
/// (<see cref="LinkedBerthRuntime"/>) and runc through its command line (<see cref="ExternalOciRuntime"/>, Debian's
/// /usr/sbin/runc from scripts/deps.sh): on a missing container both answer alike.
/// </summary>
public sealed class OciRuntimeConformanceTests : IDisposable
{
    public const string Runc = "/usr/sbin/runc";
    private readonly string _root = Directory.CreateTempSubdirectory("bce-oci-").FullName;

    public void Dispose() => Directory.Delete(_root, recursive: true);

    public static TheoryData<string> Runtimes => ["berth-runtime", "runc"];

    private IOciRuntime Runtime(string name)
    {
        var root = Path.Combine(_root, name);
        Directory.CreateDirectory(root);
        if (name == "berth-runtime") return new LinkedBerthRuntime(root);
        Assert.True(File.Exists(Runc), $"{Runc} is missing: run scripts/deps.sh");
        return new ExternalOciRuntime(Runc, root);
    }

    [Theory]
    [MemberData(nameof(Runtimes))]
    public async Task ForcedDeleteOfAMissingContainer_Succeeds(string name)
    {
        var r = await Runtime(name).DeleteAsync("missing", force: true, CancellationToken.None);
        Assert.True(r.Succeeded, $"{name}: {r.Code} {r.Error}");
        Assert.Equal("", r.Error);
    }

    [Theory]
    [MemberData(nameof(Runtimes))]
    public async Task VerbsOnAMissingContainer_FailWithTheRuntimesMessage(string name)
    {
        var runtime = Runtime(name);
        var results = new[]
        {
            await runtime.KillAsync("missing", "9", all: false, CancellationToken.None),
            await runtime.KillAsync("missing", "KILL", all: true, CancellationToken.None),
            await runtime.DeleteAsync("missing", force: false, CancellationToken.None),
            await runtime.StartAsync("missing", CancellationToken.None),
        };
        foreach (var r in results)
        {
            Assert.False(r.Succeeded, name);
            Assert.NotEqual(0, r.Code);
            // The message alone (runc's logrus wrapping stripped), the same words from both.
            Assert.Equal("container does not exist", r.Error);
        }
    }
}

/// <summary>
/// <see cref="IContainerMonitor"/> against <see cref="BerthMonitor"/> on state directories in each shape it can
/// find: a monitor gone with or without its exit record, a live monitor process, a missing control socket.
/// </summary>
public sealed class MonitorConformanceTests : IDisposable
{
    private readonly string _dir = Directory.CreateTempSubdirectory("bce-mon-").FullName;
    private readonly IContainerMonitor _monitor = new BerthMonitor("/nonexistent/berth-monitor");
    private readonly List<Process> _processes = [];

    public void Dispose()
    {
        foreach (var p in _processes)
        {
            try { if (!p.HasExited) p.Kill(); p.WaitForExit(); }
            catch (InvalidOperationException) { }
            p.Dispose();
        }
        Directory.Delete(_dir, recursive: true);
    }

    private static readonly DateTime Finished = new(2024, 5, 6, 7, 8, 9, DateTimeKind.Utc);

    private void WriteExit(int code, int signal = 0) =>
        File.WriteAllText(Path.Combine(_dir, "exit.json"),
            $"{{\"exitCode\":{code},\"signal\":{signal},\"oomKilled\":false,\"finishedAt\":\"{Finished:yyyy-MM-ddTHH:mm:ssZ}\"}}");

    /// <summary>A stand-in monitor process (sh waiting on its stdin), its pid in monitor.pid.</summary>
    private Process LiveMonitor()
    {
        var p = Process.Start(new ProcessStartInfo("/bin/sh", ["-c", "read x"]) { RedirectStandardInput = true })!;
        _processes.Add(p);
        File.WriteAllText(Path.Combine(_dir, "monitor.pid"), p.Id + "\n");
        return p;
    }

    [Fact]
    public async Task WaitExit_MonitorGone_ExitRecorded_ReturnsTheRecord()
    {
        WriteExit(3);
        var exit = await _monitor.WaitExitAsync(_dir, CancellationToken.None).WaitAsync(TimeSpan.FromSeconds(10));
        Assert.NotNull(exit);
        Assert.Equal(3, exit.ExitCode);
        Assert.Equal(Finished, exit.FinishedAt.ToUniversalTime());
    }

    [Fact]
    public async Task WaitExit_MonitorGone_NoRecord_ReturnsNull()
    {
        Assert.Null(await _monitor.WaitExitAsync(_dir, CancellationToken.None).WaitAsync(TimeSpan.FromSeconds(10)));
        // A directory that does not exist at all: the same.
        Assert.Null(await _monitor.WaitExitAsync(Path.Combine(_dir, "gone"), CancellationToken.None).WaitAsync(TimeSpan.FromSeconds(10)));
    }

    [Fact]
    public async Task WaitExit_StaleMonitorPid_NoRecord_ReturnsNull()
    {
        var p = Process.Start(new ProcessStartInfo("/bin/true"))!;
        p.WaitForExit();
        File.WriteAllText(Path.Combine(_dir, "monitor.pid"), p.Id + "\n");
        p.Dispose();
        Assert.Null(await _monitor.WaitExitAsync(_dir, CancellationToken.None).WaitAsync(TimeSpan.FromSeconds(10)));
    }

    [Fact]
    public async Task WaitExit_ControlConnectionClosedAfterTheRecord_ReturnsIt()
    {
        // berth-monitor's protocol: it writes exit.json, then closes every control connection.
        using var listener = new Socket(AddressFamily.Unix, SocketType.Stream, ProtocolType.Unspecified);
        listener.Bind(new UnixDomainSocketEndPoint(BerthMonitor.ControlSocket(_dir)));
        listener.Listen(1);
        var waiting = _monitor.WaitExitAsync(_dir, CancellationToken.None);
        using var conn = await listener.AcceptAsync().WaitAsync(TimeSpan.FromSeconds(10));
        Assert.False(waiting.IsCompleted);
        WriteExit(0, signal: 15);
        conn.Shutdown(SocketShutdown.Both);
        conn.Close();
        var exit = await waiting.WaitAsync(TimeSpan.FromSeconds(10));
        Assert.NotNull(exit);
        Assert.Equal(15, exit.Signal);
    }

    [Fact]
    public async Task WaitExit_UnreachableLiveMonitor_WaitsForItsProcess_ThenReadsTheRecord()
    {
        // No control socket (or a dead one) while the monitor process lives: its end is awaited, then exit.json read.
        var p = LiveMonitor();
        var waiting = _monitor.WaitExitAsync(_dir, CancellationToken.None);
        Assert.False(waiting.IsCompleted); // the monitor process lives
        // The record appears only as the monitor ends: a reader that did not wait for the process would have missed it.
        WriteExit(7);
        p.StandardInput.Close(); // the stand-in exits
        var exit = await waiting.WaitAsync(TimeSpan.FromSeconds(20));
        Assert.True(p.WaitForExit(5000));
        Assert.NotNull(exit);
        Assert.Equal(7, exit.ExitCode);
    }

    [Fact]
    public async Task WaitExit_Cancelled_Throws()
    {
        using var listener = new Socket(AddressFamily.Unix, SocketType.Stream, ProtocolType.Unspecified);
        listener.Bind(new UnixDomainSocketEndPoint(BerthMonitor.ControlSocket(_dir)));
        listener.Listen(1);
        using var cts = new CancellationTokenSource();
        var waiting = _monitor.WaitExitAsync(_dir, cts.Token);
        using var conn = await listener.AcceptAsync().WaitAsync(TimeSpan.FromSeconds(10));
        cts.Cancel();
        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => waiting.WaitAsync(TimeSpan.FromSeconds(10)));
    }

    [Fact]
    public async Task Resize_MissingSocket_IsNotAnError()
    {
        await _monitor.ResizeAsync(_dir, 24, 80).WaitAsync(TimeSpan.FromSeconds(10));
        await _monitor.ResizeAsync(Path.Combine(_dir, "gone"), 24, 80).WaitAsync(TimeSpan.FromSeconds(10));
    }

    [Fact]
    public async Task Resize_SendsTheSizeToTheControlSocket()
    {
        using var listener = new Socket(AddressFamily.Unix, SocketType.Stream, ProtocolType.Unspecified);
        listener.Bind(new UnixDomainSocketEndPoint(BerthMonitor.ControlSocket(_dir)));
        listener.Listen(1);
        var resizing = _monitor.ResizeAsync(_dir, 33, 120);
        using var conn = await listener.AcceptAsync().WaitAsync(TimeSpan.FromSeconds(10));
        var buf = new byte[64];
        int n = await conn.ReceiveAsync(buf, SocketFlags.None).WaitAsync(TimeSpan.FromSeconds(10));
        Assert.Equal("resize 33 120\n", System.Text.Encoding.ASCII.GetString(buf, 0, n));
        await conn.SendAsync("ok\n"u8.ToArray());
        await resizing.WaitAsync(TimeSpan.FromSeconds(10));
    }

    [Fact]
    public async Task WaitGone_DeadPid_ReturnsAtOnce_NoPidFile_Too()
    {
        await _monitor.WaitGoneAsync(_dir).WaitAsync(TimeSpan.FromSeconds(10)); // no monitor.pid
        var p = Process.Start(new ProcessStartInfo("/bin/true"))!;
        p.WaitForExit();
        File.WriteAllText(Path.Combine(_dir, "monitor.pid"), p.Id + "\n");
        p.Dispose();
        var watch = Stopwatch.StartNew();
        await _monitor.WaitGoneAsync(_dir).WaitAsync(TimeSpan.FromSeconds(10));
        Assert.True(watch.Elapsed < TimeSpan.FromSeconds(1.5), $"took {watch.Elapsed} for a dead pid (the bound is 2 s)");
    }

    [Fact]
    public async Task WaitGone_LivePid_ReturnsWhenItEnds()
    {
        var p = LiveMonitor();
        var waiting = _monitor.WaitGoneAsync(_dir);
        p.StandardInput.Close();
        await waiting.WaitAsync(TimeSpan.FromSeconds(10));
        Assert.True(p.WaitForExit(5000));
    }

    [Fact]
    public async Task WaitGone_LivePidThatStays_IsBounded()
    {
        var p = LiveMonitor();
        var watch = Stopwatch.StartNew();
        await _monitor.WaitGoneAsync(_dir).WaitAsync(TimeSpan.FromSeconds(10));
        Assert.True(watch.Elapsed >= TimeSpan.FromSeconds(1.9), $"returned after {watch.Elapsed} while the monitor lives");
        Assert.False(p.HasExited);
    }
}

/// <summary>
/// The whole seam path with the real berth-monitor, once per runtime: the monitor runs the runtime's create on a
/// busybox bundle (runc's default spec), the engine's <see cref="IOciRuntime"/> starts it, the monitor records the
/// exit and the log, the runtime deletes it. Both runtimes must give the same answers. Needs root.
/// </summary>
public sealed class MonitorLaunchConformanceTests : IDisposable
{
    private static readonly string Repo = FindRepo();
    private readonly string _dir = Directory.CreateTempSubdirectory("bce-launch-").FullName;

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    private static string FindRepo()
    {
        var d = AppContext.BaseDirectory;
        while (!File.Exists(Path.Combine(d, "Berth.slnx"))) d = Path.GetDirectoryName(d)!;
        return d;
    }

    private static string Binary(params string[] candidates) =>
        candidates.Select(c => Path.Combine(Repo, c)).FirstOrDefault(File.Exists)
        ?? throw new InvalidOperationException($"{string.Join(" or ", candidates)} is missing: run scripts/build.sh");

    public static TheoryData<string> Runtimes => ["berth-runtime", "runc"];

    [Theory]
    [MemberData(nameof(Runtimes))]
    public async Task LaunchStartExitDelete_TheSameThroughEitherRuntime(string name)
    {
        Assert.True(Interop.Libc.geteuid() == 0, "this test needs root");
        string runtimePath = name == "runc" ? OciRuntimeConformanceTests.Runc : Binary("out/bin/berth-runtime");
        string root = Path.Combine(_dir, "runtime");
        IOciRuntime runtime = name == "runc" ? new ExternalOciRuntime(runtimePath, root) : new LinkedBerthRuntime(root);
        IContainerMonitor monitor = new BerthMonitor(Binary("out/bin/berth-monitor", "src/monitor/build/berth-monitor"));

        string bundle = Path.Combine(_dir, "bundle");
        Directory.CreateDirectory(bundle);
        Run("/bin/sh", Path.Combine(Repo, "scripts", "make-busybox-rootfs.sh"), Path.Combine(bundle, "rootfs"));
        Run(OciRuntimeConformanceTests.Runc, "spec", "--bundle", bundle);
        var config = System.Text.Json.Nodes.JsonNode.Parse(File.ReadAllText(Path.Combine(bundle, "config.json")))!;
        config["process"]!["terminal"] = false;
        config["process"]!["args"] = new System.Text.Json.Nodes.JsonArray("sh", "-c", "echo hello; exit 3");
        config["root"]!["readonly"] = false;
        File.WriteAllText(Path.Combine(bundle, "config.json"), config.ToJsonString());

        string id = "conf-" + name;
        string log = Path.Combine(_dir, "log.json");
        var result = await monitor.LaunchAsync(new MonitorLaunch(id, bundle, root, log, Tty: false, Stdin: false, runtimePath, Spawn: null),
            CancellationToken.None);
        Assert.Null(result.Error);
        Assert.True(result.Pid > 0);
        try
        {
            var exited = monitor.WaitExitAsync(bundle, CancellationToken.None);
            Assert.False(exited.IsCompleted); // created, not started: the monitor holds the connection open
            var started = await runtime.StartAsync(id, CancellationToken.None);
            Assert.True(started.Succeeded, started.Error);
            var exit = await exited.WaitAsync(TimeSpan.FromSeconds(30));
            Assert.NotNull(exit);
            Assert.Equal(3, exit.ExitCode);
            Assert.Contains("\"log\":\"hello\\n\",\"stream\":\"stdout\"", File.ReadAllText(log));
            await monitor.WaitGoneAsync(bundle).WaitAsync(TimeSpan.FromSeconds(10));
            // Resizing a container whose monitor is gone is not an error.
            await monitor.ResizeAsync(bundle, 10, 10);
        }
        finally
        {
            var deleted = await runtime.DeleteAsync(id, force: true, CancellationToken.None);
            Assert.True(deleted.Succeeded, deleted.Error);
        }
        Assert.False(Directory.Exists(Path.Combine(root, id)));
        // A second forced delete: the container is missing now, which is fine.
        Assert.True((await runtime.DeleteAsync(id, force: true, CancellationToken.None)).Succeeded);
    }

    [Theory]
    [InlineData("/bin/false", 1)]
    [InlineData("/nonexistent/runtime", 127)]
    public async Task Launch_RuntimeCreateFails_ReportsIt_AndTheMonitorGoes(string runtimePath, int exitCode)
    {
        IContainerMonitor monitor = new BerthMonitor(Binary("out/bin/berth-monitor", "src/monitor/build/berth-monitor"));
        var result = await monitor.LaunchAsync(
            new MonitorLaunch("conf-fail", _dir, Path.Combine(_dir, "runtime"), Path.Combine(_dir, "log.json"), false, false, runtimePath, null),
            CancellationToken.None);
        Assert.Equal($"{runtimePath} create failed", result.Error);
        Assert.Equal(exitCode, result.ExitCode);
        Assert.Equal(0, result.Pid);
        await monitor.WaitGoneAsync(_dir).WaitAsync(TimeSpan.FromSeconds(10));
        Assert.Null(await monitor.WaitExitAsync(_dir, CancellationToken.None).WaitAsync(TimeSpan.FromSeconds(10)));
    }

    private static void Run(string file, params string[] args)
    {
        using var p = Process.Start(new ProcessStartInfo(file, args) { RedirectStandardOutput = true, RedirectStandardError = true })!;
        string err = p.StandardError.ReadToEnd();
        p.StandardOutput.ReadToEnd();
        p.WaitForExit();
        Assert.True(p.ExitCode == 0, $"{file} {string.Join(' ', args)}: {err}");
    }
}
