using System.Diagnostics;
using System.Text.Json;
using Berth.Core;
using Berth.Interop;

namespace Berth.Cgroups.Tests;

/// <summary>
/// Real cgroups on this (root) machine. These never skip: not being root is a failure.
/// Each test uses its own top-level cgroup "/berth-test-&lt;guid&gt;" and checks nothing is left behind.
/// </summary>
[Collection("privileged-cgroups")]
public partial class PrivilegedTests
{
    private static void WaitUntil(Func<bool> condition, string what)
    {
        var sw = Stopwatch.StartNew();
        while (!condition())
        {
            Assert.True(sw.Elapsed < TimeSpan.FromSeconds(10), "timed out waiting for " + what);
            Thread.Sleep(20);
        }
    }

    private static string UniqueName() => "/berth-test-" + Guid.NewGuid().ToString("N")[..12];

    [Fact]
    public void RunsAsRoot() => Assert.Equal(0u, Libc.geteuid());

    private static Process StartPython(string code)
    {
        var psi = new ProcessStartInfo("python3") { UseShellExecute = false };
        psi.ArgumentList.Add("-c");
        psi.ArgumentList.Add(code);
        return Process.Start(psi)!;
    }

    private static string ReadFile(string dir, string file) => File.ReadAllText(Path.Combine(dir, file)).Trim();

    private static void AssertGone(ICgroupManager mgr)
    {
        foreach (var (controller, dir) in mgr.Paths)
        {
            Assert.False(Directory.Exists(dir), $"cgroup dir for '{controller}' left behind: {dir}");
        }

        Assert.False(mgr.Exists());
    }

    [Fact]
    public void RealCgroup_Limits_Stats_Freeze_Kill_Destroy()
    {
        Assert.Equal(0u, Libc.geteuid());
        var root = CgroupRoot.Detect();
        var mgr = CgroupManagerFactory.Create(UniqueName(), "t", root);
        Process? child = null;
        try
        {
            mgr.Apply(0);
            Assert.True(mgr.Exists());
            var v2 = mgr.Mode == CgroupMode.Unified;
            var blkioWeightSupported = v2
                ? File.Exists(Path.Combine(mgr.Paths[""], "io.weight")) || File.Exists(Path.Combine(mgr.Paths[""], "io.bfq.weight"))
                : mgr.Paths.TryGetValue("blkio", out var b) && (File.Exists(Path.Combine(b, "blkio.weight")) || File.Exists(Path.Combine(b, "blkio.bfq.weight")));

            var warnings = mgr.Set(new CgroupResources
            {
                Memory = new MemoryResources { Limit = 64L << 20 },
                Cpu = new CpuResources { Shares = 512, Quota = 50000, Period = 100000 },
                Pids = new PidsResources { Limit = 10 },
                BlockIO = blkioWeightSupported ? new BlockIOResources { Weight = 500 } : null,
                Devices = [new DeviceRule(false), new DeviceRule(true, 'c', 1, 3, "rwm")],
            });

            // Read the kernel's files back independently.
            if (v2)
            {
                var dir = mgr.Paths[""];
                Assert.Equal("67108864", ReadFile(dir, "memory.max"));
                Assert.Equal("20", ReadFile(dir, "cpu.weight"));
                Assert.Equal("50000 100000", ReadFile(dir, "cpu.max"));
                Assert.Equal("10", ReadFile(dir, "pids.max"));
                Assert.DoesNotContain(warnings, w => w.Contains("device", StringComparison.Ordinal));
                Assert.Single(Berth.Cgroups.V2.BpfDevices.Query(dir)); // the eBPF device filter
            }
            else
            {
                Assert.Equal("67108864", ReadFile(mgr.Paths["memory"], "memory.limit_in_bytes"));
                Assert.Equal("512", ReadFile(mgr.Paths["cpu"], "cpu.shares"));
                Assert.Equal("50000", ReadFile(mgr.Paths["cpu"], "cpu.cfs_quota_us"));
                Assert.Equal("100000", ReadFile(mgr.Paths["cpu"], "cpu.cfs_period_us"));
                Assert.Equal("10", ReadFile(mgr.Paths["pids"], "pids.max"));
                Assert.Equal("c 1:3 rwm", ReadFile(mgr.Paths["devices"], "devices.list"));
                if (blkioWeightSupported)
                {
                    var bdir = mgr.Paths["blkio"];
                    var wfile = File.Exists(Path.Combine(bdir, "blkio.weight")) ? "blkio.weight" : "blkio.bfq.weight";
                    Assert.EndsWith("500", ReadFile(bdir, wfile).Split('\n')[0], StringComparison.Ordinal);
                }

                Assert.Empty(warnings);
            }

            // A real process: joins, then allocates 8 MiB (charged to the new cgroup) and sleeps.
            child = StartPython("import time\ntime.sleep(0.5)\nb = bytearray(8 * 1024 * 1024)\nfor i in range(0, len(b), 4096): b[i] = 1\ntime.sleep(30)\n");
            mgr.Apply(child.Id);
            Assert.Contains(child.Id, mgr.GetPids());

            CgroupStats stats = mgr.Stats();
            var sw = Stopwatch.StartNew();
            while (stats.Memory.Usage.Usage < (4UL << 20) && sw.Elapsed < TimeSpan.FromSeconds(10))
            {
                Thread.Sleep(100);
                stats = mgr.Stats();
            }

            Assert.True(stats.Memory.Usage.Usage >= 4UL << 20, $"memory usage {stats.Memory.Usage.Usage}");
            Assert.Equal(64UL << 20, stats.Memory.Usage.Limit);
            Assert.Equal(1UL, stats.Pids.Current);
            Assert.Equal(10UL, stats.Pids.Limit);
            Assert.True(stats.Cpu.Usage.Total > 0, "cpu usage");
            Assert.NotNull(stats.Memory.Raw);
            var json = JsonSerializer.Serialize(stats, CgroupStatsJsonContext.Default.CgroupStats);
            Assert.Contains("\"pids\":{\"current\":1,\"limit\":10}", json, StringComparison.Ordinal);

            // Freeze / thaw really stop the task.
            // Each mode asserts its own files: v1 freezer.state, v2 cgroup.freeze and the "frozen" key of cgroup.events.
            mgr.Freeze();
            if (v2)
            {
                var dir = mgr.Paths[""];
                Assert.Equal("1", ReadFile(dir, "cgroup.freeze"));
                WaitUntil(() => ReadFile(dir, "cgroup.events").Split('\n').Contains("frozen 1"), "cgroup.events: frozen 1");
            }
            else
            {
                Assert.Equal("FROZEN", ReadFile(mgr.Paths["freezer"], "freezer.state"));
            }

            Assert.Contains(File.ReadAllText($"/proc/{child.Id}/stat").Split(' ')[2], new[] { "D", "S", "T" });
            mgr.Thaw();
            if (v2)
            {
                var dir = mgr.Paths[""];
                Assert.Equal("0", ReadFile(dir, "cgroup.freeze"));
                WaitUntil(() => ReadFile(dir, "cgroup.events").Split('\n').Contains("frozen 0"), "cgroup.events: frozen 0");
            }
            else
            {
                Assert.Equal("THAWED", ReadFile(mgr.Paths["freezer"], "freezer.state"));
            }

            mgr.KillAll();
            Assert.True(child.WaitForExit(5000), "child survived KillAll");
            Assert.Empty(mgr.GetPids());
            Assert.Equal(0UL, mgr.OomKillCount());

            mgr.Destroy();
            AssertGone(mgr);
            mgr.Destroy(); // idempotent
        }
        finally
        {
            Cleanup(mgr, child);
        }
    }

    [Fact]
    public void RealCgroup_OomKill_IsCounted()
    {
        Assert.Equal(0u, Libc.geteuid());
        var mgr = CgroupManagerFactory.Create(UniqueName(), "t", CgroupRoot.Detect());
        Process? child = null;
        try
        {
            mgr.Apply(0);
            // Swap == limit: no swap, so the allocation must hit the OOM killer.
            mgr.Set(new CgroupResources { Memory = new MemoryResources { Limit = 16L << 20, Swap = 16L << 20 } });
            child = StartPython("import time\ntime.sleep(0.5)\nb = bytearray(200 * 1024 * 1024)\nfor i in range(0, len(b), 4096): b[i] = 1\n");
            mgr.Apply(child.Id);
            Assert.True(child.WaitForExit(30000), "allocating child did not die");
            Assert.Equal(137, child.ExitCode); // 128 + SIGKILL
            var sw = Stopwatch.StartNew();
            while (mgr.OomKillCount() == 0 && sw.Elapsed < TimeSpan.FromSeconds(5))
            {
                Thread.Sleep(50);
            }

            Assert.True(mgr.OomKillCount() >= 1, "oom_kill counter not incremented");
            mgr.Destroy();
            AssertGone(mgr);
        }
        finally
        {
            Cleanup(mgr, child);
        }
    }

    [Fact]
    public void RealCgroup_InvalidValue_IsInvalidParameterNamingTheFile()
    {
        Assert.Equal(0u, Libc.geteuid());
        var mgr = CgroupManagerFactory.Create(UniqueName(), "t", CgroupRoot.Detect());
        try
        {
            mgr.Apply(0);
            // The kernel rejects a 1µs CFS period (min 1ms) with EINVAL.
            var e = Assert.Throws<CgroupWriteException>(() => mgr.Set(new CgroupResources { Cpu = new CpuResources { Period = 1 } }));
            Assert.Equal(ErrorKind.InvalidParameter, e.Kind);
            Assert.Matches(@"^cgroup cpu: write cpu\.(cfs_period_us|max)=(1|max 1): Invalid argument", e.Message);
            mgr.Destroy();
            AssertGone(mgr);
        }
        finally
        {
            Cleanup(mgr, null);
        }
    }

    [Fact]
    public void RealCgroup_LoweringMemoryBelowUsage_ExplainsBusy()
    {
        Assert.Equal(0u, Libc.geteuid());
        var mgr = CgroupManagerFactory.Create(UniqueName(), "t", CgroupRoot.Detect());
        Process? child = null;
        try
        {
            mgr.Apply(0);
            child = StartPython("import time\ntime.sleep(0.3)\nb = bytearray(32 * 1024 * 1024)\nfor i in range(0, len(b), 4096): b[i] = 1\ntime.sleep(30)\n");
            mgr.Apply(child.Id);
            var sw = Stopwatch.StartNew();
            while (mgr.Stats().Memory.Usage.Usage < (32UL << 20) && sw.Elapsed < TimeSpan.FromSeconds(10))
            {
                Thread.Sleep(50);
            }

            var lower = new CgroupResources { Memory = new MemoryResources { Limit = 4L << 20 } };
            if (mgr.Mode == CgroupMode.Unified)
            {
                // v2 takes the lower limit (and reclaims or OOM-kills) instead of refusing it: nothing to explain,
                // but the limit must be the one written.
                mgr.Set(lower);
                Assert.Equal("4194304", ReadFile(mgr.Paths[""], "memory.max"));
            }
            else
            {
                var e = Assert.Throws<CgroupWriteException>(() => mgr.Set(lower));
                Assert.StartsWith("cgroup memory: write memory.limit_in_bytes=4194304: Device or resource busy (current usage: ", e.Message, StringComparison.Ordinal);
                Assert.Equal(ErrorKind.System, e.Kind);
                Assert.Matches("^current usage: [0-9]+, peak usage: [0-9]+$", e.Detail);
            }

            mgr.KillAll();
            Assert.True(child.WaitForExit(5000));
            mgr.Destroy();
            AssertGone(mgr);
        }
        finally
        {
            Cleanup(mgr, child);
        }
    }

    [Fact]
    public void RealCgroup_Hugetlb_OnThisHost()
    {
        Assert.Equal(0u, Libc.geteuid());
        var root = CgroupRoot.Detect();
        var mgr = CgroupManagerFactory.Create(UniqueName(), "t", root);
        var unifiedRoot = root.Unified?.Mountpoint;
        var before = unifiedRoot is null ? null : File.ReadAllText(Path.Combine(unifiedRoot, "cgroup.subtree_control"));
        try
        {
            mgr.Apply(0);
            var warnings = mgr.Set(new CgroupResources { HugepageLimits = [new HugepageLimit("2MB", 4UL << 20)] });
            var offered = root.V1Mounts.ContainsKey("hugetlb")
                || (unifiedRoot is not null && File.ReadAllText(Path.Combine(unifiedRoot, "cgroup.controllers")).Contains("hugetlb", StringComparison.Ordinal));
            if (offered && Directory.Exists("/sys/kernel/mm/hugepages/hugepages-2048kB"))
            {
                Assert.Empty(warnings);
                var dir = root.V1Mounts.ContainsKey("hugetlb") ? mgr.Paths["hugetlb"] : mgr.Paths[""];
                var file = root.V1Mounts.ContainsKey("hugetlb") ? "hugetlb.2MB.limit_in_bytes" : "hugetlb.2MB.max";
                Assert.Equal("4194304", ReadFile(dir, file));
                Assert.True(mgr.Stats().Hugetlb.ContainsKey("2MB"));
            }
            else
            {
                Assert.Single(warnings);
            }

            mgr.Destroy();
            AssertGone(mgr);
        }
        finally
        {
            Cleanup(mgr, null);
            // Leave the host's root subtree_control as we found it (hybrid: we may have enabled hugetlb).
            if (unifiedRoot is not null && before is not null && root.Mode == CgroupMode.Hybrid && !before.Contains("hugetlb", StringComparison.Ordinal))
            {
                try
                {
                    File.WriteAllText(Path.Combine(unifiedRoot, "cgroup.subtree_control"), "-hugetlb");
                }
                catch (IOException)
                {
                }
            }
        }
    }

    private static void Cleanup(ICgroupManager mgr, Process? child)
    {
        try
        {
            if (child is { HasExited: false })
            {
                child.Kill();
                child.WaitForExit(5000);
            }
        }
        catch (InvalidOperationException)
        {
        }

        try
        {
            mgr.KillAll();
            mgr.Destroy();
        }
        catch (BerthException)
        {
        }

        child?.Dispose();
    }
}
