using Berth.Core;

namespace Berth.Cgroups.Internal;

/// <summary>Value checks shared by v1 and v2, done before anything is written.</summary>
internal static class ResourceValidator
{
    public const ulong MinShares = 2, MaxShares = 262144;

    public static void Validate(CgroupResources r)
    {
        if (r.Memory is { } m)
        {
            CheckMemory("memory limit", m.Limit);
            CheckMemory("memory reservation", m.Reservation);
            CheckMemory("memory+swap limit", m.Swap);
            if (m.Swappiness is > 100)
            {
                throw BerthException.Invalid($"cgroup memory: invalid memory swappiness {m.Swappiness} (must be 0..100)");
            }

            if (m.Swap is > 0 && m.Limit is > 0 && m.Swap < m.Limit)
            {
                throw BerthException.Invalid($"cgroup memory: memory+swap limit {m.Swap} must be >= memory limit {m.Limit}");
            }

            if (m.Swap is > 0 && m.Limit is null or 0 or -1)
            {
                throw BerthException.Invalid("cgroup memory: unable to set a memory+swap limit without a memory limit");
            }
        }

        if (r.Cpu is { } c)
        {
            if (c.Shares is { } s && s != 0 && (s < MinShares || s > MaxShares))
            {
                throw BerthException.Invalid($"cgroup cpu: invalid cpu shares {s} (must be {MinShares}..{MaxShares})");
            }

            if (c.Quota is { } q && q < -1)
            {
                throw BerthException.Invalid($"cgroup cpu: invalid cpu quota {q} (must be -1 or > 0)");
            }

            CheckCpuList("cpuset.cpus", c.Cpus);
            CheckCpuList("cpuset.mems", c.Mems);
        }

        if (r.BlockIO is { } b)
        {
            CheckWeight("blkio weight", b.Weight);
            CheckWeight("blkio leaf weight", b.LeafWeight);
            foreach (var wd in b.WeightDevice ?? [])
            {
                CheckDevice("blkio weight device", wd.Major, wd.Minor);
                CheckWeight($"blkio weight for {wd.Major}:{wd.Minor}", wd.Weight);
                CheckWeight($"blkio leaf weight for {wd.Major}:{wd.Minor}", wd.LeafWeight);
            }

            foreach (var td in Throttles(b))
            {
                CheckDevice("blkio throttle device", td.Device.Major, td.Device.Minor);
            }
        }

        foreach (var d in r.Devices ?? [])
        {
            if (d.Type is not ('a' or 'c' or 'b'))
            {
                throw BerthException.Invalid($"cgroup devices: invalid device type '{d.Type}' (must be a, c or b)");
            }

            if (d.Access is { Length: > 0 } a && (a.Any(ch => ch is not ('r' or 'w' or 'm')) || a.Distinct().Count() != a.Length))
            {
                throw BerthException.Invalid($"cgroup devices: invalid device access \"{a}\" (must be a combination of r, w, m)");
            }

            if (d.Major is < 0 || d.Minor is < 0)
            {
                throw BerthException.Invalid($"cgroup devices: invalid device number {d.Major}:{d.Minor}");
            }
        }

        foreach (var h in r.HugepageLimits ?? [])
        {
            if (!IsPageSize(h.PageSize))
            {
                throw BerthException.Invalid($"cgroup hugetlb: invalid hugepage size \"{h.PageSize}\" (want e.g. 2MB, 1GB)");
            }
        }

        foreach (var key in r.Unified?.Keys ?? [])
        {
            if (key.Length == 0 || key.Contains('/') || key.StartsWith('.') || !key.Contains('.'))
            {
                throw BerthException.Invalid($"cgroup unified: invalid key \"{key}\"");
            }
        }
    }

    public static IEnumerable<(string V1File, string V2Key, ThrottleDevice Device)> Throttles(BlockIOResources b)
    {
        foreach (var d in b.ThrottleReadBpsDevice ?? [])
        {
            yield return ("blkio.throttle.read_bps_device", "rbps", d);
        }

        foreach (var d in b.ThrottleWriteBpsDevice ?? [])
        {
            yield return ("blkio.throttle.write_bps_device", "wbps", d);
        }

        foreach (var d in b.ThrottleReadIOPSDevice ?? [])
        {
            yield return ("blkio.throttle.read_iops_device", "riops", d);
        }

        foreach (var d in b.ThrottleWriteIOPSDevice ?? [])
        {
            yield return ("blkio.throttle.write_iops_device", "wiops", d);
        }
    }

    /// <summary>The v1 devices cgroup spelling of a rule: "a", "c 1:3 rwm", "b *:* m".</summary>
    public static string DeviceRuleString(DeviceRule d)
    {
        var access = string.IsNullOrEmpty(d.Access) ? "rwm" : d.Access;
        if (d.Type == 'a')
        {
            return "a";
        }

        var major = d.Major is { } ma ? ma.ToString(System.Globalization.CultureInfo.InvariantCulture) : "*";
        var minor = d.Minor is { } mi ? mi.ToString(System.Globalization.CultureInfo.InvariantCulture) : "*";
        return $"{d.Type} {major}:{minor} {access}";
    }

    private static void CheckMemory(string what, long? v)
    {
        if (v is < -1)
        {
            throw BerthException.Invalid($"cgroup memory: invalid {what} {v} (must be -1 or >= 0)");
        }
    }

    private static void CheckWeight(string what, ushort? w)
    {
        if (w is { } v && v != 0 && (v < 10 || v > 1000))
        {
            throw BerthException.Invalid($"cgroup blkio: invalid {what} {v} (must be 10..1000)");
        }
    }

    private static void CheckDevice(string what, long major, long minor)
    {
        if (major < 0 || minor < 0)
        {
            throw BerthException.Invalid($"cgroup blkio: invalid {what} {major}:{minor}");
        }
    }

    private static void CheckCpuList(string file, string? list)
    {
        if (string.IsNullOrEmpty(list))
        {
            return;
        }

        foreach (var part in list.Split(','))
        {
            var range = part.Trim().Split('-');
            var numbers = range.Select(x => x.Length > 0 && x.All(char.IsAsciiDigit) && int.TryParse(x, System.Globalization.CultureInfo.InvariantCulture, out var n) ? n : -1).ToList();
            if (range.Length > 2 || numbers.Any(n => n < 0) || (numbers.Count == 2 && numbers[0] > numbers[1]))
            {
                throw BerthException.Invalid($"cgroup cpuset: invalid {file} value \"{list}\"");
            }
        }
    }

    private static bool IsPageSize(string s)
    {
        var i = 0;
        while (i < s.Length && char.IsAsciiDigit(s[i]))
        {
            i++;
        }

        return i > 0 && s[i..] is "KB" or "MB" or "GB" or "TB" or "PB";
    }
}
