using Berth.Engine.Logging;
using Microsoft.Extensions.Logging.Abstractions;

namespace Berth.Daemon.Server;

/// <summary>
/// berthd's logging: one API, <see cref="ILogger"/> with [LoggerMessage] source-generated methods and stable event
/// IDs (daemon 1000-1999 here, engine 2000-2999 in <see cref="EngineLog"/>, images 3000-3999 reserved; the table
/// is in docs/design/daemon.md, "Logging"). Lines go to stderr in dockerd's format
/// (<c>time="..." level=info msg="..."</c>, see <see cref="LogfmtLoggerProvider"/>).
/// </summary>
public static partial class DaemonLog
{
    private static ILoggerFactory? s_factory;

    /// <summary>Category "berthd". A null logger until <see cref="Configure"/>.</summary>
    public static ILogger Logger { get; private set; } = NullLogger.Instance;

    /// <summary>The stderr provider; DaemonHost adds it to the ASP.NET Core host too (Microsoft.* at warning and up).</summary>
    public static LogfmtLoggerProvider Provider { get; private set; } = new(LogLevel.Information);

    /// <summary>Sets up logging for the process: info and up, or debug and up with --debug.</summary>
    public static void Configure(bool debug)
    {
        Provider = new LogfmtLoggerProvider(debug ? LogLevel.Debug : LogLevel.Information);
        s_factory?.Dispose();
        s_factory = LoggerFactory.Create(b =>
        {
            b.SetMinimumLevel(LogLevel.Trace); // the provider filters
            b.AddProvider(Provider);
        });
        Logger = s_factory.CreateLogger("berthd");
        EngineLog.Logger = s_factory.CreateLogger("Berth.Engine");
    }

    // 1000-1019: daemon lifecycle.
    [LoggerMessage(EventId = 1000, Level = LogLevel.Information, Message = "Daemon has completed initialization (berthd {Version}, pid {Pid})")]
    public static partial void Started(this ILogger logger, string version, int pid);

    [LoggerMessage(EventId = 1001, Level = LogLevel.Information, Message = "Processing signal '{Signal}'")]
    public static partial void ProcessingSignal(this ILogger logger, string signal);

    [LoggerMessage(EventId = 1002, Level = LogLevel.Information, Message = "Daemon shutdown complete")]
    public static partial void ShutdownComplete(this ILogger logger);

    [LoggerMessage(EventId = 1003, Level = LogLevel.Information, Message = "API listen on {Address}")]
    public static partial void ApiListen(this ILogger logger, string address);

    [LoggerMessage(EventId = 1004, Level = LogLevel.Error, Message = "failed to start daemon: {Message}")]
    public static partial void StartFailed(this ILogger logger, string message);

    // 1020-1039: configuration and setup.
    [LoggerMessage(EventId = 1020, Level = LogLevel.Warning, Message = "{Message}")]
    public static partial void RuntimeConfigWarning(this ILogger logger, string message);

    [LoggerMessage(EventId = 1021, Level = LogLevel.Warning, Message = "built-in busybox image: {Message}")]
    public static partial void BusyboxImageFailed(this ILogger logger, string message);

    // 1040-1059: API requests.
    [LoggerMessage(EventId = 1040, Level = LogLevel.Debug, Message = "Calling {Method} {Path}")]
    public static partial void ApiCall(this ILogger logger, string method, string path);

    /// <summary>A 4xx answer (no such container, name in use, bad parameter): the user's error, debug, no stack.</summary>
    [LoggerMessage(EventId = 1041, Level = LogLevel.Debug, Message = "Handler for {Method} {Path} returned error: {Message}")]
    public static partial void RequestRejected(this ILogger logger, string method, string path, string message);

    /// <summary>A 5xx answer: unexpected, error level with the exception and its stack.</summary>
    [LoggerMessage(EventId = 1042, Level = LogLevel.Error, Message = "Handler for {Method} {Path} returned error: {Message}")]
    public static partial void RequestFailed(this ILogger logger, string method, string path, string message, Exception exception);
}
