using System.Text.Json;
using Berth.Core;
using Berth.Interop;
using Berth.Runtime.Spec;

namespace Berth.Engine.Containers;

public sealed partial class ContainerManager
{
    /// <summary>
    /// docker rm: a running container only with force (killed first). Removes everything the container has,
    /// whatever state it is in (a start that a crash cut short included): its processes and monitor, the runtime's
    /// state and cgroup, the overlay mount and writable layer, the state and record directories; with
    /// <paramref name="removeVolumes"/> (`rm -v`, `--rm`) its anonymous volumes.
    /// </summary>
    public async Task RemoveAsync(string idOrName, bool force, bool removeVolumes = false, CancellationToken ct = default)
    {
        var c = Store.Get(idOrName);
        var entry = EntryOf(c.Id);
        await entry.Gate.WaitAsync(ct);
        try
        {
            if (!Store.TryGet(c.Id, out var now) || now is null) return; // removed meanwhile
            c = now;
            if (entry.Removing) throw BerthException.Conflict($"removal of container {c.Id} is already in progress");
            if (c.State.Restarting)
            {
                if (!force)
                    throw BerthException.Conflict(
                        $"You cannot remove a restarting container {c.Id}. Stop the container before attempting removal or force remove");
                CancelPendingRestart(c);
            }
            if (c.State.Running)
            {
                if (!force)
                    throw BerthException.Conflict(
                        $"You cannot remove a running container {c.Id}. Stop the container before attempting removal or force remove");
                entry.Removing = true;
            }
        }
        finally
        {
            entry.Gate.Release();
        }
        if (entry.Removing)
        {
            try
            {
                var exited = CurrentExit(c.Id);
                await _runtime.KillAsync(c.Id, "KILL", all: true, ct);
                if (c.State.Paused) TryCleanup(() => CgroupOf(c)?.Thaw()); // a frozen process dies once thawed
                Publish(c, "kill", ("signal", "9"));
                await exited.WaitAsync(TimeSpan.FromSeconds(30), ct);
            }
            catch
            {
                entry.Removing = false;
                throw;
            }
        }
        await entry.Gate.WaitAsync(ct);
        try
        {
            if (!Store.TryGet(c.Id, out var last) || last is null) return;
            entry.RemovedExitCode = last.State.ExitCode;
            entry.Removing = true;
            await TearDownAsync(c.Id, ct);
            Store.Remove(c.Id);
            if (removeVolumes) RemoveAnonymousVolumes(c);
            Publish(c, "destroy");
        }
        finally
        {
            entry.Gate.Release();
        }
        _entries.TryRemove(c.Id, out _);
        ForgetExecs(c.Id); // dockerd keeps exec instances until their container goes
        entry.Removed.TrySetResult();
    }

    /// <summary>Everything of a container but its record: its run-time state, the mount and the writable layer.</summary>
    private async Task TearDownAsync(string id, CancellationToken ct)
    {
        await UndoRunStateAsync(id, ct);
        _rootfs.Remove(id);
    }

    /// <summary>
    /// Undoes whatever run-time state a container has: the runtime's container (its processes and cgroup), or,
    /// when the runtime has no state for it (a create that a crash cut short), what its bundle names: the cgroup
    /// and what is in it; then the monitor, the runtime and state directories, and the mount. Idempotent. After an
    /// ordinary exit there is neither runtime state nor a live monitor, and nothing but directories is touched.
    /// </summary>
    private async Task UndoRunStateAsync(string id, CancellationToken ct)
    {
        var stateDir = StateDir(id);
        var runtimeDir = Path.Combine(RuntimeRoot, id);
        bool runtimeKnows = File.Exists(Path.Combine(runtimeDir, "state.json"));
        bool cutShort = !runtimeKnows && (Directory.Exists(runtimeDir) || MonitorPid(stateDir) > 0);
        if (Directory.Exists(runtimeDir)) await _runtime.DeleteAsync(id, force: true, ct);
        if (cutShort) KillCgroup(id, stateDir);
        KillMonitor(stateDir);
        TryCleanup(() => { if (Directory.Exists(runtimeDir)) Directory.Delete(runtimeDir, recursive: true); });
        TryCleanup(() => _rootfs.Unmount(id));
        TryCleanup(() => UnmountShm(id));
        if (Store.TryGet(id, out var record) && record is not null) UnmountVolumes(record);
        TryCleanup(() => _networks?.Detach(id));
        TryCleanup(() => { if (Directory.Exists(stateDir)) Directory.Delete(stateDir, recursive: true); });
    }

    /// <summary>The container's cgroup from its bundle's config.json: what is in it is killed, then it is removed.</summary>
    private static void KillCgroup(string id, string stateDir)
    {
        var config = Path.Combine(stateDir, "config.json");
        if (!File.Exists(config)) return;
        TryCleanup(() =>
        {
            var spec = JsonSerializer.Deserialize(File.ReadAllBytes(config), SpecJsonContext.Default.Spec);
            if (spec is null) return;
            var cgroup = Berth.Runtime.Cgroups.ContainerCgroup.For(spec, id);
            foreach (var pid in cgroup.Pids()) Libc.kill(pid, Libc.SIGKILL);
            cgroup.Destroy();
        });
    }

    /// <summary>The pid of the container's monitor while it runs, else 0.</summary>
    private static int MonitorPid(string stateDir)
    {
        try
        {
            return int.TryParse(File.ReadAllText(Path.Combine(stateDir, "monitor.pid")).Trim(), out var pid) && pid > 0
                   && Runtime.Lifecycle.ProcInfo.IsAlive(pid) ? pid : 0;
        }
        catch (IOException) { return 0; }
    }

    private static void KillMonitor(string stateDir)
    {
        int pid = MonitorPid(stateDir);
        if (pid == 0) return;
        Libc.kill(pid, Libc.SIGKILL);
        ProcessExit.WaitAsync(pid, TimeSpan.FromSeconds(5)).GetAwaiter().GetResult();
    }
}
