using System.Text.Json;

namespace Berth.Daemon.Tests;

/// <summary>Volumes end to end: the real docker CLI (and docker-py) against a berthd process: create, ls (filters,
/// --format, -q), inspect, rm, prune, the error messages and exit codes of dockerd 20.10, and what survives a
/// restart or a kill -9.</summary>
public sealed class DockerVolumeTests : IDisposable
{
    private const string DockerCli = "/usr/local/bin/docker";
    private readonly TempDir _dir = new();

    public void Dispose() => _dir.Dispose();

    private (int Code, string Stdout, string Stderr) Docker(params string[] args) =>
        Run.Command(DockerCli, ["-H", "unix://" + _dir.Socket, .. args], new Dictionary<string, string?>
        {
            ["DOCKER_CONFIG"] = Path.Combine(_dir.Path, "docker-config"), ["DOCKER_HOST"] = null, ["DOCKER_CONTEXT"] = null,
        });

    private string Ok(params string[] args)
    {
        var (code, stdout, stderr) = Docker(args);
        Assert.True(code == 0, $"docker {string.Join(' ', args)} exited {code}: {stdout}{stderr}");
        return stdout;
    }

    private string VolumesDir => Path.Combine(_dir.DataRoot, "volumes");

    /// <summary>A removed volume's data is deleted after the answer (its trash directory goes within moments).</summary>
    private void AssertVolumesDirEmptiesSoon()
    {
        var until = DateTime.UtcNow.AddSeconds(20);
        while (Directory.EnumerateFileSystemEntries(VolumesDir).Any() && DateTime.UtcNow < until) Thread.Sleep(20);
        Assert.Empty(Directory.EnumerateFileSystemEntries(VolumesDir));
    }

    [Fact]
    public void CreateListInspectRemove()
    {
        using var d = BerthdProcess.StartIn(_dir);
        Assert.Equal("web-data\n", Ok("volume", "create", "--label", "app=web", "--label", "tier", "web-data"));
        Assert.Equal("plain\n", Ok("volume", "create", "plain"));
        var anon = Ok("volume", "create").Trim();
        Assert.Matches("^[0-9a-f]{64}$", anon);
        // An existing volume: answered as it is.
        Assert.Equal("plain\n", Ok("volume", "create", "plain"));

        Assert.Equal($"DRIVER    VOLUME NAME\nlocal     {anon}\nlocal     plain\nlocal     web-data\n", Ok("volume", "ls"));
        Assert.Equal($"{anon}\nplain\nweb-data\n", Ok("volume", "ls", "-q"));
        Assert.Equal("web-data\n", Ok("volume", "ls", "-q", "--filter", "label=app=web"));
        Assert.Equal("web-data\n", Ok("volume", "ls", "-q", "--filter", "label=tier"));
        Assert.Equal("plain\nweb-data\n", Ok("volume", "ls", "-q", "--filter", "name=ain", "--filter", "name=-da"));
        Assert.Equal($"{anon}\nplain\nweb-data\n", Ok("volume", "ls", "-q", "--filter", "dangling=true"));
        Assert.Equal("", Ok("volume", "ls", "-q", "--filter", "dangling=false"));
        Assert.Equal("", Ok("volume", "ls", "-q", "--filter", "driver=other"));
        // The docker CLI prints .Labels by walking a Go map: the order differs from run to run.
        Assert.Contains(Ok("volume", "ls", "--filter", "name=web", "--format", "{{.Name}} {{.Driver}} {{.Scope}} {{.Labels}}"),
            new[] { "web-data local local app=web,tier=\n", "web-data local local tier=,app=web\n" });

        var mountpoint = Path.Combine(VolumesDir, "web-data", "_data");
        Assert.Equal(mountpoint + "\n", Ok("volume", "inspect", "--format", "{{.Mountpoint}}", "web-data"));
        Assert.True(Directory.Exists(mountpoint));
        using (var doc = JsonDocument.Parse(Ok("volume", "inspect", "web-data", "plain")))
        {
            var v = doc.RootElement[0];
            Assert.Equal("web-data", v.GetProperty("Name").GetString());
            Assert.Equal("local", v.GetProperty("Driver").GetString());
            Assert.Equal("web", v.GetProperty("Labels").GetProperty("app").GetString());
            Assert.Equal(JsonValueKind.Null, v.GetProperty("Options").ValueKind);
            Assert.Equal("local", v.GetProperty("Scope").GetString());
            Assert.Matches(@"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(Z|[+-]\d\d:\d\d)$", v.GetProperty("CreatedAt").GetString()!);
            Assert.False(v.TryGetProperty("Status", out _));
            Assert.False(v.TryGetProperty("UsageData", out _));
            Assert.Equal("plain", doc.RootElement[1].GetProperty("Name").GetString());
        }
        // The untyped inspect finds volumes too.
        Assert.Contains("\"Mountpoint\": \"" + mountpoint + "\"", Ok("inspect", "web-data"));

        Assert.Equal("web-data\nplain\n", Ok("volume", "rm", "web-data", "plain"));
        Assert.False(Directory.Exists(Path.Combine(VolumesDir, "web-data")));
        Assert.Equal($"{anon}\n", Ok("volume", "ls", "-q"));
    }

    [Fact]
    public void ErrorsAsDockerd()
    {
        using var d = BerthdProcess.StartIn(_dir);
        var (code, _, stderr) = Docker("volume", "rm", "nope");
        Assert.Equal(1, code);
        Assert.Equal("Error response from daemon: get nope: no such volume\n", stderr);
        Assert.Equal(0, Docker("volume", "rm", "-f", "nope").Code); // force: a missing volume is not an error

        (code, _, stderr) = Docker("volume", "inspect", "nope");
        Assert.Equal(1, code);
        Assert.Equal("Error response from daemon: get nope: no such volume\n", stderr);

        (code, _, stderr) = Docker("volume", "create", "a/b");
        Assert.Equal(1, code);
        Assert.Equal("Error response from daemon: create a/b: \"a/b\" includes invalid characters for a local volume name, only \"[a-zA-Z0-9][a-zA-Z0-9_.-]\" are allowed. If you intended to pass a host directory, use absolute path\n", stderr);
        (code, _, stderr) = Docker("volume", "create", "..");
        Assert.Equal(1, code);
        Assert.Contains("includes invalid characters for a local volume name", stderr);
        (code, _, stderr) = Docker("volume", "create", new string('x', 300));
        Assert.Equal(1, code);
        Assert.Contains("volume name is too long", stderr);

        (code, _, stderr) = Docker("volume", "create", "-o", "type=tmpfs", "-o", "size=10m", "tmp");
        Assert.Equal(1, code);
        Assert.Equal("Error response from daemon: create tmp: invalid option key: \"size\"\n", stderr);
        (code, _, stderr) = Docker("volume", "create", "-d", "nope", "plug");
        Assert.Equal(1, code);
        Assert.Equal("Error response from daemon: create plug: error looking up volume plugin nope: plugin \"nope\" not found\n", stderr);

        (code, _, stderr) = Docker("volume", "ls", "--filter", "bogus=1");
        Assert.Equal(1, code);
        Assert.Equal("Error response from daemon: invalid filter 'bogus'\n", stderr);
        (code, _, stderr) = Docker("volume", "prune", "-f", "--filter", "dangling=true");
        Assert.Equal(1, code);
        Assert.Equal("Error response from daemon: invalid filter 'dangling'\n", stderr);
        Assert.Empty(Directory.EnumerateFileSystemEntries(VolumesDir));
    }

    [Fact]
    public void PruneRemovesUnusedVolumesAndReportsTheSpace()
    {
        using var d = BerthdProcess.StartIn(_dir);
        Ok("volume", "create", "--label", "keep=yes", "kept");
        Ok("volume", "create", "big");
        var anon = Ok("volume", "create").Trim();
        File.WriteAllBytes(Path.Combine(VolumesDir, "big", "_data", "blob"), new byte[2048]);

        var (code, stdout, _) = Docker("volume", "prune", "-f", "--filter", "label!=keep=yes");
        Assert.Equal(0, code);
        var lines = stdout.Split('\n');
        Assert.Equal("Deleted Volumes:", lines[0]);
        Assert.Equal(new[] { anon, "big" }.Order(StringComparer.Ordinal), lines[1..3].Order(StringComparer.Ordinal));
        Assert.Equal("", lines[3]);
        Assert.Equal("Total reclaimed space: 2.048kB", lines[4]);
        Assert.Equal("kept\n", Ok("volume", "ls", "-q"));
        Assert.Equal("Total reclaimed space: 0B\n", Ok("volume", "prune", "-f", "--filter", "label=nope"));
        Assert.Equal("Deleted Volumes:\nkept\n\nTotal reclaimed space: 0B\n", Ok("volume", "prune", "-f"));
        AssertVolumesDirEmptiesSoon();
    }

    [Fact]
    public void VolumesSurviveARestartAndACrashLeavesNoHalfVolume()
    {
        using (var d = BerthdProcess.StartIn(_dir))
        {
            Ok("volume", "create", "--label", "a=1", "kept");
            File.WriteAllText(Path.Combine(VolumesDir, "kept", "_data", "file"), "data");
            d.Signal(9);
            Assert.True(d.WaitForExit(TimeSpan.FromSeconds(10)));
        }
        // What a kill -9 in the middle of a create and of a remove leaves.
        Directory.CreateDirectory(Path.Combine(VolumesDir, ".tmp-half-00112233aabb", "_data"));
        Directory.CreateDirectory(Path.Combine(VolumesDir, ".trash-gone-00112233aabb", "_data"));
        File.WriteAllText(Path.Combine(VolumesDir, ".trash-gone-00112233aabb", "volume.json"), """{"Name":"gone","Driver":"local"}""");
        File.Delete(_dir.Socket);
        using (var d = BerthdProcess.StartIn(_dir))
        {
            Assert.Equal("kept\n", Ok("volume", "ls", "-q"));
            Assert.Equal("1\n", Ok("volume", "inspect", "--format", "{{.Labels.a}}", "kept"));
            Assert.Equal("data", File.ReadAllText(Path.Combine(VolumesDir, "kept", "_data", "file")));
            Assert.Equal(["kept"], Directory.EnumerateFileSystemEntries(VolumesDir).Select(Path.GetFileName));
            Assert.Equal(1, Docker("volume", "inspect", "half").Code);
        }
    }

    [Fact]
    public async Task KillDuringCreatesAndRemovesLeavesOnlyWholeVolumes()
    {
        using (var d = BerthdProcess.StartIn(_dir))
        {
            // A client creating and removing volumes in a loop while berthd is killed.
            var api = EngineCalls.Client(_dir.Socket);
            var loop = Task.Run(() =>
            {
                for (int i = 0; ; i++)
                {
                    try
                    {
                        using (var r = api.Send("POST", "/volumes/create", $$"""{"Name":"v{{i}}"}""")) { }
                        if (i % 2 == 0) using (var r = api.Send("DELETE", $"/volumes/v{i}", null)) { }
                    }
                    catch (Exception) { return i; }
                }
            });
            Thread.Sleep(700);
            d.Signal(9);
            Assert.True(d.WaitForExit(TimeSpan.FromSeconds(10)));
            await loop.WaitAsync(TimeSpan.FromSeconds(30));
        }
        File.Delete(_dir.Socket);
        using (var d = BerthdProcess.StartIn(_dir))
        {
            var listed = Ok("volume", "ls", "-q").Split('\n', StringSplitOptions.RemoveEmptyEntries).Order(StringComparer.Ordinal).ToList();
            var dirs = Directory.EnumerateDirectories(VolumesDir).Select(Path.GetFileName).Order(StringComparer.Ordinal).ToList();
            Assert.Equal(listed, dirs!);
            foreach (var v in listed) Assert.True(Directory.Exists(Path.Combine(VolumesDir, v, "_data")), v);
            if (listed.Count > 0) Ok(["volume", "rm", .. listed]);
            AssertVolumesDirEmptiesSoon();
        }
    }

    [Fact]
    public void DockerPy_Volumes()
    {
        using var d = BerthdProcess.StartIn(_dir);
        var (code, stdout, stderr) = Run.Command("/usr/bin/python3", ["-c", $$"""
            import docker
            c = docker.DockerClient(base_url="unix://{{_dir.Socket}}", version="auto")
            v = c.volumes.create(name="pyvol", labels={"from": "py"})
            print(v.name, v.attrs["Driver"], v.attrs["Labels"]["from"])
            print(sorted(x.name for x in c.volumes.list()))
            print(c.volumes.get("pyvol").attrs["Mountpoint"].endswith("/volumes/pyvol/_data"))
            try:
                c.volumes.get("nope")
            except docker.errors.NotFound as e:
                print("notfound", e.explanation)
            print(c.volumes.prune(filters={"label": "from=py"}))
            print(c.volumes.list())
            """]);
        Assert.True(code == 0, stderr);
        Assert.Equal("""
            pyvol local py
            ['pyvol']
            True
            notfound get nope: no such volume
            {'VolumesDeleted': ['pyvol'], 'SpaceReclaimed': 0}
            []

            """, stdout);
    }
}
