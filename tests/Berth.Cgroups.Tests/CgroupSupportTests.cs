using Berth.Cgroups.V2;

namespace Berth.Cgroups.Tests;

/// <summary>What the host can limit (dockerd's sysinfo), read from fake v1 and v2 trees.</summary>
public class CgroupSupportTests
{
    [Fact]
    public void V1_FromTheControlFilesOfEachRoot()
    {
        using var t = new FakeTree();
        var root = t.V1();
        var none = CgroupSupport.Of(root);
        Assert.False(none.Unified);
        Assert.False(none.MemorySwappiness || none.OomKillDisable || none.CpuRealtime || none.BlkioWeight || none.BlkioWeightDevice
                     || none.BlkioReadBpsDevice || none.BlkioWriteIOpsDevice);

        // This host's shape: throttles, swappiness, oom_control, rt; no weight files (no CFQ/BFQ).
        t.Seed("memory", ("memory.swappiness", "60"), ("memory.oom_control", ""));
        t.Seed("cpu", ("cpu.rt_period_us", "1000000"), ("cpu.rt_runtime_us", "950000"));
        t.Seed("blkio", ("blkio.throttle.read_bps_device", ""), ("blkio.throttle.write_bps_device", ""),
            ("blkio.throttle.read_iops_device", ""), ("blkio.throttle.write_iops_device", ""));
        var s = CgroupSupport.Of(root);
        Assert.True(s.MemorySwappiness && s.OomKillDisable && s.CpuRealtime);
        Assert.True(s.BlkioReadBpsDevice && s.BlkioWriteBpsDevice && s.BlkioReadIOpsDevice && s.BlkioWriteIOpsDevice);
        Assert.False(s.BlkioWeight || s.BlkioWeightDevice);

        t.Seed("blkio", ("blkio.bfq.weight", "100"), ("blkio.bfq.weight_device", ""));
        s = CgroupSupport.Of(root);
        Assert.True(s.BlkioWeight && s.BlkioWeightDevice);
    }

    [Fact]
    public void V2_IoLimitsWithTheIoController_NoV1OnlyFeatures()
    {
        using var t = new FakeTree();
        var s = CgroupSupport.Of(t.V2("cpuset cpu io memory pids"));
        Assert.True(s.Unified);
        Assert.True(s.BlkioWeight && s.BlkioWeightDevice && s.BlkioReadBpsDevice && s.BlkioWriteIOpsDevice);
        Assert.False(s.MemorySwappiness || s.OomKillDisable || s.CpuRealtime);

        using var t2 = new FakeTree();
        Assert.False(CgroupSupport.Of(t2.V2("cpu memory pids")).BlkioReadBpsDevice);
    }

    [Fact]
    public void V2_ADeviceAndAThrottleOfAContainerReachIoMaxAndTheEbpfFilter()
    {
        using var t = new FakeTree();
        var root = t.V2();
        t.SeedV2Container("berth/c1");
        var mgr = (V2.V2CgroupManager)CgroupManagerFactory.Create("/berth/c1", "c1", root);
        var rules = new List<DeviceRule>();
        mgr.DeviceFilterApplier = (_, r) => rules.AddRange(r);
        // What ContainerCgroup.Map makes of `--device /dev/loop0:/dev/xx:r --device-write-bps /dev/loop0:1mb`.
        mgr.Set(new CgroupResources
        {
            BlockIO = new BlockIOResources { ThrottleWriteBpsDevice = [new ThrottleDevice(7, 0, 1048576)] },
            Devices = [new DeviceRule(false), new DeviceRule(true, 'b', 7, 0, "r"), new DeviceRule(true, 'c', 1, 3, "rwm")],
        });
        Assert.Contains(("berth/c1/io.max", "7:0 wbps=1048576"), t.RelWrites);
        Assert.Contains(new DeviceRule(true, 'b', 7, 0, "r"), rules);
        // The eBPF program made from them (run by DeviceFilterTests' interpreter): read allowed, write refused.
        var prog = DeviceFilter.Generate(rules);
        Assert.Equal(1UL, DeviceFilterTests.Run(prog, DeviceFilter.DevBlock, DeviceFilter.AccRead, 7, 0));
        Assert.Equal(0UL, DeviceFilterTests.Run(prog, DeviceFilter.DevBlock, DeviceFilter.AccWrite, 7, 0));
    }
}
