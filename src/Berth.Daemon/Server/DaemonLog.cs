namespace Berth.Daemon.Server;

/// <summary>dockerd-style log lines on stderr (<c>time="..." level=info msg="..."</c>). No logging framework:
/// it costs memory at idle and the daemon logs little.</summary>
public static class DaemonLog
{
    private static readonly object Gate = new();
    public static bool DebugEnabled { get; set; }

    public static void Info(string message) => Write("info", message);
    public static void Warn(string message) => Write("warning", message);
    public static void Error(string message) => Write("error", message);
    public static void Debug(string message)
    {
        if (DebugEnabled) Write("debug", message);
    }

    private static void Write(string level, string message)
    {
        string line = $"time=\"{DateTime.UtcNow:yyyy-MM-ddTHH:mm:ss.fffffffZ}\" level={level} msg=\"{message.Replace("\"", "\\\"")}\"";
        lock (Gate) Console.Error.WriteLine(line);
    }
}
