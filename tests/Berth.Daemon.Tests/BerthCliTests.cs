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
    public void Publish_AndPort_AsDocker()
    {
        var name = "bport" + Guid.NewGuid().ToString("N")[..6];
        Ok("run", "-d", "--name", name, "-p", "127.0.0.1::80", "-P", "--expose", "81/udp", "busybox", "sleep", "60");
        try
        {
            // The same request as the docker CLI's: PortBindings, ExposedPorts, PublishAllPorts.
            Assert.Equal("{\"80/tcp\":[{\"HostIp\":\"127.0.0.1\",\"HostPort\":\"\"}]} true\n",
                Docker("inspect", "-f", "{{json .HostConfig.PortBindings}} {{.HostConfig.PublishAllPorts}}", name));
            Assert.Equal("map[80/tcp:{} 81/udp:{}]\n", Docker("inspect", "-f", "{{.Config.ExposedPorts}}", name));
            var docker = DockerCli.Run(fx.Dir.Socket, fx.Dir.Path, "port", name);
            Assert.Equal(docker.Stdout, Ok("port", name));
            Assert.Matches(@"^80/tcp -> 127\.0\.0\.1:\d+\n81/udp -> 0\.0\.0\.0:\d+\n$", docker.Stdout);
            Assert.Equal(DockerCli.Run(fx.Dir.Socket, fx.Dir.Path, "port", name, "81/udp").Stdout, Ok("port", name, "81/udp"));
            var (code, _, stderr) = Berth("port", name, "82");
            var byDocker = DockerCli.Run(fx.Dir.Socket, fx.Dir.Path, "port", name, "82");
            Assert.Equal((byDocker.Code, byDocker.Stderr), (code, stderr));
            Assert.Contains($"No public port '82' published for {name}", stderr);
            (code, _, stderr) = Berth("run", "--rm", "-p", "80/icmp", "busybox", "true");
            Assert.Equal(125, code);
            Assert.Contains("invalid proto: icmp", stderr);
        }
        finally { Berth("rm", "-f", name); }
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

    [Fact]
    public void Help_OnEveryCommand_AndUsageErrorsAsDocker()
    {
        var (code, stdout, stderr) = Berth("run", "--help");
        Assert.Equal(0, code);
        Assert.StartsWith("Usage:  berth run [OPTIONS] IMAGE [COMMAND] [ARG...]\n\nCreate and run a new container from an image\n", stdout);
        Assert.Contains("\n  -i, --interactive ", stdout);
        Assert.Equal("", stderr);
        foreach (var cmd in new[]
                 {
                     "attach", "create", "inspect", "kill", "logs", "ps", "restart", "rm", "start", "stop", "wait", "import", "images", "rmi",
                     "tag", "info", "version", "container ls", "container run", "container attach", "image ls", "image inspect", "image rm",
                     "system info", "system version",
                 })
        {
            // as docker's: -h is run's and create's --hostname
            foreach (var help in cmd is "create" or "container run" ? ["--help"] : new[] { "--help", "-h" })
            {
                (code, stdout, _) = Berth([.. cmd.Split(' '), help]);
                Assert.True(code == 0 && stdout.StartsWith($"Usage:  berth {cmd} ", StringComparison.Ordinal), $"berth {cmd} {help}: {code} {stdout}");
            }
        }
        Assert.Contains("flag needs an argument: 'h' in -h", Berth("run", "-h").Stderr);
        Assert.StartsWith("Usage:  berth wait CONTAINER [CONTAINER...]\n", Ok("help", "wait"));
        Assert.StartsWith("Usage:  berth container ls [OPTIONS]\n", Ok("help", "container", "ls"));
        Assert.StartsWith("Usage:  berth container COMMAND\n\nManage containers\n", Ok("container"));
        Assert.Contains("\n  ls          List containers\n", Ok("container", "--help"));

        (code, stdout, stderr) = Berth("wait");
        Assert.Equal((1, ""), (code, stdout));
        Assert.Equal("\"berth wait\" requires at least 1 argument.\nSee 'berth wait --help'.\n\nUsage:  berth wait CONTAINER [CONTAINER...]\n\n"
                     + "Block until one or more containers stop, then print their exit codes\n", stderr);
        (code, _, stderr) = Berth("container", "wait");
        Assert.Equal((1, true), (code, stderr.StartsWith("\"berth container wait\" requires at least 1 argument.\nSee 'berth container wait --help'.", StringComparison.Ordinal)));
        (code, _, stderr) = Berth("run");
        Assert.Equal((1, true), (code, stderr.StartsWith("\"berth run\" requires at least 1 argument.", StringComparison.Ordinal)));
        (code, _, stderr) = Berth("ps", "extra");
        Assert.Equal((1, true), (code, stderr.StartsWith("\"berth ps\" accepts no arguments.", StringComparison.Ordinal)));
        (code, _, stderr) = Berth("logs");
        Assert.Equal((1, true), (code, stderr.StartsWith("\"berth logs\" requires exactly 1 argument.", StringComparison.Ordinal)));
        (code, _, stderr) = Berth("tag", "a");
        Assert.Equal((1, true), (code, stderr.StartsWith("\"berth tag\" requires exactly 2 arguments.", StringComparison.Ordinal)));
        (code, _, stderr) = Berth("ps", "--bogus");
        Assert.Equal((125, true), (code, stderr.StartsWith("unknown flag: --bogus\nSee 'berth ps --help'.\n\nUsage:  berth ps [OPTIONS]", StringComparison.Ordinal)));
        Assert.Equal(1, Berth("container", "bogus").Code);
        Assert.Equal(1, Berth("bogus").Code);
        // as docker: the argument checks come before the daemon is asked
        Assert.Equal(1, Run.Command(BerthPath(), ["-H", "unix:///nonexistent.sock", "wait"]).Code);
    }

    [Fact]
    public void ManagementCommands_AreTheSameCommands()
    {
        Assert.Equal("hi\n", Ok("container", "run", "--rm", "busybox", "echo", "hi"));
        var id = Ok("container", "create", "--name", "cli-mgmt", "busybox", "sh", "-c", "echo out; exit 2").Trim();
        try
        {
            Assert.Equal("cli-mgmt\n", Ok("container", "start", "cli-mgmt"));
            Assert.Equal("2\n", Ok("container", "wait", "cli-mgmt"));
            Assert.Equal("out\n", Ok("container", "logs", "cli-mgmt"));
            Assert.Equal(id + "\n", Ok("container", "inspect", "-f", "{{.Id}}", "cli-mgmt"));
            Assert.Equal(Ok("ps", "-a", "--format", "{{.ID}} {{.Names}}"), Ok("container", "ls", "-a", "--format", "{{.ID}} {{.Names}}"));
            Assert.Equal(Ok("ps", "-aq"), Ok("container", "ps", "-aq"));
            Assert.Equal(Ok("ps", "-aq"), Ok("container", "list", "-aq"));
            Assert.Equal("cli-mgmt\n", Ok("container", "restart", "-t", "1", "cli-mgmt"));
            Assert.Equal("cli-mgmt\n", Ok("container", "stop", "-t", "1", "cli-mgmt"));
            Assert.Equal("cli-mgmt\n", Ok("container", "rm", "cli-mgmt"));
            var (code, stdout, stderr) = Berth("container", "inspect", "cli-mgmt");
            Assert.Equal((1, "[]\n"), (code, stdout));
            Assert.Contains("No such container: cli-mgmt", stderr);
        }
        finally
        {
            Berth("rm", "-f", "cli-mgmt");
        }
        Assert.Equal(Ok("images"), Ok("image", "ls"));
        Assert.Equal(Ok("images"), Ok("image", "list"));
        Assert.Equal(Ok("info", "--format", "{{.ServerVersion}}"), Ok("system", "info", "--format", "{{.ServerVersion}}"));
        Assert.Contains("API version:      1.41", Ok("system", "version"));
        Assert.Equal("0.1.0\n", Ok("version", "--format", "{{.Client.Version}}"));
        Assert.Equal(1, Berth("image", "inspect", "no-such-image").Code);
    }

    [Fact]
    public void Format_TableJsonAndTemplates_MatchDocker()
    {
        Ok("run", "-d", "--name", "cli-fmt", "-l", "com.example.my-key=v1", "-l", "b=2", "busybox", "sleep", "100");
        try
        {
            static string Untimed(string s) => System.Text.RegularExpressions.Regex.Replace(s, @"(Less than a second|About a minute|\d+ (seconds?|minutes?))( ago)?", "T");
            foreach (var format in new[]
                     {
                         "table", "json", "table {{.ID}}\\t{{.Names}}", "table {{.Names}}\\t{{.Label \"com.example.my-key\"}}\\t{{.Labels}}",
                         "{{.Names}}|{{.Label \"b\"}}|{{.Labels}}|{{.State}}|{{.Status}}|{{json .Names}}|{{upper .State}}",
                         "table {{.Image}}\\t{{.Command}}\\t{{.CreatedAt}}\\t{{.Size}}\\t{{.Mounts}}\\t{{.Networks}}\\t{{.Ports}}\\t{{.LocalVolumes}}",
                     })
            {
                var mine = Untimed(Ok("ps", "--filter", "name=cli-fmt", "--format", format));
                Assert.Equal(Untimed(Docker("ps", "--filter", "name=cli-fmt", "--format", format)), mine);
            }
            Assert.Equal("v1\n", Ok("ps", "--filter", "name=cli-fmt", "--format", "{{.Label \"com.example.my-key\"}}"));
            var quiet = Berth("ps", "-q", "--filter", "name=cli-fmt", "--format", "{{.Names}}");
            Assert.Equal((0, Ok("ps", "-q", "--filter", "name=cli-fmt"), "WARNING: Ignoring custom format, because both --format and --quiet are set.\n"), quiet);
            foreach (var format in new[] { "table", "json", "table {{.ID}}\\t{{.Repository}}:{{.Tag}}", "{{.Repository}} {{.Tag}} {{.Digest}} {{.CreatedAt}} {{.Size}}" })
                Assert.Equal(Docker("images", "--format", format), Ok("images", "--format", format));
            foreach (var format in new[]
                     {
                         "{{json .Config.Labels}}", "{{.State.Running}} {{.State.Status}}", "{{index .Config.Labels \"b\"}}",
                         "{{range $k, $v := .Config.Labels}}{{$k}}={{$v}};{{end}}", "{{if .State.Running}}up{{else}}down{{end}}",
                         "{{.Name}} {{len .Config.Cmd}} {{join .Config.Cmd \",\"}}", "{{json .Config.Cmd}}", "json",
                     })
                Assert.Equal(Docker("inspect", "-f", format, "cli-fmt"), Ok("inspect", "-f", format, "cli-fmt"));
            var (code, _, stderr) = Berth("ps", "--format", "{{.Nope}}");
            Assert.Equal((1, true), (code, stderr.Contains("can't evaluate field Nope", StringComparison.Ordinal)));
        }
        finally
        {
            Berth("rm", "-f", "cli-fmt");
        }
    }

    [Fact]
    public void References_WithRegistryPortAndPath()
    {
        const string reference = "localhost:5000/ns/app:1";
        Ok("tag", "busybox:latest", reference);
        try
        {
            var id = Ok("image", "inspect", "-f", "{{.Id}}", "busybox").Trim();
            Assert.Equal(id + "\n", Ok("image", "inspect", "-f", "{{.Id}}", reference));
            Assert.Equal(id + "\n", Ok("inspect", "-f", "{{.Id}}", reference));
            Assert.Equal("localhost:5000/ns/app 1\n", Ok("images", "localhost:5000/ns/app", "--format", "{{.Repository}} {{.Tag}}"));
            Assert.Equal("hi\n", Ok("run", "--rm", reference, "echo", "hi"));
            Ok("image", "tag", reference, "localhost:5000/ns/other");
            Assert.Contains("Untagged: localhost:5000/ns/other:latest", Ok("image", "rm", "localhost:5000/ns/other"));
            Assert.Equal("Untagged: " + reference + "\n", Ok("rmi", reference));
            var (code, _, stderr) = Berth("image", "inspect", reference);
            Assert.Equal((1, true), (code, stderr.Contains("No such image", StringComparison.Ordinal)));
        }
        finally
        {
            Berth("rmi", reference);
            Berth("rmi", "localhost:5000/ns/other");
        }
    }

    [Fact]
    public async Task SigProxy_SignalsToAnAttachedCliGoToTheContainer()
    {
        var psi = new System.Diagnostics.ProcessStartInfo(BerthPath()) { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        foreach (var a in new[] { "-H", "unix://" + fx.Dir.Socket, "run", "--rm", "busybox", "sh", "-c",
                                  "trap 'echo got-int; exit 7' INT; echo ready; while true; do sleep 0.1; done" })
            psi.ArgumentList.Add(a);
        using var p = System.Diagnostics.Process.Start(psi)!;
        var stderr = p.StandardError.ReadToEndAsync();
        Assert.Equal("ready", p.StandardOutput.ReadLine());
        Assert.Equal(0, kill(p.Id, 2)); // SIGINT, as ctrl-c at a terminal without -t
        Assert.Equal("got-int", p.StandardOutput.ReadLine());
        Assert.True(p.WaitForExit(20_000), "berth did not exit");
        Assert.Equal(7, p.ExitCode);
        Assert.Equal("", await stderr);
    }

    [System.Runtime.InteropServices.DllImport("libc", SetLastError = true)]
    private static extern int kill(int pid, int sig);

    [Fact]
    public void Volumes_CreateLsInspectRmPrune_MatchDocker()
    {
        Assert.Equal("cli-vol\n", Ok("volume", "create", "--label", "berth-cli-test=1", "-d", "local", "cli-vol"));
        Assert.Equal("cli-vol2\n", Ok("volume", "create", "--label", "berth-cli-test=1", "--name", "cli-vol2"));
        string[] ls = ["volume", "ls", "--filter", "label=berth-cli-test"];
        Assert.Equal("DRIVER    VOLUME NAME\nlocal     cli-vol\nlocal     cli-vol2\n", Ok(ls));
        Assert.Equal(Docker(ls), Ok(ls));
        Assert.Equal(Docker([.. ls, "-q"]), Ok([.. ls, "-q"]));
        Assert.Equal(Docker([.. ls, "--format", "json"]), Ok([.. ls, "--format", "json"]));
        Assert.Equal(Docker([.. ls, "--format", "table {{.Name}}\t{{.Labels}}\t{{.Mountpoint}}"]), Ok([.. ls, "--format", "table {{.Name}}\t{{.Labels}}\t{{.Mountpoint}}"]));
        Assert.Equal(Docker("volume", "inspect", "cli-vol"), Ok("volume", "inspect", "cli-vol"));
        Assert.Equal("local 1\n", Ok("volume", "inspect", "-f", "{{.Driver}} {{index .Labels \"berth-cli-test\"}}", "cli-vol"));

        var (code, _, stderr) = Berth("volume", "inspect", "cli-nope");
        Assert.Equal((1, "Error response from daemon: get cli-nope: no such volume\n"), (code, stderr));
        (code, _, stderr) = Berth("volume", "rm", "cli-nope");
        Assert.Equal((1, "Error response from daemon: get cli-nope: no such volume\n"), (code, stderr));
        (code, _, stderr) = Berth("volume", "create", "-o", "size=1m", "cli-opt");
        Assert.Equal((1, "Error response from daemon: create cli-opt: invalid option key: \"size\"\n"), (code, stderr));

        Assert.Equal("cli-vol2\n", Ok("volume", "rm", "cli-vol2"));
        // prune asks first; "n" keeps everything
        var (pc, pout, _) = Berth(["volume", "prune", "--filter", "label=berth-cli-test"], "n\n");
        Assert.Equal(0, pc);
        Assert.StartsWith("WARNING! This will remove all local volumes not used by at least one container.", pout);
        Assert.Equal("cli-vol\n", Ok([.. ls, "-q"]));
        Assert.Equal("Deleted Volumes:\ncli-vol\n\nTotal reclaimed space: 0B\n", Ok("volume", "prune", "-f", "--filter", "label=berth-cli-test"));
        Assert.Equal("", Ok([.. ls, "-q"]));
    }

    [Fact]
    public void Run_VolumeMountTmpfsVolumesFromReadOnly_SendWhatTheDockerCliSends()
    {
        var host = Path.Combine(fx.Dir.Path, "cli-bind");
        Directory.CreateDirectory(host);
        File.WriteAllText(Path.Combine(host, "in"), "from-host");
        try
        {
            Assert.Equal("from-host", Ok("run", "--rm", "-v", host + ":/h:ro", "busybox", "cat", "/h/in"));
            Ok("run", "--rm", "-v", "cli-run-vol:/data", "busybox", "sh", "-c", "echo kept > /data/f");
            Assert.Equal("kept\n", Ok("run", "--rm", "--mount", "type=volume,source=cli-run-vol,target=/d,readonly", "busybox", "cat", "/d/f"));
            Assert.Equal("from-host", Ok("run", "--rm", "--mount", $"type=bind,src={host},dst=/b", "busybox", "cat", "/b/in"));
            Assert.Contains("size=1024k", Ok("run", "--rm", "--mount", "type=tmpfs,target=/t,tmpfs-size=1m", "busybox", "grep", " /t ", "/proc/mounts"));
            Assert.Contains(" /s tmpfs ", Ok("run", "--rm", "--read-only", "--tmpfs", "/s:size=1m", "busybox", "sh", "-c", "touch /s/x && grep ' /s ' /proc/mounts"));
            Assert.NotEqual(0, Berth("run", "--rm", "--read-only", "busybox", "touch", "/x").Code);
            // An anonymous volume (-v /path), shared through --volumes-from, gone with rm -v.
            Ok("create", "--name", "cli-vc", "-v", "/shared", "busybox", "true");
            Ok("run", "--rm", "--volumes-from", "cli-vc", "busybox", "sh", "-c", "echo vf > /shared/f");
            var name = Ok("inspect", "-f", "{{range .Mounts}}{{.Name}}{{end}}", "cli-vc").Trim();
            Assert.Equal(64, name.Length);
            Assert.Equal("vf\n", Ok("run", "--rm", "-v", name + ":/s", "busybox", "cat", "/s/f"));
            Ok("rm", "-v", "cli-vc");
            Assert.NotEqual(0, Berth("volume", "inspect", name).Code);
            var (code, _, stderr) = Berth("run", "--rm", "--mount", "type=bind,source=/nonexistent-cli,target=/x", "busybox", "true");
            Assert.Equal(125, code);
            Assert.Contains("bind source path does not exist: /nonexistent-cli", stderr);
        }
        finally
        {
            Berth("rm", "-f", "cli-vc");
            Berth("volume", "rm", "cli-run-vol");
        }
    }
}
