using System.Diagnostics;

namespace Berth.Daemon.Tests;

/// <summary>
/// --device, --device-cgroup-rule, the per-device blkio flags, --memory-swappiness, --oom-kill-disable,
/// --kernel-memory and the real-time CPU flags through the real docker CLI, each seen from inside the container
/// (the node, the cgroup files the container sees) with dockerd 20.10's warnings and errors (compared by hand with
/// Debian's dockerd 20.10.24 on this host: cgroup v1, no blkio weight files, kernel 6.x).
/// A loop device the test makes is the block device.
/// </summary>
public sealed class ResourceFlagsTests : IClassFixture<DaemonFixture>, IDisposable
{
    private readonly DaemonFixture _fx;
    private readonly string _image;
    private readonly string _loop;
    private readonly long _minor;

    public ResourceFlagsTests(DaemonFixture fx)
    {
        _fx = fx;
        _image = Path.Combine(fx.Dir.Path, "loop-" + Guid.NewGuid().ToString("N")[..8] + ".img");
        using (var f = File.Create(_image)) f.SetLength(16 << 20);
        var (code, stdout, stderr) = Run.Command("losetup", ["-f", "--show", _image]);
        Assert.True(code == 0, "losetup: " + stderr);
        _loop = stdout.Trim();
        _minor = long.Parse(_loop["/dev/loop".Length..]);
    }

    public void Dispose()
    {
        Run.Command("losetup", ["-d", _loop]);
        File.Delete(_image);
    }

    private static bool V1 => !File.Exists("/sys/fs/cgroup/cgroup.controllers");

    private (int Code, string Stdout, string Stderr) Docker(params string[] args) => DockerCli.Run(_fx.Dir.Socket, _fx.Dir.Path, args);

    private (string Stdout, string Stderr) Ok(params string[] args)
    {
        var (code, stdout, stderr) = Docker(args);
        Assert.True(code == 0, $"docker {string.Join(' ', args)} exited {code}: {stdout}{stderr}");
        return (stdout, stderr);
    }

    [Fact]
    public void DeviceIsMadeWithTheHostNumbersAndOnlyItsPermissions()
    {
        if (!V1) return; // reads the v1 devices.list (v2: the eBPF filter, DeviceFilterTests)
        var (stdout, _) = Ok("run", "--rm", "--device", _loop + ":/dev/xx:r", "busybox", "sh", "-c",
            "ls -l /dev/xx; grep '^b 7' /sys/fs/cgroup/devices/devices.list; head -c 4096 /dev/xx | wc -c; "
            + "(echo x > /dev/xx) 2>&1 || echo write-refused");
        var lines = stdout.Split('\n', StringSplitOptions.RemoveEmptyEntries);
        Assert.StartsWith("brw-------", lines[0]); // the host node's mode
        Assert.Contains($"7, {_minor,3}", lines[0]);
        Assert.Equal($"b 7:{_minor} r", lines[1]);
        Assert.Equal("4096", lines[2].Trim());
        Assert.Contains("write-refused", stdout);

        // Same path inside by default, rwm.
        (stdout, _) = Ok("run", "--rm", "--device", _loop, "busybox", "sh", "-c", $"ls {_loop} && grep '^b 7' /sys/fs/cgroup/devices/devices.list");
        Assert.Contains($"b 7:{_minor} rwm", stdout);
    }

    [Fact]
    public void DeviceCgroupRuleLetsTheContainerUseANodeItMakes()
    {
        const string script = "mknod /tmp/l b 7 {0} && head -c 512 /tmp/l | wc -c";
        var denied = Docker("run", "--rm", "busybox", "sh", "-c", string.Format(script, _minor));
        Assert.Contains("Operation not permitted", denied.Stdout + denied.Stderr);
        var (stdout, _) = Ok("run", "--rm", "--device-cgroup-rule", "b 7:* rw", "busybox", "sh", "-c", string.Format(script, _minor));
        Assert.Equal("512", stdout.Trim());
        if (V1)
        {
            (stdout, _) = Ok("run", "--rm", "--device-cgroup-rule", "b 7:* rw", "busybox", "grep", "^b 7", "/sys/fs/cgroup/devices/devices.list");
            Assert.Equal("b 7:* rw", stdout.Trim());
        }
        var id = Ok("create", "--device-cgroup-rule", "b 7:* rw", "busybox").Stdout.Trim();
        Assert.Equal("[b 7:* rw]", Ok("inspect", "-f", "{{.HostConfig.DeviceCgroupRules}}", id).Stdout.Trim());
        Docker("rm", id);
    }

    [Fact]
    public void PrivilegedGetsEveryHostDeviceAndAnAllowAllDeviceCgroup()
    {
        // Without --privileged the host's loop device is not there.
        var (code, _, _) = Docker("run", "--rm", "busybox", "test", "-e", _loop);
        Assert.NotEqual(0, code);

        var (stdout, _) = Ok("run", "--rm", "--privileged", "busybox", "sh", "-c",
            $"ls -l {_loop}; head -c 512 {_loop} | wc -c; ls -l /dev/ptmx; test -e /dev/null && echo null; "
            + "grep Seccomp: /proc/self/status; "
            + "awk '$2 == \"/sys\" {print $4}' /proc/mounts | cut -d, -f1; "
            + "(cat /sys/fs/cgroup/devices/devices.list 2>/dev/null || echo no-v1-devices)");
        var lines = stdout.Split('\n', StringSplitOptions.RemoveEmptyEntries);
        Assert.StartsWith("brw-------", lines[0]); // the host's node: type, numbers, mode
        Assert.Contains($"7, {_minor,3}", lines[0]);
        Assert.Equal("512", lines[1].Trim()); // and the cgroup lets it be read
        Assert.EndsWith("/dev/ptmx -> pts/ptmx", lines[2]); // the container's own pts, not the host's ptmx
        Assert.Equal("null", lines[3]);
        Assert.Equal("Seccomp:\t0", lines[4]);
        Assert.Equal("rw", lines[5]); // /sys read-write, as dockerd's privileged
        if (V1) Assert.Equal("a *:* rwm", lines[6]);

        // Every node of the host's /dev (containerd's HostDevices: not pts, shm, fd, mqueue, console) is there.
        var entries = new[] { "/dev", "/dev/net" }.Where(Directory.Exists).SelectMany(Directory.EnumerateFileSystemEntries)
            .Where(f => Path.GetFileName(f) is not ("console" or "ptmx")).ToList();
        var host = Run.Command("stat", ["-c", "%F|%n", .. entries]).Stdout.Split('\n', StringSplitOptions.RemoveEmptyEntries)
            .Where(l => l.Contains("special file|")).Select(l => l[(l.IndexOf('|') + 1)..]).ToList();
        Assert.NotEmpty(host);
        var listed = Ok("run", "--rm", "--privileged", "busybox", "sh", "-c", "ls -d " + string.Join(' ', host) + " 2>&1").Stdout;
        Assert.DoesNotContain("No such file", listed);

        // A --device naming another path in the container is added too (dockerd 20.10).
        (stdout, _) = Ok("run", "--rm", "--privileged", "--device", _loop + ":/dev/berthdisk", "busybox", "ls", "-l", "/dev/berthdisk");
        Assert.Contains($"7, {_minor,3}", stdout);
    }

    [Fact]
    public async Task DeviceErrorsAreDockers()
    {
        // The host node is read at start, as dockerd: create succeeds, start fails.
        const string message = "error gathering device information while adding custom device \"/dev/berth-no-such-device\": no such file or directory";
        var id = Ok("create", "--device", "/dev/berth-no-such-device", "busybox", "true").Stdout.Trim();
        var (code, _, stderr) = Docker("start", id);
        Assert.Equal(1, code);
        Assert.Contains("Error response from daemon: " + message, stderr);
        // As dockerd 20.10: still created, exit code 128 (not the runtime's 127), the error recorded; a 500.
        Assert.Equal("created 128 " + message, Ok("inspect", "-f", "{{.State.Status}} {{.State.ExitCode}} {{.State.Error}}", id).Stdout.Trim());
        using (var client = UnixHttp.Client(_fx.Dir.Socket))
        {
            var r = await client.PostAsync($"http://berth/v1.41/containers/{id}/start", null);
            Assert.Equal(System.Net.HttpStatusCode.InternalServerError, r.StatusCode);
            using var body = System.Text.Json.JsonDocument.Parse(await r.Content.ReadAsStringAsync());
            Assert.Equal(message, body.RootElement.GetProperty("message").GetString());
        }
        Docker("rm", id);
        // docker run: the CLI's 127 for "no such file or directory", its "docker: Error response ..." line; with
        // --rm the container is removed.
        (code, _, stderr) = Docker("run", "--rm", "--name", "dev-missing", "--device", "/dev/berth-no-such-device", "busybox", "true");
        Assert.Equal(127, code);
        Assert.Contains("docker: Error response from daemon: " + message, stderr);
        Assert.Equal("", Ok("ps", "-aq", "--filter", "name=dev-missing").Stdout.Trim());

        id = Ok("create", "--device-read-bps", "/dev/berth-no-such-device:1mb", "busybox", "true").Stdout.Trim();
        (code, _, stderr) = Docker("start", id);
        Assert.NotEqual(0, code);
        Assert.Contains("stat /dev/berth-no-such-device: no such file or directory", stderr);
        Assert.Equal("created 128", Ok("inspect", "-f", "{{.State.Status}} {{.State.ExitCode}}", id).Stdout.Trim());
        Docker("rm", id);
    }

    [Fact]
    public void ThrottlesAreWrittenAndSlowDirectWrites()
    {
        if (!V1) return; // reads blkio.throttle.* (v2: io.max, V2SetTests)
        var (stdout, _) = Ok("run", "--rm", "--device-read-bps", _loop + ":1mb", "--device-write-bps", _loop + ":2mb",
            "--device-read-iops", _loop + ":100", "--device-write-iops", _loop + ":200", "busybox", "sh", "-c",
            "cd /sys/fs/cgroup/blkio && cat blkio.throttle.read_bps_device blkio.throttle.write_bps_device "
            + "blkio.throttle.read_iops_device blkio.throttle.write_iops_device");
        Assert.Equal($"7:{_minor} 1048576\n7:{_minor} 2097152\n7:{_minor} 100\n7:{_minor} 200\n", stdout);

        // 2 MiB of direct writes at 1 MiB/s take about 2 s (without the throttle, a small fraction of that).
        var sw = Stopwatch.StartNew();
        Ok("run", "--rm", "--device", _loop + ":/dev/xx", "--device-write-bps", _loop + ":1mb", "busybox",
            "dd", "if=/dev/zero", "of=/dev/xx", "bs=64k", "count=32", "oflag=direct");
        Assert.True(sw.Elapsed > TimeSpan.FromSeconds(1.4), $"throttled write took {sw.Elapsed}");
    }

    [Fact]
    public void WeightDeviceIsDiscardedWithDockersWarningWhereTheKernelHasNoWeights()
    {
        var support = Berth.Cgroups.CgroupSupport.Host;
        var (stdout, stderr) = Ok("create", "--blkio-weight-device", _loop + ":300", "busybox");
        var id = stdout.Trim();
        if (!support.BlkioWeightDevice)
        {
            Assert.Contains("WARNING: Your kernel does not support Block I/O weight_device or the cgroup is not mounted. Weight-device discarded.", stderr);
            Assert.Equal("[]", Ok("inspect", "-f", "{{.HostConfig.BlkioWeightDevice}}", id).Stdout.Trim());
        }
        else
        {
            Assert.Contains("300", Ok("inspect", "-f", "{{.HostConfig.BlkioWeightDevice}}", id).Stdout);
        }
        Docker("rm", id);
        Assert.Contains("invalid weight for device", Docker("create", "--blkio-weight-device", _loop + ":5", "busybox").Stderr);
    }

    [Fact]
    public void SwappinessAndOomKillDisable()
    {
        if (!V1) return; // memory.swappiness and memory.oom_control are cgroup v1 files (v2: discarded with dockerd's warning)
        var (stdout, stderr) = Ok("run", "--rm", "--memory-swappiness", "30", "--oom-kill-disable", "busybox", "sh", "-c",
            "cat /sys/fs/cgroup/memory/memory.swappiness; grep oom_kill_disable /sys/fs/cgroup/memory/memory.oom_control");
        Assert.Equal("30\noom_kill_disable 1\n", stdout);
        Assert.Contains("WARNING: OOM killer is disabled for the container, but no memory limit is set, this can result in the system running out of resources.", stderr);
        (_, stderr) = Ok("run", "--rm", "-m", "64m", "--oom-kill-disable", "busybox", "true");
        Assert.DoesNotContain("OOM killer is disabled", stderr);

        var id = Ok("create", "--memory-swappiness", "30", "--oom-kill-disable", "busybox").Stdout.Trim();
        Assert.Equal("30 true", Ok("inspect", "-f", "{{.HostConfig.MemorySwappiness}} {{.HostConfig.OomKillDisable}}", id).Stdout.Trim());
        Docker("rm", id);
        // The default stays the kernel's (60 unless the host changed it) and inspect shows null, as dockerd.
        id = Ok("create", "busybox").Stdout.Trim();
        Assert.Equal("<nil>", Ok("inspect", "-f", "{{.HostConfig.MemorySwappiness}}", id).Stdout.Trim());
        Docker("rm", id);
        Assert.Contains("Valid memory swappiness range is 0-100", Docker("create", "--memory-swappiness", "101", "busybox").Stderr);
    }

    [Fact]
    public void KernelMemoryIsDiscardedAndSaysSo()
    {
        var (stdout, stderr) = Ok("run", "--rm", "--kernel-memory", "64m", "busybox", "sh", "-c",
            "cat /sys/fs/cgroup/memory/memory.kmem.limit_in_bytes 2>/dev/null || echo none");
        Assert.Contains("WARNING: Specifying a kernel memory limit is deprecated and will be removed in a future release.", stderr);
        Assert.Contains("WARNING: Your kernel does not support kernel memory limit capabilities or the cgroup is not mounted. Limitation discarded.", stderr);
        Assert.NotEqual("67108864", stdout.Trim());
        var id = Ok("create", "--kernel-memory", "64m", "busybox").Stdout.Trim();
        Assert.Equal("0", Ok("inspect", "-f", "{{.HostConfig.KernelMemory}}", id).Stdout.Trim());
        Docker("rm", id);
        Assert.Contains("Minimum kernel memory limit allowed is 6MB", Docker("create", "--kernel-memory", "2m", "busybox").Stderr);
    }

    [Fact]
    public void RealtimeCpuAsDockerd()
    {
        Assert.Contains("cpu real-time runtime cannot be higher than cpu real-time period",
            Docker("create", "--cpu-rt-period", "1000", "--cpu-rt-runtime", "2000", "busybox").Stderr);
        if (!V1)
        {
            Assert.Contains("Your kernel does not support CPU real-time scheduler", Docker("create", "--cpu-rt-runtime", "1000", "busybox").Stderr);
            return;
        }
        // The period is written; a runtime needs a real-time budget in the parent cgroup, which berthd (like
        // dockerd without --cpu-rt-runtime) does not give: the kernel refuses the write and the start fails.
        var (stdout, _) = Ok("run", "--rm", "--cpu-rt-period", "500000", "busybox", "cat", "/sys/fs/cgroup/cpu/cpu.rt_period_us");
        Assert.Equal("500000", stdout.Trim());
        var (code, _, stderr) = Docker("run", "--rm", "--cpu-rt-runtime", "950000", "busybox", "true");
        Assert.NotEqual(0, code);
        Assert.Contains("cpu.rt_runtime_us", stderr);
        Assert.Contains("invalid argument", stderr.ToLowerInvariant());
    }
}
