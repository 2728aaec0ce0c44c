using Berth.Core;
using Berth.Runtime.Lifecycle;

namespace Berth.Engine.Containers;

public sealed partial class ContainerManager
{
    public async Task KillAsync(string idOrName, string signal = "KILL", CancellationToken ct = default)
    {
        int signo = Signals.TryParse(signal, out var s) ? s : throw BerthException.Invalid($"Invalid signal: {signal}");
        var c = Store.Get(idOrName);
        var entry = EntryOf(c.Id);
        Task<ExitInfo> exited;
        await entry.Gate.WaitAsync(ct);
        try
        {
            c = Store.Get(c.Id);
            // A restart policy's pending start is cancelled, as dockerd's ExitOnNext; no signal to send.
            if (CancelPendingRestart(c)) return;
            if (!c.State.Running) throw BerthException.Conflict($"Container {c.Id} is not running");
            exited = CurrentExit(c.Id);
            var killed = await _runtime.KillAsync(c.Id, signo.ToString(System.Globalization.CultureInfo.InvariantCulture), all: false, ct);
            if (!killed.Succeeded) throw new BerthException(ErrorKind.System, $"Cannot kill container: {c.Id}: {killed.Error}");
            MarkManuallyStopped(c);
            if (signo == 9 || signo == StopSignal(c)) ThawForExit(c);
            Publish(c, "kill", ("signal", signo.ToString(System.Globalization.CultureInfo.InvariantCulture)));
        }
        finally
        {
            entry.Gate.Release();
        }
        // As dockerd: a SIGKILL returns once the container is not running any more (the exit is recorded first).
        if (signo == 9) await exited.WaitAsync(TimeSpan.FromSeconds(30), ct);
    }

    /// <summary>The stop signal (Config.StopSignal, else SIGTERM), then SIGKILL after the timeout (the request's,
    /// else Config.StopTimeout, else 10 s); NotModified when not running.</summary>
    public async Task StopAsync(string idOrName, int? timeoutSeconds = null, CancellationToken ct = default)
    {
        var c = Store.Get(idOrName);
        var entry = EntryOf(c.Id);
        Task<ExitInfo> exited;
        int timeout;
        await entry.Gate.WaitAsync(ct);
        try
        {
            c = Store.Get(c.Id);
            if (CancelPendingRestart(c))
            {
                Publish(c, "stop");
                return;
            }
            if (!c.State.Running) throw new BerthException(ErrorKind.NotModified, "container already stopped");
            exited = CurrentExit(c.Id);
            timeout = timeoutSeconds ?? c.Config.StopTimeout ?? 10;
            int signo = StopSignal(c);
            await _runtime.KillAsync(c.Id, signo.ToString(System.Globalization.CultureInfo.InvariantCulture), all: false, ct);
            MarkManuallyStopped(c);
            ThawForExit(c);
            Publish(c, "kill", ("signal", signo.ToString(System.Globalization.CultureInfo.InvariantCulture)));
        }
        finally
        {
            entry.Gate.Release();
        }
        // A negative timeout waits for ever, as dockerd's.
        bool inTime = timeout < 0
            ? await exited.WaitAsync(ct).ContinueWith(_ => true, TaskScheduler.Default)
            : await Task.WhenAny(exited, Task.Delay(TimeSpan.FromSeconds(timeout), ct)) == exited;
        if (!inTime)
        {
            await _runtime.KillAsync(c.Id, "KILL", all: true, ct);
            Publish(c, "kill", ("signal", "9"));
        }
        await exited.WaitAsync(TimeSpan.FromSeconds(30), ct);
        Publish(c, "stop");
    }

    private static int StopSignal(ContainerRecord c) => Signals.Parse(string.IsNullOrEmpty(c.Config.StopSignal) ? "TERM" : c.Config.StopSignal);

    /// <summary>dockerd's HasBeenManuallyStopped (set by every kill of the user's): a restart policy leaves the
    /// container alone (unless-stopped also across daemon restarts) until it is started again. Under the gate.</summary>
    private void MarkManuallyStopped(ContainerRecord c)
    {
        if (c.ManuallyStopped) return;
        c.ManuallyStopped = true;
        TryCleanup(() => Store.Save(c, Berth.Interop.Sync.FileOnly));
    }
}
