using System.Net.Sockets;
using Berth.Core;
using Berth.Interop;
using Berth.Runtime.Cgroups;
using Berth.Runtime.Plan;

namespace Berth.Runtime.Lifecycle;

/// <summary>
/// A create in two halves. <see cref="Begin"/> does everything up to the clone: validates the spec, claims the
/// state directory, makes exec.fifo, creates the cgroup with its limits and builds the plan. Then either
/// <see cref="SpawnHere"/> clones the init from this process (berth-runtime create), or, "elsewhere", another
/// process clones it from <see cref="EncodeSpawnFile"/> (berth-monitor, so that berthd — a .NET process that
/// must not clone — starts containers without a berth-runtime process) and <see cref="Complete"/> records the
/// pid it reports. Disposing a create that did not complete undoes it: the init (if any) is killed, the cgroup
/// and the state directory are removed.
/// </summary>
public sealed class PendingCreate : IDisposable
{
    /// <summary>Where the plan expects the exec fifo and the console socket in a process that spawns elsewhere.</summary>
    public const int ElsewhereFifoFd = 3, ElsewhereConsoleFd = 4;

    public const uint SpawnFileMagic = SpawnFile.Magic;
    public const uint SpawnFileVersion = SpawnFile.Version;

    private readonly RuntimeOptions _options;
    private readonly Spec.Spec _spec;
    private readonly ContainerCgroup _cgroup;
    private readonly bool _elsewhere;
    private int _fifoFd = -1;
    private Socket? _console;
    private Spawner? _spawner;
    private CreateOptions _create = new();
    private ProcessPlan? _plan;
    private bool _useFifo, _cgroupCreated, _completed, _disposed;

    private PendingCreate(RuntimeOptions options, Container container, Spec.Spec spec, ContainerCgroup cgroup, bool elsewhere)
    {
        _options = options;
        Container = container;
        _spec = spec;
        _cgroup = cgroup;
        _elsewhere = elsewhere;
    }

    public Container Container { get; }

    public ProcessPlan Plan => _plan!;

    /// <summary>
    /// The plan stops at a SYNC point for this process (user namespace id maps, cgroup join from outside,
    /// create hooks): it cannot be spawned elsewhere; use the runtime binary instead.
    /// </summary>
    public bool NeedsParent => Plan.Steps.Any(s => s.Op == PlanOp.Sync);

    /// <summary>
    /// Claims the state directory and prepares everything the clone needs. <paramref name="spec"/> is the bundle's
    /// config.json when the caller has it in hand (it is validated again); null reads it from the bundle.
    /// With <paramref name="elsewhere"/>, exec.fifo and the console socket are not opened here: the spawning
    /// process opens them at <see cref="ElsewhereFifoFd"/> and <see cref="ElsewhereConsoleFd"/>.
    /// </summary>
    public static PendingCreate Begin(RuntimeOptions options, string id, string bundle, Spec.Spec? spec, CreateOptions create,
        bool waitForStart, bool elsewhere)
    {
        Container.ValidateId(id);
        bundle = Path.GetFullPath(bundle);
        if (spec is null) spec = Container.LoadSpec(bundle);
        else SpecValidator.Validate(spec);
        if (elsewhere && (create.PreserveFds > 0 || create.OwnConsole is not null || create.PidFile is not null))
            throw BerthException.Invalid("a create spawned elsewhere takes no preserved fds, own console or pid file");
        var rootfs = Path.GetFullPath(Path.Combine(bundle, spec.Root!.Path));
        if (!Directory.Exists(rootfs))
            throw BerthException.NotFound($"rootfs ({rootfs}) does not exist");
        if (new DirectoryInfo(rootfs).LinkTarget is not null)
            throw BerthException.Invalid("invalid rootfs: not an absolute path, or a symlink");

        Directory.CreateDirectory(options.Root);
        var stateDir = Path.Combine(options.Root, id);
        // As runc: the state directory is made exclusively; an existing one (even left empty) is an existing ID.
        if (Libc.mkdir(stateDir, 0x1c0 /*0700*/) < 0)
        {
            int errno = Libc.Errno;
            if (errno == Libc.EEXIST) throw BerthException.Conflict("container with given ID already exists");
            throw new ErrnoException(errno, "mkdir", stateDir);
        }

        var state = new ContainerState
        {
            OciVersion = spec.OciVersion, Id = id, Bundle = bundle, Rootfs = rootfs, Created = DateTime.UtcNow,
            Owner = "", Annotations = spec.Annotations, Config = spec,
        };
        var container = new Container(options, state);
        ContainerCgroup cgroup;
        try
        {
            cgroup = ContainerCgroup.For(spec, id);
        }
        catch
        {
            Container.TryCleanup(() => Directory.Delete(stateDir));
            throw;
        }
        state.CgroupsPath = cgroup.Path;
        var pending = new PendingCreate(options, container, spec, cgroup, elsewhere) { _create = create };
        try
        {
            pending.Prepare(rootfs, waitForStart);
            return pending;
        }
        catch
        {
            pending.Dispose();
            throw;
        }
    }

    private void Prepare(string rootfs, bool waitForStart)
    {
        int fifoFd = -1, consoleFd = -1;
        _useFifo = waitForStart || _spec.Hooks?.StartContainer is { Count: > 0 };
        if (_useFifo)
        {
            Libc.Check(Libc.mkfifo(Container.FifoPath, 0x192 /*0622*/), "mkfifo", Container.FifoPath);
            if (_elsewhere)
            {
                fifoFd = ElsewhereFifoFd;
            }
            else
            {
                _fifoFd = Libc.Check(Libc.open(Container.FifoPath, Libc.O_PATH | Libc.O_CLOEXEC, 0), "open", Container.FifoPath);
                fifoFd = _fifoFd;
            }
        }
        if (_create.ConsoleSocket is { } socketPath)
        {
            if (_elsewhere)
            {
                consoleFd = ElsewhereConsoleFd;
            }
            else
            {
                _console = Container.ConnectConsoleSocket(socketPath);
                consoleFd = (int)_console.Handle;
            }
        }
        else if (_spec.Process!.Terminal)
        {
            consoleFd = _create.OwnConsole?.ChildEnd
                ?? throw BerthException.Invalid("cannot allocate tty if runc will detach without setting console socket");
        }

        var seccomp = _spec.Linux?.Seccomp is { } sc ? SeccompSupport.Compile(sc, _options.Warn) : default;
        var hasCreateHooks = _spec.Hooks is { } h && (h.Prestart?.Count > 0 || h.CreateRuntime?.Count > 0 || h.CreateContainer?.Count > 0);
        var ctx = new PlanContext
        {
            Bundle = Container.State.Bundle, RootfsPath = rootfs, ExecFifoFd = fifoFd, ConsoleSocketFd = consoleFd,
            SeccompFilter = seccomp.Filter, SeccompFlags = seccomp.Flags,
            CgroupV1Mounts = _cgroup.V1Mounts, CgroupV2HostPath = _cgroup.V2HostPath,
            HasCreateHooks = hasCreateHooks,
            CgroupSelfJoin = _cgroup.V1SelfJoinFiles,
            KeepFds = Enumerable.Range(3, _create.PreserveFds).Select(i => (uint)i).ToList(),
        };
        _plan = PlanBuilder.ForInit(_spec, ctx);
        foreach (var w in ctx.Warnings) _options.Warn(w);

        // The cgroup exists, with its limits, before the child does: its rootfs setup binds the directories.
        _cgroupCreated = true;
        foreach (var w in _cgroup.Create(_spec.Linux?.Resources)) _options.Warn(w);
    }

    /// <summary>The child is cloned into the cgroup v2 directory unless the parent moves it at the SYNC "init" point.</summary>
    private string? CloneIntoCgroup =>
        Plan.Steps.Any(s => s.Op == PlanOp.Sync && s.Args[0].ToString() == $"\"{PlanBuilder.SyncInit}\"") ? null : _cgroup.V2Dir;

    /// <summary>Clones the init from this process, drives its SYNC points and completes the create.</summary>
    public void SpawnHere()
    {
        if (_elsewhere) throw new InvalidOperationException("this create is spawned elsewhere");
        var spec = _spec;
        var container = Container;
        var spawner = _spawner = new Spawner(Plan);
        // The child joins the v1 hierarchies itself (plan steps); in a new user namespace it cannot, and the
        // parent moves it at the SYNC "init" point instead.
        spawner.Start(cgroupV2Dir: CloneIntoCgroup);
        container.State.Pid = spawner.Pid;
        spawner.Drive(tag =>
        {
            if (tag == PlanBuilder.SyncUserns)
            {
                Container.WriteIdMappings(spawner.Pid, spec.Linux);
            }
            else if (tag == PlanBuilder.SyncInit)
            {
                _cgroup.Join(spawner.Pid);
            }
            else if (tag == PlanBuilder.SyncCreateHooks)
            {
                var hookState = container.HookState("creating");
                Hooks.Run(spec.Hooks?.Prestart, hookState, "prestart");
                Hooks.Run(spec.Hooks?.CreateRuntime, hookState, "createRuntime");
                Hooks.Run(spec.Hooks?.CreateContainer, hookState, "createContainer", joinPid: spawner.Pid, config: spec);
            }
        }, _options.Warn);
        Complete(spawner.Pid);
        container.CreatedSpawner = spawner;
    }

    /// <summary>Records the init's pid (state.json, pid file): the container is created.</summary>
    public void Complete(int pid)
    {
        if (pid <= 0) throw new ArgumentOutOfRangeException(nameof(pid));
        var state = Container.State;
        state.Pid = pid;
        state.PidStartTime = ProcInfo.StartTime(pid) ?? 0;
        Container.Save();
        if (_create.PidFile is { } pidFile) Container.WritePidFile(pidFile, pid);
        _completed = true;
    }

    /// <summary>
    /// What a process needs to clone the init elsewhere (berth-monitor reads it; format and decoder in src/native/berth.h),
    /// little endian: u32 magic "BSPN", u32 version, u64 clone flags, i32 exec fifo fd (-1: none), u32 length +
    /// exec fifo path, i32 console socket fd (-1: none), u32 length + cgroup v2 directory to clone into (empty:
    /// none), u32 join count and per join i32 CLONE_NEW* type + u32 length + namespace path, u32 length + plan.
    /// </summary>
    public byte[] EncodeSpawnFile()
    {
        if (!_elsewhere) throw new InvalidOperationException("this create is spawned here");
        return SpawnFile.Encode(Plan, _useFifo ? ElsewhereFifoFd : -1, _useFifo ? Container.FifoPath : null,
            _create.ConsoleSocket is not null ? ElsewhereConsoleFd : -1, CloneIntoCgroup);
    }

    public void Dispose()
    {
        if (_disposed) return;
        _disposed = true;
        if (_fifoFd >= 0) Libc.close(_fifoFd);
        _console?.Dispose();
        if (_completed) return;
        _spawner?.KillAndReap();
        _spawner?.Dispose();
        if (_cgroupCreated)
        {
            // An init cloned elsewhere is not this process's child: it is found through its cgroup.
            Container.TryCleanup(() =>
            {
                foreach (var pid in _cgroup.Pids()) Libc.kill(pid, Libc.SIGKILL);
            });
            Container.TryCleanup(() => _cgroup.Destroy());
        }
        Container.TryCleanup(() => Directory.Delete(Container.StateDir, recursive: true));
    }
}
