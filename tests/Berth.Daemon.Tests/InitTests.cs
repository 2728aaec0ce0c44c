namespace Berth.Daemon.Tests;

/// <summary>--init with the real docker CLI: tini (docker-init) as PID 1, reaping, signals, exit codes.</summary>
public sealed class InitTests(DaemonFixture fx) : IClassFixture<DaemonFixture>
{
    private (int Code, string Stdout, string Stderr) Docker(params string[] args) => DockerCli.Run(fx.Dir.Socket, fx.Dir.Path, args);

    private string Ok(params string[] args)
    {
        var (code, stdout, stderr) = Docker(args);
        Assert.True(code == 0, $"docker {string.Join(' ', args)} exited {code}: {stdout}{stderr}\n{fx.LogTail}");
        return stdout;
    }

    [Fact]
    public void Init_IsPid1_RunsTheCommand_AndPassesTheExitCodeThrough()
    {
        var (code, stdout, stderr) = Docker("run", "--rm", "--init", "busybox", "sh", "-c", "tr '\\0' ' ' < /proc/1/cmdline; echo; echo $$; exit 3");
        Assert.True(code == 3, $"{code}: {stdout}{stderr}");
        var lines = stdout.Split('\n');
        Assert.Equal("/sbin/docker-init -- sh -c tr '\\0' ' ' < /proc/1/cmdline; echo; echo $$; exit 3", lines[0].Trim());
        Assert.NotEqual("1", lines[1].Trim());
    }

    [Fact]
    public void Init_ReapsOrphans()
    {
        var id = Ok("run", "-d", "--init", "busybox", "sh", "-c", "sh -c 'sleep 0.2 &'; sleep 30").Trim();
        try
        {
            Thread.Sleep(1500);
            var ps = Ok("exec", id, "ps", "-o", "pid,stat,comm");
            Assert.DoesNotContain(" Z ", ps);
            Assert.Contains("docker-init", Ok("exec", id, "cat", "/proc/1/comm"));
            Assert.Equal("true", Ok("inspect", "-f", "{{.HostConfig.Init}}", id).Trim());
        }
        finally
        {
            Docker("rm", "-f", id);
        }
    }

    [Fact]
    public void Init_ForwardsTheStopSignal()
    {
        // sh as PID 1 ignores SIGTERM; under tini it is PID 2 and dies of it at once.
        var id = Ok("run", "-d", "--init", "busybox", "sleep", "60").Trim();
        try
        {
            var sw = System.Diagnostics.Stopwatch.StartNew();
            Ok("stop", "-t", "10", id);
            Assert.True(sw.Elapsed < TimeSpan.FromSeconds(5), sw.Elapsed.ToString());
            Assert.Equal("143", Ok("inspect", "-f", "{{.State.ExitCode}}", id).Trim());
        }
        finally
        {
            Docker("rm", "-f", id);
        }
    }
}
