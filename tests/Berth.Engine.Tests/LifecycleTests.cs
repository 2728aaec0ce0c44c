using Berth.Api.Containers;
using Berth.Core;
using Berth.Engine.Containers;

namespace Berth.Engine.Tests;

/// <summary>
/// The container state machine over fakes of the monitor and the runtime (no kernel, no processes): the one gate
/// per container, the transitions, the event stream, and recovery of starts cut short.
/// </summary>
public sealed class LifecycleTests : IDisposable
{
    private readonly string _root = Directory.CreateTempSubdirectory("bcl-").FullName;
    private readonly FakeMonitor _monitor = new();
    private readonly FakeRuntime _runtime;
    private readonly ContainerManager _engine;
    private readonly Berth.Engine.Events.EngineEvents.Subscription _events;

    public LifecycleTests()
    {
        var template = Path.Combine(_root, "template");
        Directory.CreateDirectory(Path.Combine(template, "etc"));
        File.WriteAllText(Path.Combine(template, "etc", "passwd"), "root:x:0:0:root:/root:/bin/sh\n");
        _runtime = new FakeRuntime(_monitor, id => Path.Combine(_root, "run", "containers", id));
        _engine = NewEngine();
        _events = _engine.Events.Subscribe();
    }

    private ContainerManager NewEngine() => new(new EngineOptions
    {
        DataRoot = Path.Combine(_root, "data"), ExecRoot = Path.Combine(_root, "run"), RuntimePath = "/nonexistent/runtime",
        MonitorPath = "/nonexistent/monitor", CgroupV2 = false,
    }, new DirectoryRootfs(Path.Combine(_root, "template"), Path.Combine(_root, "rootfs")), new FixedImage(), _monitor, _runtime);

    public void Dispose()
    {
        _events.Dispose();
        Directory.Delete(_root, recursive: true);
    }

    private ContainerRecord Create(params string[] cmd) =>
        _engine.Create(new CreateInput { Config = new ContainerConfig { Image = "busybox", Cmd = [.. cmd] } }).Container;

    private List<string> Events(string id)
    {
        var list = new List<string>();
        while (_events.Reader.TryRead(out var e)) if (e.Id == id) list.Add(e.Action);
        return list;
    }

    [Fact]
    public async Task EveryTransitionIsPublishedInOrder()
    {
        var c = Create("sleep", "1");
        await _engine.StartAsync(c.Id);
        Assert.Equal("running", _engine.Store.Get(c.Id).State.Status);
        await _engine.StopAsync(c.Id, 5);
        Assert.Equal(("exited", 143), (_engine.Store.Get(c.Id).State.Status, _engine.Store.Get(c.Id).State.ExitCode));
        await _engine.RemoveAsync(c.Id, force: false);
        Assert.Equal(["create", "start", "kill", "die", "stop", "destroy"], Events(c.Id));
        Assert.False(_engine.Store.TryGet(c.Id, out _));
    }

    [Fact]
    public async Task ForcedRemovalWaitsForAStartInFlightThenRemovesEverything()
    {
        var c = Create("sleep", "1");
        _monitor.LaunchGate = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var start = _engine.StartAsync(c.Id);
        await _monitor.LaunchEntered.Task.WaitAsync(TimeSpan.FromSeconds(10));
        // The start holds the gate: the removal waits for it instead of racing it.
        var remove = _engine.RemoveAsync(c.Id, force: true);
        Assert.False(remove.IsCompleted);
        _monitor.LaunchGate.SetResult();
        await start.WaitAsync(TimeSpan.FromSeconds(10));
        await remove.WaitAsync(TimeSpan.FromSeconds(10));
        Assert.False(_engine.Store.TryGet(c.Id, out _));
        Assert.False(Directory.Exists(_engine.StateDir(c.Id)));
        Assert.Equal(["create", "start", "kill", "die", "destroy"], Events(c.Id));
    }

    [Fact]
    public async Task AStartFailureRecordsTheMonitorsKind()
    {
        var c = Create("nope");
        _monitor.NextFailure = new MonitorResult { Error = "exec: \"nope\": executable file not found in $PATH", Kind = "not-found", Errno = 2, Syscall = "execve", Path = "nope" };
        await Assert.ThrowsAsync<BerthException>(() => _engine.StartAsync(c.Id));
        Assert.Equal(("created", 127), (_engine.Store.Get(c.Id).State.Status, _engine.Store.Get(c.Id).State.ExitCode));
        _monitor.NextFailure = new MonitorResult { Error = "exec: \"/etc\": is a directory", Kind = "permission", Errno = 13, Syscall = "execve", Path = "/etc" };
        await Assert.ThrowsAsync<BerthException>(() => _engine.StartAsync(c.Id));
        Assert.Equal(126, _engine.Store.Get(c.Id).State.ExitCode);
        Assert.Equal(["create", "die", "die"], Events(c.Id));
    }

    [Fact]
    public async Task WaitConditionsAndBadSignalsAreChecked()
    {
        var c = Create("sleep", "1");
        var e = await Assert.ThrowsAsync<BerthException>(() => _engine.WaitAsync(c.Id, "bogus"));
        Assert.Equal((ErrorKind.InvalidParameter, "invalid condition: \"bogus\""), (e.Kind, e.Message));
        await _engine.StartAsync(c.Id);
        e = await Assert.ThrowsAsync<BerthException>(() => _engine.KillAsync(c.Id, "NOPE"));
        Assert.Equal(ErrorKind.InvalidParameter, e.Kind);
        var removed = _engine.WaitAsync(c.Id, "removed");
        await _engine.KillAsync(c.Id, "KILL");
        Assert.False(removed.IsCompleted);
        await _engine.RemoveAsync(c.Id, force: false);
        Assert.Equal(137, await removed.WaitAsync(TimeSpan.FromSeconds(10)));
    }

    [Fact]
    public async Task StopUsesTheConfiguredSignal()
    {
        var c = _engine.Create(new CreateInput { Config = new ContainerConfig { Image = "busybox", Cmd = ["x"], StopSignal = "SIGKILL", StopTimeout = 1 } }).Container;
        await _engine.StartAsync(c.Id);
        await _engine.StopAsync(c.Id);
        Assert.Contains($"kill {c.Id} 9", _runtime.Calls);
        Assert.Equal(137, _engine.Store.Get(c.Id).State.ExitCode);
    }

    [Fact]
    public void RecoveryUndoesAStartCutShortAndRemovesOrphans()
    {
        var c = Create("sleep", "1");
        // What a crash between the monitor's launch and the record's "running" leaves: run-time state of a
        // container that is still "created", and a directory of a create that was never recorded.
        Directory.CreateDirectory(_engine.StateDir(c.Id));
        File.WriteAllText(Path.Combine(_engine.StateDir(c.Id), "monitor.pid"), "999999999");
        Directory.CreateDirectory(Path.Combine(_root, "run", "runtime", c.Id));
        var orphan = Path.Combine(_root, "data", "containers", new string('f', 64));
        Directory.CreateDirectory(orphan);
        var strayState = Path.Combine(_root, "run", "containers", new string('e', 64));
        Directory.CreateDirectory(strayState);

        var restarted = NewEngine();
        Assert.Equal("created", restarted.Store.Get(c.Id).State.Status);
        Assert.False(Directory.Exists(restarted.StateDir(c.Id)));
        Assert.False(Directory.Exists(Path.Combine(_root, "run", "runtime", c.Id)));
        Assert.False(Directory.Exists(orphan));
        Assert.False(Directory.Exists(strayState));
        Assert.Contains($"delete {c.Id}", _runtime.Calls);
    }

    [Fact]
    public void ImpossibleTransitionsAreBugs()
    {
        Assert.Throws<BerthException>(() => ContainerStatus.Check("created", "dead"));
        Assert.Throws<BerthException>(() => ContainerStatus.Check("running", "created"));
        ContainerStatus.Check("running", "exited");
    }

    [Fact]
    public async Task ARecordOfTheEarlierFormIsMigratedAtStartUp()
    {
        // Before the typed config, a record kept the raw create body (and a spec input): read once, then saved anew.
        var id = new string('a', 64);
        var dir = Path.Combine(_root, "data", "containers", id);
        Directory.CreateDirectory(dir);
        File.WriteAllText(Path.Combine(dir, "container.json"), $$$"""
            {"Id":"{{{id}}}","Name":"old","Created":"2026-11-30T10:00:00Z","Image":"sha256:busybox","ImageRef":"busybox",
             "Path":"echo","Args":["hi"],"SpecJson":"{}","CreateRequestJson":"{\"Image\":\"busybox\",\"Cmd\":[\"echo\",\"hi\"],\"Labels\":{\"a\":\"b\"},\"HostConfig\":{\"Memory\":67108864,\"AutoRemove\":true}}",
             "Labels":{"a":"b"},"State":{"Status":"exited","ExitCode":0},"LogPath":"{{{dir}}}/{{{id}}}-json.log"}
            """);
        var restarted = NewEngine();
        var c = restarted.Store.Get("old");
        Assert.Equal(["echo", "hi"], c.Config.Cmd);
        Assert.Equal((67108864L, true, "default"), (c.HostConfig.Memory, c.HostConfig.AutoRemove, c.HostConfig.NetworkMode));
        Assert.Equal("b", c.Labels["a"]);
        var saved = File.ReadAllText(Path.Combine(dir, "container.json"));
        Assert.DoesNotContain("CreateRequestJson", saved);
        Assert.Contains("\"Memory\":67108864", saved);
        await restarted.RemoveAsync(c.Id, force: true);
    }
}
