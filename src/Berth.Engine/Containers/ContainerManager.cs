using System.Collections.Concurrent;
using Berth.Core;
using Berth.Engine.Events;
using Berth.Engine.Specs;

namespace Berth.Engine.Containers;

/// <summary>Where a container's root filesystem comes from (the image store's snapshots, or a plain directory).</summary>
public interface IRootfsProvider
{
    /// <summary>Creates the container's writable layer over its image (Docker does this at create).</summary>
    void Prepare(string containerId, string imageId);

    /// <summary>Mounts it (idempotent) and returns the rootfs path.</summary>
    string Mount(string containerId);

    void Unmount(string containerId);

    /// <summary>inspect's GraphDriver.Data (an overlay's lower, upper, work and merged directories); none by default.</summary>
    IReadOnlyList<KeyValuePair<string, string>> GraphDriverData(string containerId) => [];

    /// <summary>Deletes the writable layer (idempotent).</summary>
    void Remove(string containerId);

    /// <summary>
    /// False only when <paramref name="path"/> (absolute, in the container) is certainly absent from the container's
    /// root: then a volume mounted there has nothing to copy up and the rootfs need not be mounted at create. True
    /// when it may exist (the default: the caller mounts the rootfs and looks).
    /// </summary>
    bool MayHavePath(string containerId, string path) => true;
}

/// <summary>Image lookups the engine needs: name or id → image id and the defaults a container inherits.</summary>
public interface IImageResolver
{
    (string ImageId, ImageDefaults Defaults) Resolve(string reference);
}

public sealed class EngineOptions
{
    public required string DataRoot { get; init; }
    public required string ExecRoot { get; init; }
    public required string RuntimePath { get; init; }
    public required string MonitorPath { get; init; }
    public bool CgroupV2 { get; init; } = File.Exists("/sys/fs/cgroup/cgroup.controllers");

    /// <summary>The init binary of --init (dockerd's --init-path), or "": the first of Debian's tini-static,
    /// docker-init, tini that exists.</summary>
    public string InitPath { get; init; } = "";

    /// <summary>The period of the exec instance collector (dockerd's execCommandGC: 5 minutes). An exec that has
    /// ended is dropped at the second sweep after its end. berthd takes BERTH_EXEC_GC_INTERVAL (a Go duration) for
    /// tests.</summary>
    public TimeSpan ExecGcInterval { get; init; } = TimeSpan.FromMinutes(5);
}

/// <summary>What `docker create` asks for, engine-side: Docker's typed config, host config and networking.</summary>
public sealed class CreateInput
{
    public string? Name { get; init; }
    public required Berth.Api.Containers.ContainerConfig Config { get; init; }
    public Berth.Api.Containers.HostConfig HostConfig { get; init; } = new();
    public Berth.Api.Containers.NetworkingConfig? NetworkingConfig { get; init; }

    /// <summary>The platform asked for ("linux/amd64"), or null.</summary>
    public string? Platform { get; init; }
}

/// <summary>The outcome of a create: the container and dockerd-style warnings.</summary>
public sealed record CreateResult(ContainerRecord Container, IReadOnlyList<string> Warnings);

/// <summary>
/// Container lifecycle over the per-container monitor (it owns stdio, logs and the exit status) and the OCI
/// runtime. One operation per file (Lifecycle/): Create, Start, Exit (watch, finish, wait), Kill and Stop,
/// Remove, Recover. Every operation on a container takes its one gate; every status change goes through
/// <see cref="ContainerStatus.Check"/> and is published on <see cref="Events"/>.
/// Layout: &lt;data-root&gt;/containers/&lt;id&gt;/ (record, json log, etc files);
/// &lt;exec-root&gt;/containers/&lt;id&gt;/ (bundle config.json, monitor sockets, exit.json).
/// </summary>
public sealed partial class ContainerManager : Backends.IContainerBackend
{
    private readonly EngineOptions _options;
    private readonly IRootfsProvider _rootfs;
    private readonly IImageResolver _images;
    private readonly IContainerMonitor _monitor;
    private readonly IOciRuntime _runtime;
    private readonly Volumes.IVolumes _volumes;
    private readonly Networking.NetworkManager? _networks;
    private readonly ConcurrentDictionary<string, Entry> _entries = new();

    /// <summary>The in-memory half of a container: its gate and the promises waiters hold.</summary>
    private sealed class Entry
    {
        /// <summary>Taken by every operation that changes the container (create's end, start, kill, stop, remove,
        /// the exit watcher); never held while waiting for the container to exit.</summary>
        public readonly SemaphoreSlim Gate = new(1, 1);

        /// <summary>The next exit (a start that fails completes it too).</summary>
        public TaskCompletionSource<ExitInfo> Exit = NewExit();
        public readonly TaskCompletionSource Removed = new(TaskCreationOptions.RunContinuationsAsynchronously);

        /// <summary>The exit code the container had when it was removed (wait's "removed" answers it).</summary>
        public int RemovedExitCode;
        public readonly ConcurrentQueue<Func<Task>> BeforeStart = new();

        /// <summary>A removal is under way: starts are refused, the exit is not recorded durably, no auto-remove.</summary>
        public volatile bool Removing;
    }

    /// <param name="monitor">The monitor seam (default: the berth-monitor binary at <see cref="EngineOptions.MonitorPath"/>).</param>
    /// <param name="runtime">The OCI runtime seam (default: from <see cref="EngineOptions.RuntimePath"/>).</param>
    /// <param name="events">The engine-wide event stream to publish on (default: a new one).</param>
    /// <param name="volumes">The volume store (default: the volume store under &lt;data-root&gt;/volumes).</param>
    /// <param name="networks">The network controller; null (unit tests) gives every container a namespace of its own with lo only.</param>
    public ContainerManager(EngineOptions options, IRootfsProvider rootfs, IImageResolver images, IContainerMonitor? monitor = null,
        IOciRuntime? runtime = null, EngineEvents? events = null, Volumes.IVolumes? volumes = null, Networking.NetworkManager? networks = null)
    {
        Events = events ?? new EngineEvents();
        _networks = networks;
        _options = options;
        _rootfs = rootfs;
        _images = images;
        _monitor = monitor ?? new BerthMonitor(options.MonitorPath);
        Store = new ContainerStore(options.DataRoot);
        _volumes = volumes ?? new Volumes.VolumeStore(options.DataRoot);
        // A volume's users are the containers whose records mount it (the store keeps no second count).
        if (_volumes is Volumes.VolumeStore store) store.ContainersUsing = name => [.. ContainersUsingVolume(name)];
        Directory.CreateDirectory(RuntimeRoot);
        _runtime = runtime ?? OciRuntime.For(options.RuntimePath, RuntimeRoot);
        _execGc = new Timer(_ => SweepExecs(), null, options.ExecGcInterval, options.ExecGcInterval);
        StartRestartManager(); // before recovery: exits found while watching again are weighed too
        StartHealthMonitors();
        // The volumes' users as recorded, so that an exit found while recovering unmounts them (a plugin's Unmount).
        if (_volumes is Volumes.VolumeStore restored) restored.RestoreUsers(RunningContainersUsingVolume);
        Recover();
        // The volumes' users after a restart: running containers keep theirs mounted (and unmount them at exit).
        if (_volumes is Volumes.VolumeStore recovered) recovered.RecoverMounts(RunningContainersUsingVolume);
        RestartAfterRecovery();
        ResumeHealthMonitors();
    }

    public ContainerStore Store { get; }

    /// <summary>The engine's event stream (every container transition is published here), for /events, restart
    /// policies and health checks.</summary>
    public EngineEvents Events { get; }

    private string RuntimeRoot => Path.Combine(_options.ExecRoot, "runtime");
    public string StateDir(string id) => Path.Combine(_options.ExecRoot, "containers", id);

    /// <summary>The monitor's attach socket of a started container.</summary>
    public string AttachSocket(string id) => BerthMonitor.AttachSocket(StateDir(id));

    private Entry EntryOf(string id) => _entries.GetOrAdd(id, _ => new Entry());

    private static TaskCompletionSource<ExitInfo> NewExit() => new(TaskCreationOptions.RunContinuationsAsynchronously);

    /// <summary>
    /// Runs <paramref name="action"/> once the container's monitor is up and before its process starts (attach
    /// connects here, so no output is missed: Docker's CLI attaches before it starts).
    /// </summary>
    public void OnBeforeStart(string id, Func<Task> action) => EntryOf(id).BeforeStart.Enqueue(action);

    /// <summary>
    /// Completes when the container's next run ends, or when its next start fails (a waiter or attach that comes
    /// before start, as the CLI's run does, keeps this one: start does not replace it).
    /// </summary>
    public Task<ExitInfo> NextExit(string id)
    {
        var e = EntryOf(id);
        lock (e)
        {
            if (e.Exit.Task.IsCompleted) e.Exit = NewExit();
            return e.Exit.Task;
        }
    }

    private Task<ExitInfo> CurrentExit(string id)
    {
        var e = EntryOf(id);
        lock (e) return e.Exit.Task;
    }

    private static void CompleteExit(Entry e, ExitInfo exit)
    {
        lock (e) e.Exit.TrySetResult(exit);
    }

    /// <summary>Moves the record to <paramref name="state"/> (checked), saves it and publishes <paramref name="action"/>.</summary>
    private void Transition(ContainerRecord c, ContainerStateRecord state, string? action, Berth.Interop.Sync sync = Berth.Interop.Sync.FileAndDirectory,
        params (string Key, string Value)[] attributes)
    {
        ContainerStatus.Check(c.State.Status, state.Status);
        state.Health ??= c.State.Health; // the health log outlives a run, as dockerd's
        if (state.Status == ContainerStatus.Running && c.State.Status != ContainerStatus.Running) ResetHealth(c, state);
        c.State = state;
        Store.Save(c, sync);
        if (action is not null) Publish(c, action, attributes);
    }

    private void Publish(ContainerRecord c, string action, params (string Key, string Value)[] attributes)
    {
        var attrs = new Dictionary<string, string>(StringComparer.Ordinal) { ["name"] = c.Name, ["image"] = c.ImageRef };
        foreach (var (k, v) in c.Labels) attrs.TryAdd(k, v);
        foreach (var (k, v) in attributes) attrs[k] = v;
        Events.Publish(new EngineEvent(EngineEvent.Container, action, c.Id, attrs, EngineEvent.NowNano()));
    }

    /// <summary>Publishes a container event with Docker's attributes (name, image, labels, plus
    /// <paramref name="attributes"/>): for the parts of the engine outside the lifecycle (exec: exec_create,
    /// exec_start, exec_die with execID).</summary>
    public void PublishEvent(string idOrName, string action, params (string Key, string Value)[] attributes) =>
        Publish(Store.Get(idOrName), action, attributes);

    private static void TryCleanup(Action a)
    {
        try { a(); }
        catch (Exception e) when (e is IOException or BerthException or UnauthorizedAccessException) { }
    }
}
