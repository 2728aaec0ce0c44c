using Berth.Cgroups.Internal;

namespace Berth.Cgroups.Tests;

/// <summary>A fake cgroup tree in a temp directory plus a recorder of the writes made through CgroupFile.</summary>
public sealed class FakeTree : IDisposable
{
    public static readonly string[] V1Controllers = ["cpu", "cpuacct", "cpuset", "memory", "devices", "freezer", "blkio", "pids"];

    public FakeTree()
    {
        Base = Path.Combine(Path.GetTempPath(), "berth-cgtest-" + Guid.NewGuid().ToString("N"));
        Directory.CreateDirectory(Base);
        Writes = [];
        CgroupFile.WriteLog.Value = Writes;
    }

    public string Base { get; }

    public List<(string Path, string Value)> Writes { get; }

    /// <summary>Writes as (path relative to Base, value).</summary>
    public List<(string File, string Value)> RelWrites =>
        Writes.Select(w => (Path.GetRelativePath(Base, w.Path), w.Value)).ToList();

    public string Seed(string relDir, params (string File, string Content)[] files)
    {
        var dir = Path.Combine(Base, relDir);
        Directory.CreateDirectory(dir);
        foreach (var (file, content) in files)
        {
            File.WriteAllText(Path.Combine(dir, file), content);
        }

        return dir;
    }

    public string Read(string relPath) => File.ReadAllText(Path.Combine(Base, relPath)).Trim();

    /// <summary>A hybrid-less v1 layout with every controller mounted at Base/&lt;controller&gt;.</summary>
    public CgroupRoot V1(IEnumerable<string>? mounts = null, string? unified = null)
    {
        var m = (mounts ?? V1Controllers).ToList();
        foreach (var c in m)
        {
            Seed(c, ("cgroup.procs", ""));
        }

        Seed("cpuset", ("cpuset.cpus", "0-3"), ("cpuset.mems", "0"));
        return CgroupRoot.ForV1(Base, m, unified is null ? null : Path.Combine(Base, unified));
    }

    /// <summary>Seeds every v1 control file a container cgroup at <paramref name="cg"/> has on a real kernel.</summary>
    public void SeedV1Container(string cg, bool memsw = true)
    {
        Seed("cpu/" + cg, ("cgroup.procs", ""), ("cpu.shares", "1024"), ("cpu.cfs_period_us", "100000"), ("cpu.cfs_quota_us", "-1"),
            ("cpu.rt_period_us", "1000000"), ("cpu.rt_runtime_us", "0"), ("cpu.idle", "0"), ("cpu.stat", ""));
        Seed("cpuacct/" + cg, ("cgroup.procs", ""));
        Seed("cpuset/" + cg, ("cgroup.procs", ""), ("cpuset.cpus", ""), ("cpuset.mems", ""));
        var mem = Seed("memory/" + cg, ("cgroup.procs", ""), ("memory.limit_in_bytes", "9223372036854771712"),
            ("memory.soft_limit_in_bytes", "9223372036854771712"), ("memory.swappiness", "60"), ("memory.oom_control", "oom_kill_disable 0\nunder_oom 0\noom_kill 0\n"));
        if (memsw)
        {
            File.WriteAllText(Path.Combine(mem, "memory.memsw.limit_in_bytes"), "9223372036854771712");
        }

        Seed("devices/" + cg, ("cgroup.procs", ""), ("devices.allow", ""), ("devices.deny", ""));
        Seed("freezer/" + cg, ("cgroup.procs", ""), ("freezer.state", "THAWED"));
        Seed("blkio/" + cg, ("cgroup.procs", ""), ("blkio.bfq.weight", "100"), ("blkio.bfq.weight_device", ""),
            ("blkio.throttle.read_bps_device", ""), ("blkio.throttle.write_bps_device", ""),
            ("blkio.throttle.read_iops_device", ""), ("blkio.throttle.write_iops_device", ""));
        Seed("pids/" + cg, ("cgroup.procs", ""), ("pids.max", "max"));
    }

    /// <summary>A pure v2 layout at Base with the given root controllers.</summary>
    public CgroupRoot V2(string controllers = "cpuset cpu io memory hugetlb pids")
    {
        Seed("", ("cgroup.controllers", controllers), ("cgroup.subtree_control", ""), ("cgroup.procs", ""));
        return CgroupRoot.ForV2(Base);
    }

    /// <summary>Seeds a v2 container cgroup (and its ancestors' controller files).</summary>
    public string SeedV2Container(string cg, string controllers = "cpuset cpu io memory hugetlb pids")
    {
        var parts = cg.Trim('/').Split('/');
        for (var i = 1; i < parts.Length; i++)
        {
            Seed(string.Join('/', parts.Take(i)), ("cgroup.controllers", controllers), ("cgroup.subtree_control", ""));
        }

        return Seed(cg.Trim('/'), ("cgroup.controllers", controllers), ("cgroup.subtree_control", ""), ("cgroup.procs", ""),
            ("memory.max", "max"), ("memory.swap.max", "max"), ("memory.low", "0"), ("cpu.weight", "100"), ("cpu.max", "max 100000"),
            ("cpu.idle", "0"), ("cpuset.cpus", ""), ("cpuset.mems", ""), ("pids.max", "max"), ("io.weight", "default 100"), ("io.max", ""),
            ("hugetlb.2MB.max", "max"), ("hugetlb.1GB.max", "max"), ("memory.high", "max"), ("cgroup.freeze", "0"));
    }

    public void Dispose()
    {
        CgroupFile.WriteLog.Value = null;
        try
        {
            Directory.Delete(Base, true);
        }
        catch (IOException)
        {
        }
    }
}
