using System.Globalization;

namespace Berth.Cgroups.Internal;

/// <summary>Reads runc-compatible stats from v1 controller directories or a v2 directory.</summary>
internal static class StatsReader
{
    /// <summary>USER_HZ: cpuacct.stat is in clock ticks, which Linux fixes at 100 for user space.</summary>
    public const ulong ClockTicks = 100;

    private const ulong NsPerSec = 1_000_000_000;

    // ---------------- cgroup v1 ----------------

    public static void V1Cpuacct(string dir, CpuStats cpu)
    {
        cpu.Usage.Total = CgroupFile.TryReadUlong(dir, "cpuacct.usage");
        if (CgroupFile.TryRead(dir, "cpuacct.usage_percpu") is { } percpu)
        {
            cpu.Usage.PerCpu = ParseList(percpu);
        }

        var stat = CgroupFile.ReadKeyValues(dir, "cpuacct.stat");
        if (stat.TryGetValue("user", out var user))
        {
            cpu.Usage.User = user * NsPerSec / ClockTicks;
        }

        if (stat.TryGetValue("system", out var sys))
        {
            cpu.Usage.Kernel = sys * NsPerSec / ClockTicks;
        }

        // cpuacct.usage_all: "cpu user system" header, then "N user_ns system_ns" per cpu.
        if (CgroupFile.TryRead(dir, "cpuacct.usage_all") is { } all)
        {
            var user2 = new List<ulong>();
            var kernel = new List<ulong>();
            foreach (var line in all.Split('\n', StringSplitOptions.RemoveEmptyEntries).Skip(1))
            {
                var f = line.Split(' ', StringSplitOptions.RemoveEmptyEntries);
                if (f.Length == 3 && ulong.TryParse(f[1], CultureInfo.InvariantCulture, out var u) && ulong.TryParse(f[2], CultureInfo.InvariantCulture, out var k))
                {
                    user2.Add(u);
                    kernel.Add(k);
                }
            }

            if (user2.Count > 0)
            {
                cpu.Usage.PerCpuUser = user2;
                cpu.Usage.PerCpuKernel = kernel;
            }
        }
    }

    public static void V1CpuStat(string dir, CpuStats cpu)
    {
        var s = CgroupFile.ReadKeyValues(dir, "cpu.stat");
        cpu.Throttling.Periods = s.GetValueOrDefault("nr_periods");
        cpu.Throttling.ThrottledPeriods = s.GetValueOrDefault("nr_throttled");
        cpu.Throttling.ThrottledTime = s.GetValueOrDefault("throttled_time");
    }

    public static void V1Memory(string dir, MemoryStats mem)
    {
        var raw = CgroupFile.ReadKeyValues(dir, "memory.stat");
        mem.Raw = raw;
        mem.Cache = raw.GetValueOrDefault("cache");
        mem.Usage = V1MemoryEntry(dir, "memory") ?? new MemoryEntry();
        mem.Swap = V1MemoryEntry(dir, "memory.memsw") ?? new MemoryEntry();
        mem.Kernel = V1MemoryEntry(dir, "memory.kmem") ?? new MemoryEntry();
        mem.KernelTcp = V1MemoryEntry(dir, "memory.kmem.tcp") ?? new MemoryEntry();
    }

    private static MemoryEntry? V1MemoryEntry(string dir, string prefix)
    {
        if (CgroupFile.TryRead(dir, prefix + ".usage_in_bytes") is not { } usage)
        {
            return null;
        }

        return new MemoryEntry
        {
            Usage = CgroupFile.ParseUlong(usage),
            Max = CgroupFile.TryReadUlong(dir, prefix + ".max_usage_in_bytes"),
            Failcnt = CgroupFile.TryReadUlong(dir, prefix + ".failcnt"),
            Limit = CgroupFile.TryReadUlong(dir, prefix + ".limit_in_bytes"),
        };
    }

    public static void Pids(string dir, PidsStats pids)
    {
        pids.Current = CgroupFile.TryReadUlong(dir, "pids.current");
        var max = CgroupFile.TryReadUlong(dir, "pids.max");
        pids.Limit = max == ulong.MaxValue ? 0 : max;
    }

    public static void V1Blkio(string dir, BlkioStats blkio)
    {
        // runc: CFQ stats, else BFQ stats, else the throttle (blk-throttle) counters.
        string[][] candidates =
        [
            ["blkio.io_service_bytes_recursive", "blkio.io_serviced_recursive"],
            ["blkio.bfq.io_service_bytes_recursive", "blkio.bfq.io_serviced_recursive"],
            ["blkio.throttle.io_service_bytes_recursive", "blkio.throttle.io_serviced_recursive"],
            ["blkio.throttle.io_service_bytes", "blkio.throttle.io_serviced"],
        ];
        foreach (var c in candidates)
        {
            var bytes = ParseBlkio(CgroupFile.TryRead(dir, c[0]));
            var serviced = ParseBlkio(CgroupFile.TryRead(dir, c[1]));
            if (bytes is null && serviced is null)
            {
                continue;
            }

            blkio.IoServiceBytesRecursive = bytes;
            blkio.IoServicedRecursive = serviced;
            if (bytes is { Count: > 0 } || serviced is { Count: > 0 })
            {
                break;
            }
        }

        blkio.IoServiceBytesRecursive ??= [];
        blkio.IoServicedRecursive ??= [];
    }

    /// <summary>Parses "8:0 Read 123" lines ("Total N" summary lines are skipped). Null when the file is absent.</summary>
    public static List<BlkioEntry>? ParseBlkio(string? text)
    {
        if (text is null)
        {
            return null;
        }

        var result = new List<BlkioEntry>();
        foreach (var line in text.Split('\n', StringSplitOptions.RemoveEmptyEntries))
        {
            var f = line.Split(' ', StringSplitOptions.RemoveEmptyEntries);
            if (f.Length != 3 || !TryDevice(f[0], out var major, out var minor) || !ulong.TryParse(f[2], CultureInfo.InvariantCulture, out var v))
            {
                continue;
            }

            result.Add(new BlkioEntry { Major = major, Minor = minor, Op = f[1], Value = v });
        }

        return result;
    }

    public static void V1Hugetlb(string dir, Dictionary<string, HugetlbStats> hugetlb)
    {
        foreach (var size in PageSizes(dir, ".usage_in_bytes"))
        {
            hugetlb[size] = new HugetlbStats
            {
                Usage = CgroupFile.TryReadUlong(dir, $"hugetlb.{size}.usage_in_bytes"),
                Max = CgroupFile.TryReadUlong(dir, $"hugetlb.{size}.max_usage_in_bytes"),
                Failcnt = CgroupFile.TryReadUlong(dir, $"hugetlb.{size}.failcnt"),
            };
        }
    }

    // ---------------- cgroup v2 ----------------

    public static void V2Cpu(string dir, CpuStats cpu)
    {
        var s = CgroupFile.ReadKeyValues(dir, "cpu.stat");
        cpu.Usage.Total = s.GetValueOrDefault("usage_usec") * 1000;
        cpu.Usage.User = s.GetValueOrDefault("user_usec") * 1000;
        cpu.Usage.Kernel = s.GetValueOrDefault("system_usec") * 1000;
        cpu.Throttling.Periods = s.GetValueOrDefault("nr_periods");
        cpu.Throttling.ThrottledPeriods = s.GetValueOrDefault("nr_throttled");
        cpu.Throttling.ThrottledTime = s.GetValueOrDefault("throttled_usec") * 1000;
    }

    public static void V2Memory(string dir, MemoryStats mem)
    {
        var raw = CgroupFile.ReadKeyValues(dir, "memory.stat");
        mem.Raw = raw;
        mem.Cache = raw.GetValueOrDefault("file");
        var events = CgroupFile.ReadKeyValues(dir, "memory.events");
        mem.Usage = new MemoryEntry
        {
            Usage = CgroupFile.TryReadUlong(dir, "memory.current"),
            Limit = CgroupFile.TryRead(dir, "memory.max") is { } max ? CgroupFile.ParseUlong(max) : ulong.MaxValue,
            Max = CgroupFile.TryReadUlong(dir, "memory.peak"),
            Failcnt = events.GetValueOrDefault("max"),
        };

        // v1 reports swap as memory+swap; do the same for compatibility (like runc).
        if (CgroupFile.TryRead(dir, "memory.swap.current") is { } swapCurrent)
        {
            var swapMax = CgroupFile.TryRead(dir, "memory.swap.max") is { } sm ? CgroupFile.ParseUlong(sm) : ulong.MaxValue;
            var limit = swapMax == ulong.MaxValue || mem.Usage.Limit == ulong.MaxValue ? ulong.MaxValue : swapMax + mem.Usage.Limit;
            mem.Swap = new MemoryEntry
            {
                Usage = CgroupFile.ParseUlong(swapCurrent) + mem.Usage.Usage,
                Limit = limit,
                Max = CgroupFile.TryReadUlong(dir, "memory.swap.peak"),
                Failcnt = CgroupFile.ReadKeyValues(dir, "memory.swap.events").GetValueOrDefault("max"),
            };
        }
    }

    public static void V2Io(string dir, BlkioStats blkio)
    {
        var bytes = new List<BlkioEntry>();
        var ios = new List<BlkioEntry>();
        foreach (var line in (CgroupFile.TryRead(dir, "io.stat") ?? "").Split('\n', StringSplitOptions.RemoveEmptyEntries))
        {
            var f = line.Split(' ', StringSplitOptions.RemoveEmptyEntries);
            if (f.Length < 2 || !TryDevice(f[0], out var major, out var minor))
            {
                continue;
            }

            foreach (var kv in f.Skip(1))
            {
                var eq = kv.IndexOf('=');
                if (eq < 0 || !ulong.TryParse(kv.AsSpan(eq + 1), CultureInfo.InvariantCulture, out var v))
                {
                    continue;
                }

                var (list, op) = kv[..eq] switch
                {
                    "rbytes" => (bytes, "Read"),
                    "wbytes" => (bytes, "Write"),
                    "dbytes" => (bytes, "Discard"),
                    "rios" => (ios, "Read"),
                    "wios" => (ios, "Write"),
                    "dios" => (ios, "Discard"),
                    _ => (null, ""),
                };
                list?.Add(new BlkioEntry { Major = major, Minor = minor, Op = op, Value = v });
            }
        }

        blkio.IoServiceBytesRecursive = bytes;
        blkio.IoServicedRecursive = ios;
    }

    public static void V2Hugetlb(string dir, Dictionary<string, HugetlbStats> hugetlb)
    {
        foreach (var size in PageSizes(dir, ".current"))
        {
            hugetlb[size] = new HugetlbStats
            {
                Usage = CgroupFile.TryReadUlong(dir, $"hugetlb.{size}.current"),
                Failcnt = CgroupFile.ReadKeyValues(dir, $"hugetlb.{size}.events").GetValueOrDefault("max"),
            };
        }
    }

    // ---------------- helpers ----------------

    private static IEnumerable<string> PageSizes(string dir, string suffix)
    {
        if (!Directory.Exists(dir))
        {
            yield break;
        }

        foreach (var f in Directory.EnumerateFiles(dir, "hugetlb.*" + suffix).Select(Path.GetFileName).Order(StringComparer.Ordinal))
        {
            var name = f!["hugetlb.".Length..^suffix.Length];
            if (!name.Contains('.'))
            {
                yield return name;
            }
        }
    }

    private static List<ulong> ParseList(string text) =>
        text.Split([' ', '\n'], StringSplitOptions.RemoveEmptyEntries)
            .Select(x => ulong.TryParse(x, CultureInfo.InvariantCulture, out var v) ? v : 0).ToList();

    private static bool TryDevice(string s, out ulong major, out ulong minor)
    {
        major = minor = 0;
        var colon = s.IndexOf(':');
        return colon > 0
            && ulong.TryParse(s.AsSpan(0, colon), CultureInfo.InvariantCulture, out major)
            && ulong.TryParse(s.AsSpan(colon + 1), CultureInfo.InvariantCulture, out minor);
    }
}
