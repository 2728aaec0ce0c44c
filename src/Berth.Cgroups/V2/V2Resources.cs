using System.Globalization;
using Berth.Cgroups.Internal;
using Berth.Core;
using Berth.Interop;

namespace Berth.Cgroups.V2;

/// <summary>Writes <see cref="CgroupResources"/> into one cgroup v2 directory (like runc's fs2).</summary>
internal static class V2Resources
{
    private static readonly CultureInfo Inv = CultureInfo.InvariantCulture;

    /// <summary>runc's ConvertCPUSharesToCgroupV2Value: [2, 262144] → [1, 10000].</summary>
    public static ulong SharesToWeight(ulong shares) => shares == 0 ? 0 : 1 + ((shares - 2) * 9999 / 262142);

    /// <summary>runc's ConvertBlkIOToIOWeightValue: [10, 1000] → [1, 10000].</summary>
    public static ulong BlkioWeightToIoWeight(ulong weight) => weight == 0 ? 0 : 1 + ((weight - 10) * 9999 / 990);

    /// <summary>OCI memory+swap → memory.swap.max (runc's ConvertMemorySwapToCgroupV2Value). 0 = leave alone.</summary>
    public static long SwapToV2(long swap, long memory)
    {
        if (memory == -1 && swap == 0)
        {
            return -1;
        }

        if (swap is -1 or 0)
        {
            return swap;
        }

        if (memory is 0 or -1)
        {
            throw BerthException.Invalid("cgroup memory: unable to set a swap limit without a memory limit");
        }

        if (swap < memory)
        {
            throw BerthException.Invalid($"cgroup memory: memory+swap limit {swap} must be >= memory limit {memory}");
        }

        return swap - memory;
    }

    /// <summary>
    /// Creates <paramref name="dir"/> (and parents) below <paramref name="mountpoint"/>, enabling controllers
    /// in every ancestor's cgroup.subtree_control: all available ones (runc) or only <paramref name="wanted"/>.
    /// Individual enable failures are ignored; Set reports a missing controller when a limit needs it.
    /// </summary>
    public static void CreateWithControllers(string mountpoint, string dir, IReadOnlyCollection<string>? wanted)
    {
        var rel = Path.GetRelativePath(mountpoint, dir);
        var current = mountpoint;
        if (rel != "." && !rel.StartsWith("..", StringComparison.Ordinal))
        {
            foreach (var part in rel.Split('/'))
            {
                EnableControllers(current, wanted);
                current = Path.Combine(current, part);
                Directory.CreateDirectory(current);
            }
        }
        else
        {
            Directory.CreateDirectory(dir);
        }
    }

    public static void EnableControllers(string dir, IReadOnlyCollection<string>? wanted)
    {
        var available = Controllers(dir, "cgroup.controllers");
        var enabled = Controllers(dir, "cgroup.subtree_control");
        foreach (var c in available)
        {
            if (enabled.Contains(c) || (wanted is not null && !wanted.Contains(c)))
            {
                continue;
            }

            try
            {
                CgroupFile.Write("v2", dir, "cgroup.subtree_control", "+" + c);
            }
            catch (BerthException)
            {
                // e.g. EBUSY (processes in an inner cgroup) or a threaded subtree: leave it disabled.
            }
        }
    }

    public static HashSet<string> Controllers(string dir, string file) =>
        new((CgroupFile.TryRead(dir, file) ?? "").Split(' ', StringSplitOptions.RemoveEmptyEntries), StringComparer.Ordinal);

    private static void Require(string dir, string controller, string what)
    {
        var available = Controllers(dir, "cgroup.controllers");
        if (!available.Contains(controller))
        {
            throw new BerthException(ErrorKind.Unavailable,
                $"cgroup v2: controller \"{controller}\" is not available in {dir} (cgroup.controllers: \"{string.Join(' ', available)}\"); cannot set {what}");
        }
    }

    /// <summary>
    /// Writes everything v2 supports, in runc's order; returns warnings for ignored settings. Device rules
    /// (if any) go to <paramref name="applyDevices"/> (the eBPF device filter; tests pass a recorder).
    /// </summary>
    public static List<string> Set(string dir, CgroupResources r, Action<string, IReadOnlyList<DeviceRule>> applyDevices)
    {
        var warnings = new List<string>();
        SetPids(dir, r.Pids);
        SetMemory(dir, r.Memory, warnings);
        SetIo(dir, r.BlockIO, warnings);
        SetCpu(dir, r.Cpu, warnings);
        SetCpuset(dir, r.Cpu);
        SetHugetlb(dir, r.HugepageLimits);
        if (r.Devices is { Count: > 0 })
        {
            // No rules → no program (and an earlier program stays attached), like the v1 path writing nothing.
            applyDevices(dir, [.. r.Devices]);
        }

        SetUnified(dir, r.Unified);
        return warnings;
    }

    private static void SetPids(string dir, PidsResources? p)
    {
        if (p?.Limit is not { } limit)
        {
            return;
        }

        Require(dir, "pids", "pids limit");
        CgroupFile.Write("pids", dir, "pids.max", limit > 0 ? limit.ToString(Inv) : "max");
    }

    private static string? NumToStr(long v) => v switch
    {
        0 => null,
        -1 => "max",
        _ => v.ToString(Inv),
    };

    private static void SetMemory(string dir, MemoryResources? m, List<string> warnings)
    {
        if (m is null)
        {
            return;
        }

        var limit = m.Limit ?? 0;
        var swapOci = m.Swap ?? 0;
        var reservation = m.Reservation ?? 0;
        if (limit != 0 || swapOci != 0 || reservation != 0)
        {
            Require(dir, "memory", "memory limits");
        }

        var swap = SwapToV2(swapOci, limit);
        var swapStr = NumToStr(swap);
        if (swapStr is null && swap == 0 && swapOci > 0)
        {
            swapStr = "0"; // memory == memory+swap: no swap at all
        }

        if (swapStr is not null)
        {
            try
            {
                CgroupFile.Write("memory", dir, "memory.swap.max", swapStr);
            }
            catch (CgroupWriteException e) when (e.Errno == Libc.ENOENT && swapStr is "max" or "0")
            {
                // Swap accounting is off: "unlimited" or "no swap" are what we have anyway.
            }
        }

        if (NumToStr(limit) is { } l)
        {
            CgroupFile.Write("memory", dir, "memory.max", l);
        }

        if (NumToStr(reservation) is { } low)
        {
            CgroupFile.Write("memory", dir, "memory.low", low);
        }

        if (m.Swappiness is not null)
        {
            warnings.Add("cgroup v2: memory swappiness is not supported and was ignored");
        }

        if (m.DisableOOMKiller == true)
        {
            warnings.Add("cgroup v2: disabling the OOM killer is not supported and was ignored");
        }

        if (m.Kernel is { } k && k != 0)
        {
            warnings.Add("cgroup: kernel memory limits are deprecated by the kernel and were ignored");
        }
    }

    private static void SetIo(string dir, BlockIOResources? b, List<string> warnings)
    {
        if (b is null)
        {
            return;
        }

        var hasThrottle = ResourceValidator.Throttles(b).Any();
        var hasWeight = b.Weight is > 0 || (b.WeightDevice?.Any(w => w.Weight is > 0) ?? false);
        if (hasThrottle || hasWeight)
        {
            Require(dir, "io", "block IO limits");
        }

        var ioWeight = CgroupFile.Exists(dir, "io.weight");
        var bfq = CgroupFile.Exists(dir, "io.bfq.weight");
        if (b.Weight is { } w && w != 0)
        {
            if (ioWeight)
            {
                CgroupFile.Write("io", dir, "io.weight", BlkioWeightToIoWeight(w).ToString(Inv));
            }
            else if (bfq)
            {
                CgroupFile.Write("io", dir, "io.bfq.weight", w.ToString(Inv));
            }
            else
            {
                throw new BerthException(ErrorKind.Unavailable, $"cgroup io: neither io.weight nor io.bfq.weight exists in {dir}; cannot set blkio weight {w}");
            }
        }

        foreach (var wd in b.WeightDevice ?? [])
        {
            if (wd.Weight is not { } dw || dw == 0)
            {
                continue;
            }

            if (ioWeight)
            {
                CgroupFile.Write("io", dir, "io.weight", $"{wd.Major}:{wd.Minor} {BlkioWeightToIoWeight(dw)}");
            }
            else if (bfq)
            {
                CgroupFile.Write("io", dir, "io.bfq.weight", $"{wd.Major}:{wd.Minor} {dw}");
            }
        }

        if (b.LeafWeight is > 0 || (b.WeightDevice?.Any(x => x.LeafWeight is > 0) ?? false))
        {
            warnings.Add("cgroup v2: blkio leaf weights are not supported and were ignored");
        }

        // One io.max line per device: "MAJ:MIN rbps=.. wbps=.. riops=.. wiops=..".
        var perDevice = new List<(long Major, long Minor, List<string> Parts)>();
        foreach (var (_, key, d) in ResourceValidator.Throttles(b))
        {
            var idx = perDevice.FindIndex(x => x.Major == d.Major && x.Minor == d.Minor);
            if (idx < 0)
            {
                perDevice.Add((d.Major, d.Minor, []));
                idx = perDevice.Count - 1;
            }

            perDevice[idx].Parts.Add($"{key}={d.Rate}");
        }

        foreach (var (major, minor, parts) in perDevice)
        {
            CgroupFile.Write("io", dir, "io.max", $"{major}:{minor} {string.Join(' ', parts)}");
        }
    }

    private static void SetCpu(string dir, CpuResources? c, List<string> warnings)
    {
        if (c is null)
        {
            return;
        }

        var quota = c.Quota ?? 0;
        var period = c.Period ?? 0;
        if (c.Shares is > 0 || quota != 0 || period != 0 || c.Idle is not null)
        {
            Require(dir, "cpu", "cpu limits");
        }

        if (c.Idle is { } idle)
        {
            CgroupFile.Write("cpu", dir, "cpu.idle", idle.ToString(Inv));
        }

        if (c.Shares is { } shares && shares != 0)
        {
            CgroupFile.Write("cpu", dir, "cpu.weight", SharesToWeight(shares).ToString(Inv));
        }

        if (quota != 0 || period != 0)
        {
            var str = quota > 0 ? quota.ToString(Inv) : "max";
            if (period != 0)
            {
                str += " " + period.ToString(Inv);
            }

            CgroupFile.Write("cpu", dir, "cpu.max", str);
        }

        if (c.RealtimePeriod is > 0 || c.RealtimeRuntime is { } rt && rt != 0)
        {
            warnings.Add("cgroup v2: realtime cpu scheduling limits are not supported and were ignored");
        }
    }

    private static void SetCpuset(string dir, CpuResources? c)
    {
        if (string.IsNullOrEmpty(c?.Cpus) && string.IsNullOrEmpty(c?.Mems))
        {
            return;
        }

        Require(dir, "cpuset", "cpuset");
        if (!string.IsNullOrEmpty(c.Cpus))
        {
            CgroupFile.Write("cpuset", dir, "cpuset.cpus", c.Cpus);
        }

        if (!string.IsNullOrEmpty(c.Mems))
        {
            CgroupFile.Write("cpuset", dir, "cpuset.mems", c.Mems);
        }
    }

    public static void SetHugetlb(string dir, IList<HugepageLimit>? limits)
    {
        if (limits is not { Count: > 0 })
        {
            return;
        }

        Require(dir, "hugetlb", "hugepage limits");
        foreach (var h in limits)
        {
            var file = $"hugetlb.{h.PageSize}.max";
            if (!CgroupFile.Exists(dir, file))
            {
                throw BerthException.Invalid($"cgroup hugetlb: hugepage size {h.PageSize} is not supported by the kernel (no {file})");
            }

            CgroupFile.Write("hugetlb", dir, file, h.Limit.ToString(Inv));
        }
    }

    private static void SetUnified(string dir, IDictionary<string, string>? unified)
    {
        if (unified is null)
        {
            return;
        }

        var available = Controllers(dir, "cgroup.controllers");
        foreach (var (key, value) in unified)
        {
            var controller = key[..key.IndexOf('.')];
            if (controller != "cgroup" && !available.Contains(controller))
            {
                throw BerthException.Invalid($"cgroup unified: {key}: controller \"{controller}\" is not available in {dir}");
            }

            if (!CgroupFile.Exists(dir, key))
            {
                throw BerthException.Invalid($"cgroup unified: {key}: no such cgroup file in {dir}");
            }

            CgroupFile.Write(controller, dir, key, value);
        }
    }
}
