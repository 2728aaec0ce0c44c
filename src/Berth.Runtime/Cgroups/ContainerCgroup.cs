using System.Text.Json;
using Berth.Cgroups;
using Berth.Runtime.Spec;

namespace Berth.Runtime.Cgroups;

/// <summary>
/// The container's cgroup as the lifecycle sees it: maps the spec's linux.resources onto Berth.Cgroups,
/// adds runc's always-allowed devices, and says how the "cgroup" mount is to be built.
/// </summary>
public sealed class ContainerCgroup
{
    // runc's specconv.AllowedDevices: appended after the spec's own rules.
    private static readonly DeviceRule[] AllowedDevices =
    [
        new(true, 'c', null, null, "m"), new(true, 'b', null, null, "m"),
        new(true, 'c', 1, 3, "rwm"), new(true, 'c', 1, 8, "rwm"), new(true, 'c', 1, 7, "rwm"),
        new(true, 'c', 5, 0, "rwm"), new(true, 'c', 1, 5, "rwm"), new(true, 'c', 1, 9, "rwm"),
        new(true, 'c', 5, 1, "rwm"), new(true, 'c', 136, null, "rwm"), new(true, 'c', 5, 2, "rwm"),
        new(true, 'c', 10, 200, "rwm"),
    ];

    private readonly ICgroupManager _manager;

    private ContainerCgroup(ICgroupManager manager)
    {
        _manager = manager;
    }

    public string Path => _manager.CgroupPath;

    public static ContainerCgroup For(Spec.Spec spec, string id) =>
        new(CgroupManagerFactory.Create(spec.Linux?.CgroupsPath, id));

    public static ContainerCgroup Load(string path) => new(CgroupManagerFactory.Create(path, ""));

    /// <summary>v1 hierarchies to bind under a "cgroup" mount: (directory name under /sys/fs/cgroup, host dir).</summary>
    public IReadOnlyList<(string Name, string HostPath)> V1Mounts
    {
        get
        {
            if (_manager.Mode == CgroupMode.Unified) return [];
            var result = new List<(string, string)>();
            foreach (var (controller, dir) in _manager.Paths)
            {
                if (controller.Length == 0) continue; // the unified hierarchy of a hybrid host is not shown, as in runc
                var suffix = Path.TrimStart('/');
                var mountpoint = suffix.Length == 0 ? dir : dir[..^(suffix.Length + 1)];
                var name = System.IO.Path.GetFileName(mountpoint);
                if (!result.Exists(r => r.Item1 == name)) result.Add((name, dir));
            }
            return result; // in the host's mount order, as runc mounts them
        }
    }

    /// <summary>
    /// The v1 "tasks" files the container's first process writes "0" into to join by itself. Moving oneself
    /// as a single thread skips the global threadgroup lock, whose RCU grace period makes a move by pid slow.
    /// </summary>
    public IReadOnlyList<string> V1SelfJoinFiles =>
        _manager.Mode == CgroupMode.Unified ? []
            : _manager.Paths.Where(p => p.Key.Length > 0).Select(p => p.Value).Distinct().Select(d => d + "/tasks").ToList();

    /// <summary>The cgroup v2 directory (pure v2, or the unified hierarchy of a hybrid host) to clone into.</summary>
    public string? V2Dir => _manager.Paths.TryGetValue("", out var p) ? p : null;

    public string? V2HostPath => _manager.Mode == CgroupMode.Unified && _manager.Paths.TryGetValue("", out var p) ? p : null;

    /// <summary>Creates the cgroup directories and applies the limits (no process yet); returns warnings.</summary>
    public IReadOnlyList<string> Create(LinuxResources? resources)
    {
        _manager.Apply(0);
        return _manager.Set(Map(resources));
    }

    /// <summary>Moves a process (the init, or an exec) into the existing cgroup.</summary>
    public void Join(int pid) => _manager.Apply(pid);

    public IReadOnlyList<int> Pids() => _manager.Exists() ? _manager.GetPids() : [];

    public void Destroy() => _manager.Destroy();

    public ulong OomKillCount() => _manager.Exists() ? _manager.OomKillCount() : 0;

    /// <summary>runc's `events --stats` data object.</summary>
    public string? StatsJson() =>
        _manager.Exists() ? JsonSerializer.Serialize(_manager.Stats(), CgroupStatsJsonContext.Default.CgroupStats) : null;

    public static CgroupResources Map(LinuxResources? r)
    {
        var devices = new List<DeviceRule>();
        foreach (var d in r?.Devices ?? [])
            devices.Add(new DeviceRule(d.Allow, string.IsNullOrEmpty(d.Type) ? 'a' : d.Type[0], d.Major, d.Minor, d.Access ?? "rwm"));
        devices.AddRange(AllowedDevices);
        return new CgroupResources
        {
            Memory = r?.Memory is { } m ? new MemoryResources
            {
                Limit = m.Limit, Reservation = m.Reservation, Swap = m.Swap, Kernel = m.Kernel, Swappiness = m.Swappiness,
                DisableOOMKiller = m.DisableOomKiller,
            } : null,
            Cpu = r?.Cpu is { } c ? new CpuResources
            {
                Shares = c.Shares, Quota = c.Quota, Period = c.Period, RealtimeRuntime = c.RealtimeRuntime,
                RealtimePeriod = c.RealtimePeriod, Cpus = c.Cpus, Mems = c.Mems, Idle = c.Idle,
            } : null,
            Pids = r?.Pids is { } p ? new PidsResources { Limit = p.Limit } : null,
            BlockIO = r?.BlockIO is { } b ? new BlockIOResources
            {
                Weight = b.Weight, LeafWeight = b.LeafWeight,
                WeightDevice = b.WeightDevice?.Select(w => new WeightDevice(w.Major, w.Minor, w.Weight, w.LeafWeight)).ToList(),
                ThrottleReadBpsDevice = Throttle(b.ThrottleReadBpsDevice),
                ThrottleWriteBpsDevice = Throttle(b.ThrottleWriteBpsDevice),
                ThrottleReadIOPSDevice = Throttle(b.ThrottleReadIopsDevice),
                ThrottleWriteIOPSDevice = Throttle(b.ThrottleWriteIopsDevice),
            } : null,
            Devices = devices,
            HugepageLimits = r?.HugepageLimits?.Select(h => new HugepageLimit(h.PageSize, h.Limit)).ToList(),
            Unified = r?.Unified,
        };
    }

    private static List<ThrottleDevice>? Throttle(List<LinuxThrottleDevice>? list) =>
        list?.Select(t => new ThrottleDevice(t.Major, t.Minor, t.Rate)).ToList();
}
