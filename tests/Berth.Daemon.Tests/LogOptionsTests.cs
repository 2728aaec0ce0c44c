namespace Berth.Daemon.Tests;

/// <summary>
/// json-file rotation (--log-opt max-size, max-file), the "none" driver, `logs --details` (labels, env, tag
/// attributes) and dockerd's errors for bad drivers and options, through the real docker CLI (outputs compared by
/// hand with Debian's dockerd 20.10.24).
/// </summary>
public sealed class LogOptionsTests(DaemonFixture fx) : IClassFixture<DaemonFixture>
{
    private (int Code, string Stdout, string Stderr) Docker(params string[] args) => DockerCli.Run(fx.Dir.Socket, fx.Dir.Path, args);

    private (string Stdout, string Stderr) Ok(params string[] args)
    {
        var (code, stdout, stderr) = Docker(args);
        Assert.True(code == 0, $"docker {string.Join(' ', args)} exited {code}: {stdout}{stderr}");
        return (stdout, stderr);
    }

    private static List<string> LogFiles(string logPath) =>
        [.. Directory.GetFiles(Path.GetDirectoryName(logPath)!, Path.GetFileName(logPath) + "*").Order(StringComparer.Ordinal)];

    [Fact]
    public void RotationKeepsMaxFileFilesAndLogsReadsThemInOrder()
    {
        Ok("run", "--name", "rot3", "--log-opt", "max-size=1k", "--log-opt", "max-file=3", "busybox", "seq", "1", "2000");
        const string id = "rot3";
        try
        {
            var logPath = Ok("inspect", "-f", "{{.LogPath}}", id).Stdout.Trim();
            var files = LogFiles(logPath);
            Assert.Equal([logPath, logPath + ".1", logPath + ".2"], files);
            Assert.All(files, f => Assert.True(new FileInfo(f).Length <= 1000, $"{f}: {new FileInfo(f).Length} bytes"));

            // Oldest file first: a contiguous run of numbers that ends with the last line written.
            var lines = Ok("logs", id).Stdout.Split('\n', StringSplitOptions.RemoveEmptyEntries).Select(int.Parse).ToList();
            Assert.Equal(2000, lines[^1]);
            Assert.True(lines.Count > 30, $"only {lines.Count} lines kept");
            Assert.Equal(Enumerable.Range(lines[0], lines.Count), lines);
            Assert.Equal("1999\n2000\n", Ok("logs", "--tail", "2", id).Stdout);
            Assert.Equal(lines.Count, Ok("logs", "--tail", "1000", id).Stdout.Split('\n', StringSplitOptions.RemoveEmptyEntries).Length);
        }
        finally
        {
            Docker("rm", "-f", id);
        }
    }

    [Fact]
    public void MaxFileOneTruncates()
    {
        Ok("run", "--name", "rot1", "--log-opt", "max-size=1k", "busybox", "seq", "1", "500");
        const string id = "rot1";
        var logPath = Ok("inspect", "-f", "{{.LogPath}}", id).Stdout.Trim();
        Assert.Equal([logPath], LogFiles(logPath));
        Assert.EndsWith("\n500\n", Ok("logs", id).Stdout);
        Docker("rm", id);
    }

    [Fact]
    public void FollowCrossesRotations()
    {
        // 400 lines, 5 ms apart, into 1 kB files (about 14 entries each): `logs -f` sees each rotation and misses nothing.
        var id = Ok("run", "-d", "--log-opt", "max-size=1k", "--log-opt", "max-file=4", "busybox", "sh", "-c",
            "sleep 1; i=1; while [ $i -le 400 ]; do echo $i; usleep 5000; i=$((i+1)); done").Stdout.Trim();
        try
        {
            var lines = Ok("logs", "-f", id).Stdout.Split('\n', StringSplitOptions.RemoveEmptyEntries).Select(int.Parse).ToList();
            Assert.Equal(Enumerable.Range(1, 400), lines);
        }
        finally
        {
            Docker("rm", "-f", id);
        }
    }

    [Fact]
    public void NoneDriverHasNoFileAndLogsSaysSo()
    {
        Assert.Equal("hi\n", Ok("run", "--name", "lognone", "--log-driver", "none", "busybox", "echo", "hi").Stdout); // attach still works
        const string id = "lognone";
        Assert.Equal("|none", Ok("inspect", "-f", "{{.LogPath}}|{{.HostConfig.LogConfig.Type}}", id).Stdout.Trim());
        var (code, _, stderr) = Docker("logs", id);
        Assert.Equal(1, code);
        Assert.Contains("Error response from daemon: configured logging driver does not support reading", stderr);
        Docker("rm", id);
    }

    [Fact]
    public void DetailsShowTheAttributesOfEachEntry()
    {
        var id = Ok("run", "--label", "app=web", "-e", "E1=v1", "--log-opt", "labels=app", "--log-opt", "env=E1", "--log-opt", "tag={{.Name}}/x",
            "--name", "logdetails", "busybox", "echo", "hello").Stdout;
        try
        {
            Assert.Equal("hello\n", id);
            Assert.Equal("E1=v1,app=web,tag=logdetails%2Fx hello\n", Ok("logs", "--details", "logdetails").Stdout);
            var logPath = Ok("inspect", "-f", "{{.LogPath}}", "logdetails").Stdout.Trim();
            Assert.Contains("\"stream\":\"stdout\",\"attrs\":{\"E1\":\"v1\",\"app\":\"web\",\"tag\":\"logdetails/x\"},\"time\":", File.ReadAllText(logPath));
        }
        finally
        {
            Docker("rm", "-f", "logdetails");
        }
        var plain = Ok("run", "--name", "logplain", "busybox", "echo", "hello").Stdout;
        Assert.Equal(" hello\n", Ok("logs", "--details", "logplain").Stdout); // no attributes: a space, as dockerd
        Docker("rm", "logplain");
    }

    [Fact]
    public void BadDriversAndOptionsGetDockersErrors()
    {
        Assert.Contains("unknown log opt 'foo' for json-file log driver", Docker("create", "--log-opt", "foo=bar", "busybox").Stderr);
        Assert.Contains("error looking up logging plugin nosuch: plugin \"nosuch\" not found", Docker("create", "--log-driver", "nosuch", "busybox").Stderr);
        Assert.Contains("HostConfig.LogConfig.Type: log driver \"local\" is not implemented in Berth yet", Docker("create", "--log-driver", "local", "busybox").Stderr);
        // Values are read when the container starts, as dockerd's json-file driver does.
        foreach (var (opt, message) in new[]
        {
            ("max-size=abc", "failed to initialize logging driver: invalid size: 'abc'"),
            ("max-size=0", "failed to initialize logging driver: max-size must be a positive number"),
            ("max-file=0", "failed to initialize logging driver: max-file cannot be less than 1"),
        })
        {
            var (code, _, stderr) = Docker("run", "--rm", "--log-opt", opt, "busybox", "true");
            Assert.NotEqual(0, code);
            Assert.Contains(message, stderr);
        }
    }

    [Fact]
    public void DaemonDefaultsApplyToNewContainers()
    {
        using var d = DaemonFixture.With("--log-opt", "max-size=1k", "--log-opt", "max-file=2");
        var (code, stdout, stderr) = DockerCli.Run(d.Dir.Socket, d.Dir.Path, "run", "busybox", "seq", "1", "1000");
        Assert.True(code == 0, stderr);
        var id = DockerCli.Run(d.Dir.Socket, d.Dir.Path, "ps", "-lq", "--no-trunc").Stdout.Trim();
        Assert.Equal("json-file map[max-file:2 max-size:1k]",
            DockerCli.Run(d.Dir.Socket, d.Dir.Path, "inspect", "-f", "{{.HostConfig.LogConfig.Type}} {{.HostConfig.LogConfig.Config}}", id).Stdout.Trim());
        var logPath = DockerCli.Run(d.Dir.Socket, d.Dir.Path, "inspect", "-f", "{{.LogPath}}", id).Stdout.Trim();
        Assert.Equal(2, LogFiles(logPath).Count);
        Assert.Contains("1000", stdout);
    }
}
