namespace Berth.Daemon.Tests;

/// <summary>End to end: the real docker CLI (and docker-py when installed) against a berthd process on a
/// private socket, data root, exec root and pid file.</summary>
public sealed class DockerCliTests : IDisposable
{
    private const string DockerCli = "/usr/local/bin/docker";
    private readonly TempDir _dir = new();

    public void Dispose() => _dir.Dispose();

    private (int Code, string Stdout, string Stderr) Docker(string socket, params string[] args)
    {
        // A private client config; no DOCKER_HOST/DOCKER_CONTEXT from the environment.
        var env = new Dictionary<string, string?>
        {
            ["DOCKER_CONFIG"] = Path.Combine(_dir.Path, "docker-config"),
            ["DOCKER_HOST"] = null,
            ["DOCKER_CONTEXT"] = null,
        };
        return Run.Command(DockerCli, ["-H", "unix://" + socket, .. args], env);
    }

    [Fact]
    public void DockerVersion_NegotiatesTo141()
    {
        using BerthdProcess d = BerthdProcess.StartIn(_dir);
        var (code, stdout, stderr) = Docker(_dir.Socket, "version");
        Assert.True(code == 0, $"docker version exited {code}: {stdout}{stderr}");
        Assert.Contains("API version:", stdout);
        Assert.Contains("1.41 (downgraded from", stdout);
        Assert.Contains("1.41 (minimum version 1.12)", stdout);
        Assert.Contains("Version:          0.1.0", stdout);
        Assert.Contains("OS/Arch:          linux/amd64", stdout);
    }

    [Fact]
    public void DockerInfo_PrintsServerSection()
    {
        using BerthdProcess d = BerthdProcess.StartIn(_dir);
        var (code, stdout, stderr) = Docker(_dir.Socket, "info");
        Assert.True(code == 0, $"docker info exited {code}: {stdout}{stderr}");
        Assert.Contains("Server Version: 0.1.0", stdout);
        Assert.Contains("Cgroup Version: " + (File.Exists("/sys/fs/cgroup/cgroup.controllers") ? "2" : "1"), stdout);
        Assert.Contains("Docker Root Dir: " + _dir.DataRoot, stdout);
        Assert.Contains("Storage Driver: overlay2", stdout);
        Assert.DoesNotContain("error", stderr, StringComparison.OrdinalIgnoreCase);

        var (fmtCode, fmtOut, _) = Docker(_dir.Socket, "info", "--format", "{{.ServerVersion}} {{.OSType}} {{.Architecture}}");
        Assert.Equal(0, fmtCode);
        Assert.Equal("0.1.0 linux x86_64", fmtOut.Trim());
    }

    [Fact]
    public void DockerPy_VersionAndPing()
    {
        // Debian's python3-docker (scripts/deps.sh installs it) for the system python.
        using BerthdProcess d = BerthdProcess.StartIn(_dir);
        var (code, stdout, stderr) = Run.Command("/usr/bin/python3", ["-c", $$"""
            import docker
            c = docker.APIClient(base_url="unix://{{_dir.Socket}}", version="auto")
            v = c.version()
            print(v["ApiVersion"], v["Version"], c.ping(), c.info()["ServerVersion"])
            """]);
        Assert.True(code == 0, stderr);
        Assert.Equal("1.41 0.1.0 True 0.1.0", stdout.Trim());
    }

    [Fact]
    public void DockerPy_RunsContainers()
    {
        using BerthdProcess d = BerthdProcess.StartIn(_dir);
        var (code, stdout, stderr) = Run.Command("/usr/bin/python3", ["-c", $$"""
            import docker
            c = docker.DockerClient(base_url="unix://{{_dir.Socket}}", version="auto")
            print(c.containers.run("busybox", ["sh", "-c", "echo from-py; echo err >&2"], remove=True, stderr=True).decode(), end="")
            ctr = c.containers.run("busybox", ["sh", "-c", "echo bg; exit 3"], detach=True, name="pyctr")
            print(ctr.wait()["StatusCode"], ctr.logs().decode().strip(), c.containers.get("pyctr").status)
            ctr.remove()
            try:
                c.containers.run("busybox", ["no-such-command"], remove=True)
            except docker.errors.APIError as e:
                print("error", e.status_code, "executable file not found" in str(e))
            try:
                c.containers.get("nope")
            except docker.errors.NotFound as e:
                print("notfound", e.status_code)
            print(len(c.containers.list(all=True)), [t for i in c.images.list() for t in i.tags])
            """]);
        Assert.True(code == 0, stdout + stderr);
        // docker-py's remove=True is client-side: a container whose start failed stays (as with dockerd).
        Assert.Equal("from-py\nerr\n3 bg exited\nerror 400 True\nnotfound 404\n1 ['busybox:latest']\n", stdout);
    }

    [Fact]
    public void Sigterm_ExitsZeroAndRemovesSocketAndPidFile()
    {
        using BerthdProcess d = BerthdProcess.StartIn(_dir);
        Assert.Equal(d.Pid.ToString(), File.ReadAllText(_dir.PidFile).Trim());
        Assert.Equal(0, Docker(_dir.Socket, "version").Code);
        d.Signal(BerthdProcess.SIGTERM);
        Assert.True(d.WaitForExit(TimeSpan.FromSeconds(15)), "berthd did not exit on SIGTERM");
        Assert.Equal(0, d.ExitCode);
        Assert.False(File.Exists(_dir.Socket), "socket left behind");
        Assert.False(File.Exists(_dir.PidFile), "pid file left behind");
        Assert.Contains("Daemon shutdown complete", d.Output);
    }

    [Fact]
    public void Sigint_AlsoStopsGracefully()
    {
        using BerthdProcess d = BerthdProcess.StartIn(_dir);
        d.Signal(BerthdProcess.SIGINT);
        Assert.True(d.WaitForExit(TimeSpan.FromSeconds(15)));
        Assert.Equal(0, d.ExitCode);
        Assert.False(File.Exists(_dir.Socket));
    }

    [Fact]
    public void TwoDaemons_SideBySide_BothAnswer()
    {
        using var other = new TempDir();
        using BerthdProcess a = BerthdProcess.StartIn(_dir);
        using BerthdProcess b = BerthdProcess.StartIn(other);
        var ra = Docker(_dir.Socket, "info", "--format", "{{.DockerRootDir}}");
        var rb = Docker(other.Socket, "info", "--format", "{{.DockerRootDir}}");
        Assert.Equal(0, ra.Code);
        Assert.Equal(0, rb.Code);
        Assert.Equal(_dir.DataRoot, ra.Stdout.Trim());
        Assert.Equal(other.DataRoot, rb.Stdout.Trim());
    }

    [Fact]
    public void SecondDaemon_OnTheSamePidFile_IsRefused()
    {
        using BerthdProcess first = BerthdProcess.StartIn(_dir);
        using var other = new TempDir();
        using BerthdProcess second = BerthdProcess.Start(
            "-H", "unix://" + other.Socket, "--data-root", other.DataRoot, "--exec-root", other.ExecRoot,
            "--pidfile", _dir.PidFile, "--config-file", Path.Combine(other.Path, "none.json"));
        Assert.True(second.WaitForExit(TimeSpan.FromSeconds(20)));
        Assert.Equal(1, second.ExitCode);
        Assert.Contains("pid file found", second.Output);
        Assert.Equal(first.Pid.ToString(), File.ReadAllText(_dir.PidFile).Trim());
        Assert.False(File.Exists(other.Socket));
    }

    [Fact]
    public void ConfigFile_Hosts_AreServed()
    {
        string cfg = Path.Combine(_dir.Path, "daemon.json");
        string sock = Path.Combine(_dir.Path, "from-config.sock");
        File.WriteAllText(cfg, $$"""{"hosts":["unix://{{sock}}"],"data-root":"{{_dir.DataRoot}}","exec-root":"{{_dir.ExecRoot}}","pidfile":"{{_dir.PidFile}}"}""");
        using BerthdProcess d = BerthdProcess.Start("--config-file", cfg);
        d.WaitForSocket(sock);
        var r = Docker(sock, "version", "--format", "{{.Server.APIVersion}}");
        Assert.Equal(0, r.Code);
        Assert.Equal("1.41", r.Stdout.Trim());
    }

    [Fact]
    public void BadFlag_ExitsOneWithMessage()
    {
        using BerthdProcess d = BerthdProcess.Start("--no-such-flag");
        Assert.True(d.WaitForExit(TimeSpan.FromSeconds(20)));
        Assert.Equal(1, d.ExitCode);
        Assert.Contains("unknown flag: --no-such-flag", d.Output);
    }
}
