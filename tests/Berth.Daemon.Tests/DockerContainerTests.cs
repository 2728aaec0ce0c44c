namespace Berth.Daemon.Tests;

/// <summary>One berthd (NativeAOT, out/bin) on a private socket and roots for a whole test class.</summary>
public sealed class DaemonFixture : IDisposable
{
    private readonly string[] _extra;

    public DaemonFixture() : this([]) { }

    /// <summary>A daemon with extra berthd flags.</summary>
    public static DaemonFixture With(params string[] extra) => new(extra);

    /// <summary>The real docker CLI against this daemon.</summary>
    public (int Code, string Stdout, string Stderr) Docker(params string[] args) => DockerCli.Run(Dir.Socket, Dir.Path, args);

    /// <summary><see cref="Docker"/> that must exit 0 (else the failure names the command, its output and the daemon's log).</summary>
    public string Ok(params string[] args)
    {
        var (code, stdout, stderr) = Docker(args);
        Assert.True(code == 0, $"docker {string.Join(' ', args)} exited {code}: {stdout}{stderr}\n{LogTail}");
        return stdout;
    }

    /// <summary>docker inspect -f FORMAT, trimmed.</summary>
    public string Inspect(string name, string format) => Ok("inspect", "-f", format, name).Trim();

    /// <summary>Polls <paramref name="condition"/> every 100 ms until it holds or <paramref name="timeout"/> passes.</summary>
    public void WaitFor(Func<bool> condition, TimeSpan timeout, string what)
    {
        var end = DateTime.UtcNow + timeout;
        while (!condition())
        {
            Assert.True(DateTime.UtcNow < end, $"timed out waiting for {what}\n{LogTail}");
            Thread.Sleep(100);
        }
    }

    private DaemonFixture(string[] extra)
    {
        _extra = extra;
        Dir = new TempDir();
        Daemon = BerthdProcess.StartIn(Dir, ["-D", .. extra]);
    }

    /// <summary>The end of the daemon's log (-D: every request), for failure messages.</summary>
    public string LogTail => Daemon.Output.Length > 4000 ? Daemon.Output[^4000..] : Daemon.Output;

    public TempDir Dir { get; }
    public BerthdProcess Daemon { get; private set; }

    /// <summary>Stops the daemon (SIGTERM) and starts a new one over the same roots and socket.</summary>
    public void Restart()
    {
        Daemon.Signal(BerthdProcess.SIGTERM);
        Assert.True(Daemon.WaitForExit(TimeSpan.FromSeconds(15)), "berthd did not stop");
        Daemon.Dispose();
        Daemon = BerthdProcess.StartIn(Dir, ["-D", .. _extra]);
    }

    /// <summary>kill -9 of the daemon (no cleanup runs), then a new one over the same roots and socket.</summary>
    public void Crash(Action? whileDown = null)
    {
        Daemon.Signal(9);
        Assert.True(Daemon.WaitForExit(TimeSpan.FromSeconds(15)), "berthd did not die");
        Daemon.Dispose();
        whileDown?.Invoke();
        Daemon = BerthdProcess.StartIn(Dir, ["-D", .. _extra]);
    }

    public void Dispose()
    {
        // Containers left by a failed test: removed through the API, so that nothing outlives the class.
        var ids = DockerCli.Run(Dir.Socket, Dir.Path, "ps", "-aq", "--no-trunc").Stdout
            .Split('\n', StringSplitOptions.RemoveEmptyEntries);
        if (ids.Length > 0) DockerCli.Run(Dir.Socket, Dir.Path, ["rm", "-f", .. ids]);
        Daemon.Signal(BerthdProcess.SIGTERM);
        Daemon.WaitForExit(TimeSpan.FromSeconds(15));
        Daemon.Dispose();
        foreach (var line in File.ReadAllLines("/proc/self/mountinfo"))
        {
            var mountPoint = line.Split(' ')[4];
            if (mountPoint.StartsWith(Dir.Path, StringComparison.Ordinal)) Run.Command("umount", ["-l", mountPoint]);
        }
        Dir.Dispose();
    }
}

/// <summary>The real docker CLI with a private client config, pointed at one socket.</summary>
public static class DockerCli
{
    public const string Path = "/usr/local/bin/docker";

    public static (int Code, string Stdout, string Stderr) Run(string socket, string configDir, string[] args, string? stdin = null)
    {
        var env = new Dictionary<string, string?>
        {
            ["DOCKER_CONFIG"] = System.IO.Path.Combine(configDir, "docker-config"),
            ["DOCKER_HOST"] = "unix://" + socket,
            ["DOCKER_CONTEXT"] = null,
        };
        return Tests.Run.Command(Path, args, env, stdin);
    }

    public static (int Code, string Stdout, string Stderr) Run(string socket, string configDir, params string[] args) =>
        Run(socket, configDir, args, null);
}

/// <summary>
/// End to end: `docker run` and the container commands of the real docker CLI against berthd, with the kernel
/// underneath (monitors, berth-runtime, overlayfs, cgroups). Each test checks what it leaves behind.
/// </summary>
public sealed class DockerContainerTests(DaemonFixture fx) : IClassFixture<DaemonFixture>
{
    private (int Code, string Stdout, string Stderr) Docker(params string[] args)
    {
        try
        {
            return DockerCli.Run(fx.Dir.Socket, fx.Dir.Path, args);
        }
        catch (TimeoutException e)
        {
            throw new TimeoutException(e.Message + "\nberthd:\n" + fx.LogTail);
        }
    }

    private (int Code, string Stdout, string Stderr) DockerIn(string stdin, params string[] args) =>
        DockerCli.Run(fx.Dir.Socket, fx.Dir.Path, args, stdin);

    private string Ok(params string[] args)
    {
        var (code, stdout, stderr) = Docker(args);
        Assert.True(code == 0, $"docker {string.Join(' ', args)} exited {code}: {stdout}{stderr}");
        return stdout;
    }

    /// <summary>The docker CLI under a pseudo-terminal (util-linux `script`), the way a user types it.</summary>
    private (int Code, string Output) DockerInPty(string shellCommand, string? stdin = null)
    {
        var env = new Dictionary<string, string?>
        {
            ["DOCKER_CONFIG"] = Path.Combine(fx.Dir.Path, "docker-config"),
            ["DOCKER_HOST"] = "unix://" + fx.Dir.Socket,
        };
        var (code, stdout, _) = Run.Command("script", ["-qec", shellCommand, "/dev/null"], env, stdin);
        return (code, stdout);
    }

    /// <summary>Nothing of a removed container is left: record, mounts, cgroups, monitor, runtime state.</summary>
    private void AssertGone(string id)
    {
        Assert.False(Directory.Exists(Path.Combine(fx.Dir.DataRoot, "containers", id)), "container directory left");
        Assert.False(Directory.Exists(Path.Combine(fx.Dir.ExecRoot, "containers", id)), "state directory left");
        Assert.DoesNotContain(File.ReadAllLines("/proc/self/mountinfo"), l => l.Contains(id, StringComparison.Ordinal));
        foreach (var controller in new[] { "memory", "pids", "cpu", "devices" })
            Assert.False(Directory.Exists($"/sys/fs/cgroup/{controller}/berth/{id}"), $"{controller} cgroup left");
        foreach (var proc in Directory.EnumerateDirectories("/proc").Where(d => int.TryParse(Path.GetFileName(d), out _)))
        {
            string cmdline;
            try { cmdline = File.ReadAllText(Path.Combine(proc, "cmdline")); }
            catch (IOException) { continue; }
            Assert.False(cmdline.Contains(id, StringComparison.Ordinal), $"process left: {cmdline.Replace('\0', ' ')}");
        }
    }

    private string IdOf(string name) => Ok("inspect", "-f", "{{.Id}}", name).Trim();

    [Fact]
    public void RunRm_PrintsOutput_AndLeavesNothing()
    {
        var (code, stdout, stderr) = Docker("run", "--rm", "--name", "hello", "busybox", "echo", "hi");
        Assert.True(code == 0, stderr);
        Assert.Equal("hi\n", stdout);
        Assert.DoesNotContain("hello", Ok("ps", "-a", "--format", "{{.Names}}"));
    }

    [Fact]
    public void ExitCodes_AndStreams_PassThrough()
    {
        var (code, stdout, stderr) = Docker("run", "--rm", "busybox", "sh", "-c", "echo out; echo err >&2; exit 3");
        Assert.Equal(3, code);
        Assert.Equal("out\n", stdout);
        Assert.Equal("err\n", stderr);
        // Killed by a signal: 128 + n (PID 1 cannot be sent SIGKILL from inside; docker kill sends it).
        var id = Ok("run", "-d", "busybox", "sleep", "60").Trim();
        Ok("kill", "-s", "TERM", id); // sleep as PID 1 has no TERM handler: ignored
        Assert.Equal("running", Ok("inspect", "-f", "{{.State.Status}}", id).Trim());
        Ok("kill", "-s", "USR1", id);
        Ok("kill", id);
        Assert.Equal("137", Ok("wait", id).Trim());
        Ok("rm", id);
    }

    [Fact]
    public void MissingCommand_Is127_NotExecutable_Is126_UnknownImage_Is125_AndNothingIsLeft()
    {
        var (code, _, stderr) = Docker("run", "--name", "nocmd", "busybox", "no-such-command");
        Assert.Equal(127, code);
        Assert.Contains("executable file not found in $PATH", stderr);
        // Without --rm the container stays, created, with the error and Docker's exit code recorded.
        Assert.Equal("created 127", Ok("inspect", "-f", "{{.State.Status}} {{.State.ExitCode}}", "nocmd").Trim());
        var id = IdOf("nocmd");
        Ok("rm", "nocmd");
        AssertGone(id);

        (code, _, stderr) = Docker("run", "--rm", "busybox", "/etc/passwd");
        Assert.Equal(126, code);
        Assert.Contains("permission denied", stderr);

        (code, _, stderr) = Docker("run", "--rm", "no-such-image", "true");
        Assert.Equal(125, code);
        Assert.Contains("Unable to find image 'no-such-image:latest' locally", stderr);
        Assert.Equal("", Ok("ps", "-aq"));
    }

    [Fact]
    public void Detached_PsLogsStopStartRm()
    {
        var id = Ok("run", "-d", "--name", "web", "busybox", "sh", "-c", "echo started; trap 'echo bye; exit 0' TERM; while true; do sleep 0.1; done").Trim();
        Assert.Matches("^[0-9a-f]{64}$", id);
        var ps = Ok("ps");
        Assert.Contains(id[..12], ps);
        Assert.Matches(@"Up (Less than a second|\d+ seconds?)\s+web", ps);
        WaitFor(() => Ok("logs", "web") == "started\n", "logs");
        Assert.Equal("1 1 0", Ok("info", "--format", "{{.Containers}} {{.ContainersRunning}} {{.ContainersStopped}}").Trim());

        var (code, _, stderr) = Docker("rm", "web");
        Assert.Equal(1, code);
        Assert.Contains("You cannot remove a running container " + id, stderr);

        Assert.Equal("web\n", Ok("stop", "web"));
        Assert.Equal("exited 0", Ok("inspect", "-f", "{{.State.Status}} {{.State.ExitCode}}", "web").Trim());
        Assert.Matches(@"Exited \(0\) .* ago\s+web", Ok("ps", "-a"));
        Assert.Equal("started\nbye\n", Ok("logs", "web")); // logs after exit

        Ok("start", "web");
        Assert.Equal("running", Ok("inspect", "-f", "{{.State.Status}}", "web").Trim());
        Assert.Equal("web\n", Ok("kill", "web"));
        Assert.Equal("exited 137", Ok("inspect", "-f", "{{.State.Status}} {{.State.ExitCode}}", "web").Trim());
        Assert.Equal("web\n", Ok("rm", "web"));
        AssertGone(id);
    }

    [Fact]
    public void Stop_SendsSigkillAfterTheTimeout_RestartAndRmForce()
    {
        // sh as PID 1 ignores SIGTERM: stop waits -t seconds, then kills.
        var id = Ok("run", "-d", "busybox", "sleep", "300").Trim();
        var started = DateTime.UtcNow;
        Ok("stop", "-t", "1", id);
        Assert.InRange((DateTime.UtcNow - started).TotalSeconds, 0.9, 8);
        Assert.Equal("exited 137", Ok("inspect", "-f", "{{.State.Status}} {{.State.ExitCode}}", id).Trim());
        Ok("restart", "-t", "1", id);
        Assert.Equal("running", Ok("inspect", "-f", "{{.State.Status}}", id).Trim());
        Assert.Equal(id + "\n", Ok("rm", "-f", id));
        AssertGone(id);
    }

    [Fact]
    public void Ps_Filters_SelectAsDockerDoes()
    {
        var a = Ok("create", "--name", "fa", "--label", "tier=web", "busybox", "true").Trim();
        var (code, _, _) = Docker("run", "--name", "fb", "--label", "tier=db", "busybox", "sh", "-c", "exit 3");
        Assert.Equal(3, code);
        var b = IdOf("fb");
        var c = Ok("run", "-d", "--name", "fc", "busybox", "sleep", "60").Trim();
        string Names(params string[] filter) => string.Join(",", Ok(["ps", .. filter, "--format", "{{.Names}}"]).Split('\n', StringSplitOptions.RemoveEmptyEntries));

        Assert.Equal("fc", Names());
        Assert.Equal("fc,fb,fa", Names("-a"));
        Assert.Equal("fa", Names("-a", "--filter", "name=^/fa$"));
        Assert.Equal("fb", Names("--filter", "status=exited")); // a status filter includes stopped containers
        Assert.Equal("fa", Names("--filter", "status=created"));
        Assert.Equal("fc,fa", Names("--filter", "status=running", "--filter", "status=created"));
        Assert.Equal("fb", Names("-a", "--filter", "exited=3"));
        Assert.Equal("", Names("-a", "--filter", "exited=0"));
        Assert.Equal("fb,fa", Names("-a", "--filter", "label=tier"));
        Assert.Equal("fb", Names("-a", "--filter", "label=tier=db"));
        Assert.Equal("fb", Names("-a", "--filter", "id=" + b[..10]));
        Assert.Equal("fb,fa", Names("-a", "--filter", "before=fc"));
        Assert.Equal("fc,fb", Names("-a", "--filter", "since=fa"));
        Assert.Equal("fc,fb,fa", Names("-a", "--filter", "ancestor=busybox"));
        Assert.Equal("", Names("-a", "--filter", "ancestor=no-such-image"));
        Assert.Equal("fc,fb,fa", Names("-a", "--filter", "network=none"));
        Assert.Equal("", Names("-a", "--filter", "volume=data"));
        Assert.Equal("fc", Names("-n", "1"));
        Assert.Equal(b + "\n", Ok("ps", "-aq", "--no-trunc", "--filter", "label=tier=db", "--filter", "exited=3"));
        Assert.Contains("tier=web", Ok("ps", "-a", "--filter", "name=fa", "--format", "{{.Labels}}"));

        foreach (var (filter, message) in new[]
                 {
                     ("foo=bar", "invalid filter 'foo'"), ("status=sleepy", "Invalid filter 'status=sleepy'"),
                     ("exited=x", "invalid filter 'exited=x'"), ("before=nosuch", "No such container: nosuch"),
                 })
        {
            string stderr;
            (code, _, stderr) = Docker("ps", "--filter", filter);
            Assert.Equal(1, code);
            Assert.Contains("Error response from daemon: " + message, stderr);
        }

        Ok("rm", "-f", a, b, c);
        foreach (var id in new[] { a, b, c }) AssertGone(id);
    }

    [Fact]
    public void NameInUse_IsAConflict()
    {
        var id = Ok("create", "--name", "twice", "busybox", "true").Trim();
        var (code, _, stderr) = Docker("create", "--name", "twice", "busybox", "true");
        Assert.Equal(1, code); // docker create reports daemon errors with 1 (run: 125)
        Assert.Contains($"Conflict. The container name \"/twice\" is already in use by container \"{id}\"", stderr);
        Ok("rm", "twice");
        AssertGone(id);
    }

    [Fact]
    public void BadValues_Are400WithAClearMessage_AndCreateNothing()
    {
        var (code, _, stderr) = Docker("run", "--rm", "--memory", "1k", "busybox", "true");
        Assert.Equal(125, code);
        Assert.Contains("Minimum memory limit allowed is 6MB", stderr);
        (code, _, stderr) = Docker("run", "--rm", "-u", "nosuchuser", "busybox", "true");
        Assert.Equal(125, code);
        Assert.Contains("unable to find user nosuchuser", stderr);
        Assert.Equal("", Ok("ps", "-aq"));
    }

    [Fact]
    public void RunFlags_ShapeTheProcess()
    {
        var envFile = Path.Combine(fx.Dir.Path, "env.list");
        File.WriteAllText(envFile, "# comment\nFROM_FILE=yes\n");
        Assert.Equal("bar yes /tmp 1000:1000 hh\n", Ok("run", "--rm", "-e", "FOO=bar", "--env-file", envFile, "-w", "/tmp", "-u", "1000:1000",
            "--hostname", "hh", "busybox", "sh", "-c", "echo $FOO $FROM_FILE $(pwd) $(id -u):$(id -g) $(hostname)"));
        Assert.Equal("65534\n", Ok("run", "--rm", "-u", "nobody", "busybox", "id", "-u"));
        Assert.Equal("x y\n", Ok("run", "--rm", "--entrypoint", "/bin/echo", "busybox", "x", "y"));
        // Docker's default capabilities and the default seccomp profile.
        Assert.Equal("CapEff:\t00000000a80425fb\nSeccomp:\t2\n",
            Ok("run", "--rm", "busybox", "grep", "-E", "^(CapEff|Seccomp):", "/proc/self/status"));
        // The default bridge: lo and eth0 (--network none: lo only).
        Assert.Equal("eth0\nlo\n", Ok("run", "--rm", "busybox", "ls", "/sys/class/net"));
        Assert.Equal("lo\n", Ok("run", "--rm", "--network", "none", "busybox", "ls", "/sys/class/net"));
    }

    [Fact]
    public void EtcFiles_LostBeforeStart_AreWrittenAgain()
    {
        // hostname, hosts and resolv.conf are written without fsync (derived from the record): a crash may leave
        // one empty or missing; start writes them again.
        var id = Ok("create", "--hostname", "etc-again", "busybox", "sh", "-c",
            "hostname; cat /etc/hostname; grep -c localhost /etc/hosts; test -f /etc/resolv.conf && echo resolv").Trim();
        var dir = Path.Combine(fx.Dir.DataRoot, "containers", id);
        File.WriteAllText(Path.Combine(dir, "hostname"), "");
        File.Delete(Path.Combine(dir, "hosts"));
        Assert.Equal("etc-again\netc-again\n2\nresolv\n", Ok("start", "-a", id));
        Ok("rm", id);
    }

    [Fact]
    public void StaleRuntimeState_DoesNotBlockStart()
    {
        // A runtime state directory left behind (a crash between a create's first steps and its end) is not an
        // existing container: start clears it.
        var id = Ok("create", "busybox", "echo", "started").Trim();
        var stale = Path.Combine(fx.Dir.ExecRoot, "runtime", id);
        Directory.CreateDirectory(stale);
        File.WriteAllText(Path.Combine(stale, "leftover"), "");
        Assert.Equal("started\n", Ok("start", "-a", id));
        Ok("rm", id);
        Assert.False(Directory.Exists(stale));
    }

    [Fact]
    public void Resources_ReachTheCgroups()
    {
        bool v2 = File.Exists("/sys/fs/cgroup/cgroup.controllers");
        var files = v2
            ? "cat /sys/fs/cgroup/memory.max /sys/fs/cgroup/pids.max /sys/fs/cgroup/cpu.max"
            : "cat /sys/fs/cgroup/memory/memory.limit_in_bytes /sys/fs/cgroup/pids/pids.max /sys/fs/cgroup/cpu/cpu.cfs_quota_us";
        var output = Ok("run", "--rm", "--memory", "64m", "--pids-limit", "50", "--cpus", "0.5", "busybox", "sh", "-c", files);
        Assert.Equal(v2 ? "67108864\n50\n50000 100000\n" : "67108864\n50\n50000\n", output);
    }

    [Fact]
    public void Interactive_StdinIsPiped()
    {
        var (code, stdout, stderr) = DockerIn("hello\nworld\n", "run", "-i", "--rm", "busybox", "sh", "-c", "cat; echo done");
        Assert.True(code == 0, stderr);
        Assert.Equal("hello\nworld\ndone\n", stdout);
    }

    [Fact]
    public void Tty_UnderAPty_HasTheTerminalSize_AndExitCode()
    {
        var (code, output) = DockerInPty("stty rows 30 cols 100; docker run --rm -t busybox sh -c 'stty size; tty'");
        Assert.Equal(0, code);
        Assert.Contains("30 100", output);
        Assert.Contains("/dev/pts/0", output);

        (code, output) = DockerInPty("docker run --rm -it busybox sh", "echo inside $((40+2))\nexit 7\n");
        Assert.Equal(7, code);
        Assert.Contains("inside 42", output);
    }

    [Fact]
    public void Inspect_HasDockersShape()
    {
        var id = Ok("create", "--name", "shape", "-e", "A=1", "busybox", "echo", "x").Trim();
        Assert.Equal($"/shape busybox [echo x] created {id[..12]}",
            Ok("inspect", "-f", "{{.Name}} {{.Config.Image}} {{.Config.Cmd}} {{.State.Status}} {{.Config.Hostname}}", "shape").Trim());
        var (code, _, stderr) = Docker("inspect", "no-such-container");
        Assert.Equal(1, code);
        Assert.Contains("No such object: no-such-container", stderr);
        Ok("rm", "shape");
        AssertGone(id);
    }

    [Fact]
    public void Logs_TailTimestampsAndFollow()
    {
        var id = Ok("run", "-d", "busybox", "sh", "-c", "for i in 1 2 3 4; do echo line$i; done; sleep 1; echo last").Trim();
        Assert.Equal(0, int.Parse(Ok("wait", id).Trim()));
        Assert.Equal("line4\nlast\n", Ok("logs", "--tail", "2", id));
        Assert.Matches(@"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d+Z line1\n", Ok("logs", "-t", id));
        // -f on an exited container returns at the end of the log.
        Assert.Equal("line1\nline2\nline3\nline4\nlast\n", Ok("logs", "-f", id));
        Ok("rm", id);
        AssertGone(id);
    }

    [Fact]
    public void Images_ImportTagInspectRmi()
    {
        var rootfs = Directory.CreateDirectory(Path.Combine(fx.Dir.Path, "mini")).FullName;
        File.WriteAllText(Path.Combine(rootfs, "hello.txt"), "from the import\n");
        var tar = Path.Combine(fx.Dir.Path, "mini.tar");
        Assert.Equal(0, Run.Command("tar", ["-C", rootfs, "-cf", tar, "."]).Code);
        var imported = Ok("import", tar, "mini:1").Trim();
        Assert.StartsWith("sha256:", imported);
        Ok("tag", "mini:1", "mini:latest");
        var images = Ok("images", "--format", "{{.Repository}}:{{.Tag}}");
        Assert.Contains("mini:1", images);
        Assert.Contains("mini:latest", images);
        Assert.Contains("busybox:latest", images);
        Assert.Equal(imported, Ok("image", "inspect", "-f", "{{.Id}}", "mini:latest").Trim());
        Ok("rmi", "mini:1");
        Ok("rmi", "mini:latest");
        var (code, _, stderr) = Docker("image", "inspect", "mini:latest");
        Assert.Equal(1, code);
        Assert.Contains("No such image", stderr);
    }

    private static void WaitFor(Func<bool> condition, string what)
    {
        var deadline = DateTime.UtcNow.AddSeconds(10);
        while (!condition())
        {
            if (DateTime.UtcNow > deadline) throw new TimeoutException("waiting for " + what);
            Thread.Sleep(50);
        }
    }
}

/// <summary>Containers outlive the daemon: a restart finds them running, with their logs, and can stop them.</summary>
public sealed class DaemonRestartTests : IDisposable
{
    private readonly DaemonFixture _fx = new();

    public void Dispose() => _fx.Dispose();

    private string Ok(params string[] args)
    {
        var (code, stdout, stderr) = DockerCli.Run(_fx.Dir.Socket, _fx.Dir.Path, args);
        Assert.True(code == 0, $"docker {string.Join(' ', args)} exited {code}: {stdout}{stderr}");
        return stdout;
    }

    [Fact]
    public void RunningContainer_SurvivesARestart_StillListedWithLogs_AndStops()
    {
        var id = Ok("run", "-d", "--name", "survivor", "busybox", "sh", "-c",
            "echo before; trap 'echo stopping; exit 0' TERM; while true; do sleep 0.1; done").Trim();
        var quick = Ok("run", "-d", "busybox", "sh", "-c", "sleep 1; exit 4").Trim();
        var pid = Ok("inspect", "-f", "{{.State.Pid}}", "survivor").Trim();
        _fx.Restart();
        Assert.Contains("survivor", Ok("ps", "--format", "{{.Names}} {{.Status}}"));
        Assert.Equal("running " + pid, Ok("inspect", "-f", "{{.State.Status}} {{.State.Pid}}", "survivor").Trim());
        Assert.Equal("before\n", Ok("logs", "survivor"));
        // The one that ended while (or after) the daemon was away is seen with its exit code.
        Assert.Equal("4", Ok("wait", quick).Trim());
        Ok("stop", "survivor");
        Assert.Equal("exited 0", Ok("inspect", "-f", "{{.State.Status}} {{.State.ExitCode}}", "survivor").Trim());
        Assert.Equal("before\nstopping\n", Ok("logs", "survivor"));
        Ok("rm", "survivor", quick);
        Assert.Equal("", Ok("ps", "-aq"));
    }
}

/// <summary>`--runtime runc`: the same engine and monitor drive Debian's runc instead of berth-runtime.</summary>
public sealed class RuncRuntimeTests : IDisposable
{
    private readonly DaemonFixture _fx = DaemonFixture.With("--runtime", "runc");

    public void Dispose() => _fx.Dispose();

    [Fact]
    public void DockerRun_WorksWithRunc()
    {
        var (code, stdout, stderr) = DockerCli.Run(_fx.Dir.Socket, _fx.Dir.Path, "run", "--rm", "busybox", "sh", "-c", "echo via runc; exit 5");
        Assert.True(code == 5, stderr);
        Assert.Equal("via runc\n", stdout);
        (code, _, stderr) = DockerCli.Run(_fx.Dir.Socket, _fx.Dir.Path, "run", "--rm", "busybox", "no-such-command");
        Assert.Equal(127, code);
        Assert.Contains("runc create failed", stderr);
        Assert.Equal("", DockerCli.Run(_fx.Dir.Socket, _fx.Dir.Path, "ps", "-aq").Stdout);
    }
}
