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
