using System.Collections.Concurrent;
using System.Net.Sockets;
using System.Text;
using Berth.Core;
using Berth.Engine.Containers.Health;
using Berth.Engine.Events;
using Berth.Engine.Logging;
using Berth.Interop;

namespace Berth.Engine.Containers;

/// <summary>
/// Health checks (moby's daemon/health.go): a monitor per running container with a probe (Config.Healthcheck
/// with CMD or CMD-SHELL), a subscriber of the event stream started by "start" and stopped by "die". Every interval
/// it runs the probe as an exec inside the container (exec_create / exec_start / exec_die published as for any
/// exec), capturing up to 4096 bytes of its output, killed after the timeout (exit -1 "Health check exceeded
/// timeout (…)"); the result goes to State.Health (last 5 probes, failing streak, status), and a change of status
/// is published as "health_status: healthy|unhealthy".
/// </summary>
public sealed partial class ContainerManager
{
    private readonly ConcurrentDictionary<string, CancellationTokenSource> _healthMonitors = new();
    private EngineEvents.Subscription? _healthEvents;

    private void StartHealthMonitors()
    {
        _healthEvents = Events.Subscribe(4096);
        var reader = _healthEvents.Reader;
        _ = Task.Run(async () =>
        {
            await foreach (var e in reader.ReadAllAsync())
            {
                if (e.Type != EngineEvent.Container) continue;
                if (e.Action == "start") StartHealthMonitor(e.Id);
                else if (e.Action is "die" or "destroy") StopHealthMonitor(e.Id);
            }
        });
    }

    /// <summary>After a daemon restart: the containers found running get their monitors again.</summary>
    private void ResumeHealthMonitors()
    {
        foreach (var c in Store.List().Where(c => c.State.Running)) StartHealthMonitor(c.Id);
    }

    /// <summary>At the move to running (under the gate, before the record is saved): a container with a probe
    /// starts "starting" with no failing streak; its log is kept.</summary>
    private static void ResetHealth(ContainerRecord c, ContainerStateRecord state)
    {
        if (HealthConfig.From(c.Config.Healthcheck)?.ProbeCommand() is null) return;
        state.Health ??= new HealthState();
        state.Health.Status = HealthState.Starting;
        state.Health.FailingStreak = 0;
    }

    private void StartHealthMonitor(string id)
    {
        if (!Store.TryGet(id, out var c) || c is null || !c.State.Running) return;
        var config = HealthConfig.From(c.Config.Healthcheck);
        if (config?.ProbeCommand() is not { } cmd) return;
        var cts = new CancellationTokenSource();
        if (_healthMonitors.TryRemove(id, out var old)) old.Cancel();
        _healthMonitors[id] = cts;
        var startedAt = c.State.StartedAt;
        _ = Task.Run(async () =>
        {
            try
            {
                while (true)
                {
                    await Task.Delay(config.IntervalOrDefault, cts.Token);
                    var result = await ProbeAsync(id, cmd, config.TimeoutOrDefault, cts.Token);
                    if (cts.IsCancellationRequested) return;
                    await RecordProbeAsync(id, startedAt, config, result);
                }
            }
            catch (OperationCanceledException) { }
            catch (Exception e) when (e is BerthException or IOException) { EngineLog.Logger.AfterExitFailed(id, "health check: " + e.Message); }
        });
    }

    private void StopHealthMonitor(string id)
    {
        if (_healthMonitors.TryRemove(id, out var cts)) cts.Cancel();
    }

    /// <summary>One probe: an exec without a client; its output (stdout and stderr, up to 4096 bytes, "..." when
    /// cut) and exit code, or -1 when it could not run or ran past the timeout (then it is killed).</summary>
    private async Task<HealthLogEntry> ProbeAsync(string id, IReadOnlyList<string> cmd, TimeSpan timeout, CancellationToken ct)
    {
        var entry = new HealthLogEntry { Start = DateTime.UtcNow };
        string execId;
        try
        {
            execId = CreateExec(id, new ExecCreate { Cmd = cmd, AttachStdout = true, AttachStderr = true });
        }
        catch (BerthException e)
        {
            return Done(entry, -1, e.Message);
        }
        try
        {
            ExecSession session;
            try
            {
                session = await StartExecAsync(execId, detach: false, ct);
            }
            catch (BerthException e)
            {
                return Done(entry, -1, e.Message);
            }
            using var attach = session.Attach!;
            var output = new LimitedBuffer(HealthState.MaxOutputLen);
            var reading = ReadFramesAsync(attach, output);
            // As dockerd's timer, the timeout runs from the probe's creation (its start is part of it).
            var left = entry.Start + timeout - DateTime.UtcNow;
            var timedOut = !session.Exited.IsCompleted
                && (left <= TimeSpan.Zero || await Task.WhenAny(session.Exited, Task.Delay(left, ct)) != session.Exited);
            if (timedOut)
            {
                // dockerd kills the exec's process and ends the entry then: it does not wait for the exec's end, which
                // the monitor records only once the output is drained (a child of the probe may hold it for 2 s).
                // The killed process's own end is awaited (no dying probes piling up), briefly.
                int pid = session.Exec.Pid;
                if (pid > 0 && !session.Exited.IsCompleted)
                {
                    Libc.kill(pid, Libc.SIGKILL);
                    await Task.WhenAny(session.Exited, ProcessExit.WaitAsync(pid, TimeSpan.FromSeconds(1)));
                }
                return Done(entry, -1, $"Health check exceeded timeout ({HealthConfig.GoDuration(timeout)})");
            }
            // The output ends with the process (or with a child that keeps it open: not waited for long).
            try { await reading.WaitAsync(TimeSpan.FromSeconds(1), CancellationToken.None); }
            catch (TimeoutException) { }
            return Done(entry, await session.Exited, output.ToString());
        }
        finally
        {
            ForgetExec(execId);
        }
    }

    private static HealthLogEntry Done(HealthLogEntry e, int code, string output)
    {
        e.End = DateTime.UtcNow;
        e.ExitCode = code;
        e.Output = output;
        return e;
    }

    /// <summary>The monitor's stdcopy frames (8-byte header, then the payload) into the buffer, until the end.</summary>
    private static async Task ReadFramesAsync(Socket socket, LimitedBuffer output)
    {
        try
        {
            await using var s = new NetworkStream(socket, ownsSocket: false);
            var header = new byte[8];
            var buf = new byte[16 * 1024];
            while (true)
            {
                await s.ReadExactlyAsync(header);
                int size = (header[4] << 24) | (header[5] << 16) | (header[6] << 8) | header[7];
                while (size > 0)
                {
                    int n = await s.ReadAsync(buf.AsMemory(0, Math.Min(size, buf.Length)));
                    if (n == 0) return;
                    output.Write(buf.AsSpan(0, n));
                    size -= n;
                }
            }
        }
        catch (Exception e) when (e is IOException or SocketException or ObjectDisposedException or EndOfStreamException) { }
    }

    private void ForgetExec(string execId)
    {
        if (_execs.TryRemove(execId, out var e)) _execOrder.TryRemove(e, out _);
    }

    /// <summary>dockerd's handleProbeResult: the log keeps the last 5; 0 is healthy (streak reset); a failure
    /// counts unless the container is still starting within its start period; retries failures make it unhealthy.</summary>
    private async Task RecordProbeAsync(string id, DateTime startedAt, HealthConfig config, HealthLogEntry result)
    {
        var entry = EntryOf(id);
        string? changed = null;
        ContainerRecord? c;
        await entry.Gate.WaitAsync();
        try
        {
            if (!Store.TryGet(id, out c) || c is null || entry.Removing || !c.State.Running || c.State.StartedAt != startedAt) return;
            var h = c.State.Health ??= new HealthState();
            var old = h.Status;
            h.Log.Add(result);
            if (h.Log.Count > HealthState.MaxLogEntries) h.Log.RemoveRange(0, h.Log.Count - HealthState.MaxLogEntries);
            if (result.ExitCode == 0)
            {
                h.FailingStreak = 0;
                h.Status = HealthState.Healthy;
            }
            else if (!(h.Status == HealthState.Starting && result.Start - startedAt < config.StartPeriodOrDefault))
            {
                h.FailingStreak++;
                if (h.FailingStreak >= config.RetriesOrDefault) h.Status = HealthState.Unhealthy;
            }
            Store.Save(c, Berth.Interop.Sync.FileOnly);
            if (h.Status != old) changed = h.Status;
        }
        finally
        {
            entry.Gate.Release();
        }
        if (changed is not null) Publish(c, "health_status: " + changed);
    }

    /// <summary>Docker's limitedBuffer: keeps the first bytes, "..." appended when more came.</summary>
    private sealed class LimitedBuffer(int limit)
    {
        private readonly MemoryStream _buf = new();
        private bool _truncated;

        public void Write(ReadOnlySpan<byte> data)
        {
            lock (_buf)
            {
                int room = limit - (int)_buf.Length;
                if (data.Length > room) _truncated = true;
                _buf.Write(data[..Math.Min(room, data.Length)]);
            }
        }

        public override string ToString()
        {
            lock (_buf) return Encoding.UTF8.GetString(_buf.ToArray()) + (_truncated ? "..." : "");
        }
    }
}
