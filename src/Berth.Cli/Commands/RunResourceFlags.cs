using System.Globalization;
using System.Text.Json;
using System.Text.RegularExpressions;

namespace Berth.Cli.Commands;

/// <summary>run/create's device, blkio, memory (swappiness, OOM killer, kernel memory), real-time CPU and logging
/// flags, checked and sent as the docker CLI does (HostConfig fields of the same names).</summary>
internal static partial class RunResourceFlags
{
    public static readonly Flag[] Flags =
    [
        new("blkio-weight-device", '\0', "list", "Block IO weight (relative device weight)"),
        new("cpu-rt-period", '\0', "int", "Limit CPU real-time period in microseconds"),
        new("cpu-rt-runtime", '\0', "int", "Limit CPU real-time runtime in microseconds"),
        new("device", '\0', "list", "Add a host device to the container"),
        new("device-cgroup-rule", '\0', "list", "Add a rule to the cgroup allowed devices list"),
        new("device-read-bps", '\0', "list", "Limit read rate (bytes per second) from a device"),
        new("device-read-iops", '\0', "list", "Limit read rate (IO per second) from a device"),
        new("device-write-bps", '\0', "list", "Limit write rate (bytes per second) to a device"),
        new("device-write-iops", '\0', "list", "Limit write rate (IO per second) to a device"),
        new("kernel-memory", '\0', "bytes", "Kernel memory limit"),
        new("log-driver", '\0', "string", "Logging driver for the container"),
        new("log-opt", '\0', "list", "Log driver options"),
        new("memory-swappiness", '\0', "int", "Tune container memory swappiness (0 to 100)", "-1"),
        new("oom-kill-disable", '\0', null, "Disable OOM Killer"),
    ];

    [GeneratedRegex(@"^([acb]) ([0-9]+|\*):([0-9]+|\*) ([rwm]{1,3})$")]
    private static partial Regex CgroupRule();

    private static CliException Bad(string value, string flag, string why, string cmd) =>
        new($"invalid argument \"{value}\" for \"--{flag}\" flag: {why}\nSee '{cmd} --help'.", 125);

    private static bool ValidMode(string mode) =>
        mode.Length is > 0 and <= 3 && mode.All(ch => ch is 'r' or 'w' or 'm') && mode.Distinct().Count() == mode.Length;

    public static void Write(Utf8JsonWriter w, Args a, string cmd)
    {
        if (a.All("device").Count > 0)
        {
            w.WriteStartArray("Devices");
            foreach (var d in a.All("device"))
            {
                var parts = d.Split(':');
                if (parts.Length > 3) throw Bad(d, "device", $"invalid device specification: {d}", cmd);
                string src = parts[0], dst = "", mode = "rwm";
                if (parts.Length == 3) mode = parts[2];
                if (parts.Length >= 2)
                {
                    if (ValidMode(parts[1])) mode = parts[1];
                    else dst = parts[1];
                }
                if (!ValidMode(mode)) throw Bad(d, "device", $"bad mode specified: {mode}", cmd);
                if (dst.Length > 0 && !dst.StartsWith('/')) throw Bad(d, "device", $"{dst} is not an absolute path", cmd);
                w.WriteStartObject();
                w.WriteString("PathOnHost", src);
                w.WriteString("PathInContainer", dst.Length == 0 ? src : dst);
                w.WriteString("CgroupPermissions", mode);
                w.WriteEndObject();
            }
            w.WriteEndArray();
        }
        if (a.All("device-cgroup-rule").Count > 0)
        {
            w.WriteStartArray("DeviceCgroupRules");
            foreach (var r in a.All("device-cgroup-rule"))
            {
                if (!CgroupRule().IsMatch(r)) throw Bad(r, "device-cgroup-rule", $"invalid device cgroup format '{r}'", cmd);
                w.WriteStringValue(r);
            }
            w.WriteEndArray();
        }
        if (a.All("blkio-weight-device").Count > 0)
        {
            w.WriteStartArray("BlkioWeightDevice");
            foreach (var v in a.All("blkio-weight-device"))
            {
                int colon = v.LastIndexOf(':');
                if (colon <= 0 || !v.StartsWith("/dev/", StringComparison.Ordinal)) throw Bad(v, "blkio-weight-device", $"bad format: {v}", cmd);
                if (!ushort.TryParse(v[(colon + 1)..], NumberStyles.None, CultureInfo.InvariantCulture, out var weight) || weight is < 10 or > 1000)
                    throw Bad(v, "blkio-weight-device", $"invalid weight for device: {v}", cmd);
                w.WriteStartObject();
                w.WriteString("Path", v[..colon]);
                w.WriteNumber("Weight", weight);
                w.WriteEndObject();
            }
            w.WriteEndArray();
        }
        Throttles(w, a, "device-read-bps", "BlkioDeviceReadBps", bytes: true, cmd);
        Throttles(w, a, "device-write-bps", "BlkioDeviceWriteBps", bytes: true, cmd);
        Throttles(w, a, "device-read-iops", "BlkioDeviceReadIOps", bytes: false, cmd);
        Throttles(w, a, "device-write-iops", "BlkioDeviceWriteIOps", bytes: false, cmd);

        if (a.Value("kernel-memory") is { } km) w.WriteNumber("KernelMemory", ContainerCommands.ParseBytes(km, cmd));
        if (a.Value("memory-swappiness") is { } sw)
        {
            if (!long.TryParse(sw, NumberStyles.AllowLeadingSign, CultureInfo.InvariantCulture, out var s))
                throw Bad(sw, "memory-swappiness", $"strconv.ParseInt: parsing \"{sw}\": invalid syntax", cmd);
            if (s != -1 && s is < 0 or > 100)
                throw new CliException($"invalid value: {s}. Valid memory swappiness range is 0-100\nSee '{cmd} --help'.", 125);
            w.WriteNumber("MemorySwappiness", s);
        }
        if (a.Bool("oom-kill-disable")) w.WriteBoolean("OomKillDisable", true);
        foreach (var (flag, field) in new[] { ("cpu-rt-period", "CpuRealtimePeriod"), ("cpu-rt-runtime", "CpuRealtimeRuntime") })
        {
            if (a.Value(flag) is not { } v) continue;
            if (!long.TryParse(v, NumberStyles.AllowLeadingSign, CultureInfo.InvariantCulture, out var n))
                throw Bad(v, flag, $"strconv.ParseInt: parsing \"{v}\": invalid syntax", cmd);
            w.WriteNumber(field, n);
        }
        if (a.Value("log-driver") is not null || a.All("log-opt").Count > 0)
        {
            w.WriteStartObject("LogConfig");
            w.WriteString("Type", a.Value("log-driver") ?? "");
            w.WriteStartObject("Config");
            foreach (var o in a.All("log-opt"))
            {
                int eq = o.IndexOf('=');
                if (eq <= 0) throw Bad(o, "log-opt", "invalid key value pair format", cmd);
                w.WriteString(o[..eq], o[(eq + 1)..]);
            }
            w.WriteEndObject();
            w.WriteEndObject();
        }
    }

    /// <summary>--device-{read,write}-{bps,iops}: "/dev/x:RATE" (bps: a size with kb, mb or gb, binary units).</summary>
    private static void Throttles(Utf8JsonWriter w, Args a, string flag, string field, bool bytes, string cmd)
    {
        var values = a.All(flag);
        if (values.Count == 0) return;
        w.WriteStartArray(field);
        foreach (var v in values)
        {
            int colon = v.LastIndexOf(':');
            if (colon <= 0 || !v.StartsWith("/dev/", StringComparison.Ordinal)) throw Bad(v, flag, $"bad format for device path: {v}", cmd);
            var rate = v[(colon + 1)..];
            ulong n;
            if (bytes)
            {
                long parsed;
                try { parsed = ContainerCommands.ParseBytes(rate, cmd); }
                catch (CliException) { parsed = -1; }
                if (parsed <= 0 && rate != "0")
                    throw Bad(v, flag, $"invalid rate for device: {v}. The correct format is <device-path>:<number>[<unit>]. Number must be a positive integer. Unit is optional and can be kb, mb, or gb", cmd);
                n = (ulong)Math.Max(parsed, 0);
            }
            else if (!ulong.TryParse(rate, NumberStyles.None, CultureInfo.InvariantCulture, out n))
            {
                throw Bad(v, flag, $"invalid rate for device: {v}. The correct format is <device-path>:<number>. Number must be a positive integer", cmd);
            }
            w.WriteStartObject();
            w.WriteString("Path", v[..colon]);
            w.WriteNumber("Rate", n);
            w.WriteEndObject();
        }
        w.WriteEndArray();
    }
}
