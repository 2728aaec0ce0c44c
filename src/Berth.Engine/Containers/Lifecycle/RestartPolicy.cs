using System.Collections.Concurrent;
using Berth.Core;
using Berth.Engine.Containers.Restart;
using Berth.Engine.Events;
using Berth.Engine.Logging;

namespace Berth.Engine.Containers;

public sealed partial class ContainerManager
{
    // The restart manager: a subscriber of the event stream. A container's die (not a failed start, not after the
    // user's stop or kill) is weighed against its policy (RestartBackoff: dockerd's growing delay); a restart is
    // recorded at once (RestartCount, State.Restarting) and carried out after the delay.
    private readonly ConcurrentDictionary<string, RestartBackoff> _backoff = new();
    private readonly ConcurrentDictionary<string, CancellationTokenSource> _pendingRestarts = new();
    private EngineEvents.Subscription? _restartEvents;

    /// <summary>The clock of restart delays (a fake one in tests).</summary>
    public TimeProvider Clock { get; init; } = TimeProvider.System;

    private void StartRestartManager()
    {
        _restartEvents = Events.Subscribe(4096);
        var reader = _restartEvents.Reader;
        _ = Task.Run(async () =>
        {
            await foreach (var e in reader.ReadAllAsync())
            {
                if (e.Type != EngineEvent.Container || e.Action != "die") continue;
                try { await OnDieAsync(e.Id); }
                catch (Exception ex) when (ex is BerthException or IOException) { EngineLog.Logger.AfterExitFailed(e.Id, ex.Message); }
            }
        });
    }

    private async Task OnDieAsync(string id)
    {
        if (!Store.TryGet(id, out var c) || c is null || RestartPolicies.IsNone(c.HostConfig.RestartPolicy)) return;
        var entry = EntryOf(id);
        TimeSpan? delay;
        await entry.Gate.WaitAsync();
        try
        {
            if (!Store.TryGet(id, out c) || c is null || entry.Removing) return;
            // A start that failed (State.Error) does not restart, as dockerd; nor an exit the user asked for.
            if (c.State.Running || c.State.Restarting || c.State.Error.Length > 0 || c.ManuallyStopped) return;
            var backoff = _backoff.GetOrAdd(id, _ => new RestartBackoff());
            delay = backoff.Decide(c.HostConfig.RestartPolicy, c.State.ExitCode, c.ManuallyStopped, c.RestartCount, c.State.FinishedAt - c.State.StartedAt);
            if (delay is null) return;
            MarkRestarting(c);
        }
        finally
        {
            entry.Gate.Release();
        }
        ScheduleRestart(id, delay.Value);
    }

    /// <summary>Under the gate: the restart is counted and shown (State.Restarting) from now on.</summary>
    private void MarkRestarting(ContainerRecord c)
    {
        c.RestartCount++;
        c.State.Restarting = true;
        Store.Save(c);
    }

    private void ScheduleRestart(string id, TimeSpan delay)
    {
        var cts = new CancellationTokenSource();
        if (_pendingRestarts.TryRemove(id, out var previous)) previous.Cancel();
        _pendingRestarts[id] = cts;
        _ = Task.Run(async () =>
        {
            try
            {
                await Task.Delay(delay, Clock, cts.Token);
            }
            catch (OperationCanceledException)
            {
                return;
            }
            _pendingRestarts.TryRemove(new KeyValuePair<string, CancellationTokenSource>(id, cts));
            try
            {
                await StartCoreAsync(id, byPolicy: true, CancellationToken.None);
            }
            catch (BerthException e) when (e.Kind is ErrorKind.NotFound or ErrorKind.NotModified or ErrorKind.Conflict) { }
            catch (Exception e)
            {
                // As dockerd: a restart that fails leaves the container stopped (its error recorded by start).
                EngineLog.Logger.AfterExitFailed(id, "restart failed: " + e.Message);
            }
        });
    }

    /// <summary>
    /// Under the gate: a restarting container's pending start is cancelled (the user's stop or kill, as dockerd's
    /// ExitOnNext): it stays exited and is marked stopped by the user. False when no restart was pending.
    /// </summary>
    private bool CancelPendingRestart(ContainerRecord c)
    {
        if (!c.State.Restarting) return false;
        if (_pendingRestarts.TryRemove(c.Id, out var cts)) cts.Cancel();
        c.State.Restarting = false;
        c.ManuallyStopped = true;
        Store.Save(c);
        return true;
    }

    /// <summary>
    /// At daemon start (dockerd's restore): a container that has run, does not run now and whose policy says so
    /// is started again: always (even after the user's stop, as dockerd), unless-stopped unless the user stopped
    /// it, on-failure after a non-zero exit under its maximum; a restart that was pending when berthd stopped too.
    /// </summary>
    private void RestartAfterRecovery()
    {
        foreach (var c in Store.List())
        {
            if (c.State.Running || c.State.StartedAt == default || RestartPolicies.IsNone(c.HostConfig.RestartPolicy)) continue;
            bool pending = c.State.Restarting;
            var backoff = _backoff.GetOrAdd(c.Id, _ => new RestartBackoff());
            var delay = pending ? RestartBackoff.Initial
                : backoff.Decide(c.HostConfig.RestartPolicy, c.State.ExitCode, c.ManuallyStopped, c.RestartCount, c.State.FinishedAt - c.State.StartedAt);
            if (delay is null) continue;
            if (!pending) TryCleanup(() => MarkRestarting(c));
            ScheduleRestart(c.Id, delay.Value);
        }
    }
}
