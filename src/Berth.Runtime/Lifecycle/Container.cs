using System.Net.Sockets;
using System.Text.Json;
using System.Text.RegularExpressions;
using Berth.Core;
using Berth.Interop;
using Berth.Runtime.Cgroups;
using Berth.Runtime.Plan;
using Berth.Runtime.Spec;

namespace Berth.Runtime.Lifecycle;

/// <summary>Options shared by every verb (runc's global flags).</summary>
public sealed class RuntimeOptions
{
    public string Root { get; init; } = "/run/berth-runtime";
    public Action<string> Warn { get; init; } = _ => { };
}

public sealed class CreateOptions
{
    public string? ConsoleSocket { get; init; }
    public string? PidFile { get; init; }
    public int PreserveFds { get; init; }

    /// <summary>Foreground run with a terminal and no console socket: this process proxies the pty.</summary>
    internal TerminalProxy? OwnConsole { get; init; }
}

/// <summary>
/// One container's lifecycle: create → start → (kill) → delete, the way runc does it.
/// The state directory &lt;root&gt;/&lt;id&gt;/ holds state.json and, until start, exec.fifo.
/// </summary>
public sealed partial class Container
{
    public const string OciVersion = "1.2.0";

    private readonly RuntimeOptions _options;

    internal Container(RuntimeOptions options, ContainerState state)
    {
        _options = options;
        State = state;
    }

    public ContainerState State { get; }
    public string Id => State.Id;
    public string StateDir => Path.Combine(_options.Root, Id);
    internal string FifoPath => Path.Combine(StateDir, "exec.fifo");

    [GeneratedRegex(@"^[\w+\-.]+$")]
    private static partial Regex IdPattern();

    public static void ValidateId(string id)
    {
        if (string.IsNullOrEmpty(id) || !IdPattern().IsMatch(id) || id is "." or "..")
            throw BerthException.Invalid($"invalid container id format: {id}");
    }

    /// <summary>Reads and validates bundle/config.json.</summary>
    public static Spec.Spec LoadSpec(string bundle)
    {
        var path = Path.Combine(bundle, "config.json");
        if (!File.Exists(path))
            throw BerthException.NotFound("JSON specification file config.json not found");
        Spec.Spec? spec;
        try
        {
            using var f = File.OpenRead(path);
            spec = JsonSerializer.Deserialize(f, SpecJsonContext.Default.Spec);
        }
        catch (JsonException e)
        {
            throw BerthException.Invalid($"config.json: {e.Message}");
        }
        if (spec is null) throw BerthException.Invalid("config.json: empty");
        SpecValidator.Validate(spec);
        return spec;
    }

    public static Container Load(RuntimeOptions options, string id)
    {
        ValidateId(id);
        var path = Path.Combine(options.Root, id, "state.json");
        if (!File.Exists(path)) throw BerthException.NotFound($"container does not exist");
        using var f = File.OpenRead(path);
        var state = JsonSerializer.Deserialize(f, Spec.SpecJsonContext.Default.ContainerState)
            ?? throw new BerthException(ErrorKind.DataLoss, $"{path}: empty state");
        return new Container(options, state);
    }

    public static IEnumerable<Container> List(RuntimeOptions options)
    {
        if (!Directory.Exists(options.Root)) yield break;
        foreach (var dir in Directory.GetDirectories(options.Root).Order(StringComparer.Ordinal))
        {
            Container? c = null;
            try { c = Load(options, Path.GetFileName(dir)); }
            catch (BerthException) { }
            catch (IOException) { }
            if (c is not null) yield return c;
        }
    }

    /// <summary>created / running / stopped, derived from the process and the exec fifo like runc.</summary>
    public string Status
    {
        get
        {
            if (!ProcInfo.IsAlive(State.Pid, State.PidStartTime)) return "stopped";
            return File.Exists(FifoPath) ? "created" : "running";
        }
    }

    public StateOutput ToOutput()
    {
        var status = Status;
        return new StateOutput
        {
            OciVersion = State.OciVersion, Id = Id, Pid = status == "stopped" ? 0 : State.Pid, Status = status,
            Bundle = State.Bundle, Rootfs = State.Rootfs, Created = State.Created, Annotations = State.Annotations,
            Owner = State.Owner,
        };
    }

    /// <summary>
    /// Creates the container: namespaces, cgroup, rootfs, and an init process that waits on exec.fifo
    /// (<paramref name="waitForStart"/>) or goes straight on to exec (run).
    /// </summary>
    public static Container Create(RuntimeOptions options, string id, string bundle, CreateOptions create, bool waitForStart = true)
    {
        using var pending = PendingCreate.Begin(options, id, bundle, spec: null, create, waitForStart, elsewhere: false);
        pending.SpawnHere();
        return pending.Container;
    }

    /// <summary>The spawner of a container this process created (run keeps its sync socket to see exec errors).</summary>
    internal Spawner? CreatedSpawner { get; set; }

    /// <summary>Releases this process's end of the init's sync socket (create is done with it).</summary>
    public void CreatedSpawnerDispose() => CreatedSpawner?.Dispose();

    /// <summary>runc's --console-socket: a unix stream socket the pty master is sent over.</summary>
    internal static Socket ConnectConsoleSocket(string path)
    {
        try
        {
            return UnixSocket.Connect(path);
        }
        catch (SocketException e)
        {
            throw BerthException.Invalid($"connect console socket {path}: {e.Message}");
        }
    }

    /// <summary>The pid, without a newline (as runc writes it), written atomically.</summary>
    internal static void WritePidFile(string path, int pid) =>
        AtomicFile.WriteAllBytes(Path.GetFullPath(path), System.Text.Encoding.ASCII.GetBytes(pid.ToString()),
            UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.GroupRead | UnixFileMode.OtherRead, Sync.None);

    internal static void TryCleanup(Action a)
    {
        try { a(); }
        catch (Exception e) when (e is IOException or BerthException or UnauthorizedAccessException) { }
    }

    internal static void WriteIdMappings(int pid, Spec.Linux? linux)
    {
        if (linux?.UidMappings is { Count: > 0 } uids)
            File.WriteAllText($"/proc/{pid}/uid_map", string.Concat(uids.Select(m => $"{m.ContainerId} {m.HostId} {m.Size}\n")));
        if (linux?.GidMappings is { Count: > 0 } gids)
            File.WriteAllText($"/proc/{pid}/gid_map", string.Concat(gids.Select(m => $"{m.ContainerId} {m.HostId} {m.Size}\n")));
    }

    public HookState HookState(string status) => new()
    {
        OciVersion = State.OciVersion, Id = Id, Status = status, Pid = State.Pid, Bundle = State.Bundle,
        Annotations = State.Annotations,
    };

    public void Save() =>
        AtomicFile.WriteAllBytes(Path.Combine(StateDir, "state.json"),
            JsonSerializer.SerializeToUtf8Bytes(State, Spec.SpecJsonContext.Default.ContainerState),
            sync: Sync.None); // run-time state, as runc's (a reboot ends every container anyway)

    /// <summary>Lets a created container's init exec its process.</summary>
    public void Start()
    {
        switch (Status)
        {
            case "stopped": throw BerthException.Conflict("cannot start a container that has stopped");
            case "running": throw BerthException.Conflict("cannot start an already running container");
        }
        var spec = State.Config;
        Hooks.Run(spec.Hooks?.StartContainer, HookState("created"), "startContainer", joinPid: State.Pid, config: spec);

        ExecFifo.Release(FifoPath, State.Pid, State.PidStartTime);
        File.Delete(FifoPath);
        RunPoststart();
    }

    internal void RunPoststart()
    {
        try { Hooks.Run(State.Config.Hooks?.Poststart, HookState("running"), "poststart"); }
        catch (BerthException e) { _options.Warn(e.Message); }
    }

    public void Kill(int signal, bool all)
    {
        if (Status == "stopped") throw BerthException.Conflict("container not running");
        if (all)
        {
            foreach (var pid in ContainerCgroup.Load(State.CgroupsPath).Pids()) Libc.kill(pid, signal);
            return;
        }
        Libc.Check(Libc.kill(State.Pid, signal), "kill", State.Pid.ToString());
    }

    /// <summary>Removes a stopped (or, with force, any) container: kill, cgroup, poststop hooks, state.</summary>
    public void Delete(bool force)
    {
        var status = Status;
        if (status == "running" && !force)
            throw BerthException.Conflict($"cannot delete container {Id} that is not stopped: running");
        if (status != "stopped")
        {
            Libc.kill(State.Pid, Libc.SIGKILL);
            WaitGone(TimeSpan.FromSeconds(10));
        }
        var cgroup = ContainerCgroup.Load(State.CgroupsPath);
        foreach (var pid in cgroup.Pids()) Libc.kill(pid, Libc.SIGKILL);
        var errors = new List<string>();
        try { cgroup.Destroy(); }
        catch (BerthException e) { errors.Add(e.Message); }
        try { Hooks.Run(State.Config.Hooks?.Poststop, HookState("stopped"), "poststop"); }
        catch (BerthException e) { _options.Warn(e.Message); }
        try { Directory.Delete(StateDir, recursive: true); }
        catch (IOException e) { errors.Add($"remove {StateDir}: {e.Message}"); }
        if (errors.Count > 0) throw new BerthException(ErrorKind.System, string.Join("; ", errors));
    }

    /// <summary>Waits for the init's end through a pidfd (no polling of /proc).</summary>
    private void WaitGone(TimeSpan timeout)
    {
        int pidfd = ProcessExit.Open(State.Pid);
        if (pidfd < 0) return;
        try
        {
            if (!ProcInfo.IsAlive(State.Pid, State.PidStartTime)) return; // the pid was reused: ours is gone
            if (!ProcessExit.Wait(pidfd, timeout))
                throw new BerthException(ErrorKind.Unavailable, $"container {Id} did not exit after SIGKILL");
        }
        finally
        {
            Libc.close(pidfd);
        }
    }
}
