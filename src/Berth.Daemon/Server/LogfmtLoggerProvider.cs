using System.Text;

namespace Berth.Daemon.Server;

/// <summary>
/// An <see cref="ILoggerProvider"/> writing dockerd-style lines to stderr:
/// <c>time="2026-01-02T03:04:05.0000000Z" level=info msg="..." event=1003</c>, plus <c>error="..."</c> when an
/// exception is attached: its message, or for error level and above the whole exception with its stack (newlines
/// escaped, so one event is one line). No background thread, no queue: the daemon logs little.
/// Categories of ASP.NET Core itself (Microsoft.*, System.*) are shown from warning up.
/// </summary>
public sealed class LogfmtLoggerProvider(LogLevel minimum) : ILoggerProvider
{
    private static readonly object Gate = new();

    public LogLevel Minimum { get; } = minimum;

    /// <summary>Test hook: where lines go (stderr by default).</summary>
    public TextWriter? Output { get; set; }

    public ILogger CreateLogger(string categoryName) => new Logger(this,
        categoryName.StartsWith("Microsoft.", StringComparison.Ordinal) || categoryName.StartsWith("System.", StringComparison.Ordinal)
            ? (LogLevel)Math.Max((int)Minimum, (int)LogLevel.Warning) : Minimum);

    public void Dispose() { }

    public static string Format(DateTime utc, LogLevel level, EventId id, string message, Exception? exception)
    {
        var sb = new StringBuilder(128);
        sb.Append("time=\"").Append(utc.ToString("yyyy-MM-ddTHH:mm:ss.fffffffZ", System.Globalization.CultureInfo.InvariantCulture))
          .Append("\" level=").Append(LevelName(level)).Append(" msg=");
        Quote(sb, message);
        if (exception is not null)
        {
            sb.Append(" error=");
            Quote(sb, level >= LogLevel.Error ? exception.ToString() : exception.Message);
        }
        if (id.Id != 0) sb.Append(" event=").Append(id.Id);
        return sb.ToString();
    }

    private static string LevelName(LogLevel level) => level switch
    {
        LogLevel.Trace => "trace",
        LogLevel.Debug => "debug",
        LogLevel.Information => "info",
        LogLevel.Warning => "warning",
        LogLevel.Error => "error",
        _ => "fatal",
    };

    private static void Quote(StringBuilder sb, string s)
    {
        sb.Append('"');
        foreach (char c in s)
        {
            switch (c)
            {
                case '"': sb.Append("\\\""); break;
                case '\\': sb.Append("\\\\"); break;
                case '\n': sb.Append("\\n"); break;
                case '\r': sb.Append("\\r"); break;
                case '\t': sb.Append("\\t"); break;
                default: sb.Append(c); break;
            }
        }
        sb.Append('"');
    }

    private sealed class Logger(LogfmtLoggerProvider provider, LogLevel minimum) : ILogger
    {
        public IDisposable? BeginScope<TState>(TState state) where TState : notnull => null;

        public bool IsEnabled(LogLevel logLevel) => logLevel != LogLevel.None && logLevel >= minimum;

        public void Log<TState>(LogLevel logLevel, EventId eventId, TState state, Exception? exception, Func<TState, Exception?, string> formatter)
        {
            if (!IsEnabled(logLevel)) return;
            string line = Format(DateTime.UtcNow, logLevel, eventId, formatter(state, exception), exception);
            lock (Gate) (provider.Output ?? Console.Error).WriteLine(line);
        }
    }
}
