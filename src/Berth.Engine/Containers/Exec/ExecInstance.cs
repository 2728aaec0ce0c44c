using System.Net.Sockets;

namespace Berth.Engine.Containers;

/// <summary>What `docker exec` asks for (ExecConfig of POST /containers/{id}/exec).</summary>
public sealed class ExecCreate
{
    public string User { get; init; } = "";
    public bool Privileged { get; init; }
    public bool Tty { get; init; }
    public bool AttachStdin { get; init; }
    public bool AttachStdout { get; init; }
    public bool AttachStderr { get; init; }
    public string DetachKeys { get; init; } = "";
    public IReadOnlyList<string>? Env { get; init; }
    public string WorkingDir { get; init; } = "";
    public required IReadOnlyList<string> Cmd { get; init; }

    /// <summary>[height, width] of the terminal at start, or null.</summary>
    public IReadOnlyList<uint>? ConsoleSize { get; init; }
}

/// <summary>
/// One exec instance (Docker's exec.Config): created, started once, then kept as dockerd keeps it: one that never
/// started or still runs is dropped when its container stops (dockerd's Cleanup), one that ended is inspectable
/// until the collector's second sweep after its end (dockerd's execCommandGC, 5 to 10 minutes), and every one goes
/// with its container. Its process has a monitor of its own (berth-monitor without a log) in
/// &lt;exec-root&gt;/exec/&lt;id&gt;/.
/// </summary>
public sealed class ExecInstance
{
    internal ExecInstance(string id, string containerId, ExecCreate config, byte[] detachKeys)
    {
        Id = id;
        ContainerId = containerId;
        Config = config;
        DetachKeySequence = detachKeys;
    }

    public string Id { get; }
    public string ContainerId { get; }
    public ExecCreate Config { get; }

    /// <summary>The detach sequence (ctrl-p ctrl-q unless DetachKeys says otherwise).</summary>
    public byte[] DetachKeySequence { get; }

    internal readonly object Lock = new();
    internal bool StartRequested;
    internal string StateDir = "";

    public bool Running { get; internal set; }

    /// <summary>Null until the process has ended (or its start failed).</summary>
    public int? ExitCode { get; internal set; }

    public int Pid { get; internal set; }

    /// <summary>Marked by the collector's first sweep after the end (inspect's CanRemove); dropped at the next.</summary>
    public bool CanRemove { get; internal set; }

    /// <summary>Completes when the process runs, or its start failed (resize waits for it).</summary>
    internal readonly TaskCompletionSource Started = new(TaskCreationOptions.RunContinuationsAsynchronously);

    /// <summary>Completes with the exit code when the process has ended (or its start failed).</summary>
    internal readonly TaskCompletionSource<int> Ended = new(TaskCreationOptions.RunContinuationsAsynchronously);

    public Task<int> Exited => Ended.Task;
}

/// <summary>A started exec: the connection to its monitor's attach socket (null when detached) and its end.</summary>
public sealed record ExecSession(ExecInstance Exec, Socket? Attach, Task<int> Exited);
