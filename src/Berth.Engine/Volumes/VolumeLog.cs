using Microsoft.Extensions.Logging;

namespace Berth.Engine.Logging;

/// <summary>The volume store's log events (event IDs 2100-2119).</summary>
public static partial class EngineLog
{
    [LoggerMessage(EventId = 2100, Level = LogLevel.Information, Message = "volume store: {Message}")]
    public static partial void VolumeInfo(this ILogger logger, string message);

    [LoggerMessage(EventId = 2101, Level = LogLevel.Warning, Message = "volume {Name}: {Message}")]
    public static partial void VolumeWarning(this ILogger logger, string name, string message);
}
