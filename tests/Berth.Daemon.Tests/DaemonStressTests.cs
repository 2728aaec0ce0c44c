using System.Collections.Concurrent;

namespace Berth.Daemon.Tests;

/// <summary>The stress tests run alone (no other test class at the same time): they count what is left behind.</summary>
[CollectionDefinition("stress", DisableParallelization = true)]
public sealed class StressCollection;

/// <summary>
/// Many containers through the daemon and the real docker CLI: no hang (every command has a deadline), and
/// afterwards no leaked containers, mounts, cgroups, monitor or runtime processes, or daemon fds.
/// </summary>
[Collection("stress")]
public sealed class DaemonStressTests : IDisposable
{
    private readonly DaemonFixture _fx = new();

    public void Dispose() => _fx.Dispose();

    private (int Code, string Stdout, string Stderr) Docker(params string[] args) => DockerCli.Run(_fx.Dir.Socket, _fx.Dir.Path, args);

    private int DaemonFds() => Directory.GetFiles($"/proc/{_fx.Daemon.Pid}/fd").Length;

    /// <summary>Container cgroups under the engine's parent, in every v1 controller (or the v2 tree).</summary>
    private static HashSet<string> ContainerCgroups()
    {
        var set = new HashSet<string>();
        var roots = File.Exists("/sys/fs/cgroup/cgroup.controllers")
            ? ["/sys/fs/cgroup/berth"]
            : new[] { "memory", "pids", "cpu", "blkio", "devices", "freezer", "cpuset" }.Select(c => $"/sys/fs/cgroup/{c}/berth");
        foreach (var root in roots.Where(Directory.Exists))
            foreach (var d in Directory.GetDirectories(root)) set.Add(d);
        return set;
    }

    /// <summary>
    /// The IDs of the containers this daemon creates from now on, from its own event stream (`docker events
    /// --since`, which replays the recent history, so nothing is missed before the stream is up). Other daemons on
    /// the machine (tests running beside these) have container cgroups under berth/ too: only ours count.
    /// </summary>
    private sealed class CreatedIds : IDisposable
    {
        private readonly System.Diagnostics.Process _events;
        private readonly ConcurrentDictionary<string, bool> _ids = new();

        public CreatedIds(DaemonStressTests t)
        {
            var psi = new System.Diagnostics.ProcessStartInfo(DockerCli.Path)
            {
                RedirectStandardOutput = true,
                RedirectStandardError = true,
            };
            foreach (var a in new[] { "events", "--since", DateTimeOffset.UtcNow.AddSeconds(-5).ToUnixTimeSeconds().ToString(),
                                      "--filter", "type=container", "--filter", "event=create", "--format", "{{.ID}}" })
                psi.ArgumentList.Add(a);
            psi.Environment["DOCKER_HOST"] = "unix://" + t._fx.Dir.Socket;
            psi.Environment["DOCKER_CONFIG"] = Path.Combine(t._fx.Dir.Path, "docker-config");
            _events = System.Diagnostics.Process.Start(psi)!;
            _events.OutputDataReceived += (_, e) => { if (e.Data is { Length: > 0 } id) _ids[id.Trim()] = true; };
            _events.BeginOutputReadLine();
        }

        public bool Contains(string id) => _ids.ContainsKey(id);

        public void Dispose()
        {
            try { _events.Kill(); } catch (InvalidOperationException) { }
            _events.WaitForExit();
            _events.Dispose();
        }
    }

    private void AssertNothingLeft(int fdsBefore, HashSet<string> cgroupsBefore, Func<string, bool> ours)
    {
        Thread.Sleep(500); // the event stream is asynchronous: let the last creates arrive
        Assert.Equal("", Docker("ps", "-aq").Stdout);
        Assert.DoesNotContain(File.ReadAllLines("/proc/self/mountinfo"), l => l.Contains(_fx.Dir.Path, StringComparison.Ordinal));
        // (Other daemons' containers may come and go meanwhile: only new cgroups of this daemon's containers count.)
        var leaked = ContainerCgroups().Except(cgroupsBefore).Where(Directory.Exists)
            .Where(d => ours(Path.GetFileName(d))).ToList();
        Assert.True(leaked.Count == 0, "cgroups left: " + string.Join(", ", leaked));
        foreach (var proc in Directory.EnumerateDirectories("/proc").Where(d => int.TryParse(Path.GetFileName(d), out _)))
        {
            string cmdline;
            try { cmdline = File.ReadAllText(Path.Combine(proc, "cmdline")); }
            catch (IOException) { continue; }
            if (Path.GetFileName(proc) == _fx.Daemon.Pid.ToString()) continue;
            Assert.False(cmdline.Contains(_fx.Dir.Path, StringComparison.Ordinal), $"process left: {cmdline.Replace('\0', ' ')}");
        }
        Assert.Empty(Directory.GetDirectories(Path.Combine(_fx.Dir.ExecRoot, "containers")));
        Assert.InRange(DaemonFds(), 0, fdsBefore + 8);
    }

    [Fact]
    public void AThousandRunRmTrue_NoHang_NothingLeft()
    {
        int runs = int.TryParse(Environment.GetEnvironmentVariable("BERTH_STRESS_RUNS"), out var n) ? n : 1000;
        Assert.Equal(0, Docker("run", "--rm", "busybox", "true").Code); // warm up
        int fds = DaemonFds();
        var cgroups = ContainerCgroups();
        using var ours = new CreatedIds(this);
        for (int i = 0; i < runs; i++)
        {
            var (code, stdout, stderr) = Docker("run", "--rm", "busybox", "true");
            Assert.True(code == 0 && stdout == "", $"run {i}: exit {code}: {stdout}{stderr}\n{_fx.LogTail}");
        }
        AssertNothingLeft(fds, cgroups, ours.Contains);
    }

    [Fact]
    public async Task EightClientsCreatingAndRemovingForAMinute_NoHang_NothingLeft()
    {
        Assert.Equal(0, Docker("run", "--rm", "busybox", "true").Code);
        int fds = DaemonFds();
        var cgroups = ContainerCgroups();
        using var ours = new CreatedIds(this);
        var deadline = DateTime.UtcNow.AddSeconds(60);
        var errors = new ConcurrentQueue<string>();
        int operations = 0;
        var clients = Enumerable.Range(0, 8).Select(client => Task.Run(() =>
        {
            for (int i = 0; DateTime.UtcNow < deadline && errors.IsEmpty; i++)
            {
                string name = $"c{client}-{i}";
                // Three shapes of life: created then removed; running then force-removed; ran and auto-removed.
                (int, string, string)[] steps = (i % 3) switch
                {
                    0 => [Docker("create", "--name", name, "busybox", "true"), Docker("rm", name)],
                    1 => [Docker("run", "-d", "--name", name, "busybox", "sleep", "30"), Docker("rm", "-f", name)],
                    _ => [Docker("run", "--rm", "--name", name, "busybox", "sh", "-c", "echo " + name)],
                };
                foreach (var (code, stdout, stderr) in steps)
                {
                    if (code != 0) errors.Enqueue($"{name}: exit {code}: {stdout}{stderr}");
                }
                if ((i % 3) == 2 && steps[0].Item2 != name + "\n") errors.Enqueue($"{name}: output {steps[0].Item2}");
                Interlocked.Add(ref operations, steps.Length);
            }
        })).ToArray();
        await Task.WhenAll(clients).WaitAsync(TimeSpan.FromMinutes(4));
        Assert.True(errors.IsEmpty, string.Join('\n', errors.Take(5)) + "\n" + _fx.LogTail);
        Assert.True(operations > 50, $"only {operations} operations in a minute");
        AssertNothingLeft(fds, cgroups, ours.Contains);
    }

    /// <summary>
    /// kill -9 of berthd in the middle of a burst of run -d: starts cut short leave a monitor and an init waiting
    /// on exec.fifo, a cgroup, a runtime dir and an overlay mount. The next berthd undoes each of them at start
    /// (the container stays "created", as Docker's would), and rm -f then removes everything.
    /// </summary>
    [Fact]
    public async Task KillNineDuringABurstOfRunD_RecoveryLeavesNoHalfMadeContainer()
    {
        Assert.Equal(0, Docker("run", "--rm", "busybox", "true").Code);
        var cgroups = ContainerCgroups();
        using var stop = new CancellationTokenSource();
        int started = 0;
        var clients = Enumerable.Range(0, 4).Select(client => Task.Run(() =>
        {
            for (int i = 0; !stop.IsCancellationRequested && i < 200; i++)
                if (Docker("run", "-d", "busybox", "sleep", "300").Code == 0) Interlocked.Increment(ref started);
        })).ToArray();
        // Crash once some containers run and more are on their way.
        var until = DateTime.UtcNow.AddSeconds(30);
        while (Volatile.Read(ref started) < 6 && DateTime.UtcNow < until) await Task.Delay(20);
        _fx.Crash();
        stop.Cancel();
        await Task.WhenAll(clients).WaitAsync(TimeSpan.FromMinutes(2));

        // After recovery: every container either runs (a live process) or has no run-time state at all.
        var ids = Docker("ps", "-aq", "--no-trunc").Stdout.Split('\n', StringSplitOptions.RemoveEmptyEntries);
        Assert.True(ids.Length >= 6, $"only {ids.Length} containers");
        foreach (var id in ids)
        {
            var state = Docker("inspect", "-f", "{{.State.Status}} {{.State.Pid}}", id).Stdout.Trim().Split(' ');
            if (state[0] == "running")
            {
                Assert.True(Directory.Exists($"/proc/{state[1]}"), $"{id} running without its process");
                continue;
            }
            Assert.False(Directory.Exists(Path.Combine(_fx.Dir.ExecRoot, "containers", id)), $"{id} ({state[0]}) kept its state dir");
            Assert.False(Directory.Exists(Path.Combine(_fx.Dir.ExecRoot, "runtime", id)), $"{id} ({state[0]}) kept runtime state");
            Assert.DoesNotContain(File.ReadAllLines("/proc/self/mountinfo"), l => l.Contains(id, StringComparison.Ordinal));
        }
        var (code, _, stderr) = Docker(["rm", "-f", .. ids]);
        Assert.True(code == 0, stderr + _fx.LogTail);
        // The daemon was killed (its event stream with it): the containers it knows after recovery are ours.
        AssertNothingLeft(DaemonFds(), cgroups, ids.Contains);
    }
}
