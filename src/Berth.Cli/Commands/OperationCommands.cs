using System.Globalization;
using System.Text;
using System.Text.Json;
using Berth.Client;

namespace Berth.Cli.Commands;

/// <summary>berth events, stats, top, rename (pause and unpause go through <see cref="ContainerCommands.Each"/>).</summary>
internal static class OperationCommands
{
    private static string Q(string s) => Uri.EscapeDataString(s);

    private static CliException DaemonError(ApiResponse r) => new("Error response from daemon: " + r.ErrorMessage(), 1);

    public static int Rename(Invocation inv)
    {
        var a = inv.Args.Positional;
        using var r = inv.Api.Send("POST", $"/containers/{Q(a[0])}/rename?name={Q(a[1])}", null);
        if (r.Status != 204) throw DaemonError(r);
        return 0;
    }

    public static int Top(Invocation inv)
    {
        var a = inv.Args.Positional;
        var query = a.Count > 1 ? "?ps_args=" + Q(string.Join(' ', a.Skip(1))) : "";
        using var r = inv.Api.Send("GET", $"/containers/{Q(a[0])}/top{query}", null);
        if (r.Status != 200) throw DaemonError(r);
        using var doc = JsonDocument.Parse(r.ReadAll());
        var rows = new List<string[]> { doc.RootElement.GetProperty("Titles").EnumerateArray().Select(t => t.GetString()!).ToArray() };
        foreach (var p in doc.RootElement.GetProperty("Processes").EnumerateArray())
            rows.Add(p.EnumerateArray().Select(f => f.GetString()!).ToArray());
        // docker top's tabwriter: minwidth 20, padding 1.
        var sb = new StringBuilder();
        var widths = new int[rows[0].Length];
        foreach (var row in rows)
            for (int i = 0; i < row.Length - 1 && i < widths.Length; i++) widths[i] = Math.Max(widths[i], Math.Max(20, row[i].Length + 1));
        foreach (var row in rows)
        {
            for (int i = 0; i < row.Length; i++) sb.Append(i < row.Length - 1 ? row[i].PadRight(widths[i]) : row[i]);
            sb.Append('\n');
        }
        Console.Write(sb.ToString());
        return 0;
    }

    /// <summary>berth events: the daemon's events as docker prints them (or --format '{{json .}}'), until --until or ^C.</summary>
    public static int Events(Invocation inv)
    {
        var a = inv.Args;
        var q = new List<string>();
        var now = DateTimeOffset.Now;
        if (a.Value("since") is { } since) q.Add("since=" + Q(Berth.Api.DockerTime.GetTimestamp(since, now)));
        if (a.Value("until") is { } until) q.Add("until=" + Q(Berth.Api.DockerTime.GetTimestamp(until, now)));
        var filters = FiltersJson(a.All("filter"));
        if (filters is not null) q.Add("filters=" + Q(filters));
        using var r = inv.Api.Send("GET", "/events" + (q.Count > 0 ? "?" + string.Join('&', q) : ""), null);
        if (r.Status != 200) throw DaemonError(r);
        var format = a.Value("format");
        using var reader = new StreamReader(r.Body);
        while (reader.ReadLine() is { } line)
        {
            if (line.Length == 0) continue;
            using var doc = JsonDocument.Parse(line);
            var e = doc.RootElement;
            if (format is "{{json .}}") { Console.WriteLine(line); continue; }
            var nano = e.GetProperty("timeNano").GetInt64();
            var time = DateTimeOffset.FromUnixTimeMilliseconds(nano / 1_000_000).AddTicks(nano % 1_000_000 / 100).ToLocalTime();
            var attrs = e.GetProperty("Actor").GetProperty("Attributes").EnumerateObject().Select(p => $"{p.Name}={p.Value.GetString()}").ToList();
            Console.WriteLine($"{time:yyyy-MM-ddTHH:mm:ss.fffffff}{nano % 100}{time:zzz} {e.GetProperty("Type").GetString()} {e.GetProperty("Action").GetString()} "
                              + e.GetProperty("Actor").GetProperty("ID").GetString() + (attrs.Count > 0 ? " (" + string.Join(", ", attrs) + ")" : ""));
        }
        return 0;
    }

    private static string? FiltersJson(IReadOnlyList<string> filters)
    {
        if (filters.Count == 0) return null;
        var map = new SortedDictionary<string, List<string>>(StringComparer.Ordinal);
        foreach (var f in filters)
        {
            int eq = f.IndexOf('=');
            if (eq <= 0) throw new CliException($"invalid argument \"{f}\" for \"-f, --filter\" flag: bad format of filter (expected name=value)", 125);
            (map.TryGetValue(f[..eq], out var l) ? l : map[f[..eq]] = []).Add(f[(eq + 1)..]);
        }
        var ms = new MemoryStream();
        using (var w = new Utf8JsonWriter(ms))
        {
            w.WriteStartObject();
            foreach (var (k, vs) in map)
            {
                w.WriteStartObject(k);
                foreach (var v in vs) w.WriteBoolean(v, true);
                w.WriteEndObject();
            }
            w.WriteEndObject();
        }
        return Encoding.UTF8.GetString(ms.ToArray());
    }

    /// <summary>One row of docker stats, computed as the docker CLI does (cache subtracted from memory).</summary>
    public static string[] StatsRow(JsonElement s)
    {
        var id = s.GetProperty("id").GetString()!;
        var name = s.GetProperty("name").GetString()!.TrimStart('/');
        var cpu = s.GetProperty("cpu_stats");
        var pre = s.GetProperty("precpu_stats");
        double U(JsonElement e, string k) => e.TryGetProperty(k, out var v) && v.ValueKind == JsonValueKind.Number ? v.GetDouble() : 0;
        double cpuDelta = U(cpu.GetProperty("cpu_usage"), "total_usage") - U(pre.GetProperty("cpu_usage"), "total_usage");
        double sysDelta = U(cpu, "system_cpu_usage") - U(pre, "system_cpu_usage");
        double online = U(cpu, "online_cpus");
        if (online == 0 && cpu.GetProperty("cpu_usage").TryGetProperty("percpu_usage", out var per)) online = per.GetArrayLength();
        double cpuPct = sysDelta > 0 && cpuDelta > 0 ? cpuDelta / sysDelta * online * 100 : 0;
        var mem = s.GetProperty("memory_stats");
        double usage = U(mem, "usage"), limit = U(mem, "limit");
        if (mem.TryGetProperty("stats", out var ms))
        {
            if (ms.TryGetProperty("total_inactive_file", out var tif) && tif.GetDouble() < usage) usage -= tif.GetDouble();
            else if (ms.TryGetProperty("inactive_file", out var inf) && inf.GetDouble() < usage) usage -= inf.GetDouble();
        }
        double rx = 0, tx = 0;
        if (s.TryGetProperty("networks", out var nets))
            foreach (var n in nets.EnumerateObject()) { rx += U(n.Value, "rx_bytes"); tx += U(n.Value, "tx_bytes"); }
        double read = 0, write = 0;
        if (s.GetProperty("blkio_stats").TryGetProperty("io_service_bytes_recursive", out var io) && io.ValueKind == JsonValueKind.Array)
            foreach (var e in io.EnumerateArray())
                switch (e.GetProperty("op").GetString()?.ToLowerInvariant())
                {
                    case "read": read += U(e, "value"); break;
                    case "write": write += U(e, "value"); break;
                }
        var pids = s.GetProperty("pids_stats").TryGetProperty("current", out var pc) ? pc.GetInt64() : 0;
        string P(double v) => v.ToString("F2", CultureInfo.InvariantCulture) + "%";
        return
        [
            id[..Math.Min(12, id.Length)], name, P(cpuPct), BinarySize(usage) + " / " + BinarySize(limit), P(limit > 0 ? usage / limit * 100 : 0),
            Format.Size(rx) + " / " + Format.Size(tx), Format.Size(read) + " / " + Format.Size(write), pids.ToString(CultureInfo.InvariantCulture),
        ];
    }

    /// <summary>go-units BytesSize: binary units, 4 significant digits.</summary>
    private static string BinarySize(double size)
    {
        string[] units = ["B", "KiB", "MiB", "GiB", "TiB", "PiB"];
        int i = 0;
        while (size >= 1024 && i < units.Length - 1) { size /= 1024; i++; }
        return size.ToString("G4", CultureInfo.InvariantCulture) + units[i];
    }

    private static readonly string[] StatsHeader = ["CONTAINER ID", "NAME", "CPU %", "MEM USAGE / LIMIT", "MEM %", "NET I/O", "BLOCK I/O", "PIDS"];

    /// <summary>berth stats: a table of the named (else the running) containers; --no-stream prints it once, else it
    /// redraws in place every second from each container's stats stream.</summary>
    public static int Stats(Invocation inv)
    {
        var api = inv.Api;
        var names = inv.Args.Positional.ToList();
        if (names.Count == 0)
        {
            using var r = api.Send("GET", "/containers/json" + (inv.Args.Bool("all") ? "?all=1" : ""), null);
            if (r.Status != 200) throw DaemonError(r);
            using var doc = JsonDocument.Parse(r.ReadAll());
            names = doc.RootElement.EnumerateArray().Select(c => c.GetProperty("Id").GetString()![..12]).ToList();
        }
        var rows = new string[names.Count][];
        int status = 0;
        if (inv.Args.Bool("no-stream"))
        {
            Parallel.For(0, names.Count, i =>
            {
                using var r = api.Send("GET", $"/containers/{Q(names[i])}/stats?stream=0", null);
                if (r.Status != 200) { Console.Error.WriteLine("Error response from daemon: " + r.ErrorMessage()); status = 1; return; }
                using var doc = JsonDocument.Parse(r.ReadAll());
                rows[i] = StatsRow(doc.RootElement);
            });
            Console.Write(Format.Table([StatsHeader, .. rows.Where(r => r is not null)]));
            return status;
        }
        for (int i = 0; i < names.Count; i++)
        {
            int k = i;
            _ = Task.Run(() =>
            {
                using var r = api.Send("GET", $"/containers/{Q(names[k])}/stats", null);
                if (r.Status != 200) return;
                using var reader = new StreamReader(r.Body);
                while (reader.ReadLine() is { } line)
                {
                    if (line.Length == 0) continue;
                    using var doc = JsonDocument.Parse(line);
                    var row = StatsRow(doc.RootElement);
                    lock (rows) rows[k] = row;
                }
            });
        }
        bool tty = Terminal.IsTerminal(1);
        while (true)
        {
            Thread.Sleep(1000);
            string table;
            lock (rows) table = Format.Table([StatsHeader, .. rows.Where(r => r is not null)]);
            // As docker: clear the screen and draw from the top on a terminal; else one table after the other.
            Console.Write(tty ? "\x1b[2J\x1b[H" + table : table);
        }
    }
}
