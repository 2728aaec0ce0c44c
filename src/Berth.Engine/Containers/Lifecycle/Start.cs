using System.Text.Json;
using Berth.Core;
using Berth.Engine.Containers.Create;
using Berth.Engine.Specs;
using Berth.Interop;
using Berth.Runtime.Lifecycle;
using Berth.Runtime.Spec;

namespace Berth.Engine.Containers;

public sealed partial class ContainerManager
{
    /// <summary>A start that failed, with what the monitor reported (kind "not-found" → 127, "permission" → 126).</summary>
    private static BerthException StartFailure(string message, string? kind)
    {
        var e = new BerthException(ErrorKind.InvalidParameter, message);
        e.Data[FailureKindKey] = kind;
        return e;
    }

    private const string FailureKindKey = "berth.failure-kind";

    /// <summary>Starts a created or exited container through a new monitor; returns when the process runs.</summary>
    public Task StartAsync(string idOrName, CancellationToken ct = default) => StartCoreAsync(idOrName, byPolicy: false, ct);

    /// <param name="byPolicy">A restart policy's start: RestartCount is kept (the user's start resets it) and a
    /// restart that was cancelled meanwhile does not happen.</param>
    private async Task StartCoreAsync(string idOrName, bool byPolicy, CancellationToken ct)
    {
        var c = Store.Get(idOrName);
        var entry = EntryOf(c.Id);
        await entry.Gate.WaitAsync(ct);
        Exception? failure = null;
        try
        {
            if (entry.Removing) throw BerthException.Conflict($"container {c.Id} is marked for removal and cannot be started");
            c = Store.Get(c.Id);
            if (c.State.Running) throw new BerthException(ErrorKind.NotModified, "container already started");
            if (byPolicy && !c.State.Restarting) throw new BerthException(ErrorKind.NotModified, "restart cancelled");
            if (!byPolicy && _pendingRestarts.TryRemove(c.Id, out var pendingRestart)) pendingRestart.Cancel();
            var rootfs = _rootfs.Mount(c.Id);
            var stateDir = StateDir(c.Id);
            try
            {
                var mounts = SpecMounts(c, start: true);
                if (Directory.Exists(stateDir)) Directory.Delete(stateDir, recursive: true);
                Directory.CreateDirectory(stateDir);
                var netns = AttachNetworks(c);
                // container:X shares X's /etc/hosts, resolv.conf and hostname (dockerd's initializeNetworkingPaths).
                var peer = NetworkPeerOf(c);
                if (peer is not null)
                {
                    c.Config.Hostname = peer.Config.Hostname;
                    c.Config.Domainname = peer.Config.Domainname;
                }
                var (linkHosts, linkEnv) = LinksAtStart(c);
                if (c.HostConfig.LogConfig.Type != "none") _ = Berth.Engine.Logs.LogOptions.AtStart(c, c.ImageRef); // its errors before anything is made
                var namespaces = NamespacesAtStart(c, mounts);
                var spec = DockerSpec.Build(ConfigMerge.ToSpecInput(c, rootfs, Store.DirectoryOf(peer?.Id ?? c.Id), mounts, netns, namespaces), new ImageDefaults(),
                    _options.CgroupV2);
                if (c.HostConfig.Init == true) WithInit(spec);
                if (spec.Process?.Env is { } processEnv) Berth.Engine.Networking.LinkEnv.Merge(processEnv, linkEnv);
                // (container:X: the files are X's, written by X.)
                if (peer is null && netns is null) EtcFiles.Ensure(Store.DirectoryOf(c.Id), c, spec.Hostname!, _networks?.HostGatewayIp);
                else if (peer is null) EtcFiles.Write(Store.DirectoryOf(c.Id), c, spec.Hostname!, _networks?.HostGatewayIp, linkHosts);
                AtomicFile.WriteAllBytes(Path.Combine(stateDir, "config.json"), JsonSerializer.SerializeToUtf8Bytes(spec, SpecJsonContext.Default.Spec),
                    sync: Sync.None); // exec root: run-time state
                // A runtime container left by an earlier run that was not deleted (a crash between its exit and
                // the bookkeeping) would make this create fail as an existing ID.
                await RemoveStaleRuntimeStateAsync(c.Id, ct);
                // berth-runtime: its create's C# half runs here and the monitor clones the init from the spawn
                // data; disposing it undoes a create that did not complete. Other runtimes: the monitor runs their
                // create.
                using var pending = PrepareCreate(c.Id, stateDir, spec, c.Tty);
                var log = Berth.Engine.Logs.LogOptions.AtStart(c, c.ImageRef); // null: the "none" driver, no log file
                var result = await _monitor.LaunchAsync(new MonitorLaunch(c.Id, stateDir, RuntimeRoot, log is null ? null : c.LogPath, c.Tty, c.OpenStdin,
                    _options.RuntimePath, pending?.EncodeSpawnFile(), Log: log), ct);
                if (result.Error is not null)
                    throw StartFailure($"OCI runtime create failed: {result.Error}: unknown", result.Kind);
                pending?.Complete(result.Pid);
                // A waiter that came before start (the CLI's run does) keeps its promise.
                _ = NextExit(c.Id);
                if (c.Tty && c.HostConfig.ConsoleSize is [var h and > 0, var w and > 0])
                    await _monitor.ResizeAsync(stateDir, (int)h, (int)w);
                while (entry.BeforeStart.TryDequeue(out var hook))
                {
                    try { await hook(); }
                    catch (Exception e) when (e is IOException or System.Net.Sockets.SocketException) { }
                }
                var started = await _runtime.StartAsync(c.Id, ct);
                if (!started.Succeeded)
                    throw StartFailure($"OCI runtime start failed: {started.Error}: unknown", null);
                c.ManuallyStopped = false;
                if (!byPolicy) c.RestartCount = 0;
                Transition(c, new ContainerStateRecord { Status = ContainerStatus.Running, Pid = result.Pid, StartedAt = DateTime.UtcNow }, "start");
                _ = WatchExitAsync(c.Id);
            }
            catch (Exception e)
            {
                await _runtime.DeleteAsync(c.Id, force: true, CancellationToken.None);
                await _monitor.WaitGoneAsync(stateDir);
                TryCleanup(() => DetachNetworks(c));
                TryCleanup(() => Directory.Delete(stateDir, recursive: true));
                TryCleanup(() => _rootfs.Unmount(c.Id));
                TryCleanup(() => UnmountShm(c.Id));
                UnmountVolumes(c);
                failure = e;
            }
        }
        finally
        {
            entry.BeforeStart.Clear();
            entry.Gate.Release();
        }
        if (failure is not null)
        {
            await StartFailedAsync(c, entry, failure);
            System.Runtime.ExceptionServices.ExceptionDispatchInfo.Throw(failure);
        }
    }

    /// <summary>
    /// As Docker: a start that failed records the error and an exit code (from the runtime: 127 command not found,
    /// 126 not executable; 128 otherwise), wakes waiters, and an auto-remove container is removed.
    /// </summary>
    private async Task StartFailedAsync(ContainerRecord c, Entry entry, Exception failure)
    {
        if (failure is OperationCanceledException) failure = new BerthException(ErrorKind.System, "start cancelled");
        var msg = failure.Message;
        var kind = failure.Data[FailureKindKey] as string;
        int code = kind == "not-found" ? 127
                 : kind == "permission" ? 126
                 // A failure before the runtime was reached (the spec: a --device or blkio path missing on the
                 // host, ...): 128 whatever its words, as dockerd (its 126/127 come from containerd's errors only).
                 : !failure.Data.Contains(FailureKindKey) ? 128
                 // A monitor without structured reports (older build), or an error outside exec: by its words.
                 : msg.Contains("executable file not found", StringComparison.Ordinal) || msg.Contains("no such file or directory", StringComparison.Ordinal) ? 127
                 : msg.Contains("permission denied", StringComparison.Ordinal) ? 126 : 128;
        await entry.Gate.WaitAsync();
        try
        {
            if (Store.TryGet(c.Id, out var now) && now is not null && !entry.Removing)
            {
                var status = now.State.StartedAt == default ? ContainerStatus.Created : ContainerStatus.Exited;
                Transition(now, new ContainerStateRecord
                {
                    Status = status, ExitCode = code, Error = msg, StartedAt = now.State.StartedAt, FinishedAt = now.State.FinishedAt,
                }, "die", attributes: ("exitCode", code.ToString(System.Globalization.CultureInfo.InvariantCulture)));
            }
        }
        finally
        {
            entry.Gate.Release();
        }
        CompleteExit(entry, new ExitInfo { ExitCode = code, FinishedAt = DateTime.UtcNow });
        if (c.AutoRemove && !entry.Removing)
        {
            try { await RemoveAsync(c.Id, force: true, removeVolumes: true); }
            catch (BerthException) { }
        }
    }

    /// <summary>Sets a terminal's size through the monitor (a no-op for a container without a terminal).</summary>
    public async Task ResizeAsync(string id, int height, int width)
    {
        await _monitor.ResizeAsync(StateDir(id), height, width);
        if (Store.TryGet(id, out var c) && c is not null)
            Publish(c, "resize", ("height", height.ToString(System.Globalization.CultureInfo.InvariantCulture)),
                ("width", width.ToString(System.Globalization.CultureInfo.InvariantCulture)));
    }

    private async Task RemoveStaleRuntimeStateAsync(string id, CancellationToken ct)
    {
        var dir = Path.Combine(RuntimeRoot, id);
        if (!Directory.Exists(dir)) return;
        if (File.Exists(Path.Combine(dir, "state.json"))) await _runtime.DeleteAsync(id, force: true, ct);
        TryCleanup(() => { if (Directory.Exists(dir)) Directory.Delete(dir, recursive: true); });
    }

    private PendingCreate? PrepareCreate(string id, string bundle, Spec spec, bool tty)
    {
        try
        {
            return _runtime.PrepareCreate(id, bundle, spec, tty ? Path.Combine(bundle, "console.sock") : null);
        }
        catch (Exception e) when (e is BerthException or IOException or UnauthorizedAccessException)
        {
            // As the runtime's own create reports it.
            throw new BerthException(ErrorKind.InvalidParameter, $"OCI runtime create failed: {e.Message}: unknown");
        }
    }
}
