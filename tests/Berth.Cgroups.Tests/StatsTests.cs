using System.Text.Json;

namespace Berth.Cgroups.Tests;

public class StatsTests
{
    [Fact]
    public void V1Stats_FromFixtures()
    {
        using var t = new FakeTree();
        var root = t.V1();
        t.SeedV1Container("c");
        t.Seed("cpuacct/c", ("cpuacct.usage", "123456789"), ("cpuacct.usage_percpu", "100 200 \n"),
            ("cpuacct.stat", "user 150\nsystem 50\n"), ("cpuacct.usage_all", "cpu user system\n0 70 30\n1 150 50\n"));
        t.Seed("cpu/c", ("cpu.stat", "nr_periods 10\nnr_throttled 3\nthrottled_time 4000\n"));
        t.Seed("memory/c", ("memory.usage_in_bytes", "4096000"), ("memory.max_usage_in_bytes", "8192000"), ("memory.failcnt", "2"),
            ("memory.limit_in_bytes", "67108864"), ("memory.memsw.usage_in_bytes", "4096000"), ("memory.memsw.max_usage_in_bytes", "8192000"),
            ("memory.memsw.failcnt", "0"), ("memory.memsw.limit_in_bytes", "9223372036854771712"),
            ("memory.kmem.usage_in_bytes", "1000"), ("memory.kmem.limit_in_bytes", "9223372036854771712"),
            ("memory.stat", "cache 8192\nrss 4000000\ntotal_cache 8192\nhierarchical_memory_limit 67108864\n"));
        t.Seed("pids/c", ("pids.current", "1"), ("pids.max", "10"));
        t.Seed("blkio/c", ("blkio.throttle.io_service_bytes_recursive", "8:0 Read 4096\n8:0 Write 8192\n8:0 Sync 0\n8:0 Async 12288\n8:0 Discard 0\n8:0 Total 12288\nTotal 12288\n"),
            ("blkio.throttle.io_serviced_recursive", "8:0 Read 1\n8:0 Write 2\nTotal 3\n"),
            ("blkio.bfq.io_service_bytes_recursive", "Total 0\n"), ("blkio.bfq.io_serviced_recursive", "Total 0\n"));

        var s = CgroupManagerFactory.Create("/c", "c", root).Stats();
        Assert.Equal(123456789UL, s.Cpu.Usage.Total);
        Assert.Equal([100UL, 200UL], s.Cpu.Usage.PerCpu!);
        Assert.Equal(1_500_000_000UL, s.Cpu.Usage.User);
        Assert.Equal(500_000_000UL, s.Cpu.Usage.Kernel);
        Assert.Equal([70UL, 150UL], s.Cpu.Usage.PerCpuUser!);
        Assert.Equal([30UL, 50UL], s.Cpu.Usage.PerCpuKernel!);
        Assert.Equal(10UL, s.Cpu.Throttling.Periods);
        Assert.Equal(3UL, s.Cpu.Throttling.ThrottledPeriods);
        Assert.Equal(4000UL, s.Cpu.Throttling.ThrottledTime);
        Assert.Equal(8192UL, s.Memory.Cache);
        Assert.Equal(4096000UL, s.Memory.Usage.Usage);
        Assert.Equal(8192000UL, s.Memory.Usage.Max);
        Assert.Equal(2UL, s.Memory.Usage.Failcnt);
        Assert.Equal(67108864UL, s.Memory.Usage.Limit);
        Assert.Equal(9223372036854771712UL, s.Memory.Swap.Limit);
        Assert.Equal(1000UL, s.Memory.Kernel.Usage);
        Assert.Equal(4000000UL, s.Memory.Raw!["rss"]);
        Assert.Equal(1UL, s.Pids.Current);
        Assert.Equal(10UL, s.Pids.Limit);
        Assert.Equal(6, s.Blkio.IoServiceBytesRecursive!.Count);
        Assert.Equal(new BlkioEntry { Major = 8, Minor = 0, Op = "Read", Value = 4096 }.Value, s.Blkio.IoServiceBytesRecursive[0].Value);
        Assert.Equal("Write", s.Blkio.IoServiceBytesRecursive[1].Op);
        Assert.Equal(2, s.Blkio.IoServicedRecursive!.Count);
    }

    [Fact]
    public void V2Stats_FromFixtures()
    {
        using var t = new FakeTree();
        var root = t.V2();
        t.SeedV2Container("c");
        t.Seed("c", ("cpu.stat", "usage_usec 2000\nuser_usec 1500\nsystem_usec 500\nnr_periods 7\nnr_throttled 1\nthrottled_usec 30\n"),
            ("memory.current", "5000000"), ("memory.max", "67108864"), ("memory.peak", "6000000"),
            ("memory.swap.current", "1000"), ("memory.swap.max", "max"),
            ("memory.events", "low 0\nhigh 0\nmax 4\noom 1\noom_kill 1\n"),
            ("memory.stat", "anon 4000000\nfile 90000\nkernel 1000\n"),
            ("pids.current", "3"), ("pids.max", "max"),
            ("io.stat", "8:0 rbytes=4096 wbytes=8192 rios=1 wios=2 dbytes=0 dios=0\n"),
            ("hugetlb.2MB.current", "2097152"), ("hugetlb.2MB.events", "max 1\n"), ("hugetlb.2MB.rsvd.current", "0"));

        var s = CgroupManagerFactory.Create("/c", "c", root).Stats();
        Assert.Equal(2_000_000UL, s.Cpu.Usage.Total);
        Assert.Equal(1_500_000UL, s.Cpu.Usage.User);
        Assert.Equal(500_000UL, s.Cpu.Usage.Kernel);
        Assert.Equal(30_000UL, s.Cpu.Throttling.ThrottledTime);
        Assert.Equal(90000UL, s.Memory.Cache);
        Assert.Equal(5000000UL, s.Memory.Usage.Usage);
        Assert.Equal(67108864UL, s.Memory.Usage.Limit);
        Assert.Equal(6000000UL, s.Memory.Usage.Max);
        Assert.Equal(4UL, s.Memory.Usage.Failcnt);
        Assert.Equal(5001000UL, s.Memory.Swap.Usage);
        Assert.Equal(ulong.MaxValue, s.Memory.Swap.Limit);
        Assert.Equal(3UL, s.Pids.Current);
        Assert.Equal(0UL, s.Pids.Limit);
        Assert.Equal(3, s.Blkio.IoServiceBytesRecursive!.Count);
        Assert.Equal(("Read", 4096UL), (s.Blkio.IoServiceBytesRecursive[0].Op, s.Blkio.IoServiceBytesRecursive[0].Value));
        Assert.Equal(("Write", 2UL), (s.Blkio.IoServicedRecursive![1].Op, s.Blkio.IoServicedRecursive[1].Value));
        var h = Assert.Single(s.Hugetlb);
        Assert.Equal("2MB", h.Key);
        Assert.Equal(2097152UL, h.Value.Usage);
        Assert.Equal(1UL, h.Value.Failcnt);
    }

    [Fact]
    public void Json_UsesRuncNames_AndOmitsEmpty()
    {
        var s = new CgroupStats();
        s.Cpu.Usage.Total = 5;
        s.Cpu.Usage.PerCpu = [2, 3];
        s.Memory.Usage = new MemoryEntry { Usage = 10, Limit = 20 };
        s.Memory.Raw = new Dictionary<string, ulong> { ["rss"] = 1 };
        s.Pids.Current = 1;
        s.Blkio.IoServiceBytesRecursive = [new BlkioEntry { Major = 8, Minor = 0, Op = "Read", Value = 4 }];
        var json = JsonSerializer.Serialize(s, CgroupStatsJsonContext.Default.CgroupStats);
        Assert.Equal(
            """{"cpu":{"usage":{"total":5,"percpu":[2,3]},"throttling":{}},"memory":{"usage":{"limit":20,"usage":10,"failcnt":0},"swap":{"limit":0,"failcnt":0},"kernel":{"limit":0,"failcnt":0},"kernelTCP":{"limit":0,"failcnt":0},"raw":{"rss":1}},"pids":{"current":1},"blkio":{"ioServiceBytesRecursive":[{"major":8,"op":"Read","value":4}]},"hugetlb":{}}""",
            json);
        var back = JsonSerializer.Deserialize(json, CgroupStatsJsonContext.Default.CgroupStats)!;
        Assert.Equal(10UL, back.Memory.Usage.Usage);
    }
}
