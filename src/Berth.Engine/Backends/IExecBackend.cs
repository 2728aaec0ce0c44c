using Berth.Engine.Containers;

namespace Berth.Engine.Backends;

/// <summary>What the daemon's exec router needs from the engine (moby's exec backend): exec instances of running
/// containers, started through a monitor of their own. Implemented by <see cref="ContainerManager"/>.</summary>
public interface IExecBackend
{
    /// <summary>A new exec instance (NotFound: no such container; Conflict: not running or paused); its id.</summary>
    string CreateExec(string containerIdOrName, ExecCreate config);

    /// <summary>The instance (NotFound: "No such exec instance: X").</summary>
    ExecInstance GetExec(string execId);

    /// <summary>
    /// Starts the process: returns once it runs (connected to its stdio unless <paramref name="detach"/>).
    /// Conflict when it already ran or runs; a start that fails records Docker's exit code (127 command not found,
    /// 126 otherwise) and throws with the runtime's message.
    /// </summary>
    Task<ExecSession> StartExecAsync(string execId, bool detach, CancellationToken ct = default);

    /// <summary>Sets the exec's terminal size, once it has started (waits up to 10 s, as dockerd).</summary>
    Task ResizeExecAsync(string execId, int height, int width);

    /// <summary>The exec instances of a container (inspect's ExecIDs), oldest first.</summary>
    IReadOnlyList<string> ExecIdsOf(string containerId);
}
