using Berth.Api;
using Berth.Core;
using Berth.Daemon;
using Berth.Daemon.Server;

namespace Berth.Daemon.Tests;

public sealed class OptionsTests
{
    private static string MissingConfig => "/nonexistent/berth/daemon.json";

    [Fact]
    public void Defaults_AreDockerdLike()
    {
        DaemonOptions o = DaemonOptions.Parse(["--config-file", MissingConfig], out bool exit);
        Assert.False(exit);
        Assert.Equal(["unix:///run/berth.sock"], o.Hosts);
        Assert.Equal("/var/lib/berth", o.DataRoot);
        Assert.Equal("/run/berth", o.ExecRoot);
        Assert.Equal("/run/berth.pid", o.PidFile);
        Assert.Equal("berth-runtime", o.Runtime);
    }

    [Fact]
    public void Flags_InBothSpellings()
    {
        DaemonOptions o = DaemonOptions.Parse(
            ["-H", "unix:///tmp/a.sock", "--host=unix:///tmp/b.sock", "-Hunix:///tmp/c.sock", "--data-root=/tmp/d",
             "--exec-root", "/tmp/e", "--pidfile", "/tmp/p.pid", "--runtime", "runc", "--config-file", MissingConfig],
            out _);
        Assert.Equal(["unix:///tmp/a.sock", "unix:///tmp/b.sock", "unix:///tmp/c.sock"], o.Hosts);
        Assert.Equal("/tmp/d", o.DataRoot);
        Assert.Equal("/tmp/e", o.ExecRoot);
        Assert.Equal("/tmp/p.pid", o.PidFile);
        Assert.Equal("runc", o.Runtime);
    }

    [Fact]
    public void ConfigFile_FillsWhatFlagsDoNotSet()
    {
        using var dir = new TempDir();
        string cfg = Path.Combine(dir.Path, "daemon.json");
        File.WriteAllText(cfg, """
            {
              "hosts": ["unix:///tmp/from-file.sock"],
              "data-root": "/tmp/file-data",
              "exec-root": "/tmp/file-exec",
              "pidfile": "/tmp/file.pid",
              "default-runtime": "crun",
              "runtimes": { "crun": { "path": "/usr/bin/crun" } },
              "log-level": "info"
            }
            """);
        DaemonOptions fromFile = DaemonOptions.Parse(["--config-file", cfg], out _);
        Assert.Equal(["unix:///tmp/from-file.sock"], fromFile.Hosts);
        Assert.Equal("/tmp/file-data", fromFile.DataRoot);
        Assert.Equal("/tmp/file-exec", fromFile.ExecRoot);
        Assert.Equal("/tmp/file.pid", fromFile.PidFile);
        Assert.Equal("crun", fromFile.Runtime);
        Assert.Equal("/usr/bin/crun", fromFile.Runtimes["crun"]);

        DaemonOptions flagsWin = DaemonOptions.Parse(["--config-file", cfg, "-H", "unix:///tmp/flag.sock", "--data-root", "/tmp/flag-data", "--runtime", "runc"], out _);
        Assert.Equal(["unix:///tmp/flag.sock"], flagsWin.Hosts);
        Assert.Equal("/tmp/flag-data", flagsWin.DataRoot);
        Assert.Equal("/tmp/file-exec", flagsWin.ExecRoot);
        Assert.Equal("runc", flagsWin.Runtime);
    }

    [Fact]
    public void BadInput_IsInvalidParameter()
    {
        Assert.Equal(ErrorKind.InvalidParameter, Assert.Throws<BerthException>(() => DaemonOptions.Parse(["--bogus"], out _)).Kind);
        Assert.Equal(ErrorKind.InvalidParameter, Assert.Throws<BerthException>(() => DaemonOptions.Parse(["--data-root"], out _)).Kind);
        using var dir = new TempDir();
        string cfg = Path.Combine(dir.Path, "daemon.json");
        File.WriteAllText(cfg, "{ not json");
        Assert.Equal(ErrorKind.InvalidParameter, Assert.Throws<BerthException>(() => DaemonOptions.Parse(["--config-file", cfg], out _)).Kind);
        Assert.Throws<BerthException>(() => HostAddress.Parse("ssh://host"));
        Assert.Throws<BerthException>(() => HostAddress.Parse("unix://relative.sock"));
    }

    [Fact]
    public void HelpAndVersion_ExitEarly()
    {
        var w = new StringWriter();
        DaemonOptions.Parse(["--version"], out bool exit, w);
        Assert.True(exit);
        Assert.StartsWith("Berth version 0.1.0", w.ToString());
    }

    [Theory]
    [InlineData("/v1.41/containers/json", true, 1, 41, "/containers/json")]
    [InlineData("/v1.9/x", true, 1, 9, "/x")]
    [InlineData("/v1.50", true, 1, 50, "/")]
    [InlineData("/version", false, 0, 0, "/version")]
    [InlineData("/volumes/v1.2", false, 0, 0, "/volumes/v1.2")]
    [InlineData("/vx.41/info", false, 0, 0, "/vx.41/info")]
    public void VersionPrefix(string path, bool versioned, int major, int minor, string rest)
    {
        Assert.Equal(versioned, VersionMiddleware.TrySplitVersion(path, out ApiVersion v, out string r));
        Assert.Equal(rest, r);
        if (versioned) Assert.Equal(new ApiVersion(major, minor), v);
    }

    [Fact]
    public void ApiVersions_CompareNumerically()
    {
        Assert.True(new ApiVersion(1, 9) < new ApiVersion(1, 12));
        Assert.True(new ApiVersion(2, 0) > ApiVersions.MaxVersion);
        Assert.Equal("1.41", ApiVersions.MaxVersion.ToString());
    }

    [Theory]
    [InlineData(ErrorKind.NotFound, 404)]
    [InlineData(ErrorKind.InvalidParameter, 400)]
    [InlineData(ErrorKind.Conflict, 409)]
    [InlineData(ErrorKind.Forbidden, 403)]
    [InlineData(ErrorKind.Unauthorized, 401)]
    [InlineData(ErrorKind.Unavailable, 503)]
    [InlineData(ErrorKind.NotImplemented, 501)]
    [InlineData(ErrorKind.System, 500)]
    public void ErrorKind_ToStatus(ErrorKind kind, int status) => Assert.Equal(status, ErrorMapping.StatusFor(kind));

    [Fact]
    public void RuntimeCatalog_PathOrName()
    {
        using var dir = new TempDir();
        string fake = Path.Combine(dir.Path, "my-runtime");
        File.WriteAllText(fake, "#!/bin/sh\n");
        File.SetUnixFileMode(fake, UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute);
        var byPath = new RuntimeCatalog(fake, new Dictionary<string, string>(), dir.Path);
        Assert.Equal("my-runtime", byPath.DefaultName);
        Assert.Equal(fake, byPath.DefaultPath);
        var beside = new RuntimeCatalog("my-runtime", new Dictionary<string, string>(), dir.Path);
        Assert.Equal(fake, beside.DefaultPath);
        Assert.Null(beside.Warning);
        var missing = new RuntimeCatalog("no-such-runtime", new Dictionary<string, string>(), dir.Path);
        Assert.NotNull(missing.Warning);
    }
}
