namespace Berth.Cgroups;

/// <summary>
/// What the host's cgroups can limit (dockerd's pkg/sysinfo): read from the control files of the hierarchies'
/// roots, once. dockerd discards (with a warning) or refuses at create what the host cannot do; Berth does the same
/// from this.
/// </summary>
public sealed record CgroupSupport(
    bool Unified,
    bool MemorySwappiness,
    bool OomKillDisable,
    bool CpuRealtime,
    bool BlkioWeight,
    bool BlkioWeightDevice,
    bool BlkioReadBpsDevice,
    bool BlkioWriteBpsDevice,
    bool BlkioReadIOpsDevice,
    bool BlkioWriteIOpsDevice)
{
    private static CgroupSupport? s_host;

    public static CgroupSupport Host => s_host ??= Of(CgroupRoot.Host);

    /// <summary>
    /// v1: a feature is there when its control file is in the controller's root (as dockerd's sysinfo checks).
    /// v2 (dockerd's sysinfo for cgroup2): io limits when the io controller is available; no swappiness, no OOM-killer
    /// switch and no real-time CPU (cgroup2 has no such files).
    /// </summary>
    public static CgroupSupport Of(CgroupRoot root)
    {
        if (root.Mode == CgroupMode.Unified)
        {
            var controllers = root.Unified is { } u ? ReadControllers(u.Mountpoint) : [];
            bool io = controllers.Contains("io");
            return new CgroupSupport(true, false, false, false, io, io, io, io, io, io);
        }
        bool Has(string controller, string file) =>
            root.V1Mounts.TryGetValue(controller, out var m) && File.Exists(Path.Combine(m.Mountpoint, file));
        return new CgroupSupport(
            Unified: false,
            MemorySwappiness: Has("memory", "memory.swappiness"),
            OomKillDisable: Has("memory", "memory.oom_control"),
            CpuRealtime: Has("cpu", "cpu.rt_period_us") && Has("cpu", "cpu.rt_runtime_us"),
            BlkioWeight: Has("blkio", "blkio.weight") || Has("blkio", "blkio.bfq.weight"),
            BlkioWeightDevice: Has("blkio", "blkio.weight_device") || Has("blkio", "blkio.bfq.weight_device"),
            BlkioReadBpsDevice: Has("blkio", "blkio.throttle.read_bps_device"),
            BlkioWriteBpsDevice: Has("blkio", "blkio.throttle.write_bps_device"),
            BlkioReadIOpsDevice: Has("blkio", "blkio.throttle.read_iops_device"),
            BlkioWriteIOpsDevice: Has("blkio", "blkio.throttle.write_iops_device"));
    }

    private static HashSet<string> ReadControllers(string dir)
    {
        try
        {
            return [.. File.ReadAllText(Path.Combine(dir, "cgroup.controllers")).Split(' ', '\n', StringSplitOptions.RemoveEmptyEntries)];
        }
        catch (IOException)
        {
            return [];
        }
    }
}
