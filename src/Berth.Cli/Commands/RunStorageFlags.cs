using System.Text.Json;

namespace Berth.Cli.Commands;

/// <summary>run/create's storage flags as the docker CLI sends them: -v, --mount, --tmpfs, --volumes-from, --read-only.</summary>
internal static class RunStorageFlags
{
    /// <summary>-v (HostConfig.Binds), --mount (HostConfig.Mounts, the docker CLI's CSV syntax), --tmpfs
    /// (HostConfig.Tmpfs), --volumes-from, --read-only: the request the docker CLI sends.</summary>
    public static void Write(Utf8JsonWriter w, Args a, string cmd)
    {
        var binds = a.All("volume").Where(v => v.Contains(':')).ToList();
        if (binds.Count > 0)
        {
            w.WriteStartArray("Binds");
            foreach (var b in binds) w.WriteStringValue(b);
            w.WriteEndArray();
        }
        if (a.All("volumes-from").Count > 0)
        {
            w.WriteStartArray("VolumesFrom");
            foreach (var v in a.All("volumes-from")) w.WriteStringValue(v);
            w.WriteEndArray();
        }
        if (a.All("tmpfs").Count > 0)
        {
            w.WriteStartObject("Tmpfs");
            foreach (var t in a.All("tmpfs"))
            {
                int colon = t.IndexOf(':');
                w.WriteString(colon < 0 ? t : t[..colon], colon < 0 ? "" : t[(colon + 1)..]);
            }
            w.WriteEndObject();
        }
        if (a.Bool("read-only")) w.WriteBoolean("ReadonlyRootfs", true);
        if (a.All("mount").Count > 0)
        {
            w.WriteStartArray("Mounts");
            foreach (var m in a.All("mount")) WriteMount(w, m, cmd);
            w.WriteEndArray();
        }
    }

    /// <summary>One --mount value (type=,source=,target=,readonly,volume-*,bind-*,tmpfs-*) as a HostConfig.Mounts entry;
    /// the docker CLI's errors for what it refuses itself.</summary>
    private static void WriteMount(Utf8JsonWriter w, string spec, string cmd)
    {
        CliException Bad(string why) => new($"invalid argument \"{spec}\" for \"--mount\" flag: {why}\nSee '{cmd} --help'.", 125);
        string type = "volume";
        string? source = null, target = null, propagation = null, consistency = null, driver = null, tmpfsMode = null;
        bool readOnly = false, noCopy = false, nonRecursive = false;
        long? tmpfsSize = null;
        var labels = new List<(string, string)>();
        var opts = new List<(string, string)>();
        foreach (var field in spec.Split(','))
        {
            int eq = field.IndexOf('=');
            var key = (eq < 0 ? field : field[..eq]).Trim().ToLowerInvariant();
            var val = eq < 0 ? null : field[(eq + 1)..];
            bool Flag() => val is null || val is "1" or "true" ? true : val is "0" or "false" ? false
                : throw Bad($"invalid value for {key}: {val}");
            switch (key)
            {
                case "type": type = val ?? throw Bad("invalid field 'type' must be a key=value pair"); break;
                case "source" or "src": source = val; break;
                case "target" or "dst" or "destination": target = val; break;
                case "readonly" or "ro": readOnly = Flag(); break;
                case "volume-nocopy": noCopy = Flag(); break;
                case "volume-driver": driver = val; break;
                case "volume-label":
                    int le = (val ?? "").IndexOf('=');
                    labels.Add(le < 0 ? (val ?? "", "") : (val![..le], val[(le + 1)..]));
                    break;
                case "volume-opt":
                    int oe = (val ?? "").IndexOf('=');
                    if (oe < 0) throw Bad($"invalid value for {key}: {val}");
                    opts.Add((val![..oe], val[(oe + 1)..]));
                    break;
                case "bind-propagation": propagation = val; break;
                case "bind-nonrecursive": nonRecursive = Flag(); break;
                case "consistency": consistency = val; break;
                case "tmpfs-size": tmpfsSize = ContainerCommands.ParseBytes(val ?? "", cmd); break;
                case "tmpfs-mode":
                    try { tmpfsMode = val; _ = Convert.ToUInt32(val ?? "", 8); }
                    catch (FormatException) { throw Bad($"invalid value for {key}: {val}"); }
                    break;
                default: throw Bad($"unexpected key '{key}' in '{field}'");
            }
        }
        w.WriteStartObject();
        w.WriteString("Type", type);
        if (source is not null) w.WriteString("Source", source);
        if (target is not null) w.WriteString("Target", target);
        if (readOnly) w.WriteBoolean("ReadOnly", true);
        if (consistency is not null) w.WriteString("Consistency", consistency);
        if (propagation is not null || nonRecursive)
        {
            w.WriteStartObject("BindOptions");
            if (propagation is not null) w.WriteString("Propagation", propagation);
            if (nonRecursive) w.WriteBoolean("NonRecursive", true);
            w.WriteEndObject();
        }
        if (noCopy || driver is not null || labels.Count > 0 || opts.Count > 0)
        {
            w.WriteStartObject("VolumeOptions");
            if (noCopy) w.WriteBoolean("NoCopy", true);
            if (labels.Count > 0)
            {
                w.WriteStartObject("Labels");
                foreach (var (k, v) in labels) w.WriteString(k, v);
                w.WriteEndObject();
            }
            if (driver is not null || opts.Count > 0)
            {
                w.WriteStartObject("DriverConfig");
                if (driver is not null) w.WriteString("Name", driver);
                if (opts.Count > 0)
                {
                    w.WriteStartObject("Options");
                    foreach (var (k, v) in opts) w.WriteString(k, v);
                    w.WriteEndObject();
                }
                w.WriteEndObject();
            }
            w.WriteEndObject();
        }
        if (tmpfsSize is not null || tmpfsMode is not null)
        {
            w.WriteStartObject("TmpfsOptions");
            if (tmpfsSize is { } size) w.WriteNumber("SizeBytes", size);
            if (tmpfsMode is not null) w.WriteNumber("Mode", Convert.ToUInt32(tmpfsMode, 8));
            w.WriteEndObject();
        }
        w.WriteEndObject();
    }
}
