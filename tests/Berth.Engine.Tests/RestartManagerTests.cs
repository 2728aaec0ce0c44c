using Berth.Api.Containers;
using Berth.Engine.Containers;

namespace Berth.Engine.Tests;

/// <summary>A clock that moves only when told: timers fire on <see cref="Advance"/>.</summary>
internal sealed class ManualClock : TimeProvider
{
    private readonly Lock _lock = new();
    private readonly List<Timer> _timers = [];
    private DateTimeOffset _now = new(2026, 12, 3, 12, 0, 0, TimeSpan.Zero);

    public override DateTimeOffset GetUtcNow() { lock (_lock) return _now; }

    public int Pending { get { lock (_lock) return _timers.Count; } }

    public override ITimer CreateTimer(TimerCallback callback, object? state, TimeSpan dueTime, TimeSpan period)
    {
        var t = new Timer(this, callback, state);
        t.Change(dueTime, period);
        return t;
    }

    public void Advance(TimeSpan by)
    {
        List<Timer> due;
        lock (_lock)
        {
            _now += by;
            due = _timers.Where(t => t.Due <= _now).ToList();
            foreach (var t in due) _timers.Remove(t);
        }
        foreach (var t in due) t.Fire();
    }

    private sealed class Timer(ManualClock clock, TimerCallback callback, object? state) : ITimer
    {
        public DateTimeOffset Due;

        public bool Change(TimeSpan dueTime, TimeSpan period)
        {
            lock (clock._lock)
            {
                clock._timers.Remove(this);
                if (dueTime == Timeout.InfiniteTimeSpan) return true;
                Due = clock._now + dueTime;
                clock._timers.Add(this);
            }
            return true;
        }

        public void Fire() => callback(state);
        public void Dispose() { lock (clock._lock) clock._timers.Remove(this); }
        public ValueTask DisposeAsync() { Dispose(); return ValueTask.CompletedTask; }
    }
}

/// <summary>The restart manager over the fakes with a manual clock: the delays, the maximum, the user's stop.</summary>
public sealed class RestartManagerTests : IDisposable
{
    private readonly string _root = Directory.CreateTempSubdirectory("brm-").FullName;
    private readonly FakeMonitor _monitor = new();
    private readonly ManualClock _clock = new();
    private readonly ContainerManager _engine;

    public RestartManagerTests()
    {
        var template = Path.Combine(_root, "template");
        Directory.CreateDirectory(Path.Combine(template, "etc"));
        File.WriteAllText(Path.Combine(template, "etc", "passwd"), "root:x:0:0:root:/root:/bin/sh\n");
        var runtime = new FakeRuntime(_monitor, id => Path.Combine(_root, "run", "containers", id));
        _engine = new ContainerManager(new EngineOptions
        {
            DataRoot = Path.Combine(_root, "data"), ExecRoot = Path.Combine(_root, "run"), RuntimePath = "/nonexistent/runtime",
            MonitorPath = "/nonexistent/monitor", CgroupV2 = false,
        }, new DirectoryRootfs(template, Path.Combine(_root, "rootfs")), new FixedImage(), _monitor, runtime) { Clock = _clock };
    }

    public void Dispose() => Directory.Delete(_root, recursive: true);

    private ContainerRecord Create(string policy, int max = 0) => _engine.Create(new CreateInput
    {
        Config = new ContainerConfig { Image = "busybox", Cmd = ["false"] },
        HostConfig = new HostConfig { RestartPolicy = new RestartPolicy { Name = policy, MaximumRetryCount = max } },
    }).Container;

    private static async Task Until(Func<bool> condition, string what)
    {
        for (int i = 0; i < 500 && !condition(); i++) await Task.Delay(10);
        Assert.True(condition(), what);
    }

    private ContainerStateRecord State(string id) => _engine.Store.Get(id).State;

    [Fact]
    public async Task OnFailure_WaitsTheGrowingDelay_AndStopsAtTheMaximum()
    {
        var c = Create("on-failure", 2);
        await _engine.StartAsync(c.Id);
        foreach (var delay in new[] { 100, 200 })
        {
            _monitor.End(_engine.StateDir(c.Id), 1);
            await Until(() => State(c.Id).Restarting && _clock.Pending == 1, "a restart scheduled");
            Assert.Equal("restarting", State(c.Id).DockerStatus);
            _clock.Advance(TimeSpan.FromMilliseconds(delay - 1));
            await Task.Delay(50);
            Assert.False(State(c.Id).Running, $"started before its {delay} ms");
            _clock.Advance(TimeSpan.FromMilliseconds(1));
            await Until(() => State(c.Id).Running, $"restarted after {delay} ms");
        }
        Assert.Equal(2, _engine.Store.Get(c.Id).RestartCount);
        _monitor.End(_engine.StateDir(c.Id), 1);
        await Until(() => State(c.Id).Status == "exited", "the last exit");
        await Task.Delay(100);
        Assert.False(State(c.Id).Restarting);
        Assert.Equal(0, _clock.Pending);
    }

    [Fact]
    public async Task Always_ASuccessRestartsToo_TheUsersStopCancelsAPendingRestart()
    {
        var c = Create("always");
        await _engine.StartAsync(c.Id);
        _monitor.End(_engine.StateDir(c.Id), 0);
        await Until(() => State(c.Id).Restarting, "a restart scheduled");
        await _engine.StopAsync(c.Id, 1);
        Assert.Equal(("exited", false), (State(c.Id).DockerStatus, State(c.Id).Restarting));
        _clock.Advance(TimeSpan.FromSeconds(1));
        await Task.Delay(100);
        Assert.False(State(c.Id).Running);
        Assert.True(_engine.Store.Get(c.Id).ManuallyStopped);
        // The user's start clears it all.
        await _engine.StartAsync(c.Id);
        Assert.Equal((0, false), (_engine.Store.Get(c.Id).RestartCount, _engine.Store.Get(c.Id).ManuallyStopped));
        await _engine.KillAsync(c.Id);
        await Task.Delay(100);
        Assert.Equal(0, _clock.Pending); // killed by the user: not restarted
    }
}
