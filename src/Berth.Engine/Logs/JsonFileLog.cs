using System.Runtime.CompilerServices;
using System.Text.Json;
using System.Text.Json.Serialization;

namespace Berth.Engine.Logs;

/// <summary>One line of Docker's json-file log.</summary>
public sealed class LogEntry
{
    [JsonPropertyName("log")] public string Log { get; set; } = "";
    [JsonPropertyName("stream")] public string Stream { get; set; } = "stdout";
    [JsonPropertyName("attrs")] public Dictionary<string, string>? Attrs { get; set; }
    [JsonPropertyName("time")] public DateTime Time { get; set; }
}

[JsonSerializable(typeof(LogEntry))]
internal sealed partial class LogJsonContext : JsonSerializerContext;

/// <summary>What `docker logs` asks for.</summary>
public sealed class LogQuery
{
    public bool Stdout { get; init; } = true;
    public bool Stderr { get; init; } = true;
    public bool Timestamps { get; init; }
    public bool Follow { get; init; }

    /// <summary>Number of lines from the end, or null for all ("all").</summary>
    public int? Tail { get; init; }

    public DateTime? Since { get; init; }
    public DateTime? Until { get; init; }
}

/// <summary>
/// Reads a container's json-file log (written by berth-monitor) the way `docker logs` shows it, and frames
/// entries as Docker's stdcopy stream for non-tty containers.
/// </summary>
public static class JsonFileLog
{
    /// <summary>
    /// Entries matching the query, from the rotated files (oldest first: LOG.N ... LOG.1) and then the current one,
    /// as dockerd's json-file reader; with Follow, keeps reading until <paramref name="stillRunning"/> says no,
    /// moving to the new file when berth-monitor rotates the one being read.
    /// </summary>
    public static async IAsyncEnumerable<LogEntry> ReadAsync(string path, LogQuery q, Func<bool> stillRunning,
        [EnumeratorCancellation] CancellationToken ct = default)
    {
        var pending = new List<LogEntry>();
        var fs = Open(path, out ulong inode);
        var reader = new StreamReader(fs);
        try
        {
            // The existing part: filtered, then tailed.
            foreach (var rotated in RotatedFiles(path))
            {
                try
                {
                    foreach (var l in File.ReadLines(rotated))
                        if (Parse(l) is { } e && Matches(e, q)) pending.Add(e);
                }
                catch (FileNotFoundException) { } // rotated away meanwhile
            }
            string? line;
            while ((line = await reader.ReadLineAsync(ct)) is not null)
            {
                if (Parse(line) is { } e && Matches(e, q)) pending.Add(e);
            }
            int skip = q.Tail is int tail ? Math.Max(0, pending.Count - tail) : 0;
            foreach (var e in pending.Skip(skip)) yield return e;
            pending.Clear();
            if (!q.Follow) yield break;

            // Then whatever arrives, until the container stopped and nothing is left to read.
            var partial = "";
            while (!ct.IsCancellationRequested)
            {
                line = await reader.ReadLineAsync(ct);
                if (line is null)
                {
                    // Whether it runs is asked before the rotation check: a rotation just before the exit is seen.
                    bool running = stillRunning();
                    if (Rotated(path, inode))
                    {
                        // The monitor renamed this file: the rest of this one, then the file written after it (the
                        // next rotated one when the reader is more than one rotation behind, else the current one).
                        while ((line = await reader.ReadLineAsync(ct)) is not null)
                            if (Parse(partial + line) is { } r && Matches(r, q)) yield return r;
                        partial = "";
                        reader.Dispose();
                        fs = Open(NextAfter(path, inode), out inode);
                        reader = new StreamReader(fs);
                        continue;
                    }
                    if (!running)
                    {
                        // A last read after the exit, for lines written just before it.
                        while ((line = await reader.ReadLineAsync(ct)) is not null)
                            if (Parse(partial + line) is { } last && Matches(last, q)) yield return last;
                        yield break;
                    }
                    await Task.Delay(50, ct);
                    continue;
                }
                if (Parse(partial + line) is { } e)
                {
                    partial = "";
                    if (Matches(e, q)) yield return e;
                }
                else
                {
                    partial += line; // a line caught while being written
                }
            }
        }
        finally
        {
            reader.Dispose();
        }
    }

    /// <summary>The file written after the one with <paramref name="inode"/>: LOG.(i-1) when it is LOG.i now, LOG when
    /// it is LOG.1; the oldest rotated file when it is gone (the reader fell more than max-file rotations behind).</summary>
    private static string NextAfter(string path, ulong inode)
    {
        var rotated = RotatedFiles(path); // oldest first: LOG.N ... LOG.1
        for (int k = 0; k < rotated.Count; k++)
        {
            try
            {
                if (Berth.Interop.Libc.Stat(rotated[k]).Ino == inode) return k + 1 < rotated.Count ? rotated[k + 1] : path;
            }
            catch (Berth.Interop.ErrnoException) { }
        }
        return rotated.Count > 0 ? rotated[0] : path;
    }

    private static FileStream Open(string path, out ulong inode)
    {
        var fs = new FileStream(path, new FileStreamOptions
        {
            Mode = FileMode.OpenOrCreate, Access = FileAccess.Read, Share = FileShare.ReadWrite | FileShare.Delete,
        });
        try { inode = Berth.Interop.Libc.Stat(path).Ino; }
        catch (Berth.Interop.ErrnoException) { inode = 0; }
        return fs;
    }

    private static bool Rotated(string path, ulong inode)
    {
        try { return Berth.Interop.Libc.Stat(path).Ino != inode; }
        catch (Berth.Interop.ErrnoException) { return false; } // between the rename and the new file
    }

    /// <summary>LOG.N ... LOG.1 that exist, oldest first.</summary>
    public static List<string> RotatedFiles(string path)
    {
        var list = new List<string>();
        for (int i = 1; File.Exists(path + "." + i); i++) list.Add(path + "." + i);
        list.Reverse();
        return list;
    }

    private static LogEntry? Parse(string line)
    {
        if (line.Length == 0) return null;
        try { return JsonSerializer.Deserialize(line, LogJsonContext.Default.LogEntry); }
        catch (JsonException) { return null; }
    }

    private static bool Matches(LogEntry e, LogQuery q) =>
        (e.Stream == "stderr" ? q.Stderr : q.Stdout)
        && (q.Since is null || e.Time >= q.Since)
        && (q.Until is null || e.Time <= q.Until);

    /// <summary>The payload docker logs prints for an entry (with --timestamps, RFC3339Nano and a space first).
    /// With details, the entry's attributes come before the text (after the timestamp), as dockerd writes them.</summary>
    public static string Text(LogEntry e, bool timestamps, bool details = false)
    {
        var line = details ? LogOptions.DetailsPrefix(e.Attrs) + e.Log : e.Log;
        return timestamps ? e.Time.ToUniversalTime().ToString("yyyy-MM-ddTHH:mm:ss.fffffff00Z") + " " + line : line;
    }

    /// <summary>Docker's stdcopy frame (Berth.Api.Streams.StdCopy); "stderr" is stream 2, anything else 1.</summary>
    public static byte[] Frame(string stream, ReadOnlySpan<byte> payload) =>
        Berth.Api.Streams.StdCopy.Frame(Berth.Api.Streams.StdCopy.StreamOf(stream), payload);
}
