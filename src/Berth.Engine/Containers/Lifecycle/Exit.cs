using Berth.Engine.Logging;
using System.Globalization;
using Berth.Core;
using Berth.Interop;

namespace Berth.Engine.Containers;

public sealed partial class ContainerManager
{
    /// <summary>Waits for the monitor's exit record, then deletes the runtime's container, unmounts, and records the exit.</summary>
    private async Task WatchExitAsync(string id)
    {
        // The monitor died without recording an exit: the container's fate is unknown; treated as killed.
        var exit = await _monitor.WaitExitAsync(StateDir(id), CancellationToken.None)
                   ?? new ExitInfo { ExitCode = 137, Signal = 9, FinishedAt = DateTime.UtcNow };
        try
        {
            await FinishAsync(id, exit);
        }
        catch (Exception e)
        {
            // The exit is known even when the bookkeeping after it failed: waiters must never hang on it.
            EngineLog.Logger.AfterExitFailed(id, e.Message);
            if (_entries.TryGetValue(id, out var en)) CompleteExit(en, exit);
        }
    }

    private async Task FinishAsync(string id, ExitInfo exit)
    {
        if (!_entries.TryGetValue(id, out var entry)) return;
        bool autoRemove;
        await entry.Gate.WaitAsync();
        try
        {
            if (!Store.TryGet(id, out var c) || c is null) return;
            await _runtime.DeleteAsync(id, force: true, CancellationToken.None);
            TryCleanup(() => _rootfs.Unmount(id));
            TryCleanup(() => UnmountShm(id));
            UnmountVolumes(c);
            TryCleanup(() => DetachNetworks(c));
            // A container about to be removed (auto-remove, rm -f) needs no durable exit record: a crash before the
            // removal finds its exit again from the monitor's exit.json on restart.
            Transition(c, new ContainerStateRecord
            {
                Status = ContainerStatus.Exited, ExitCode = exit.ExitCode, OOMKilled = exit.OomKilled, StartedAt = c.State.StartedAt,
                FinishedAt = exit.FinishedAt == default ? DateTime.UtcNow : exit.FinishedAt,
            }, exit.OomKilled ? "oom" : null, c.AutoRemove || entry.Removing ? Sync.None : Sync.FileAndDirectory);
            Publish(c, "die", ("exitCode", exit.ExitCode.ToString(CultureInfo.InvariantCulture)));
            ForgetPendingExecs(id); // dockerd's Cleanup: execs never started (or still running) go with the run
            autoRemove = c.AutoRemove && !entry.Removing;
        }
        finally
        {
            entry.Gate.Release();
        }
        CompleteExit(entry, exit);
        if (autoRemove)
        {
            try { await RemoveAsync(id, force: true, removeVolumes: true); }
            catch (BerthException e) when (e.Kind == ErrorKind.NotFound) { }
        }
    }

    /// <summary>Docker's wait: "not-running" (default), "next-exit", or "removed".</summary>
    public async Task<int> WaitAsync(string idOrName, string condition = "not-running", CancellationToken ct = default)
    {
        if (condition is not ("not-running" or "next-exit" or "removed"))
            throw BerthException.Invalid($"invalid condition: \"{condition}\"");
        var c = Store.Get(idOrName);
        var entry = EntryOf(c.Id);
        var next = CurrentExit(c.Id);
        if (condition == "not-running" && !c.State.Running && !next.IsCompleted) return c.State.ExitCode;
        if (condition == "removed")
        {
            // The exit code the container has when it goes (it may run, and exit, before it is removed).
            await entry.Removed.Task.WaitAsync(ct);
            return entry.RemovedExitCode;
        }
        var exit = await next.WaitAsync(ct);
        return exit.ExitCode;
    }
}
