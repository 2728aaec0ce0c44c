using System.Text.Json;
using Berth.Cgroups;
using Berth.Engine.Containers;
using Berth.Engine.Stats;

namespace Berth.Engine.Tests;

/// <summary>Docker's stats JSON computed from cgroup v1 and v2 files in a temporary tree, /proc/stat and net/dev.</summary>
public sealed class StatsJsonTests : IDisposable
{
    private readonly string _root = Directory.CreateTempSubdirectory("bst-").FullName;

    public void Dispose() => Directory.Delete(_root, recursive: true);

    private void Seed(string dir, params (string Name, string Text)[] files)
    {
        Directory.CreateDirectory(Path.Combine(_root, dir));
        foreach (var (n, t) in files) File.WriteAllText(Path.Combine(_root, dir, n), t);
    }

    private static JsonElement Json(StatsSample cur, StatsSample? pre)
    {
        var ms = new MemoryStream();
        using (var w = new Utf8JsonWriter(ms)) StatsJson.Write(w, "web", "abc", cur, pre);
        return JsonDocument.Parse(ms.ToArray()).RootElement;
    }

    [Fact]
    public void V1_CpuMemoryPidsBlkioNetworks()
    {
        foreach (var c in new[] { "cpu", "cpuacct", "memory", "pids", "blkio", "freezer" }) Seed(c + "/c", ("cgroup.procs", "7\n"));
        Seed("cpuacct/c", ("cpuacct.usage", "104082822"), ("cpuacct.usage_percpu", "47164365 56918457 \n"), ("cpuacct.stat", "user 7\nsystem 3\n"));
        Seed("cpu/c", ("cpu.stat", "nr_periods 0\nnr_throttled 0\nthrottled_time 0\n"));
        Seed("memory/c", ("memory.usage_in_bytes", "716800"), ("memory.max_usage_in_bytes", "4083712"), ("memory.failcnt", "0"),
            ("memory.limit_in_bytes", "9223372036854771712"),
            ("memory.stat", "cache 380928\nrss 49152\ninactive_file 200704\ntotal_inactive_file 200704\nhierarchical_memory_limit 9223372036854771712\nsomething_else 5\n"));
        Seed("pids/c", ("pids.current", "1"), ("pids.max", "max"));
        Seed("blkio/c", ("blkio.throttle.io_service_bytes_recursive", "8:0 Read 4096\n8:0 Write 8192\nTotal 12288\n"),
            ("blkio.throttle.io_serviced_recursive", "8:0 Read 1\n8:0 Write 2\nTotal 3\n"));
        Seed("proc/7/net", ("dev", """
            Inter-|   Receive                                                |  Transmit
             face |bytes    packets errs drop fifo frame compressed multicast|bytes    packets errs drop fifo colls carrier compressed
                lo:     100       1    0    0    0     0          0         0      100       1    0    0    0     0       0          0
              eth0:    1320      15    0    0    0     0          0         0      684       8    0    0    0     0       0          0
            """));
        Seed("proc", ("stat", "cpu  100 0 50 1000 10 0 5 7 0 0\ncpu0 1 2 3\n"), ("meminfo", "MemTotal:       24684084 kB\nMemFree: 1 kB\n"));

        var root = CgroupRoot.ForV1(_root, ["cpu", "cpuacct", "memory", "pids", "blkio", "freezer"]);
        var cg = CgroupManagerFactory.Create("/c", "c", root);
        var cur = HostStats.Sample(cg, 7, Path.Combine(_root, "proc"));
        var pre = new StatsSample { Read = cur.Read.AddSeconds(-1), Cgroup = new CgroupStats(), SystemCpuUsage = 1_000_000_000, OnlineCpus = 2 };
        var j = Json(cur, pre);

        Assert.Equal(1165UL * 10_000_000, cur.SystemCpuUsage); // user..softirq in ticks of 10 ms
        var cpu = j.GetProperty("cpu_stats");
        Assert.Equal(104082822, cpu.GetProperty("cpu_usage").GetProperty("total_usage").GetInt64());
        Assert.Equal([47164365L, 56918457L], cpu.GetProperty("cpu_usage").GetProperty("percpu_usage").EnumerateArray().Select(e => e.GetInt64()));
        Assert.Equal(30_000_000, cpu.GetProperty("cpu_usage").GetProperty("usage_in_kernelmode").GetInt64());
        Assert.Equal(70_000_000, cpu.GetProperty("cpu_usage").GetProperty("usage_in_usermode").GetInt64());
        Assert.Equal(11_650_000_000, cpu.GetProperty("system_cpu_usage").GetInt64());
        Assert.Equal(1_000_000_000, j.GetProperty("precpu_stats").GetProperty("system_cpu_usage").GetInt64());
        var mem = j.GetProperty("memory_stats");
        Assert.Equal(716800, mem.GetProperty("usage").GetInt64());
        Assert.Equal(4083712, mem.GetProperty("max_usage").GetInt64());
        Assert.Equal(24684084L * 1024, mem.GetProperty("limit").GetInt64()); // unlimited: the host's memory
        Assert.Equal(200704, mem.GetProperty("stats").GetProperty("total_inactive_file").GetInt64());
        Assert.False(mem.GetProperty("stats").TryGetProperty("something_else", out _));
        Assert.Equal(1, j.GetProperty("pids_stats").GetProperty("current").GetInt32());
        Assert.False(j.GetProperty("pids_stats").TryGetProperty("limit", out _));
        var bytes = j.GetProperty("blkio_stats").GetProperty("io_service_bytes_recursive");
        Assert.Equal("Read", bytes[0].GetProperty("op").GetString());
        Assert.Equal(8192, bytes[1].GetProperty("value").GetInt64());
        Assert.Equal(0, j.GetProperty("blkio_stats").GetProperty("sectors_recursive").GetArrayLength());
        var eth0 = j.GetProperty("networks").GetProperty("eth0");
        Assert.Equal(1320, eth0.GetProperty("rx_bytes").GetInt64());
        Assert.Equal(8, eth0.GetProperty("tx_packets").GetInt64());
        Assert.False(j.GetProperty("networks").TryGetProperty("lo", out _));
        Assert.Equal("/web", j.GetProperty("name").GetString());
        Assert.Equal(0, j.GetProperty("num_procs").GetInt32());
    }

    [Fact]
    public void V2_UsageLimitAndInactiveFile()
    {
        Seed("c", ("cgroup.procs", "7\n"), ("cpu.stat", "usage_usec 2000\nuser_usec 1500\nsystem_usec 500\nnr_periods 4\nnr_throttled 1\nthrottled_usec 10\n"),
            ("memory.current", "1048576"), ("memory.max", "67108864"), ("memory.stat", "anon 500000\nfile 400000\ninactive_file 300000\n"),
            ("memory.events", "max 0\n"), ("pids.current", "2"), ("pids.max", "100"), ("io.stat", "8:0 rbytes=4096 wbytes=0 rios=1 wios=0 dbytes=0 dios=0\n"));
        Seed("proc", ("stat", "cpu  1 1 1 1 1 1 1\n"), ("meminfo", "MemTotal: 1000000 kB\n"));
        var cg = CgroupManagerFactory.Create("/c", "c", CgroupRoot.ForV2(_root));
        var j = Json(HostStats.Sample(cg, 0, Path.Combine(_root, "proc")), null);
        var cpu = j.GetProperty("cpu_stats");
        Assert.Equal(2_000_000, cpu.GetProperty("cpu_usage").GetProperty("total_usage").GetInt64());
        Assert.False(cpu.GetProperty("cpu_usage").TryGetProperty("percpu_usage", out _));
        Assert.Equal(1, cpu.GetProperty("throttling_data").GetProperty("throttled_periods").GetInt64());
        var mem = j.GetProperty("memory_stats");
        Assert.Equal(1048576, mem.GetProperty("usage").GetInt64());
        Assert.Equal(67108864, mem.GetProperty("limit").GetInt64());
        Assert.Equal(300000, mem.GetProperty("stats").GetProperty("inactive_file").GetInt64());
        Assert.False(mem.TryGetProperty("max_usage", out _));
        Assert.Equal(100, j.GetProperty("pids_stats").GetProperty("limit").GetInt64());
        var io = j.GetProperty("blkio_stats").GetProperty("io_service_bytes_recursive");
        Assert.Equal("read", io[0].GetProperty("op").GetString());
        Assert.Equal(JsonValueKind.Null, j.GetProperty("blkio_stats").GetProperty("io_serviced_recursive").ValueKind);
        Assert.Equal("0001-01-01T00:00:00Z", j.GetProperty("preread").GetString());
    }

    [Fact]
    public void StoppedContainer_ZerosAndEmpties()
    {
        var ms = new MemoryStream();
        using (var w = new Utf8JsonWriter(ms)) StatsJson.Write(w, "web", "abc", null, null);
        var j = JsonDocument.Parse(ms.ToArray()).RootElement;
        Assert.Equal("0001-01-01T00:00:00Z", j.GetProperty("read").GetString());
        Assert.Equal(0, j.GetProperty("cpu_stats").GetProperty("cpu_usage").GetProperty("total_usage").GetInt64());
        Assert.Equal(JsonValueKind.Null, j.GetProperty("blkio_stats").GetProperty("io_service_bytes_recursive").ValueKind);
        Assert.Empty(j.GetProperty("memory_stats").EnumerateObject());
        Assert.False(j.TryGetProperty("networks", out _));
    }

    [Fact]
    public void TopParsesPsOutput_KeepingTheContainersPidsAndTheirThreads()
    {
        var ps = "UID        PID  PPID  C STIME TTY          TIME CMD\nroot         1     0  0 10:00 ?        00:00:01 /sbin/init splash\n"
                 + "root       372   352  0 05:53 ?        00:00:00 httpd -f -p 80 -h /etc\nroot         -     -  0 05:53 ?        00:00:00 -\n"
                 + "root       400     1  0 05:53 ?        00:00:00 other\n";
        var top = ContainerManager.ParsePs(ps, [372]);
        Assert.Equal(["UID", "PID", "PPID", "C", "STIME", "TTY", "TIME", "CMD"], top.Titles);
        Assert.Equal(2, top.Processes.Count);
        Assert.Equal("httpd -f -p 80 -h /etc", top.Processes[0][7]);
        Assert.Equal("-", top.Processes[1][1]);
    }
}
