using System.Text.Json;
using Berth.Api.Volumes;
using Berth.Client;

namespace Berth.Cli.Commands;

/// <summary>volume create, ls, inspect, rm, prune (docker's `docker volume` commands); export and import (podman's).</summary>
internal static class VolumeCommands
{
    private const string LsTable = "table {{.Driver}}\\t{{.Name}}";
    private const string Daemon = "Error response from daemon: ";

    public static int Create(Invocation inv)
    {
        var a = inv.Args;
        string? name = a.Positional.Count > 0 ? a.Positional[0] : null;
        if (a.Value("name") is { } flagName)
        {
            if (name is not null && name != flagName)
                throw new CliException($"conflicting options: either specify --name or provide positional arg, not both", 1);
            name = flagName;
        }
        var body = new VolumeCreateBody
        {
            Name = name, Driver = a.Value("driver") ?? "local",
            DriverOpts = Pairs(inv, a.All("opt"), "-o, --opt"), Labels = Pairs(inv, a.All("label"), "--label", valueOptional: true),
        };
        try
        {
            Console.WriteLine(inv.Api.VolumeCreate(body).Name);
            return 0;
        }
        catch (EngineApiException e)
        {
            throw new CliException(Daemon + e.Message, 1);
        }
    }

    /// <summary>volume export VOLUME [-o FILE] (Berth extension, as podman): the volume's data as a tar.</summary>
    public static int Export(Invocation inv)
    {
        var name = inv.Args.Positional[0];
        var file = inv.Args.Value("output");
        if (file is null && !Console.IsOutputRedirected)
            throw new CliException("cowardly refusing to write the archive to a terminal: redirect STDOUT or use -o FILE", 1);
        try
        {
            using var output = file is null ? Console.OpenStandardOutput() : File.Create(file);
            inv.Api.VolumeExport(name, output);
            return 0;
        }
        catch (EngineApiException e)
        {
            if (file is not null) File.Delete(file);
            throw new CliException(Daemon + e.Message, 1);
        }
        catch (IOException e)
        {
            throw new CliException($"volume export: {e.Message}", 1);
        }
    }

    /// <summary>volume import VOLUME [FILE|-] (Berth extension, as podman): unpacks a tar into the volume.</summary>
    public static int Import(Invocation inv)
    {
        var name = inv.Args.Positional[0];
        var source = inv.Args.Positional.Count > 1 ? inv.Args.Positional[1] : "-";
        try
        {
            using var input = source == "-" ? Console.OpenStandardInput() : File.OpenRead(source);
            inv.Api.VolumeImport(name, input);
            return 0;
        }
        catch (EngineApiException e)
        {
            throw new CliException(Daemon + e.Message, 1);
        }
        catch (IOException e)
        {
            throw new CliException($"volume import: {e.Message}", 1);
        }
    }

    /// <summary>key=value options (a label may be "key" alone: its value is then "").</summary>
    private static Dictionary<string, string> Pairs(Invocation inv, IReadOnlyList<string> values, string flag, bool valueOptional = false)
    {
        var map = new Dictionary<string, string>(StringComparer.Ordinal);
        foreach (var v in values)
        {
            int eq = v.IndexOf('=');
            if (eq < 0 && !valueOptional) throw inv.UsageError($"invalid argument \"{v}\" for \"{flag}\" flag: invalid key value pair format: {v}", 125);
            if (eq < 0) map[v] = "";
            else map[v[..eq]] = v[(eq + 1)..];
        }
        return map;
    }

    /// <summary>The --filter flags as the filters query value ({"key":{"value":true}}), or null.</summary>
    internal static string? FiltersJson(Invocation inv)
    {
        var filters = new Dictionary<string, List<string>>(StringComparer.Ordinal);
        foreach (var f in inv.Args.All("filter"))
        {
            int eq = f.IndexOf('=');
            if (eq < 0) throw inv.UsageError($"invalid argument \"{f}\" for \"-f, --filter\" flag: bad format of filter (expected name=value)", 125);
            (filters.TryGetValue(f[..eq], out var values) ? values : filters[f[..eq]] = []).Add(f[(eq + 1)..]);
        }
        if (filters.Count == 0) return null;
        var ms = new MemoryStream();
        using (var w = new Utf8JsonWriter(ms))
        {
            w.WriteStartObject();
            foreach (var (k, values) in filters)
            {
                w.WriteStartObject(k);
                foreach (var v in values) w.WriteBoolean(v, true);
                w.WriteEndObject();
            }
            w.WriteEndObject();
        }
        return System.Text.Encoding.UTF8.GetString(ms.ToArray());
    }

    public static int Ls(Invocation inv)
    {
        var a = inv.Args;
        VolumeListResponse list;
        try
        {
            list = inv.Api.VolumeList(FiltersJson(inv));
        }
        catch (EngineApiException e)
        {
            throw new CliException(Daemon + e.Message, 1);
        }
        foreach (var w in list.Warnings ?? []) Console.Error.WriteLine(w);
        var format = a.Value("format");
        if (a.Bool("quiet") && !string.IsNullOrEmpty(format) && format != "table")
        {
            Console.Error.WriteLine("WARNING: Ignoring custom format, because both --format and --quiet are set.");
            format = null;
        }
        var rows = list.Volumes.OrderBy(v => v.Name, StringComparer.Ordinal).Select(VolumeRow).ToList();
        Console.Write(Format.Listing(format, a.Bool("quiet"), LsTable, "{{.Name}}", VolumeRow(new Volume()), rows));
        return 0;
    }

    /// <summary>docker's volume formatter fields: Name, Driver, Scope, Mountpoint, Labels, Links, Size (and the cluster
    /// volume fields, N/A).</summary>
    private static Row VolumeRow(Volume v) =>
        new Row("*formatter.volumeContext", v.Labels ?? [])
            .Set("Name", "VOLUME NAME", v.Name)
            .Set("Driver", "DRIVER", v.Driver)
            .Set("Scope", "SCOPE", v.Scope)
            .Set("Mountpoint", "MOUNTPOINT", v.Mountpoint)
            .Set("Labels", "LABELS", string.Join(",", (v.Labels ?? []).OrderBy(l => l.Key, StringComparer.Ordinal).Select(l => $"{l.Key}={l.Value}")))
            .Set("Links", "LINKS", v.UsageData is { } u ? u.RefCount.ToString(System.Globalization.CultureInfo.InvariantCulture) : "N/A")
            .Set("Size", "SIZE", v.UsageData is { Size: >= 0 } s ? Format.Size(s.Size) : "N/A")
            // docker's CLI has these for cluster volumes: N/A for a local one.
            .Set("Availability", "AVAILABILITY", "N/A").Set("Group", "GROUP", "N/A").Set("Status", "STATUS", "N/A");

    public static int Inspect(Invocation inv)
    {
        var a = inv.Args;
        var format = a.Value("format") is { Length: > 0 } f && f != "json" ? Template.Parse(f) : null;
        bool compact = a.Value("format") == "json";
        var found = new List<JsonDocument>();
        int status = 0;
        foreach (var name in a.Positional)
        {
            using var r = inv.Api.Send("GET", $"/volumes/{Uri.EscapeDataString(name)}", null);
            var text = r.ReadAll();
            if (r.Status != 200) { Console.Error.WriteLine(Daemon + ApiResponse.MessageOf(text)); status = 1; continue; }
            found.Add(JsonDocument.Parse(text));
        }
        Format.PrintInspected(found, format, compact);
        return status;
    }

    public static int Rm(Invocation inv)
    {
        int status = 0;
        foreach (var name in inv.Args.Positional)
        {
            try
            {
                inv.Api.VolumeRemove(name, inv.Args.Bool("force"));
                Console.WriteLine(name);
            }
            catch (EngineApiException e)
            {
                Console.Error.WriteLine(Daemon + e.Message);
                status = 1;
            }
        }
        return status;
    }

    public static int Prune(Invocation inv)
    {
        if (!inv.Args.Bool("force"))
        {
            Console.Write("WARNING! This will remove all local volumes not used by at least one container.\nAre you sure you want to continue? [y/N] ");
            Console.Out.Flush();
            var answer = Console.ReadLine()?.Trim().ToLowerInvariant();
            if (answer is not ("y" or "yes")) return 0;
        }
        VolumesPruneReport report;
        try
        {
            report = inv.Api.VolumePrune(FiltersJson(inv));
        }
        catch (EngineApiException e)
        {
            throw new CliException(Daemon + e.Message, 1);
        }
        if (report.VolumesDeleted is { Count: > 0 } deleted)
        {
            Console.WriteLine("Deleted Volumes:");
            foreach (var n in deleted) Console.WriteLine(n);
            Console.WriteLine();
        }
        Console.WriteLine("Total reclaimed space: " + Format.Size(report.SpaceReclaimed, 4));
        return 0;
    }
}
