namespace Berth.Cgroups.Tests;

public class MountInfoTests
{
    private const string Hybrid = """
        22 1 0:21 / /proc rw,nosuid,nodev,noexec,relatime - proc proc rw
        31 23 0:28 / /sys/fs/cgroup rw,relatime - tmpfs tmpfs rw,mode=755
        32 31 0:29 / /sys/fs/cgroup/cpu rw,relatime - cgroup cgroup rw,cpu
        33 31 0:30 / /sys/fs/cgroup/cpuacct rw,relatime - cgroup cgroup rw,cpuacct
        34 31 0:31 / /sys/fs/cgroup/cpuset rw,relatime - cgroup cgroup rw,cpuset
        35 31 0:32 / /sys/fs/cgroup/memory rw,relatime - cgroup cgroup rw,memory
        36 31 0:33 / /sys/fs/cgroup/devices rw,relatime - cgroup cgroup rw,devices
        37 31 0:34 / /sys/fs/cgroup/freezer rw,relatime - cgroup cgroup rw,freezer
        38 31 0:35 / /sys/fs/cgroup/blkio rw,relatime - cgroup cgroup rw,blkio
        39 31 0:36 / /sys/fs/cgroup/pids rw,relatime - cgroup cgroup rw,pids
        40 31 0:37 / /sys/fs/cgroup/systemd rw,relatime - cgroup cgroup rw,name=systemd
        41 31 0:38 / /sys/fs/cgroup/unified rw,relatime - cgroup2 cgroup2 rw
        """;

    private const string ProcSelfCgroupHybrid = """
        9:name=systemd:/
        8:pids:/
        4:memory:/process_api/944f
        2:cpuacct:/
        1:cpu:/
        0::/
        """;

    [Fact]
    public void Hybrid_SeparateCpuAndCpuacct()
    {
        var root = CgroupRoot.Parse(Hybrid, ProcSelfCgroupHybrid);
        Assert.Equal(CgroupMode.Hybrid, root.Mode);
        Assert.Equal("/sys/fs/cgroup/cpu", root.V1Mounts["cpu"].Mountpoint);
        Assert.Equal("/sys/fs/cgroup/cpuacct", root.V1Mounts["cpuacct"].Mountpoint);
        Assert.Equal("/sys/fs/cgroup/systemd", root.V1Mounts["name=systemd"].Mountpoint);
        Assert.Equal("/sys/fs/cgroup/unified", root.Unified!.Mountpoint);
        Assert.False(root.V1Mounts.ContainsKey("hugetlb"));
        Assert.Equal("/process_api/944f", root.OwnCgroups["memory"]);
        Assert.Equal("/", root.OwnCgroups[""]);
    }

    [Fact]
    public void CoMountedCpuCpuacct_ShareOneMount()
    {
        const string mi = """
            25 24 0:22 / /sys/fs/cgroup/cpu,cpuacct rw,nosuid - cgroup cgroup rw,cpu,cpuacct
            26 24 0:23 / /sys/fs/cgroup/memory rw,nosuid - cgroup cgroup rw,memory
            27 24 0:24 / /sys/fs/cgroup/net_cls,net_prio rw,nosuid - cgroup cgroup rw,net_cls,net_prio
            """;
        var root = CgroupRoot.Parse(mi, "");
        Assert.Equal(CgroupMode.Legacy, root.Mode);
        Assert.Same(root.V1Mounts["cpu"], root.V1Mounts["cpuacct"]);
        Assert.Equal("/sys/fs/cgroup/cpu,cpuacct", root.V1Mounts["cpuacct"].Mountpoint);
        Assert.Equal(["cpu", "cpuacct"], root.V1Mounts["cpu"].Controllers);
        Assert.Equal(3, root.DistinctV1Mounts().Count());

        // Both controllers resolve to the same directory, created/destroyed once.
        var mgr = CgroupManagerFactory.Create("/a", "id", root);
        Assert.Equal("/sys/fs/cgroup/cpu,cpuacct/a", mgr.Paths["cpu"]);
        Assert.Equal(mgr.Paths["cpu"], mgr.Paths["cpuacct"]);
        Assert.Null(mgr.Paths.GetValueOrDefault(""));
    }

    [Fact]
    public void PureV2()
    {
        const string mi = """
            24 1 0:22 / /sys rw - sysfs sysfs rw
            35 24 0:30 / /sys/fs/cgroup rw,nosuid,nodev,noexec,relatime shared:9 - cgroup2 cgroup2 rw,nsdelegate,memory_recursiveprot
            """;
        var root = CgroupRoot.Parse(mi, "0::/user.slice/session-1.scope\n");
        Assert.Equal(CgroupMode.Unified, root.Mode);
        Assert.Empty(root.V1Mounts);
        Assert.Equal("/sys/fs/cgroup", root.Unified!.Mountpoint);
        var mgr = CgroupManagerFactory.Create("/berth/x", "x", root);
        Assert.Equal(CgroupMode.Unified, mgr.Mode);
        Assert.Equal("/sys/fs/cgroup/berth/x", mgr.Paths[""]);

        // Relative path: below our own cgroup.
        Assert.Equal("/sys/fs/cgroup/user.slice/session-1.scope/sub/c1", CgroupManagerFactory.Create("sub/c1", "c1", root).Paths[""]);
    }

    [Fact]
    public void V2OnlyWithNamedV1Hierarchy_IsUnified()
    {
        const string mi = """
            35 24 0:30 / /sys/fs/cgroup rw - cgroup2 cgroup2 rw
            36 35 0:31 / /sys/fs/cgroup/systemd rw - cgroup cgroup rw,name=systemd
            """;
        Assert.Equal(CgroupMode.Unified, CgroupRoot.Parse(mi, "").Mode);
    }

    [Fact]
    public void InsideContainer_MountRootIsStrippedForRelativePaths()
    {
        const string mi = "50 40 0:32 /docker/abc /sys/fs/cgroup/memory ro - cgroup cgroup rw,memory\n";
        var root = CgroupRoot.Parse(mi, "4:memory:/docker/abc\n");
        var mgr = CgroupManagerFactory.Create("child", "c", root);
        Assert.Equal("/sys/fs/cgroup/memory/child", mgr.Paths["memory"]);
    }

    [Fact]
    public void OctalEscapesInMountpoint()
    {
        const string mi = "32 31 0:29 / /mnt/cg\\040dir rw - cgroup2 cgroup2 rw\n";
        Assert.Equal("/mnt/cg dir", CgroupRoot.Parse(mi, "").Unified!.Mountpoint);
    }

    [Fact]
    public void NoCgroupMounts_Throws()
    {
        var e = Assert.Throws<Berth.Core.BerthException>(() => CgroupRoot.Parse("22 1 0:21 / /proc rw - proc proc rw\n", ""));
        Assert.Equal(Berth.Core.ErrorKind.Unavailable, e.Kind);
    }

    [Fact]
    public void DetectsThisHost()
    {
        var root = CgroupRoot.Detect();
        Assert.True(root.V1Mounts.Count > 0 || root.Unified is not null);
    }
}
