using System.Text.Json;
using Berth.Client;

namespace Berth.Cli.Commands;

/// <summary>`berth system df [-v] [--format]` and `berth system prune [-a] [--volumes] [-f] [--filter]`, with docker's
/// tables and texts (docker/cli formatter/disk_usage.go, system/prune.go).</summary>
internal static class SystemDiskCommands
{
    private const string Daemon = "Error response from daemon: ";

    public static int Df(Invocation inv)
    {
        using var doc = SystemCommands.GetJson(inv.Api, "/system/df", Daemon);
        var root = doc.RootElement;
        var images = Array(root, "Images");
        var containers = Array(root, "Containers");
        var volumes = Array(root, "Volumes");
        var cache = Array(root, "BuildCache");
        string? format = inv.Args.Value("format");
        if (inv.Args.Bool("verbose"))
        {
            if (!string.IsNullOrEmpty(format)) throw new CliException("--format is not supported with --verbose in berth yet", 1);
            Console.Write(Verbose(images, containers, volumes, L(root, "BuilderSize")));
            return 0;
        }
        long layers = L(root, "LayersSize");
        long imagesUsed = images.Where(i => L(i, "Containers") != 0 && L(i, "SharedSize") != -1).Sum(i => L(i, "Size") - L(i, "SharedSize"));
        bool Active(JsonElement c) => S(c, "State") is var s && (s.Contains("running") || s.Contains("paused") || s.Contains("restarting"));
        long ctrSize = containers.Sum(c => L(c, "SizeRw"));
        long ctrReclaim = containers.Where(c => !Active(c)).Sum(c => L(c, "SizeRw"));
        long volSize = volumes.Sum(v => Usage(v, "Size") is var s && s > 0 ? s : 0);
        long volReclaim = volumes.Where(v => Usage(v, "RefCount") == 0).Sum(v => Usage(v, "Size") is var s && s > 0 ? s : 0);
        long cacheSize = L(root, "BuilderSize");
        var rows = new[]
        {
            SummaryRow("Images", images.Count, images.Count(i => L(i, "Containers") > 0), layers, layers - imagesUsed),
            SummaryRow("Containers", containers.Count, containers.Count(Active), ctrSize, ctrReclaim),
            SummaryRow("Local Volumes", volumes.Count, volumes.Count(v => Usage(v, "RefCount") > 0), volSize, volReclaim),
            SummaryRow("Build Cache", cache.Count, 0, cacheSize, cacheSize, percent: false),
        };
        Console.Write(Format.Listing(format, false, "table {{.Type}}\t{{.TotalCount}}\t{{.Active}}\t{{.Size}}\t{{.Reclaimable}}", "",
            rows[0], rows));
        return 0;
    }

    private static Row SummaryRow(string type, int total, int active, long size, long reclaimable, bool percent = true) =>
        new Row("*formatter.diskUsageContext")
            .Set("Type", "TYPE", type)
            .Set("TotalCount", "TOTAL", total.ToString(System.Globalization.CultureInfo.InvariantCulture))
            .Set("Active", "ACTIVE", active.ToString(System.Globalization.CultureInfo.InvariantCulture))
            .Set("Size", "SIZE", Format.Size(size, 4))
            .Set("Reclaimable", "RECLAIMABLE", percent && size > 0 ? $"{Format.Size(reclaimable, 4)} ({reclaimable * 100 / size}%)" : Format.Size(reclaimable, 4));

    /// <summary>docker system df -v: the images, containers, volumes and build cache sections.</summary>
    private static string Verbose(List<JsonElement> images, List<JsonElement> containers, List<JsonElement> volumes, long builderSize)
    {
        var sb = new System.Text.StringBuilder();
        sb.Append("Images space usage:\n\n");
        var imageRows = new List<string> { "REPOSITORY\tTAG\tIMAGE ID\tCREATED\tSIZE\tSHARED SIZE\tUNIQUE SIZE\tCONTAINERS" };
        foreach (var i in images)
        {
            string repo = "<none>", tag = "<none>";
            if (i.TryGetProperty("RepoTags", out var tags) && tags.ValueKind == JsonValueKind.Array && tags.GetArrayLength() > 0
                && tags[0].GetString() is { } first && first != "<none>:<none>")
            {
                int colon = first.LastIndexOf(':');
                if (colon > first.LastIndexOf('/')) { repo = first[..colon]; tag = first[(colon + 1)..]; }
            }
            var id = S(i, "Id");
            if (id.StartsWith("sha256:", StringComparison.Ordinal)) id = id[7..];
            long size = L(i, "Size"), shared = L(i, "SharedSize");
            imageRows.Add(string.Join('\t', repo, tag, id.Length > 12 ? id[..12] : id,
                Format.Duration(DateTimeOffset.UtcNow - DateTimeOffset.FromUnixTimeSeconds(L(i, "Created"))) + " ago",
                Format.Size(size), shared == -1 ? "N/A" : Format.Size(shared, 4), shared == -1 ? "N/A" : Format.Size(size - shared, 4),
                L(i, "Containers").ToString(System.Globalization.CultureInfo.InvariantCulture)));
        }
        sb.Append(Format.Tabwriter(imageRows));
        sb.Append("\nContainers space usage:\n\n");
        var ctrRows = new List<string> { "CONTAINER ID\tIMAGE\tCOMMAND\tLOCAL VOLUMES\tSIZE\tCREATED\tSTATUS\tNAMES" };
        foreach (var c in containers)
        {
            var row = ContainerCommands.PsRow(c, trunc: true);
            ctrRows.Add(string.Join('\t', row["ID"], row["Image"], row["Command"], row["LocalVolumes"], Format.Size(L(c, "SizeRw")),
                row["RunningFor"], row["Status"], row["Names"]));
        }
        sb.Append(Format.Tabwriter(ctrRows));
        sb.Append("\nLocal Volumes space usage:\n\n");
        var volRows = new List<string> { "VOLUME NAME\tLINKS\tSIZE" };
        foreach (var v in volumes)
        {
            long refs = Usage(v, "RefCount"), size = Usage(v, "Size");
            volRows.Add(string.Join('\t', S(v, "Name"), refs == -1 ? "N/A" : refs.ToString(System.Globalization.CultureInfo.InvariantCulture),
                size == -1 ? "N/A" : Format.Size(size)));
        }
        sb.Append(Format.Tabwriter(volRows));
        sb.Append($"\nBuild cache usage: {Format.Size(builderSize, 4)}\n\n");
        sb.Append(Format.Tabwriter(["CACHE ID\tCACHE TYPE\tSIZE\tCREATED\tLAST USED\tUSAGE\tSHARED"]));
        return sb.ToString();
    }

    public static int Prune(Invocation inv)
    {
        bool all = inv.Args.Bool("all"), volumes = inv.Args.Bool("volumes");
        var filterFlags = inv.Args.All("filter");
        if (volumes && filterFlags.Any(f => f.StartsWith("until=", StringComparison.Ordinal)))
            throw new CliException("ERROR: The \"until\" filter is not supported with \"--volumes\"", 1);
        if (!inv.Args.Bool("force"))
        {
            var warning = "WARNING! This will remove:\n  - all stopped containers\n  - all networks not used by at least one container\n";
            if (volumes) warning += "  - all volumes not used by at least one container\n";
            warning += all ? "  - all images without at least one container associated to them\n" : "  - all dangling images\n";
            Console.Write(warning + "\nAre you sure you want to continue? [y/N] ");
            Console.Out.Flush();
            if (Console.ReadLine()?.Trim().ToLowerInvariant() is not ("y" or "yes")) return 0;
        }
        var filters = VolumeCommands.FiltersJson(inv);
        string Query(string? json) => json is null ? "" : "?filters=" + Uri.EscapeDataString(json);
        ulong reclaimed = 0;
        void Run(string path, string? json, string title, Func<JsonElement, IEnumerable<string>> lines)
        {
            using var r = inv.Api.Send("POST", path + Query(json), (string?)null);
            if (r.Status != 200) throw new CliException(Daemon + r.ErrorMessage(), 1);
            using var doc = JsonDocument.Parse(r.ReadAll());
            var items = lines(doc.RootElement).ToList();
            if (items.Count == 0) return;
            if (doc.RootElement.TryGetProperty("SpaceReclaimed", out var s) && s.ValueKind == JsonValueKind.Number) reclaimed += s.GetUInt64();
            Console.WriteLine(title + "\n" + string.Concat(items.Select(l => l + "\n")));
        }
        IEnumerable<string> Strings(JsonElement e, string key) =>
            e.TryGetProperty(key, out var a) && a.ValueKind == JsonValueKind.Array ? a.EnumerateArray().Select(x => x.GetString() ?? "") : [];
        Run("/containers/prune", filters, "Deleted Containers:", e => Strings(e, "ContainersDeleted"));
        Run("/networks/prune", filters, "Deleted Networks:", e => Strings(e, "NetworksDeleted"));
        if (volumes) Run("/volumes/prune", filters, "Deleted Volumes:", e => Strings(e, "VolumesDeleted"));
        Run("/images/prune", WithDangling(filters, all), "Deleted Images:", e =>
            e.TryGetProperty("ImagesDeleted", out var a) && a.ValueKind == JsonValueKind.Array
                ? a.EnumerateArray().Select(d => d.TryGetProperty("Untagged", out var u) && u.GetString() is { Length: > 0 } un
                    ? "untagged: " + un : "deleted: " + S(d, "Deleted"))
                : []);
        // Berth has no builder, hence no build cache to prune.
        Console.WriteLine("Total reclaimed space: " + Format.Size(reclaimed, 4));
        return 0;
    }

    /// <summary>The filters with dangling=false added for `-a` (as docker's image prune does).</summary>
    private static string? WithDangling(string? filters, bool all)
    {
        if (!all) return filters;
        var ms = new MemoryStream();
        using (var w = new Utf8JsonWriter(ms))
        {
            w.WriteStartObject();
            if (filters is not null)
                foreach (var p in JsonDocument.Parse(filters).RootElement.EnumerateObject()) p.WriteTo(w);
            w.WriteStartObject("dangling");
            w.WriteBoolean("false", true);
            w.WriteEndObject();
            w.WriteEndObject();
        }
        return System.Text.Encoding.UTF8.GetString(ms.ToArray());
    }

    private static List<JsonElement> Array(JsonElement root, string key) =>
        root.TryGetProperty(key, out var a) && a.ValueKind == JsonValueKind.Array ? [.. a.EnumerateArray()] : [];

    private static string S(JsonElement e, string key) => e.TryGetProperty(key, out var v) && v.ValueKind == JsonValueKind.String ? v.GetString()! : "";

    private static long L(JsonElement e, string key) => e.TryGetProperty(key, out var v) && v.ValueKind == JsonValueKind.Number ? v.GetInt64() : 0;

    private static long Usage(JsonElement v, string key) =>
        v.TryGetProperty("UsageData", out var u) && u.ValueKind == JsonValueKind.Object ? L(u, key) : -1;
}
