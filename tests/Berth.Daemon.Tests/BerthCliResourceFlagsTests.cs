namespace Berth.Daemon.Tests;

/// <summary>berth run/create's device, memory, real-time CPU and logging flags (RunResourceFlags), seen inside the
/// container and in the log, as docker's.</summary>
public sealed class BerthCliResourceFlagsTests(DaemonFixture fx) : IClassFixture<DaemonFixture>
{
    private static string BerthPath()
    {
        string? dir = AppContext.BaseDirectory;
        while (dir is not null && !File.Exists(Path.Combine(dir, "Berth.slnx"))) dir = Path.GetDirectoryName(dir);
        return Path.Combine(dir ?? "/", "out", "bin", "berth");
    }

    private (int Code, string Stdout, string Stderr) Berth(params string[] args) =>
        Run.Command(BerthPath(), ["-H", "unix://" + fx.Dir.Socket, .. args]);

    private static bool V1 => !File.Exists("/sys/fs/cgroup/cgroup.controllers");

    [Fact]
    public void DeviceRuleSwappinessOomAndWarnings()
    {
        var (code, stdout, stderr) = Berth("run", "--rm", "--device", "/dev/null:/dev/mynull:r", "--device-cgroup-rule", "b 7:* rw",
            "--memory-swappiness", "30", "--oom-kill-disable", "--kernel-memory", "64m",
            "busybox", "sh", "-c", V1
                ? "ls -l /dev/mynull; grep -E '^b 7:\\* rw$' /sys/fs/cgroup/devices/devices.list; cat /sys/fs/cgroup/memory/memory.swappiness"
                : "ls -l /dev/mynull");
        Assert.True(code == 0, stdout + stderr);
        Assert.Contains("1,   3", stdout);
        if (V1) Assert.EndsWith("b 7:* rw\n30\n", stdout); // (c 1:3 is in the default list with rwm, as Docker's)
        Assert.Contains("WARNING: Your kernel does not support kernel memory limit capabilities or the cgroup is not mounted. Limitation discarded.", stderr);
        Assert.Contains("invalid argument \"/dev/null:/dev/x:rwx\" for \"--device\" flag: bad mode specified: rwx",
            Berth("create", "--device", "/dev/null:/dev/x:rwx", "busybox").Stderr);
        Assert.Contains("cpu real-time runtime cannot be higher than cpu real-time period",
            Berth("create", "--cpu-rt-period", "1000", "--cpu-rt-runtime", "2000", "busybox").Stderr);
    }

    [Fact]
    public void LogOptionsAndDetails()
    {
        var (code, _, stderr) = Berth("run", "--name", "bcli-log", "--label", "app=web", "--log-opt", "labels=app", "--log-opt", "max-size=1k",
            "--log-opt", "max-file=2", "busybox", "seq", "1", "500");
        try
        {
            Assert.True(code == 0, stderr);
            var (_, details, _) = Berth("logs", "--details", "--tail", "1", "bcli-log");
            Assert.Equal("app=web 500\n", details);
        }
        finally
        {
            Berth("rm", "-f", "bcli-log");
        }
        (code, _, _) = Berth("run", "--name", "bcli-none", "--log-driver", "none", "busybox", "true");
        Assert.Equal(0, code);
        Assert.Contains("configured logging driver does not support reading", Berth("logs", "bcli-none").Stderr);
        Berth("rm", "-f", "bcli-none");
    }
}
