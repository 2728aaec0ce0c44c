using System.Net;
using System.Text;

namespace Berth.Daemon.Tests;

/// <summary>
/// `docker update` on a running container, field by field, through the real docker CLI: the value in the cgroup file
/// the container sees (cgroup v1 here; the v2 writers are Berth.Cgroups' V2 tests), in inspect only when applied, and
/// dockerd 20.10's errors, warnings and HTTP statuses (compared by hand with Debian's dockerd 20.10.24 on this host).
/// </summary>
public sealed class UpdateTests(DaemonFixture fx) : IClassFixture<DaemonFixture>
{
    private (int Code, string Stdout, string Stderr) Docker(params string[] args) => fx.Docker(args);
    private string Ok(params string[] args) => fx.Ok(args);
    private string Inspect(string name, string format) => fx.Inspect(name, format);

    private static bool V1 => !File.Exists("/sys/fs/cgroup/cgroup.controllers");

    /// <summary>A cgroup file as the container reads it (v1: /sys/fs/cgroup/CONTROLLER/FILE is its own cgroup).</summary>
    private string InContainer(string name, string controller, string file) =>
        Ok("exec", name, "cat", $"/sys/fs/cgroup/{controller}/{file}").Trim();

    private (HttpStatusCode Status, string Body) Post(string id, string json)
    {
        using var client = UnixHttp.Client(fx.Dir.Socket);
        var r = client.PostAsync($"http://berth/v1.41/containers/{id}/update", new StringContent(json, Encoding.UTF8, "application/json")).Result;
        return (r.StatusCode, r.Content.ReadAsStringAsync().Result);
    }

    [Fact]
    public void EveryCpuAndPidsFieldReachesTheCgroupAndInspect()
    {
        if (!V1) return;
        var id = Ok("run", "-d", "--name", "upd-cpu", "busybox", "sleep", "300").Trim();
        try
        {
            Ok("update", "--cpu-shares", "512", "upd-cpu");
            Assert.Equal("512", InContainer("upd-cpu", "cpu", "cpu.shares"));
            Ok("update", "--cpus", "1.5", "upd-cpu");
            Assert.Equal("150000 100000", InContainer("upd-cpu", "cpu", "cpu.cfs_quota_us") + " " + InContainer("upd-cpu", "cpu", "cpu.cfs_period_us"));
            Assert.Equal("512 1500000000", Inspect(id, "{{.HostConfig.CpuShares}} {{.HostConfig.NanoCpus}}"));
            // NanoCPUs and period/quota exclude each other, as dockerd (409).
            var (code, _, stderr) = Docker("update", "--cpu-period", "50000", "upd-cpu");
            Assert.NotEqual(0, code);
            Assert.Contains($"Cannot update container {id}: Conflicting options: CPU Period cannot be updated as NanoCPUs has already been set", stderr);
            (code, _, stderr) = Docker("update", "--cpus", "500", "upd-cpu");
            Assert.NotEqual(0, code);
            Assert.Contains($"Range of CPUs is from 0.01 to {Environment.ProcessorCount}.00, as there are only {Environment.ProcessorCount} CPUs available", stderr);
            Assert.Equal("1500000000", Inspect(id, "{{.HostConfig.NanoCpus}}"));

            Ok("update", "--cpuset-cpus", "0", "--cpuset-mems", "0", "upd-cpu");
            Assert.Equal("0 0", InContainer("upd-cpu", "cpuset", "cpuset.cpus") + " " + InContainer("upd-cpu", "cpuset", "cpuset.mems"));
            (code, _, stderr) = Docker("update", "--cpuset-cpus", "999", "upd-cpu");
            Assert.NotEqual(0, code);
            Assert.Contains("Requested CPUs are not available - requested 999, available: ", stderr);
            Assert.Equal("0 0", Inspect(id, "{{.HostConfig.CpusetCpus}} {{.HostConfig.CpusetMems}}"));

            Ok("update", "--pids-limit", "100", "upd-cpu");
            Assert.Equal("100", InContainer("upd-cpu", "pids", "pids.max"));
            Assert.Equal("100", Inspect(id, "{{.HostConfig.PidsLimit}}"));
            Ok("update", "--pids-limit", "-1", "upd-cpu"); // unlimited: dockerd shows 0
            Assert.Equal("max", InContainer("upd-cpu", "pids", "pids.max"));
            Assert.Equal("0", Inspect(id, "{{.HostConfig.PidsLimit}}"));
        }
        finally
        {
            Docker("rm", "-f", id);
        }
    }

    [Fact]
    public void CpuPeriodAndQuotaAreCheckedAndWritten()
    {
        if (!V1) return;
        var id = Ok("run", "-d", "--name", "upd-cfs", "busybox", "sleep", "300").Trim();
        try
        {
            Ok("update", "--cpu-period", "50000", "--cpu-quota", "20000", "upd-cfs");
            Assert.Equal("50000 20000", InContainer("upd-cfs", "cpu", "cpu.cfs_period_us") + " " + InContainer("upd-cfs", "cpu", "cpu.cfs_quota_us"));
            Assert.Equal("50000 20000", Inspect(id, "{{.HostConfig.CpuPeriod}} {{.HostConfig.CpuQuota}}"));
            var (code, _, stderr) = Docker("update", "--cpu-period", "500", "upd-cfs");
            Assert.NotEqual(0, code);
            Assert.Contains("CPU cfs period can not be less than 1ms (i.e. 1000) or larger than 1s (i.e. 1000000)", stderr);
            (code, _, stderr) = Docker("update", "--cpu-quota", "500", "upd-cfs");
            Assert.NotEqual(0, code);
            Assert.Contains("CPU cfs quota can not be less than 1ms (i.e. 1000)", stderr);
            (code, _, stderr) = Docker("update", "--cpus", "1", "upd-cfs");
            Assert.NotEqual(0, code);
            Assert.Contains("Conflicting options: Nano CPUs cannot be updated as CPU Period has already been set", stderr);
            var (status, _) = Post(id, """{"NanoCpus":1000000000}""");
            Assert.Equal(HttpStatusCode.Conflict, status);
            (status, _) = Post(id, """{"CpuPeriod":100}""");
            Assert.Equal(HttpStatusCode.BadRequest, status);
            Assert.Equal("50000 20000 0", Inspect(id, "{{.HostConfig.CpuPeriod}} {{.HostConfig.CpuQuota}} {{.HostConfig.NanoCpus}}"));
        }
        finally
        {
            Docker("rm", "-f", id);
        }
    }

    [Fact]
    public void MemoryFieldsFollowDockersSwapRule()
    {
        if (!V1) return;
        var id = Ok("run", "-d", "--name", "upd-mem", "-m", "32m", "busybox", "sleep", "300").Trim();
        try
        {
            // create recorded swap = 2 x memory, as dockerd; a memory limit up to it needs no swap value.
            Assert.Equal("33554432 67108864", Inspect(id, "{{.HostConfig.Memory}} {{.HostConfig.MemorySwap}}"));
            Ok("update", "--memory", "48m", "upd-mem");
            Assert.Equal("50331648", InContainer("upd-mem", "memory", "memory.limit_in_bytes"));
            var (code, _, stderr) = Docker("update", "--memory", "128m", "upd-mem");
            Assert.NotEqual(0, code);
            Assert.Contains($"Cannot update container {id}: Memory limit should be smaller than already set memoryswap limit, update the memoryswap at the same time", stderr);
            Ok("update", "--memory", "128m", "--memory-swap", "256m", "--memory-reservation", "64m", "upd-mem");
            Assert.Equal("134217728", InContainer("upd-mem", "memory", "memory.limit_in_bytes"));
            if (File.Exists($"/sys/fs/cgroup/memory/berth/{id}/memory.memsw.limit_in_bytes"))
                Assert.Equal("268435456", InContainer("upd-mem", "memory", "memory.memsw.limit_in_bytes"));
            Assert.Equal("67108864", InContainer("upd-mem", "memory", "memory.soft_limit_in_bytes"));
            Assert.Equal("134217728 268435456 67108864", Inspect(id, "{{.HostConfig.Memory}} {{.HostConfig.MemorySwap}} {{.HostConfig.MemoryReservation}}"));

            (code, _, stderr) = Docker("update", "--memory", "64m", "--memory-swap", "32m", "upd-mem");
            Assert.NotEqual(0, code);
            Assert.Contains("Minimum memoryswap limit should be larger than memory limit, see usage", stderr);
            (code, _, stderr) = Docker("update", "--memory-swap", "64m", "upd-mem"); // below the memory already set
            Assert.NotEqual(0, code);
            Assert.Contains("Minimum memoryswap limit should be larger than memory limit, see usage", stderr);
            (code, _, stderr) = Docker("update", "--memory", "1m", "upd-mem");
            Assert.NotEqual(0, code);
            Assert.Contains("Minimum memory limit allowed is 6MB", stderr);
            (code, _, stderr) = Docker("update", "--memory-reservation", "1m", "upd-mem");
            Assert.NotEqual(0, code);
            Assert.Contains("Minimum memory reservation allowed is 6MB", stderr);
            Assert.Equal("134217728 268435456 67108864", Inspect(id, "{{.HostConfig.Memory}} {{.HostConfig.MemorySwap}} {{.HostConfig.MemoryReservation}}"));

            // Kernel memory: dockerd's deprecation warning, and not applied (so not recorded).
            var (kcode, kout, kerr) = Docker("update", "--kernel-memory", "10m", "upd-mem");
            Assert.Equal(0, kcode);
            kerr = kout + kerr; // the CLI prints the warnings on stdout
            Assert.Contains("Specifying a kernel memory limit is deprecated and will be removed in a future release.", kerr);
            Assert.Contains("Limitation discarded.", kerr);
            Assert.Equal("0", Inspect(id, "{{.HostConfig.KernelMemory}}"));
        }
        finally
        {
            Docker("rm", "-f", id);
        }
    }

    [Fact]
    public void MemoryBelowTheUsageIsRefusedAndNotRecorded()
    {
        if (!V1) return;
        // 40 MiB in /dev/shm (charged to the container, cannot be reclaimed without swap room).
        var id = Ok("run", "-d", "--name", "upd-busy", "busybox", "sh", "-c", "dd if=/dev/zero of=/dev/shm/f bs=1M count=40 2>/dev/null; touch /tmp/ready; sleep 300").Trim();
        try
        {
            fx.WaitFor(() => Docker("exec", id, "test", "-e", "/tmp/ready").Code == 0, TimeSpan.FromSeconds(30), "the 40 MiB file");
            var (status, body) = Post(id, """{"Memory":10485760,"MemorySwap":10485760}""");
            Assert.Equal(HttpStatusCode.InternalServerError, status);
            Assert.Contains($"Cannot update container {id}: unable to set memory limit to 10485760 (current usage: ", body);
            Assert.Equal("0 0", Inspect(id, "{{.HostConfig.Memory}} {{.HostConfig.MemorySwap}}"));
            Assert.Equal("running", Inspect(id, "{{.State.Status}}"));
        }
        finally
        {
            Docker("rm", "-f", id);
        }
    }

    [Fact]
    public void BlkioWeightRealtimeAndRestartAsDockerd()
    {
        var id = Ok("run", "-d", "--name", "upd-misc", "busybox", "sleep", "300").Trim();
        try
        {
            // No blkio weight files on this host (no CFQ/BFQ): dockerd's warning, discarded.
            var hasWeight = V1 && File.Exists($"/sys/fs/cgroup/blkio/berth/{id}/blkio.weight");
            var (code, wout, stderr) = Docker("update", "--blkio-weight", "300", "upd-misc");
            Assert.Equal(0, code);
            stderr = wout + stderr; // the CLI prints the warnings on stdout
            if (hasWeight)
            {
                Assert.Equal("300", InContainer("upd-misc", "blkio", "blkio.weight"));
                Assert.Equal("300", Inspect(id, "{{.HostConfig.BlkioWeight}}"));
            }
            else
            {
                Assert.Contains("Your kernel does not support Block I/O weight or the cgroup is not mounted. Weight discarded.", stderr);
                Assert.Equal("0", Inspect(id, "{{.HostConfig.BlkioWeight}}"));
            }
            (code, _, stderr) = Docker("update", "--blkio-weight", "5", "upd-misc");
            if (hasWeight) Assert.Contains("Range of blkio weight is from 10 to 1000", stderr);
            else Assert.Equal(0, code); // discarded before the range is checked, as dockerd

            // Real-time CPU: the period is written; a runtime needs a budget berthd's parent cgroup does not have,
            // so the kernel refuses it (dockerd records it without writing it: Berth records only what is applied).
            if (V1 && File.Exists($"/sys/fs/cgroup/cpu/berth/{id}/cpu.rt_period_us"))
            {
                Ok("update", "--cpu-rt-period", "500000", "upd-misc");
                Assert.Equal("500000", InContainer("upd-misc", "cpu", "cpu.rt_period_us"));
                Assert.Equal("500000", Inspect(id, "{{.HostConfig.CpuRealtimePeriod}}"));
                var parentRuntime = long.Parse(File.ReadAllText("/sys/fs/cgroup/cpu/berth/cpu.rt_runtime_us").Trim());
                (code, _, stderr) = Docker("update", "--cpu-rt-runtime", "1000", "upd-misc");
                if (parentRuntime < 1000)
                {
                    Assert.NotEqual(0, code);
                    Assert.Contains($"Cannot update container {id}: ", stderr);
                    Assert.Contains("cpu.rt_runtime_us", stderr);
                    Assert.Equal("0", Inspect(id, "{{.HostConfig.CpuRealtimeRuntime}}"));
                }
                (code, _, stderr) = Docker("update", "--cpu-rt-runtime", "600000", "upd-misc");
                Assert.NotEqual(0, code);
                Assert.Contains("cpu real-time runtime cannot be higher than cpu real-time period", stderr);
            }
            else
            {
                (code, _, stderr) = Docker("update", "--cpu-rt-period", "500000", "upd-misc");
                Assert.NotEqual(0, code);
                Assert.Contains("Your kernel does not support CPU real-time scheduler", stderr);
            }

            Ok("update", "--restart", "on-failure:3", "upd-misc");
            Assert.Equal("on-failure 3", Inspect(id, "{{.HostConfig.RestartPolicy.Name}} {{.HostConfig.RestartPolicy.MaximumRetryCount}}"));
        }
        finally
        {
            Docker("rm", "-f", id);
        }

        // --rm (AutoRemove) and a restart policy: dockerd's 409.
        id = Ok("run", "-d", "--rm", "--name", "upd-rm", "busybox", "sleep", "300").Trim();
        try
        {
            var (code, _, stderr) = Docker("update", "--restart", "always", "upd-rm");
            Assert.NotEqual(0, code);
            Assert.Contains($"Cannot update container {id}: Restart policy cannot be updated because AutoRemove is enabled for the container", stderr);
            Assert.Equal(HttpStatusCode.Conflict, Post(id, """{"RestartPolicy":{"Name":"always"}}""").Status);
            Ok("update", "--restart", "no", "upd-rm");
        }
        finally
        {
            Docker("rm", "-f", id);
        }
    }

    [Fact]
    public void AStoppedContainerGetsTheUpdateAtItsNextStart()
    {
        if (!V1) return;
        var id = Ok("create", "--name", "upd-stopped", "busybox", "sleep", "300").Trim();
        try
        {
            Ok("update", "--cpu-shares", "256", "--pids-limit", "42", "--memory", "64m", "--memory-swap", "128m", "upd-stopped");
            Ok("start", id);
            Assert.Equal("256 42 67108864", InContainer(id, "cpu", "cpu.shares") + " " + InContainer(id, "pids", "pids.max") + " "
                + InContainer(id, "memory", "memory.limit_in_bytes"));
        }
        finally
        {
            Docker("rm", "-f", id);
        }
    }
}
