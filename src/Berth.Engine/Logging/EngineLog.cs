using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;

namespace Berth.Engine.Logging;

/// <summary>
/// The engine's log events: [LoggerMessage] methods with stable event IDs 2000-2999 (see docs/design/daemon.md,
/// "Logging"). <see cref="Logger"/> is the daemon's logger once berthd configured logging, and a null logger
/// before (tests, tools).
/// </summary>
public static partial class EngineLog
{
    /// <summary>Category "Berth.Engine"; set by the daemon at startup.</summary>
    public static ILogger Logger { get; set; } = NullLogger.Instance;

    [LoggerMessage(EventId = 2000, Level = LogLevel.Warning, Message = "berth-runtime: warning: {Message}")]
    public static partial void RuntimeWarning(this ILogger logger, string message);

    /// <summary>A step after a container's exit failed (restart policy, auto-remove, cleanup).</summary>
    [LoggerMessage(EventId = 2001, Level = LogLevel.Warning, Message = "container {ContainerId}: after exit: {Message}")]
    public static partial void AfterExitFailed(this ILogger logger, string containerId, string message);

    /// <summary>An unexpected failure in background engine work, with the exception (stack included).</summary>
    [LoggerMessage(EventId = 2002, Level = LogLevel.Error, Message = "container {ContainerId}: {Message}")]
    public static partial void ContainerError(this ILogger logger, string containerId, string message, Exception exception);

    [LoggerMessage(EventId = 2003, Level = LogLevel.Debug, Message = "container {ContainerId}: {Message}")]
    public static partial void ContainerDebug(this ILogger logger, string containerId, string message);
}
