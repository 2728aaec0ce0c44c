using System.Text.Json;

namespace Berth.Runtime.Cli;

/// <summary>Warnings and errors: logrus text format on stderr (or --log file), or JSON lines with --log-format json.</summary>
public sealed class Log
{
    public string? Path { get; set; }
    public bool Json { get; set; }

    public void Warn(string message) => Write("warning", message);
    public void Error(string message) => Write("error", message);

    private void Write(string level, string message)
    {
        var now = DateTime.UtcNow;
        string line;
        if (Json)
        {
            using var ms = new MemoryStream();
            using (var w = new Utf8JsonWriter(ms))
            {
                w.WriteStartObject();
                w.WriteString("level", level);
                w.WriteString("msg", message);
                w.WriteString("time", now.ToString("yyyy-MM-ddTHH:mm:ss.fffffffZ"));
                w.WriteEndObject();
            }
            line = System.Text.Encoding.UTF8.GetString(ms.ToArray());
        }
        else
        {
            line = $"time=\"{now:yyyy-MM-ddTHH:mm:ssZ}\" level={level} msg=\"{message.Replace("\\", "\\\\").Replace("\"", "\\\"")}\"";
        }
        if (Path is { } p && p != "/dev/stderr")
        {
            try
            {
                File.AppendAllText(p, line + "\n");
            }
            catch (IOException)
            {
                Console.Error.WriteLine(line);
            }
            // Errors also reach the caller's terminal, as runc does for fatal errors.
            if (level == "error") Console.Error.WriteLine(message);
        }
        else
        {
            Console.Error.WriteLine(line);
        }
    }
}
