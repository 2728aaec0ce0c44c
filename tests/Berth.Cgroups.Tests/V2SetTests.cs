using Berth.Cgroups.V2;
using Berth.Core;

namespace Berth.Cgroups.Tests;

public class V2SetTests
{
    private static (FakeTree Tree, ICgroupManager Mgr) Setup(string controllers = "cpuset cpu io memory hugetlb pids")
    {
        var t = new FakeTree();
        var root = t.V2(controllers);
        t.SeedV2Container("berth/c1", controllers);
        return (t, CgroupManagerFactory.Create("/berth/c1", "c1", root));
    }

    [Theory]
    [InlineData(2UL, 1UL)]
    [InlineData(1024UL, 39UL)]
    [InlineData(512UL, 20UL)]
    [InlineData(262144UL, 10000UL)]
    [InlineData(0UL, 0UL)]
    public void SharesToWeight_LikeRunc(ulong shares, ulong weight) => Assert.Equal(weight, V2Resources.SharesToWeight(shares));

    [Theory]
    [InlineData(10UL, 1UL)]
    [InlineData(500UL, 4950UL)]
    [InlineData(1000UL, 10000UL)]
    [InlineData(100UL, 910UL)]
    public void BlkioWeightToIoWeight(ulong w, ulong expected) => Assert.Equal(expected, V2Resources.BlkioWeightToIoWeight(w));

    [Theory]
    [InlineData(0L, 100L, 0L)]
    [InlineData(-1L, 100L, -1L)]
    [InlineData(0L, -1L, -1L)]
    [InlineData(300L, 100L, 200L)]
    [InlineData(100L, 100L, 0L)]
    public void SwapConversion(long swap, long memory, long expected) => Assert.Equal(expected, V2Resources.SwapToV2(swap, memory));

    [Fact]
    public void Apply_EnablesControllersInAncestors_AndJoins()
    {
        var (t, mgr) = Setup();
        using var _ = t;
        mgr.Apply(77);
        var writes = t.RelWrites;
        foreach (var c in new[] { "cpuset", "cpu", "io", "memory", "hugetlb", "pids" })
        {
            Assert.Contains(("cgroup.subtree_control", "+" + c), writes);
            Assert.Contains(("berth/cgroup.subtree_control", "+" + c), writes);
        }

        Assert.DoesNotContain(writes, w => w.File == "berth/c1/cgroup.subtree_control");
        Assert.Equal(("berth/c1/cgroup.procs", "77"), writes[^1]);
    }

    [Fact]
    public void Apply_SkipsAlreadyEnabled()
    {
        using var t = new FakeTree();
        t.Seed("", ("cgroup.controllers", "cpu memory"), ("cgroup.subtree_control", "memory"));
        var mgr = CgroupManagerFactory.Create("/x", "x", CgroupRoot.ForV2(t.Base));
        mgr.Apply(0);
        Assert.Equal([("cgroup.subtree_control", "+cpu")], t.RelWrites);
        Assert.True(mgr.Exists());
    }

    [Fact]
    public void Set_WritesExpectedFiles()
    {
        var (t, mgr) = Setup();
        using var _ = t;
        var deviceCalls = new List<(string Dir, IReadOnlyList<DeviceRule> Rules)>();
        ((V2CgroupManager)mgr).DeviceFilterApplier = (dir, rules) => deviceCalls.Add((dir, rules));
        var warnings = mgr.Set(new CgroupResources
        {
            Memory = new MemoryResources { Limit = 64 << 20, Swap = 96 << 20, Reservation = 32 << 20, Swappiness = 0 },
            Cpu = new CpuResources { Shares = 1024, Quota = 50000, Period = 100000, Cpus = "0", Mems = "0" },
            Pids = new PidsResources { Limit = 10 },
            BlockIO = new BlockIOResources
            {
                Weight = 500,
                ThrottleReadBpsDevice = [new ThrottleDevice(8, 0, 1000)],
                ThrottleWriteBpsDevice = [new ThrottleDevice(8, 0, 2000)],
                ThrottleReadIOPSDevice = [new ThrottleDevice(8, 16, 30)],
                ThrottleWriteIOPSDevice = [new ThrottleDevice(8, 0, 40)],
            },
            HugepageLimits = [new HugepageLimit("2MB", 8 << 20)],
            Devices = [new DeviceRule(false)],
            Unified = new Dictionary<string, string> { ["memory.high"] = "50000000" },
        });

        Assert.Equal(
        [
            ("berth/c1/pids.max", "10"),
            ("berth/c1/memory.swap.max", "33554432"),
            ("berth/c1/memory.max", "67108864"),
            ("berth/c1/memory.low", "33554432"),
            ("berth/c1/io.weight", "4950"),
            ("berth/c1/io.max", "8:0 rbps=1000 wbps=2000 wiops=40"),
            ("berth/c1/io.max", "8:16 riops=30"),
            ("berth/c1/cpu.weight", "39"),
            ("berth/c1/cpu.max", "50000 100000"),
            ("berth/c1/cpuset.cpus", "0"),
            ("berth/c1/cpuset.mems", "0"),
            ("berth/c1/hugetlb.2MB.max", "8388608"),
            ("berth/c1/memory.high", "50000000"),
        ], t.RelWrites);
        var call = Assert.Single(deviceCalls);
        Assert.Equal(((V2CgroupManager)mgr).Dir, call.Dir);
        Assert.Equal([new DeviceRule(false)], call.Rules);
        Assert.DoesNotContain(warnings, w => w.Contains("device", StringComparison.Ordinal));
        Assert.Contains(warnings, w => w.Contains("swappiness", StringComparison.Ordinal));
    }

    [Fact]
    public void Memory_Unlimited_AndSwapEqualsLimit()
    {
        var (t, mgr) = Setup();
        using var _ = t;
        mgr.Set(new CgroupResources { Memory = new MemoryResources { Limit = -1 } });
        mgr.Set(new CgroupResources { Memory = new MemoryResources { Limit = 100, Swap = 100 } });
        Assert.Equal(
        [
            ("berth/c1/memory.swap.max", "max"), ("berth/c1/memory.max", "max"),
            ("berth/c1/memory.swap.max", "0"), ("berth/c1/memory.max", "100"),
        ], t.RelWrites);
    }

    [Fact]
    public void Memory_NoSwapFile_MaxIsIgnored()
    {
        var (t, mgr) = Setup();
        using var _ = t;
        File.Delete(Path.Combine(t.Base, "berth/c1/memory.swap.max"));
        mgr.Set(new CgroupResources { Memory = new MemoryResources { Limit = -1 } });
        Assert.Equal([("berth/c1/memory.max", "max")], t.RelWrites);
    }

    [Fact]
    public void CpuMax_QuotaOnly_PeriodOnly()
    {
        var (t, mgr) = Setup();
        using var _ = t;
        mgr.Set(new CgroupResources { Cpu = new CpuResources { Quota = 20000 } });
        mgr.Set(new CgroupResources { Cpu = new CpuResources { Quota = -1, Period = 50000 } });
        Assert.Equal([("berth/c1/cpu.max", "20000"), ("berth/c1/cpu.max", "max 50000")], t.RelWrites);
    }

    [Fact]
    public void MissingController_IsAClearError()
    {
        var (t, mgr) = Setup("cpu memory");
        using var _ = t;
        var e = Assert.Throws<BerthException>(() => mgr.Set(new CgroupResources { Pids = new PidsResources { Limit = 5 } }));
        Assert.Equal(ErrorKind.Unavailable, e.Kind);
        Assert.Contains("\"pids\"", e.Message, StringComparison.Ordinal);
        Assert.Empty(t.Writes);
    }

    [Fact]
    public void UnknownHugepageSize_IsInvalid()
    {
        var (t, mgr) = Setup();
        using var _ = t;
        var e = Assert.Throws<BerthException>(() => mgr.Set(new CgroupResources { HugepageLimits = [new HugepageLimit("64KB", 1)] }));
        Assert.Equal(ErrorKind.InvalidParameter, e.Kind);
        Assert.Contains("hugetlb.64KB.max", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void UnknownUnifiedKey_IsInvalid()
    {
        var (t, mgr) = Setup("cpu memory");
        using var _ = t;
        Assert.Equal(ErrorKind.InvalidParameter, Assert.Throws<BerthException>(() =>
            mgr.Set(new CgroupResources { Unified = new Dictionary<string, string> { ["memory.nonexistent"] = "1" } })).Kind);
        Assert.Equal(ErrorKind.InvalidParameter, Assert.Throws<BerthException>(() =>
            mgr.Set(new CgroupResources { Unified = new Dictionary<string, string> { ["io.max"] = "1" } })).Kind);
        Assert.Equal(ErrorKind.InvalidParameter, Assert.Throws<BerthException>(() =>
            mgr.Set(new CgroupResources { Unified = new Dictionary<string, string> { ["../x.y"] = "1" } })).Kind);
    }

    [Fact]
    public void FreezeThaw_KillWithCgroupKill_Oom_Destroy()
    {
        var (t, mgr) = Setup();
        using var _ = t;
        mgr.Freeze();
        Assert.Equal("1", t.Read("berth/c1/cgroup.freeze"));
        mgr.Thaw();
        Assert.Equal("0", t.Read("berth/c1/cgroup.freeze"));

        t.Seed("berth/c1", ("cgroup.kill", ""));
        mgr.KillAll();
        Assert.Equal("1", t.Read("berth/c1/cgroup.kill"));

        t.Seed("berth/c1", ("memory.events", "low 0\nhigh 0\nmax 5\noom 2\noom_kill 2\noom_group_kill 0\n"));
        Assert.Equal(2UL, mgr.OomKillCount());

        mgr.Destroy();
        Assert.False(mgr.Exists());
        Assert.True(Directory.Exists(Path.Combine(t.Base, "berth")));
        mgr.Destroy();
    }
}
