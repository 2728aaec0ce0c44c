namespace Berth.Daemon.Tests;

/// <summary>The same scenarios through `berth` (out/bin/berth, NativeAOT): output, exit codes, tables like docker's.</summary>
public sealed class BerthCliTests(DaemonFixture fx) : IClassFixture<DaemonFixture>
{
    private static string BerthPath()
    {
        string? dir = AppContext.BaseDirectory;
        while (dir is not null && !File.Exists(Path.Combine(dir, "Berth.slnx"))) dir = Path.GetDirectoryName(dir);
        var path = Path.Combine(dir ?? "/", "out", "bin", "berth");
        Assert.True(File.Exists(path), $"{path} missing: scripts/build.sh publishes it");
        return path;
    }

    private (int Code, string Stdout, string Stderr) Berth(string[] args, string? stdin = null) =>
        Run.Command(BerthPath(), ["-H", "unix://" + fx.Dir.Socket, .. args], null, stdin);

    private (int Code, string Stdout, string Stderr) Berth(params string[] args) => Berth(args, null);

    private string Ok(params string[] args)
    {
        var (code, stdout, stderr) = Berth(args);
        Assert.True(code == 0, $"berth {string.Join(' ', args)} exited {code}: {stdout}{stderr}");
        return stdout;
    }

    private string Docker(params string[] args) => DockerCli.Run(fx.Dir.Socket, fx.Dir.Path, args).Stdout;

    [Fact]
    public void Run_OutputStreamsAndExitCodes()
    {
        Assert.Equal("hi\n", Ok("run", "--rm", "busybox", "echo", "hi"));
        var (code, stdout, stderr) = Berth("run", "--rm", "busybox", "sh", "-c", "echo out; echo err >&2; exit 3");
        Assert.Equal((3, "out\n", "err\n"), (code, stdout, stderr));
        (code, _, stderr) = Berth("run", "--rm", "busybox", "no-such-command");
        Assert.Equal(127, code);
        Assert.Contains("executable file not found in $PATH", stderr);
        Assert.Equal(126, Berth("run", "--rm", "busybox", "/etc/passwd").Code);
        (code, _, stderr) = Berth("run", "--rm", "no-such-image", "true");
        Assert.Equal(125, code);
        Assert.Contains("No such image: no-such-image:latest", stderr);
        Assert.Equal(125, Berth("run", "--bogus-flag", "busybox").Code);
        Assert.Equal("", Ok("ps", "-aq"));
    }

    [Fact]
    public void RunFlags_AndStdin()
    {
        var envFile = Path.Combine(fx.Dir.Path, "berth-env.list");
        File.WriteAllText(envFile, "FROM_FILE=yes\n");
        Assert.Equal("bar yes /tmp 1000 hh\n", Ok("run", "--rm", "-e", "FOO=bar", "--env-file", envFile, "-w", "/tmp", "-u", "1000:1000",
            "--hostname", "hh", "busybox", "sh", "-c", "echo $FOO $FROM_FILE $(pwd) $(id -u) $(hostname)"));
        Assert.Equal("x y\n", Ok("run", "--rm", "--entrypoint", "/bin/echo", "busybox", "x", "y"));
        Assert.Equal("67108864\n", Ok("run", "--rm", "-m", "64m", "--cpus", "0.5", "--pids-limit", "20", "--network", "none", "busybox",
            "cat", File.Exists("/sys/fs/cgroup/cgroup.controllers") ? "/sys/fs/cgroup/memory.max" : "/sys/fs/cgroup/memory/memory.limit_in_bytes"));
        var (code, stdout, _) = Berth(["run", "-i", "--rm", "busybox", "sh", "-c", "cat; echo done"], "piped\n");
        Assert.Equal((0, "piped\ndone\n"), (code, stdout));
    }

    [Fact]
    public void Tty_UnderAPty()
    {
        var (code, output, _) = Run.Command("script", ["-qec", $"stty rows 30 cols 100; {BerthPath()} -H unix://{fx.Dir.Socket} run --rm -t busybox stty size", "/dev/null"]);
        Assert.Equal(0, code);
        Assert.Contains("30 100", output);
        (code, output, _) = Run.Command("script", ["-qec", $"{BerthPath()} -H unix://{fx.Dir.Socket} run --rm -it busybox sh", "/dev/null"], null, "echo in $((20+1))\nexit 6\n");
        Assert.Equal(6, code);
        Assert.Contains("in 21", output);
    }

    [Fact]
    public void Lifecycle_PsLogsInspectStopStartKillRm_AndTablesMatchDocker()
    {
        var id = Ok("run", "-d", "--name", "cli-web", "busybox", "sh", "-c", "echo started; trap 'exit 0' TERM; while true; do sleep 0.1; done").Trim();
        try
        {
            Assert.Matches("^[0-9a-f]{64}$", id);
            for (int i = 0; i < 100 && Ok("logs", "cli-web") != "started\n"; i++) Thread.Sleep(50);
            Assert.Equal("started\n", Ok("logs", "cli-web"));
            Assert.Equal("running [sh -c echo started; trap 'exit 0' TERM; while true; do sleep 0.1; done]",
                Ok("inspect", "-f", "{{.State.Status}} {{.Config.Cmd}}", "cli-web").Trim());
            // The tables are docker's, line for line (the durations may tick between the two calls, and with them the
            // width of their column: "Less than a second ago" is wider than "1 second ago").
            static string Untimed(string s) => Unpadded(System.Text.RegularExpressions.Regex.Replace(s, @"(Less than a second|\d+ seconds?)( ago)?", "T"));
            Assert.Equal(Untimed(Docker("ps")), Untimed(Ok("ps")));
            Assert.Equal(Docker("images"), Ok("images"));
            Assert.Equal(id[..12] + "\n", Ok("ps", "-q"));
            Assert.Equal("cli-web\n", Ok("stop", "cli-web"));
            Assert.Equal("exited 0", Ok("inspect", "-f", "{{.State.Status}} {{.State.ExitCode}}", "cli-web").Trim());
            Assert.Equal(Untimed(Docker("ps", "-a")), Untimed(Ok("ps", "-a")));
            Assert.Equal("cli-web\n", Ok("start", "cli-web"));
            Assert.Equal("cli-web\n", Ok("kill", "cli-web"));
            Assert.Equal("137", Ok("inspect", "-f", "{{.State.ExitCode}}", "cli-web").Trim());
            Assert.Equal("cli-web\n", Ok("restart", "-t", "1", "cli-web"));
            var (code, _, stderr) = Berth("rm", "cli-web");
            Assert.Equal(1, code);
            Assert.Contains("You cannot remove a running container", stderr);
            Assert.Equal("cli-web\n", Ok("rm", "-f", "cli-web"));
            (code, _, stderr) = Berth("inspect", "cli-web");
            Assert.Equal(1, code);
            Assert.Contains("No such object: cli-web", stderr);
            Assert.Equal("", Ok("ps", "-aq"));
        }
        finally
        {
            Berth("rm", "-f", "cli-web"); // a failed step must not leave it to the next tests
        }
    }

    /// <summary>Column padding reduced to two spaces (a column's width follows its widest cell).</summary>
    private static string Unpadded(string table) => System.Text.RegularExpressions.Regex.Replace(table, " {2,}", "  ");

    [Fact]
    public void Ps_Filters_AsDocker()
    {
        var a = Ok("create", "--name", "cli-fa", "busybox", "true").Trim();
        Assert.Equal(4, Berth("run", "--name", "cli-fb", "busybox", "sh", "-c", "exit 4").Code);
        foreach (var args in new[]
                 {
                     new[] { "ps", "-a", "--filter", "status=exited" }, ["ps", "--filter", "status=created", "-q"],
                     ["ps", "-a", "--filter", "exited=4", "--format", "{{.Names}}"], ["ps", "-a", "--filter", "name=cli-f", "-n", "1", "-q"],
                     ["ps", "-a", "--filter", "before=cli-fb", "--format", "{{.Names}}"],
                 })
        {
            var untimed = (string s) => Unpadded(System.Text.RegularExpressions.Regex.Replace(s, @"(Less than a second|\d+ seconds?)( ago)?", "T"));
            var mine = untimed(Ok(args));
            Assert.NotEqual("", mine);
            Assert.Equal(untimed(Docker(args)), mine);
        }
        var (code, _, stderr) = Berth("ps", "--filter", "bogus=1");
        Assert.Equal((1, true), (code, stderr.Contains("Error response from daemon: invalid filter 'bogus'", StringComparison.Ordinal)));
        Assert.Equal(125, Berth("ps", "--filter", "nonsense").Code);
        Ok("rm", a, "cli-fb");
        Assert.Equal("", Ok("ps", "-aq"));
    }

    [Fact]
    public void CreateConflict_Images_ImportTagRmi_VersionInfo()
    {
        var id = Ok("create", "--name", "cli-twice", "busybox", "true").Trim();
        var (code, _, stderr) = Berth("create", "--name", "cli-twice", "busybox", "true");
        Assert.Equal(1, code);
        Assert.Contains($"Conflict. The container name \"/cli-twice\" is already in use by container \"{id}\"", stderr);
        Assert.Equal("cli-twice\n", Ok("rm", "cli-twice"));

        var rootfs = Directory.CreateDirectory(Path.Combine(fx.Dir.Path, "cli-mini")).FullName;
        File.WriteAllText(Path.Combine(rootfs, "f.txt"), "x\n");
        var tar = Path.Combine(fx.Dir.Path, "cli-mini.tar");
        Assert.Equal(0, Run.Command("tar", ["-C", rootfs, "-cf", tar, "."]).Code);
        var imported = Ok("import", tar, "climini:1").Trim();
        Assert.StartsWith("sha256:", imported);
        Ok("tag", "climini:1", "climini:2");
        Assert.Contains("climini", Ok("images"));
        Assert.Equal(imported, Ok("inspect", "-f", "{{.Id}}", "climini:2").Trim());
        Assert.Contains("Untagged: climini:1", Ok("rmi", "climini:1"));
        Assert.Contains("Deleted: " + imported, Ok("rmi", "climini:2"));

        Assert.Contains("API version:      1.41", Ok("version"));
        Assert.Equal("0.1.0", Ok("info", "--format", "{{.ServerVersion}}").Trim());
    }
}
