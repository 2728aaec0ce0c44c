using System.Diagnostics;
using System.Globalization;
using Berth.Cgroups.Internal;
using Berth.Cgroups.V2;
using Berth.Core;
using Berth.Interop;

namespace Berth.Cgroups.V1;

/// <summary>
/// cgroup v1 manager (legacy and hybrid hosts), like runc's fs driver: one directory per controller
/// hierarchy. On hybrid hosts the container also joins the unified hierarchy (path key ""), which is
/// used for hugetlb when v1 lacks it and for cgroup.kill.
/// </summary>
public sealed class V1CgroupManager : ICgroupManager
{
    private static readonly CultureInfo Inv = CultureInfo.InvariantCulture;
    private readonly CgroupRoot _root;
    private readonly Dictionary<string, string> _paths = new(StringComparer.Ordinal);

    public V1CgroupManager(CgroupRoot root, string normalizedPath)
    {
        ArgumentNullException.ThrowIfNull(root);
        _root = root;
        CgroupPath = normalizedPath;
        foreach (var (controller, mount) in root.V1Mounts)
        {
            _paths[controller] = CgroupPaths.Resolve(mount, normalizedPath, root.OwnCgroups.GetValueOrDefault(controller));
        }

        if (root.Mode == CgroupMode.Hybrid && root.Unified is { } unified)
        {
            _paths[""] = CgroupPaths.Resolve(unified, normalizedPath, root.OwnCgroups.GetValueOrDefault(""));
        }
    }

    public CgroupMode Mode => _root.Mode;

    public string CgroupPath { get; }

    public IReadOnlyDictionary<string, string> Paths => _paths;

    private string? PathOf(string controller) => _paths.GetValueOrDefault(controller);

    private string Need(string controller, string what) => PathOf(controller)
        ?? throw new BerthException(ErrorKind.Unavailable, $"cgroup v1: the {controller} controller is not mounted; cannot set {what}");

    private IEnumerable<string> DistinctDirs() => _paths.Values.Distinct(StringComparer.Ordinal);

    public void Apply(int pid)
    {
        // cpuset first: every new level must inherit cpuset.cpus/mems or tasks cannot join it.
        if (_root.V1Mounts.TryGetValue("cpuset", out var cpusetMount))
        {
            EnsureCpusetDir(cpusetMount.Mountpoint, _paths["cpuset"]);
        }

        foreach (var (controller, dir) in _paths)
        {
            if (controller.Length == 0)
            {
                TryCreateUnified(dir);
            }
            else
            {
                Directory.CreateDirectory(dir);
            }
        }

        if (pid <= 0)
        {
            return;
        }

        var pidStr = pid.ToString(Inv);
        var written = new HashSet<string>(StringComparer.Ordinal);
        foreach (var (controller, dir) in _paths)
        {
            if (!written.Add(dir))
            {
                continue;
            }

            if (controller.Length == 0)
            {
                // Best effort: the unified hierarchy only carries hugetlb/cgroup.kill on hybrid hosts.
                try
                {
                    CgroupFile.Write("v2", dir, "cgroup.procs", pidStr);
                }
                catch (BerthException)
                {
                }

                continue;
            }

            CgroupFile.Write(controller, dir, "cgroup.procs", pidStr);
        }
    }

    private static void TryCreateUnified(string dir)
    {
        try
        {
            Directory.CreateDirectory(dir);
        }
        catch (IOException)
        {
        }
        catch (UnauthorizedAccessException)
        {
        }
    }

    /// <summary>Creates each missing level below the mount, copying the parent's cpus/mems into empty ones.</summary>
    internal static void EnsureCpusetDir(string mountpoint, string dir)
    {
        var rel = Path.GetRelativePath(mountpoint, dir);
        if (rel == "." || rel.StartsWith("..", StringComparison.Ordinal))
        {
            Directory.CreateDirectory(dir);
            return;
        }

        var parent = mountpoint;
        foreach (var part in rel.Split('/'))
        {
            var current = Path.Combine(parent, part);
            Directory.CreateDirectory(current);
            foreach (var file in new[] { "cpuset.cpus", "cpuset.mems" })
            {
                var mine = CgroupFile.TryRead(current, file);
                if (mine is { Length: 0 })
                {
                    var parentValue = CgroupFile.TryRead(parent, file);
                    if (!string.IsNullOrEmpty(parentValue))
                    {
                        CgroupFile.Write("cpuset", current, file, parentValue);
                    }
                }
            }

            parent = current;
        }
    }

    public IReadOnlyList<string> Set(CgroupResources resources)
    {
        ArgumentNullException.ThrowIfNull(resources);
        ResourceValidator.Validate(resources);
        if (resources.Unified is { Count: > 0 })
        {
            throw BerthException.Invalid("cgroup: unified resources require cgroup v2 (this host uses cgroup v1 controllers)");
        }

        var warnings = new List<string>();
        SetCpuset(resources.Cpu);
        SetDevices(resources.Devices);
        SetMemory(resources.Memory, warnings);
        SetCpu(resources.Cpu);
        SetPids(resources.Pids);
        SetBlkio(resources.BlockIO, warnings);
        SetHugetlb(resources.HugepageLimits, warnings);
        return warnings;
    }

    private void SetCpuset(CpuResources? c)
    {
        if (string.IsNullOrEmpty(c?.Cpus) && string.IsNullOrEmpty(c?.Mems))
        {
            return;
        }

        var dir = Need("cpuset", "cpuset");
        if (!string.IsNullOrEmpty(c.Cpus))
        {
            CgroupFile.Write("cpuset", dir, "cpuset.cpus", c.Cpus);
        }

        if (!string.IsNullOrEmpty(c.Mems))
        {
            CgroupFile.Write("cpuset", dir, "cpuset.mems", c.Mems);
        }
    }

    private void SetDevices(IList<DeviceRule>? rules)
    {
        if (rules is not { Count: > 0 })
        {
            return;
        }

        var dir = Need("devices", "device rules");
        // As runc: start from deny-all ("a" to devices.deny clears the inherited allow-all list), then apply the
        // rules in order, so a rule set without its own leading deny-all still allows only what it lists.
        CgroupFile.Write("devices", dir, "devices.deny", "a");
        for (var i = 0; i < rules.Count; i++)
        {
            var rule = rules[i];
            if (i == 0 && !rule.Allow && rule.Type == 'a')
            {
                continue; // the leading deny-all was just written
            }

            CgroupFile.Write("devices", dir, rule.Allow ? "devices.allow" : "devices.deny", ResourceValidator.DeviceRuleString(rule));
        }
    }

    private void SetMemory(MemoryResources? m, List<string> warnings)
    {
        if (m is null)
        {
            return;
        }

        var limit = m.Limit ?? 0;
        var swap = m.Swap ?? 0;
        var reservation = m.Reservation ?? 0;
        if (m.Kernel is { } k && k != 0)
        {
            warnings.Add("cgroup: kernel memory limits are deprecated by the kernel and were ignored");
        }

        if (limit == 0 && swap == 0 && reservation == 0 && m.Swappiness is null && m.DisableOOMKiller != true)
        {
            return;
        }

        var dir = Need("memory", "memory limits");
        var hasMemsw = CgroupFile.Exists(dir, "memory.memsw.limit_in_bytes");

        // Unlimited memory with swap unset means unlimited swap too (when swap accounting exists).
        if (limit == -1 && swap == 0 && hasMemsw)
        {
            swap = -1;
        }

        if (swap != 0 && !hasMemsw)
        {
            if (swap != -1 && swap != limit)
            {
                throw new BerthException(ErrorKind.Unavailable,
                    $"cgroup memory: cannot set memory+swap limit {swap}: swap accounting is disabled (no memory.memsw.limit_in_bytes in {dir}); boot with swapaccount=1 or set swap equal to the memory limit");
            }

            swap = 0; // equal to the limit or unlimited: nothing to do without swap accounting
        }

        // Order matters: the kernel requires memory.limit <= memsw.limit at every step.
        if (limit != 0 && swap != 0)
        {
            var current = CgroupFile.ReadUlong(dir, "memory.limit_in_bytes");
            if (swap == -1 || current < (ulong)swap)
            {
                WriteMemsw(dir, swap);
                WriteLimit(dir, limit);
                limit = swap = 0;
            }
        }

        if (limit != 0)
        {
            WriteLimit(dir, limit);
        }

        if (swap != 0)
        {
            WriteMemsw(dir, swap);
        }

        if (reservation != 0)
        {
            CgroupFile.Write("memory", dir, "memory.soft_limit_in_bytes", reservation.ToString(Inv));
        }

        if (m.Swappiness is { } swappiness)
        {
            CgroupFile.Write("memory", dir, "memory.swappiness", swappiness.ToString(Inv));
        }

        if (m.DisableOOMKiller == true)
        {
            CgroupFile.Write("memory", dir, "memory.oom_control", "1");
        }
    }

    private static void WriteLimit(string dir, long limit)
    {
        try
        {
            CgroupFile.Write("memory", dir, "memory.limit_in_bytes", limit.ToString(Inv));
        }
        catch (CgroupWriteException e) when (e.Errno == Libc.EBUSY)
        {
            // The kernel could not reclaim below the new limit: say why, like runc.
            var usage = CgroupFile.TryReadUlong(dir, "memory.usage_in_bytes");
            var peak = CgroupFile.TryReadUlong(dir, "memory.max_usage_in_bytes");
            throw new CgroupWriteException(e.Controller, e.Path, e.Value, e.Errno, Libc.StrError(e.Errno),
                $"current usage: {usage}, peak usage: {peak}");
        }
    }

    private static void WriteMemsw(string dir, long swap) =>
        CgroupFile.Write("memory", dir, "memory.memsw.limit_in_bytes", swap.ToString(Inv));

    private void SetCpu(CpuResources? c)
    {
        if (c is null)
        {
            return;
        }

        var quota = c.Quota ?? 0;
        var period = c.Period ?? 0;
        var shares = c.Shares ?? 0;
        var rt = c.RealtimePeriod is > 0 || c.RealtimeRuntime is { } rr && rr != 0;
        if (shares == 0 && quota == 0 && period == 0 && c.Idle is null && !rt)
        {
            return;
        }

        var dir = Need("cpu", "cpu limits");
        if (shares != 0)
        {
            CgroupFile.Write("cpu", dir, "cpu.shares", shares.ToString(Inv));
            var actual = CgroupFile.ReadUlong(dir, "cpu.shares");
            if (actual != shares)
            {
                throw BerthException.Invalid($"cgroup cpu: write cpu.shares={shares}: the kernel set {actual} instead (allowed range {ResourceValidator.MinShares}..{ResourceValidator.MaxShares})");
            }
        }

        // Period before quota; a smaller period can be rejected (EINVAL) against the old quota, so retry after.
        var periodPending = false;
        if (period != 0)
        {
            try
            {
                CgroupFile.Write("cpu", dir, "cpu.cfs_period_us", period.ToString(Inv));
            }
            catch (CgroupWriteException e) when (e.Errno == Libc.EINVAL && quota != 0)
            {
                periodPending = true;
            }
        }

        if (quota != 0)
        {
            CgroupFile.Write("cpu", dir, "cpu.cfs_quota_us", quota.ToString(Inv));
            if (periodPending)
            {
                CgroupFile.Write("cpu", dir, "cpu.cfs_period_us", period.ToString(Inv));
            }
        }

        if (c.Idle is { } idle)
        {
            CgroupFile.Write("cpu", dir, "cpu.idle", idle.ToString(Inv));
        }

        if (c.RealtimePeriod is { } rtp && rtp != 0)
        {
            CgroupFile.Write("cpu", dir, "cpu.rt_period_us", rtp.ToString(Inv));
        }

        if (c.RealtimeRuntime is { } rtr && rtr != 0)
        {
            CgroupFile.Write("cpu", dir, "cpu.rt_runtime_us", rtr.ToString(Inv));
        }
    }

    private void SetPids(PidsResources? p)
    {
        if (p?.Limit is not { } limit)
        {
            return;
        }

        var dir = Need("pids", "pids limit");
        CgroupFile.Write("pids", dir, "pids.max", limit > 0 ? limit.ToString(Inv) : "max");
    }

    private void SetBlkio(BlockIOResources? b, List<string> warnings)
    {
        if (b is null)
        {
            return;
        }

        var throttles = ResourceValidator.Throttles(b).ToList();
        var weighted = b.Weight is > 0 || b.LeafWeight is > 0 || (b.WeightDevice?.Count ?? 0) > 0;
        if (!weighted && throttles.Count == 0)
        {
            return;
        }

        var dir = Need("blkio", "block IO limits");
        // CFQ has blkio.weight; BFQ (kernel >= 5.0) only blkio.bfq.weight.
        var weightFile = CgroupFile.Exists(dir, "blkio.weight") ? "blkio.weight"
            : CgroupFile.Exists(dir, "blkio.bfq.weight") ? "blkio.bfq.weight" : null;
        var weightDeviceFile = CgroupFile.Exists(dir, "blkio.weight_device") ? "blkio.weight_device"
            : CgroupFile.Exists(dir, "blkio.bfq.weight_device") ? "blkio.bfq.weight_device" : null;

        if (b.Weight is { } w && w != 0)
        {
            if (weightFile is null)
            {
                throw new BerthException(ErrorKind.Unavailable, $"cgroup blkio: neither blkio.weight nor blkio.bfq.weight exists in {dir} (no CFQ/BFQ io scheduler); cannot set blkio weight {w}");
            }

            CgroupFile.Write("blkio", dir, weightFile, w.ToString(Inv));
        }

        if (b.LeafWeight is { } lw && lw != 0)
        {
            if (CgroupFile.Exists(dir, "blkio.leaf_weight"))
            {
                CgroupFile.Write("blkio", dir, "blkio.leaf_weight", lw.ToString(Inv));
            }
            else
            {
                warnings.Add("cgroup blkio: blkio.leaf_weight is not supported by this kernel; leaf weight ignored");
            }
        }

        foreach (var wd in b.WeightDevice ?? [])
        {
            if (wd.Weight is { } dw && dw != 0)
            {
                if (weightDeviceFile is null)
                {
                    throw new BerthException(ErrorKind.Unavailable, $"cgroup blkio: no blkio.weight_device or blkio.bfq.weight_device in {dir}; cannot set weight for {wd.Major}:{wd.Minor}");
                }

                CgroupFile.Write("blkio", dir, weightDeviceFile, $"{wd.Major}:{wd.Minor} {dw}");
            }

            if (wd.LeafWeight is { } dlw && dlw != 0)
            {
                if (CgroupFile.Exists(dir, "blkio.leaf_weight_device"))
                {
                    CgroupFile.Write("blkio", dir, "blkio.leaf_weight_device", $"{wd.Major}:{wd.Minor} {dlw}");
                }
                else
                {
                    warnings.Add($"cgroup blkio: leaf weight for {wd.Major}:{wd.Minor} ignored (no blkio.leaf_weight_device)");
                }
            }
        }

        foreach (var (file, _, d) in throttles)
        {
            CgroupFile.Write("blkio", dir, file, $"{d.Major}:{d.Minor} {d.Rate}");
        }
    }

    private void SetHugetlb(IList<HugepageLimit>? limits, List<string> warnings)
    {
        if (limits is not { Count: > 0 })
        {
            return;
        }

        if (PathOf("hugetlb") is { } dir)
        {
            foreach (var h in limits)
            {
                var file = $"hugetlb.{h.PageSize}.limit_in_bytes";
                if (!CgroupFile.Exists(dir, file))
                {
                    throw BerthException.Invalid($"cgroup hugetlb: hugepage size {h.PageSize} is not supported by the kernel (no {file})");
                }

                CgroupFile.Write("hugetlb", dir, file, h.Limit.ToString(Inv));
            }

            return;
        }

        // Hybrid hosts may have hugetlb only in the unified hierarchy (as here): use it when it is offered.
        if (PathOf("") is { } unifiedDir && _root.Unified is { } unified
            && V2Resources.Controllers(unified.Mountpoint, "cgroup.controllers").Contains("hugetlb"))
        {
            V2Resources.CreateWithControllers(unified.Mountpoint, unifiedDir, ["hugetlb"]);
            V2Resources.SetHugetlb(unifiedDir, limits);
            return;
        }

        warnings.Add("cgroup: the hugetlb controller is not available; hugepage limits ignored");
    }

    public IReadOnlyList<int> GetPids()
    {
        foreach (var c in new[] { "pids", "memory", "devices", "freezer", "cpu" })
        {
            if (PathOf(c) is { } dir)
            {
                return CgroupFile.ReadPidsRecursive(dir);
            }
        }

        return _paths.Values.Select(CgroupFile.ReadPidsRecursive).FirstOrDefault() ?? [];
    }

    public CgroupStats Stats()
    {
        var stats = new CgroupStats();
        if (PathOf("cpuacct") is { } cpuacct)
        {
            StatsReader.V1Cpuacct(cpuacct, stats.Cpu);
        }

        if (PathOf("cpu") is { } cpu)
        {
            StatsReader.V1CpuStat(cpu, stats.Cpu);
        }

        if (PathOf("memory") is { } memory)
        {
            StatsReader.V1Memory(memory, stats.Memory);
        }

        if (PathOf("pids") is { } pids)
        {
            StatsReader.Pids(pids, stats.Pids);
        }

        if (PathOf("blkio") is { } blkio)
        {
            StatsReader.V1Blkio(blkio, stats.Blkio);
        }

        if (PathOf("hugetlb") is { } hugetlb)
        {
            StatsReader.V1Hugetlb(hugetlb, stats.Hugetlb);
        }
        else if (PathOf("") is { } unified)
        {
            StatsReader.V2Hugetlb(unified, stats.Hugetlb);
        }

        return stats;
    }

    public void Freeze()
    {
        var dir = Need("freezer", "freeze");
        for (var attempt = 0; attempt < 3; attempt++)
        {
            CgroupFile.Write("freezer", dir, "freezer.state", "FROZEN");
            var sw = Stopwatch.StartNew();
            while (sw.Elapsed < TimeSpan.FromSeconds(1))
            {
                var state = CgroupFile.TryRead(dir, "freezer.state");
                if (state == "FROZEN")
                {
                    return;
                }

                Thread.Sleep(1);
            }

            // Stuck in FREEZING (e.g. a task in uninterruptible sleep): thaw and try again, like runc.
            CgroupFile.Write("freezer", dir, "freezer.state", "THAWED");
        }

        throw new BerthException(ErrorKind.System, $"cgroup freezer: {dir} did not reach FROZEN");
    }

    public void Thaw()
    {
        var dir = Need("freezer", "thaw");
        CgroupFile.Write("freezer", dir, "freezer.state", "THAWED");
        var sw = Stopwatch.StartNew();
        while (sw.Elapsed < TimeSpan.FromSeconds(2) && CgroupFile.TryRead(dir, "freezer.state") is "FREEZING" or "FROZEN")
        {
            Thread.Sleep(1);
        }
    }

    public void KillAll()
    {
        if (!Exists())
        {
            return;
        }

        // Hybrid: if we joined the unified hierarchy, cgroup.kill is atomic and race-free.
        if (PathOf("") is { } unified && CgroupFile.Exists(unified, "cgroup.kill"))
        {
            try
            {
                CgroupFile.Write("v2", unified, "cgroup.kill", "1");
            }
            catch (BerthException)
            {
            }
        }

        var frozen = false;
        if (PathOf("freezer") is { } freezer && Directory.Exists(freezer))
        {
            try
            {
                Freeze();
                frozen = true;
            }
            catch (BerthException)
            {
            }
        }

        ProcessKiller.KillEach(GetPids());
        if (frozen)
        {
            Thaw();
        }

        ProcessKiller.WaitEmpty(GetPids, TimeSpan.FromSeconds(2));
    }

    public void Destroy()
    {
        var errors = new List<string>();
        foreach (var dir in DistinctDirs())
        {
            CgroupFile.RemoveTree(dir, errors);
        }

        if (errors.Count > 0)
        {
            throw new BerthException(ErrorKind.System, "cgroup: destroy: " + string.Join("; ", errors));
        }
    }

    public bool Exists() => DistinctDirs().Any(Directory.Exists);

    public ulong OomKillCount()
    {
        var dir = PathOf("memory");
        return dir is null ? 0 : CgroupFile.ReadKeyValues(dir, "memory.oom_control").GetValueOrDefault("oom_kill");
    }

    /// <summary>memory.failcnt: how often the memory limit was hit (v1 only; not the same as OOM kills).</summary>
    public ulong MemoryFailCount() => PathOf("memory") is { } dir ? CgroupFile.TryReadUlong(dir, "memory.failcnt") : 0;
}
