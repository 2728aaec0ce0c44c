using System.Collections.Concurrent;
using Berth.Engine.Containers;
using Berth.Runtime.Lifecycle;

namespace Berth.Engine.Tests;

/// <summary>A monitor that creates nothing: a launch answers with a made-up pid (or the configured failure), and
/// the "process" ends when the fake runtime kills it or a test ends it.</summary>
internal sealed class FakeMonitor : IContainerMonitor
{
    private int _pid = 40000;
    public readonly ConcurrentDictionary<string, TaskCompletionSource<ExitInfo?>> Exits = new();

    /// <summary>Held by a test to keep a launch (and so the start holding the container's gate) in flight.</summary>
    public TaskCompletionSource? LaunchGate { get; set; }
    public TaskCompletionSource LaunchEntered { get; } = new(TaskCreationOptions.RunContinuationsAsynchronously);
    public MonitorResult? NextFailure { get; set; }

    public async Task<MonitorResult> LaunchAsync(MonitorLaunch launch, CancellationToken ct)
    {
        LaunchEntered.TrySetResult();
        if (LaunchGate is { } gate) await gate.Task.WaitAsync(ct);
        if (NextFailure is { } f) { NextFailure = null; return f; }
        Exits[launch.StateDir] = new TaskCompletionSource<ExitInfo?>(TaskCreationOptions.RunContinuationsAsynchronously);
        return new MonitorResult { Pid = Interlocked.Increment(ref _pid) };
    }

    public Task<ExitInfo?> WaitExitAsync(string stateDir, CancellationToken ct) =>
        Exits.TryGetValue(stateDir, out var t) ? t.Task.WaitAsync(ct) : Task.FromResult<ExitInfo?>(null);

    public Task ResizeAsync(string stateDir, int height, int width) => Task.CompletedTask;
    public Task WaitGoneAsync(string stateDir) => Task.CompletedTask;

    public void End(string stateDir, int code) =>
        Exits[stateDir].TrySetResult(new ExitInfo { ExitCode = code, FinishedAt = DateTime.UtcNow });
}

/// <summary>An OCI runtime whose kill ends the fake monitor's process with 128 + signal.</summary>
internal sealed class FakeRuntime(FakeMonitor monitor, Func<string, string> stateDir) : IOciRuntime
{
    public readonly ConcurrentQueue<string> Calls = new();

    public PendingCreate? PrepareCreate(string id, string bundle, Berth.Runtime.Spec.Spec spec, string? consoleSocket) => null;

    public Task<RuntimeResult> StartAsync(string id, CancellationToken ct)
    {
        Calls.Enqueue("start " + id);
        return Task.FromResult(RuntimeResult.Ok);
    }

    public Task<RuntimeResult> KillAsync(string id, string signal, bool all, CancellationToken ct)
    {
        Calls.Enqueue($"kill {id} {signal}");
        int signo = Signals.Parse(signal);
        if (signo is 9 or 15) monitor.End(stateDir(id), 128 + signo);
        return Task.FromResult(RuntimeResult.Ok);
    }

    public Task<RuntimeResult> DeleteAsync(string id, bool force, CancellationToken ct)
    {
        Calls.Enqueue("delete " + id);
        return Task.FromResult(RuntimeResult.Ok);
    }
}
