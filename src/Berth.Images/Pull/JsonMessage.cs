using System.Globalization;
using System.Text.Json;

namespace Berth.Images.Pull;

/// <summary>
/// One message of Docker's progress stream (pkg/jsonmessage): {"status","progressDetail","progress","id"} or
/// {"errorDetail":{"message"},"error"}; each sent as one line ending with "\r\n".
/// </summary>
public sealed record JsonMessage(string Status, string? Id = null, bool Detail = false, long? Current = null, long? Total = null)
{
    /// <summary>{"status":"Downloading","progressDetail":{"current":1,"total":2},"progress":"[=>  ] 1B/2B","id":"…"}.</summary>
    public static JsonMessage Progress(string status, string id, long current, long total) => new(status, id, true, current, total);

    /// <summary>A status with an empty progressDetail ({"status":"Pull complete","progressDetail":{},"id":"…"}).</summary>
    public static JsonMessage Layer(string status, string id) => new(status, id, true);

    public byte[] ToBytes()
    {
        var ms = new MemoryStream();
        using (var w = Writer(ms))
        {
            w.WriteStartObject();
            w.WriteString("status", Status);
            if (Detail)
            {
                w.WriteStartObject("progressDetail");
                if (Current is { } c) w.WriteNumber("current", c);
                if (Total is { } t and > 0) w.WriteNumber("total", t);
                w.WriteEndObject();
                if (Current is { } cur) w.WriteString("progress", Bar(cur, Total ?? 0));
            }
            if (Id is not null) w.WriteString("id", Id);
            w.WriteEndObject();
        }
        ms.Write("\r\n"u8);
        return ms.ToArray();
    }

    /// <summary>{"errorDetail":{"message":M},"error":M}: how a stream that already started reports its failure.</summary>
    public static byte[] Error(string message)
    {
        var ms = new MemoryStream();
        using (var w = Writer(ms))
        {
            w.WriteStartObject();
            w.WriteStartObject("errorDetail");
            w.WriteString("message", message);
            w.WriteEndObject();
            w.WriteString("error", message);
            w.WriteEndObject();
        }
        ms.Write("\r\n"u8);
        return ms.ToArray();
    }

    private static Utf8JsonWriter Writer(Stream s) => new(s, new JsonWriterOptions { Encoder = System.Text.Encodings.Web.JavaScriptEncoder.Default });

    /// <summary>Docker's progress text: a 50-column bar and "%8v/%v" human sizes, e.g. "[====…>]     154B/154B".</summary>
    public static string Bar(long current, long total)
    {
        if (total <= 0) return $"{HumanSize(current),8}";
        int bars = (int)Math.Min(50, 50 * current / total);
        return "[" + new string('=', bars) + ">" + new string(' ', 50 - bars) + "] " + $"{HumanSize(current),8}/{HumanSize(total)}";
    }

    /// <summary>go-units HumanSize: decimal units, 4 significant digits ("154B", "2.811MB").</summary>
    public static string HumanSize(long size)
    {
        string[] units = ["B", "kB", "MB", "GB", "TB", "PB"];
        double v = size;
        int i = 0;
        while (v >= 1000 && i < units.Length - 1) { v /= 1000; i++; }
        return v.ToString("G4", CultureInfo.InvariantCulture) + units[i];
    }
}
