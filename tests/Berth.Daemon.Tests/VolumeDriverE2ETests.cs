using System.Diagnostics;
using System.Text.Json;

namespace Berth.Daemon.Tests;

/// <summary>Volume drivers end to end through the real docker CLI on a private berthd: `local` volumes with options
/// (tmpfs, bind, ext4 on a loop device: mounted while a container uses them), a volume plugin (the python plugin in
/// tests/testdata/volume-plugin, found through BERTH_PLUGINS_DIR), and Berth's volume export/import through `berth`
/// and the API.</summary>
public sealed class VolumeDriverE2ETests : IDisposable
{
    private const string DockerCli = "/usr/local/bin/docker";
    private readonly TempDir _dir = new();
    private readonly List<Process> _plugins = [];

    public void Dispose()
    {
        foreach (var p in _plugins)
        {
            try { p.Kill(); p.WaitForExit(5000); } catch (InvalidOperationException) { }
            p.Dispose();
        }
        _dir.Dispose();
    }

    private string PluginsDir => Path.Combine(_dir.Path, "plugins");

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

    private static string BerthPath()
    {
        string? dir = AppContext.BaseDirectory;
        while (dir is not null && !File.Exists(Path.Combine(dir, "Berth.slnx"))) dir = Path.GetDirectoryName(dir);
        var path = Path.Combine(dir ?? "/", "out", "bin", "berth");
        Assert.True(File.Exists(path), $"{path} missing: scripts/build.sh publishes it");
        return path;
    }

    private static (int Code, string Stdout, string Stderr) Sh(string script) => Run.Command("/bin/sh", ["-c", script]);

    private string DataOf(string volume) => Path.Combine(_dir.DataRoot, "volumes", volume, "_data");

    private static bool MountedOnHost(string path) =>
        File.ReadAllLines("/proc/self/mountinfo").Any(l => l.Split(' ')[4] == path);

    private BerthdProcess StartDaemon() =>
        BerthdProcess.StartIn(_dir, new Dictionary<string, string> { ["BERTH_PLUGINS_DIR"] = PluginsDir });

    [Fact]
    public void TmpfsVolumeHasItsSizeInsideAndIsUnmountedAfterTheLastContainer()
    {
        using var d = StartDaemon();
        Ok("volume", "create", "-o", "type=tmpfs", "-o", "device=tmpfs", "-o", "o=size=10m", "tv");
        var mounts = Ok("run", "--rm", "-v", "tv:/data", "busybox", "sh", "-c", "grep ' /data ' /proc/mounts; echo x > /data/f; df -k /data | tail -1");
        Assert.Contains("tmpfs /data tmpfs", mounts);
        Assert.Contains("size=10240k", mounts);
        Assert.False(MountedOnHost(DataOf("tv")), "the tmpfs is still mounted after the container exited");
        // A fresh tmpfs for the next user: the data went with the unmount.
        Assert.Equal("", Ok("run", "--rm", "-v", "tv:/data", "busybox", "ls", "/data"));
        var (code, _, stderr) = Docker("volume", "create", "-o", "type=tmpfs", "-o", "size=10m", "bad");
        Assert.Equal(1, code);
        Assert.Equal("Error response from daemon: create bad: invalid option key: \"size\"\n", stderr);
        Ok("volume", "rm", "tv");
        Assert.False(Directory.Exists(Path.Combine(_dir.DataRoot, "volumes", "tv")));
    }

    [Fact]
    public void BindBackedVolumeShowsTheHostDirectoryWhileMounted()
    {
        using var d = StartDaemon();
        var host = Path.Combine(_dir.Path, "hostdir");
        Directory.CreateDirectory(host);
        File.WriteAllText(Path.Combine(host, "from-host"), "hello\n");
        Ok("volume", "create", "-o", "type=none", "-o", "o=bind", "-o", "device=" + host, "bv");
        using (var doc = JsonDocument.Parse(Ok("volume", "inspect", "bv")))
            Assert.Equal(host, doc.RootElement[0].GetProperty("Options").GetProperty("device").GetString());
        Assert.Equal("hello\n", Ok("run", "--rm", "-v", "bv:/data", "busybox", "sh", "-c", "cat /data/from-host; echo back > /data/from-ctr"));
        Assert.Equal("back\n", File.ReadAllText(Path.Combine(host, "from-ctr")));
        Assert.False(MountedOnHost(DataOf("bv")));
        Assert.Empty(Directory.EnumerateFileSystemEntries(DataOf("bv")));
        Ok("volume", "rm", "bv");
        Assert.True(File.Exists(Path.Combine(host, "from-host")), "removing a bind-backed volume must not touch the host directory");
    }

    [Fact]
    public void Ext4ImageOnALoopDeviceKeepsDataAndReleasesTheLoop()
    {
        using var d = StartDaemon();
        var img = Path.Combine(_dir.Path, "disk.img");
        var (code, _, err) = Sh($"truncate -s 32M {img} && mkfs.ext4 -q -F {img}");
        Assert.True(code == 0, err);
        Ok("volume", "create", "-o", "type=ext4", "-o", "device=" + img, "ev");
        var first = Ok("run", "--rm", "-v", "ev:/data", "busybox", "sh", "-c", "grep ' /data ' /proc/mounts; echo kept > /data/f");
        Assert.Matches("^/dev/loop[0-9]+ /data ext4 ", first);
        Assert.Equal("kept\n", Ok("run", "--rm", "-v", "ev:/data", "busybox", "cat", "/data/f"));
        Assert.False(MountedOnHost(DataOf("ev")));
        // The loop device went with the unmount (LO_FLAGS_AUTOCLEAR): none is backed by the image any more.
        var deadline = DateTime.UtcNow.AddSeconds(5);
        string loops;
        while ((loops = Run.Command("losetup", ["-j", img]).Stdout) != "" && DateTime.UtcNow < deadline) Thread.Sleep(100);
        Assert.Equal("", loops);
        Ok("volume", "rm", "ev");
    }

    private Process StartPlugin(string name, string root)
    {
        Directory.CreateDirectory(PluginsDir);
        var psi = new ProcessStartInfo("python3") { RedirectStandardOutput = true, RedirectStandardError = true };
        foreach (var a in new[] { Path.Combine(AppContext.BaseDirectory, "testdata", "volume-plugin", "plugin.py"),
                     "--root", root, "--unix", Path.Combine(PluginsDir, name + ".sock") })
            psi.ArgumentList.Add(a);
        var p = Process.Start(psi)!;
        _plugins.Add(p);
        p.ErrorDataReceived += (_, _) => { };
        p.BeginErrorReadLine();
        Assert.Equal("ready", p.StandardOutput.ReadLine());
        return p;
    }

    [Fact]
    public void PluginVolumeIsCreatedMountedAndRemovedThroughThePlugin()
    {
        var root = Path.Combine(_dir.Path, "plugin-root");
        StartPlugin("tplug", root);
        using var d = StartDaemon();
        Assert.Equal("pv\n", Ok("volume", "create", "-d", "tplug", "pv"));
        Assert.Contains("tplug     pv\n", Ok("volume", "ls"));
        Assert.Equal("tplug\n", Ok("volume", "inspect", "-f", "{{.Driver}}", "pv"));
        Ok("run", "--rm", "-v", "pv:/data", "busybox", "sh", "-c", "echo from-ctr > /data/f");
        Assert.Equal("from-ctr\n", File.ReadAllText(Path.Combine(root, "volumes", "pv", "f")));
        var log = File.ReadAllText(Path.Combine(root, "requests.log"));
        Assert.Contains("VolumeDriver.Mount", log);
        Assert.Contains("VolumeDriver.Unmount", log);

        var (code, _, stderr) = Docker("volume", "create", "-d", "tplug", "-o", "fail=no space on the array", "pv2");
        Assert.Equal(1, code);
        Assert.Equal("Error response from daemon: create pv2: VolumeDriver.Create: no space on the array\n", stderr);
        (code, _, stderr) = Docker("volume", "create", "-d", "nope", "pv3");
        Assert.Equal(1, code);
        Assert.Equal("Error response from daemon: create pv3: error looking up volume plugin nope: plugin \"nope\" not found\n", stderr);

        Ok("volume", "rm", "pv");
        Assert.False(Directory.Exists(Path.Combine(root, "volumes", "pv")));
        Assert.DoesNotContain("pv", Ok("volume", "ls", "-q"));
    }

    /// <summary>The plugin's requests after <paramref name="from"/> (a length of requests.log) as (method, ID) for the
    /// Mount and Unmount of <paramref name="volume"/>.</summary>
    private static List<(string Method, string Id)> MountCalls(string root, string volume, long from)
    {
        var text = File.ReadAllText(Path.Combine(root, "requests.log"));
        var calls = new List<(string, string)>();
        foreach (var line in text[(int)from..].Split('\n', StringSplitOptions.RemoveEmptyEntries))
        {
            var sp = line.IndexOf(' ');
            var method = line[..sp];
            if (method is not ("VolumeDriver.Mount" or "VolumeDriver.Unmount")) continue;
            using var body = JsonDocument.Parse(line[(sp + 1)..]);
            if (body.RootElement.GetProperty("Name").GetString() != volume) continue;
            calls.Add((method, body.RootElement.GetProperty("ID").GetString()!));
        }
        return calls;
    }

    private string Id(string container) => Ok("inspect", "-f", "{{.Id}}", container).Trim();

    private void WaitUntil(Func<bool> done, string what)
    {
        var deadline = DateTime.UtcNow.AddSeconds(30);
        while (!done())
        {
            Assert.True(DateTime.UtcNow < deadline, "timed out waiting for " + what);
            Thread.Sleep(100);
        }
    }

    [Fact]
    public void PluginVolumeIsMountedAgainAfterABerthdRestart()
    {
        var root = Path.Combine(_dir.Path, "plugin-root");
        var plugin = StartPlugin("rplug", root);
        var d = StartDaemon();
        try
        {
            Ok("volume", "create", "-d", "rplug", "pv");
            Ok("create", "--name", "byhand", "-v", "pv:/data", "busybox", "sh", "-c", "cat /data/f");
            Ok("run", "-d", "--name", "always", "--restart", "always", "-v", "pv:/data", "busybox", "sh", "-c", "echo up >> /data/runs; sleep 1000");
            string always = Id("always"), byhand = Id("byhand");
            WaitUntil(() => File.Exists(Path.Combine(root, "volumes", "pv", "runs")), "the first run");
            int pid = int.Parse(Ok("inspect", "-f", "{{.State.Pid}}", "always").Trim());
            Assert.Contains(("VolumeDriver.Mount", always), MountCalls(root, "pv", 0));

            // berthd stops; while it is down the container dies and the plugin restarts (it forgets its mounts).
            d.Signal(BerthdProcess.SIGTERM);
            Assert.True(d.WaitForExit(TimeSpan.FromSeconds(30)));
            d.Dispose();
            Assert.Equal(0, Berth.Interop.Libc.kill(pid, 9));
            plugin.Kill();
            plugin.WaitForExit(5000);
            long mark = new FileInfo(Path.Combine(root, "requests.log")).Length;
            StartPlugin("rplug", root);
            File.Delete(_dir.Socket);
            d = StartDaemon();

            // The restart policy starts it again: the exit's Unmount, then a Mount for the new run.
            WaitUntil(() => File.ReadAllLines(Path.Combine(root, "volumes", "pv", "runs")).Length == 2, "the restart of 'always'");
            var calls = MountCalls(root, "pv", mark);
            Assert.Equal([("VolumeDriver.Unmount", always), ("VolumeDriver.Mount", always)], calls.Where(c => c.Id == always));

            // A container started by hand after the restart: Mount, and Unmount at its exit.
            File.WriteAllText(Path.Combine(root, "volumes", "pv", "f"), "through the plugin\n");
            Assert.Equal("through the plugin\n", Ok("start", "-a", "byhand"));
            Assert.Equal([("VolumeDriver.Mount", byhand), ("VolumeDriver.Unmount", byhand)], MountCalls(root, "pv", mark).Where(c => c.Id == byhand));

            Ok("rm", "-f", "always", "byhand");
            Assert.Equal(("VolumeDriver.Unmount", always), MountCalls(root, "pv", mark).Last(c => c.Id == always));
            Ok("volume", "rm", "pv");
        }
        finally
        {
            Docker("rm", "-f", "always", "byhand");
            d.Dispose();
        }
    }

    private const string MakeTree =
        "mkdir /data/d && echo content > /data/d/f && chown 1234:5678 /data/d/f && chmod 4751 /data/d/f && ln /data/d/f /data/hl" +
        " && chmod 1770 /data/d && ln -s d/f /data/sym";
    private const string StatTree = "cd /data && stat -c '%n %u:%g %a %h' d d/f hl && readlink sym && cat hl && [ d/f -ef hl ] && echo same-inode";

    [Fact]
    public void ExportImportRoundTripThroughBerthAndTheApi()
    {
        using var d = StartDaemon();
        Ok("volume", "create", "src");
        Ok("run", "--rm", "-v", "src:/data", "busybox", "sh", "-c", MakeTree);
        var expected = Ok("run", "--rm", "-v", "src:/data", "busybox", "sh", "-c", StatTree);
        Assert.Contains("d/f 1234:5678 4751 2", expected);
        Assert.Contains("same-inode", expected);

        // berth volume export NAME > file; berth volume import NAME < file; -o and a file argument.
        var berth = BerthPath();
        var tar = Path.Combine(_dir.Path, "src.tar");
        var (code, _, err) = Sh($"{berth} -H unix://{_dir.Socket} volume export src > {tar}");
        Assert.True(code == 0, err);
        Ok("volume", "create", "dst1");
        (code, _, err) = Sh($"{berth} -H unix://{_dir.Socket} volume import dst1 < {tar}");
        Assert.True(code == 0, err);
        Assert.Equal(expected, Ok("run", "--rm", "-v", "dst1:/data", "busybox", "sh", "-c", StatTree));
        var tar2 = Path.Combine(_dir.Path, "src2.tar");
        (code, _, err) = Run.Command(berth, ["-H", "unix://" + _dir.Socket, "volume", "export", "-o", tar2, "src"]);
        Assert.True(code == 0, err);
        Ok("volume", "create", "dst2");
        (code, _, err) = Run.Command(berth, ["-H", "unix://" + _dir.Socket, "volume", "import", "dst2", tar2]);
        Assert.True(code == 0, err);
        Assert.Equal(expected, Ok("run", "--rm", "-v", "dst2:/data", "busybox", "sh", "-c", StatTree));

        // The API: GET /volumes/NAME/export, POST /volumes/NAME/import.
        var api = Path.Combine(_dir.Path, "api.tar");
        (code, var status, err) = Sh($"curl -sS -o {api} -w '%{{http_code}} %{{content_type}}' --unix-socket {_dir.Socket} http://d/v1.41/volumes/src/export");
        Assert.Equal((0, "200 application/x-tar"), (code, status));
        Ok("volume", "create", "dst3");
        (code, status, err) = Sh($"curl -sS -o /dev/null -w '%{{http_code}}' --unix-socket {_dir.Socket} -H 'Content-Type: application/x-tar' --data-binary @{api} http://d/v1.41/volumes/dst3/import");
        Assert.Equal((0, "204"), (code, status));
        Assert.Equal(expected, Ok("run", "--rm", "-v", "dst3:/data", "busybox", "sh", "-c", StatTree));
        (code, status, _) = Sh($"curl -sS -o /dev/null -w '%{{http_code}}' --unix-socket {_dir.Socket} http://d/v1.41/volumes/nosuch/export");
        Assert.Equal("404", status);

        // A hostile archive: an entry leaving the volume is refused with 400 and nothing lands outside.
        var evil = Path.Combine(_dir.Path, "evil.tar");
        (code, _, err) = Run.Command("python3", ["-c",
            "import tarfile,io,sys\nt=tarfile.open(sys.argv[1],'w')\ni=tarfile.TarInfo('../escaped');b=b'x';i.size=1\nt.addfile(i,io.BytesIO(b))\nt.close()", evil]);
        Assert.True(code == 0, err);
        var body = Path.Combine(_dir.Path, "evil.out");
        (code, status, _) = Sh($"curl -sS -o {body} -w '%{{http_code}}' --unix-socket {_dir.Socket} --data-binary @{evil} http://d/v1.41/volumes/dst3/import");
        Assert.Equal("400", status);
        Assert.Contains("volume import: entry", File.ReadAllText(body));
        Assert.False(File.Exists(Path.Combine(_dir.DataRoot, "volumes", "dst3", "escaped")));
        (code, _, err) = Sh($"{berth} -H unix://{_dir.Socket} volume import dst3 < {evil}");
        Assert.Equal(1, code);
        Assert.StartsWith("Error response from daemon: volume import: entry", err);
    }

    [Fact]
    public void ExportOfAVolumeWithOptionsMountsItAroundTheCall()
    {
        using var d = StartDaemon();
        var host = Path.Combine(_dir.Path, "hostdir");
        Directory.CreateDirectory(host);
        File.WriteAllText(Path.Combine(host, "on-host"), "data\n");
        Ok("volume", "create", "-o", "type=none", "-o", "o=bind", "-o", "device=" + host, "bexp");
        var (code, stdout, err) = Sh($"curl -sS --unix-socket {_dir.Socket} http://d/v1.41/volumes/bexp/export | tar -tf -");
        Assert.True(code == 0, err);
        Assert.Contains("on-host", stdout);
        Assert.False(MountedOnHost(DataOf("bexp")), "the export's mount is gone after the call");
        Ok("volume", "rm", "bexp");
    }
}
