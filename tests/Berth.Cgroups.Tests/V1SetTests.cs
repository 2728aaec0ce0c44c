using Berth.Core;

namespace Berth.Cgroups.Tests;

public class V1SetTests
{
    private const string Cg = "berth/c1";

    private static (FakeTree Tree, ICgroupManager Mgr) Setup(bool memsw = true)
    {
        var t = new FakeTree();
        var root = t.V1();
        t.SeedV1Container(Cg, memsw);
        return (t, CgroupManagerFactory.Create("/" + Cg, "c1", root));
    }

    [Fact]
    public void Apply_CopiesCpusetFromParentIntoEmptyLevels_AndJoinsEveryController()
    {
        var (t, mgr) = Setup();
        using var _ = t;
        t.Seed("cpuset/berth", ("cpuset.cpus", ""), ("cpuset.mems", ""));
        mgr.Apply(4242);

        Assert.Equal("0-3", t.Read("cpuset/berth/cpuset.cpus"));
        Assert.Equal("0", t.Read("cpuset/berth/cpuset.mems"));
        Assert.Equal("0-3", t.Read("cpuset/berth/c1/cpuset.cpus"));
        Assert.Equal("0", t.Read("cpuset/berth/c1/cpuset.mems"));
        var cpusetWrites = t.RelWrites.Where(w => w.File.StartsWith("cpuset/", StringComparison.Ordinal) && !w.File.EndsWith("cgroup.procs", StringComparison.Ordinal)).ToList();
        Assert.Equal(
            [("cpuset/berth/cpuset.cpus", "0-3"), ("cpuset/berth/cpuset.mems", "0"), ("cpuset/berth/c1/cpuset.cpus", "0-3"), ("cpuset/berth/c1/cpuset.mems", "0")],
            cpusetWrites);
        foreach (var c in FakeTree.V1Controllers)
        {
            Assert.Equal("4242", t.Read($"{c}/berth/c1/cgroup.procs"));
        }
    }

    [Fact]
    public void Set_WritesExpectedFiles()
    {
        var (t, mgr) = Setup();
        using var _ = t;
        var warnings = mgr.Set(new CgroupResources
        {
            Memory = new MemoryResources { Limit = 64 << 20, Reservation = 32 << 20, Swappiness = 10, DisableOOMKiller = true, Kernel = 1 << 20 },
            Cpu = new CpuResources { Shares = 512, Quota = 50000, Period = 100000, Cpus = "0-1", Mems = "0" },
            Pids = new PidsResources { Limit = 10 },
            BlockIO = new BlockIOResources
            {
                Weight = 500,
                WeightDevice = [new WeightDevice(8, 0, 300)],
                ThrottleReadBpsDevice = [new ThrottleDevice(8, 0, 1048576)],
                ThrottleWriteIOPSDevice = [new ThrottleDevice(8, 16, 100)],
            },
            Devices = [new DeviceRule(false), new DeviceRule(true, 'c', 1, 3, "rwm"), new DeviceRule(true, 'c', 136, null, "rw")],
        });

        Assert.Equal(
        [
            ("cpuset/berth/c1/cpuset.cpus", "0-1"),
            ("cpuset/berth/c1/cpuset.mems", "0"),
            ("devices/berth/c1/devices.deny", "a"),
            ("devices/berth/c1/devices.allow", "c 1:3 rwm"),
            ("devices/berth/c1/devices.allow", "c 136:* rw"),
            ("memory/berth/c1/memory.limit_in_bytes", "67108864"),
            ("memory/berth/c1/memory.soft_limit_in_bytes", "33554432"),
            ("memory/berth/c1/memory.swappiness", "10"),
            ("memory/berth/c1/memory.oom_control", "1"),
            ("cpu/berth/c1/cpu.shares", "512"),
            ("cpu/berth/c1/cpu.cfs_period_us", "100000"),
            ("cpu/berth/c1/cpu.cfs_quota_us", "50000"),
            ("pids/berth/c1/pids.max", "10"),
            ("blkio/berth/c1/blkio.bfq.weight", "500"),
            ("blkio/berth/c1/blkio.bfq.weight_device", "8:0 300"),
            ("blkio/berth/c1/blkio.throttle.read_bps_device", "8:0 1048576"),
            ("blkio/berth/c1/blkio.throttle.write_iops_device", "8:16 100"),
        ], t.RelWrites);
        Assert.Single(warnings, w => w.Contains("kernel memory", StringComparison.Ordinal));
    }

    [Fact]
    public void Devices_StartFromDenyAll_EvenWithoutALeadingDenyRule()
    {
        var (t, mgr) = Setup();
        using var _ = t;
        mgr.Set(new CgroupResources
        {
            Devices = [new DeviceRule(true, 'c', 1, 3, "rwm"), new DeviceRule(true, 'c', 1, 5, "rwm"), new DeviceRule(false, 'c', 1, 5, "w")],
        });
        Assert.Equal(
        [
            ("devices/berth/c1/devices.deny", "a"),
            ("devices/berth/c1/devices.allow", "c 1:3 rwm"),
            ("devices/berth/c1/devices.allow", "c 1:5 rwm"),
            ("devices/berth/c1/devices.deny", "c 1:5 w"),
        ], t.RelWrites);
    }

    [Fact]
    public void Devices_AllowAll_IsWrittenAfterTheDenyAll()
    {
        var (t, mgr) = Setup();
        using var _ = t;
        mgr.Set(new CgroupResources { Devices = [new DeviceRule(true)] }); // privileged: allow everything
        Assert.Equal([("devices/berth/c1/devices.deny", "a"), ("devices/berth/c1/devices.allow", "a")], t.RelWrites);
    }

    [Fact]
    public void Devices_NoRules_WriteNothing()
    {
        var (t, mgr) = Setup();
        using var _ = t;
        mgr.Set(new CgroupResources { Devices = [] });
        Assert.DoesNotContain(t.RelWrites, w => w.File.StartsWith("devices/", StringComparison.Ordinal));
    }

    [Fact]
    public void Memory_Raising_WritesMemswFirst()
    {
        var (t, mgr) = Setup();
        using var _ = t;
        File.WriteAllText(Path.Combine(t.Base, "memory/berth/c1/memory.limit_in_bytes"), "67108864");
        mgr.Set(new CgroupResources { Memory = new MemoryResources { Limit = 128 << 20, Swap = 256 << 20 } });
        Assert.Equal(
            [("memory/berth/c1/memory.memsw.limit_in_bytes", "268435456"), ("memory/berth/c1/memory.limit_in_bytes", "134217728")],
            t.RelWrites);
    }

    [Fact]
    public void Memory_Lowering_WritesLimitFirst()
    {
        var (t, mgr) = Setup();
        using var _ = t;
        File.WriteAllText(Path.Combine(t.Base, "memory/berth/c1/memory.limit_in_bytes"), "536870912");
        mgr.Set(new CgroupResources { Memory = new MemoryResources { Limit = 64 << 20, Swap = 128 << 20 } });
        Assert.Equal(
            [("memory/berth/c1/memory.limit_in_bytes", "67108864"), ("memory/berth/c1/memory.memsw.limit_in_bytes", "134217728")],
            t.RelWrites);
    }

    [Fact]
    public void Memory_UnlimitedLimit_SetsSwapUnlimitedFirst()
    {
        var (t, mgr) = Setup();
        using var _ = t;
        mgr.Set(new CgroupResources { Memory = new MemoryResources { Limit = -1 } });
        Assert.Equal(
            [("memory/berth/c1/memory.memsw.limit_in_bytes", "-1"), ("memory/berth/c1/memory.limit_in_bytes", "-1")],
            t.RelWrites);
    }

    [Fact]
    public void Memory_NoSwapAccounting_SwapEqualToLimitIsFine_DifferentIsAnError()
    {
        var (t, mgr) = Setup(memsw: false);
        using var _ = t;
        mgr.Set(new CgroupResources { Memory = new MemoryResources { Limit = 64 << 20, Swap = 64 << 20 } });
        Assert.Equal([("memory/berth/c1/memory.limit_in_bytes", "67108864")], t.RelWrites);

        var e = Assert.Throws<BerthException>(() => mgr.Set(new CgroupResources { Memory = new MemoryResources { Limit = 64 << 20, Swap = 128 << 20 } }));
        Assert.Contains("memory.memsw.limit_in_bytes", e.Message, StringComparison.Ordinal);
        Assert.Contains("swap accounting", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void PidsZeroOrNegative_IsMax()
    {
        var (t, mgr) = Setup();
        using var _ = t;
        mgr.Set(new CgroupResources { Pids = new PidsResources { Limit = 0 } });
        mgr.Set(new CgroupResources { Pids = new PidsResources { Limit = -1 } });
        Assert.Equal([("pids/berth/c1/pids.max", "max"), ("pids/berth/c1/pids.max", "max")], t.RelWrites);
    }

    [Fact]
    public void CpuQuotaUnlimited_AndRealtime()
    {
        var (t, mgr) = Setup();
        using var _ = t;
        mgr.Set(new CgroupResources { Cpu = new CpuResources { Quota = -1, RealtimePeriod = 1000000, RealtimeRuntime = 950000 } });
        Assert.Equal(
            [("cpu/berth/c1/cpu.cfs_quota_us", "-1"), ("cpu/berth/c1/cpu.rt_period_us", "1000000"), ("cpu/berth/c1/cpu.rt_runtime_us", "950000")],
            t.RelWrites);
    }

    [Theory]
    [InlineData(1UL)]
    [InlineData(262145UL)]
    public void InvalidShares_AreInvalidParameter(ulong shares)
    {
        var (t, mgr) = Setup();
        using var _ = t;
        var e = Assert.Throws<BerthException>(() => mgr.Set(new CgroupResources { Cpu = new CpuResources { Shares = shares } }));
        Assert.Equal(ErrorKind.InvalidParameter, e.Kind);
        Assert.Empty(t.Writes);
    }

    [Fact]
    public void InvalidValues_AreInvalidParameter_BeforeAnyWrite()
    {
        var (t, mgr) = Setup();
        using var _ = t;
        CgroupResources[] bad =
        [
            new() { Memory = new MemoryResources { Swappiness = 101 } },
            new() { Memory = new MemoryResources { Limit = 128 << 20, Swap = 64 << 20 } },
            new() { Memory = new MemoryResources { Limit = -5 } },
            new() { BlockIO = new BlockIOResources { Weight = 5 } },
            new() { Devices = [new DeviceRule(true, 'x')] },
            new() { Devices = [new DeviceRule(true, 'c', 1, 3, "rwx")] },
            new() { Cpu = new CpuResources { Cpus = "0-a" } },
            new() { Cpu = new CpuResources { Cpus = "3-1" } },
            new() { Cpu = new CpuResources { Mems = "99999999999" } },
            new() { Cpu = new CpuResources { Quota = -2 } },
            new() { HugepageLimits = [new HugepageLimit("2M", 1)] },
            new() { Unified = new Dictionary<string, string> { ["memory.high"] = "1" } },
        ];
        foreach (var r in bad)
        {
            var e = Assert.Throws<BerthException>(() => mgr.Set(r));
            Assert.Equal(ErrorKind.InvalidParameter, e.Kind);
        }

        Assert.Empty(t.Writes);
    }

    [Fact]
    public void KernelRejection_NamesFileAndValue()
    {
        var (t, mgr) = Setup();
        using var _ = t;
        // A directory where a control file should be: open(O_WRONLY) fails with EISDIR, like a kernel refusal.
        var file = Path.Combine(t.Base, "pids/berth/c1/pids.max");
        File.Delete(file);
        Directory.CreateDirectory(file);
        var e = Assert.Throws<CgroupWriteException>(() => mgr.Set(new CgroupResources { Pids = new PidsResources { Limit = 12 } }));
        Assert.StartsWith("cgroup pids: write pids.max=12: Is a directory", e.Message, StringComparison.Ordinal);
        Assert.Equal("pids", e.Controller);
        Assert.Equal("12", e.Value);
    }

    [Fact]
    public void MissingControlFile_IsNotFoundAndNamed()
    {
        var (t, mgr) = Setup();
        using var _ = t;
        File.Delete(Path.Combine(t.Base, "cpu/berth/c1/cpu.cfs_quota_us"));
        var e = Assert.Throws<CgroupWriteException>(() => mgr.Set(new CgroupResources { Cpu = new CpuResources { Quota = 1000 } }));
        Assert.Equal(ErrorKind.NotFound, e.Kind);
        Assert.StartsWith("cgroup cpu: write cpu.cfs_quota_us=1000: No such file or directory", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void CgroupWriteException_ClassifiesEinvalAsInvalidParameter()
    {
        var e = new CgroupWriteException("memory", "/x/memory.limit_in_bytes", "12", 22, "Invalid argument");
        Assert.Equal(ErrorKind.InvalidParameter, e.Kind);
        Assert.Equal("cgroup memory: write memory.limit_in_bytes=12: Invalid argument (/x/memory.limit_in_bytes)", e.Message);
        Assert.Equal(ErrorKind.System, new CgroupWriteException("memory", "/x/memory.limit_in_bytes", "12", 16, "Device or resource busy").Kind);
    }

    [Fact]
    public void BlkioWeight_PrefersCfqFile()
    {
        var (t, mgr) = Setup();
        using var _ = t;
        t.Seed("blkio/berth/c1", ("blkio.weight", "500"));
        mgr.Set(new CgroupResources { BlockIO = new BlockIOResources { Weight = 300 } });
        Assert.Equal([("blkio/berth/c1/blkio.weight", "300")], t.RelWrites);
    }

    [Fact]
    public void MissingController_IsUnavailable()
    {
        using var t = new FakeTree();
        var root = t.V1(["cpu", "memory"]);
        var mgr = CgroupManagerFactory.Create("/c", "c", root);
        var e = Assert.Throws<BerthException>(() => mgr.Set(new CgroupResources { Pids = new PidsResources { Limit = 3 } }));
        Assert.Equal(ErrorKind.Unavailable, e.Kind);
        Assert.Contains("pids", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Hybrid_HugetlbGoesToUnifiedHierarchy()
    {
        using var t = new FakeTree();
        var root = t.V1(unified: "unified");
        t.Seed("unified", ("cgroup.controllers", "hugetlb"), ("cgroup.subtree_control", ""));
        t.Seed("unified/c", ("cgroup.controllers", "hugetlb"), ("hugetlb.2MB.max", "max"));
        Assert.Equal(CgroupMode.Hybrid, root.Mode);
        var mgr = CgroupManagerFactory.Create("/c", "c", root);
        var warnings = mgr.Set(new CgroupResources { HugepageLimits = [new HugepageLimit("2MB", 4 << 20)] });
        Assert.Empty(warnings);
        Assert.Equal([("unified/cgroup.subtree_control", "+hugetlb"), ("unified/c/hugetlb.2MB.max", "4194304")], t.RelWrites);
    }

    [Fact]
    public void NoHugetlbAnywhere_Warns()
    {
        using var t = new FakeTree();
        var mgr = CgroupManagerFactory.Create("/c", "c", t.V1());
        var warnings = mgr.Set(new CgroupResources { HugepageLimits = [new HugepageLimit("2MB", 4 << 20)] });
        Assert.Single(warnings);
    }

    [Fact]
    public void FreezeThaw_UseFreezerState()
    {
        var (t, mgr) = Setup();
        using var _ = t;
        mgr.Freeze();
        Assert.Equal("FROZEN", t.Read("freezer/berth/c1/freezer.state"));
        mgr.Thaw();
        Assert.Equal("THAWED", t.Read("freezer/berth/c1/freezer.state"));
    }

    [Fact]
    public void OomKillCount_FromOomControl()
    {
        var (t, mgr) = Setup();
        using var _ = t;
        Assert.Equal(0UL, mgr.OomKillCount());
        t.Seed("memory/berth/c1", ("memory.oom_control", "oom_kill_disable 0\nunder_oom 0\noom_kill 3\n"), ("memory.failcnt", "17"));
        Assert.Equal(3UL, mgr.OomKillCount());
        Assert.Equal(17UL, ((V1.V1CgroupManager)mgr).MemoryFailCount());
    }

    [Fact]
    public void GetPids_WalksTheTree()
    {
        var (t, mgr) = Setup();
        using var _ = t;
        t.Seed("pids/berth/c1", ("cgroup.procs", "10\n11\n"));
        t.Seed("pids/berth/c1/sub", ("cgroup.procs", "12\n"));
        Assert.Equal([10, 11, 12], mgr.GetPids().Order());
    }

    [Fact]
    public void Destroy_RemovesEveryControllerDir_AndIsIdempotent()
    {
        var (t, mgr) = Setup();
        using var _ = t;
        t.Seed("memory/berth/c1/child", ("cgroup.procs", ""));
        Assert.True(mgr.Exists());
        mgr.Destroy();
        Assert.False(mgr.Exists());
        foreach (var c in FakeTree.V1Controllers)
        {
            Assert.False(Directory.Exists(Path.Combine(t.Base, c, "berth/c1")));
            Assert.True(Directory.Exists(Path.Combine(t.Base, c, "berth")), "parents are left alone");
        }

        mgr.Destroy();
        mgr.KillAll();
        Assert.Empty(mgr.GetPids());
    }
}
