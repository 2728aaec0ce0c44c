using System.Diagnostics;

namespace Berth.Daemon.Tests;

/// <summary>
/// Differential: Debian's dockerd 20.10 on its own socket, data root and exec root (as bench/lib.sh starts it).
/// An image saved by berthd loads into dockerd and runs there with the same ID; one committed and saved by dockerd
/// loads into berthd and runs with the same ID (its deletion whiteout included).
/// </summary>
public sealed class DockerdSaveLoadTests(DaemonFixture fx) : IClassFixture<DaemonFixture>
{
    private sealed class Dockerd : IDisposable
    {
        public readonly string Dir = Directory.CreateTempSubdirectory("berth-dockerd-").FullName;
        private readonly Process _p;
        public string Socket => Path.Combine(Dir, "docker.sock");

        public Dockerd()
        {
            var psi = new ProcessStartInfo("dockerd") { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
            foreach (var a in new[] { "-H", "unix://" + Socket, "--data-root", Path.Combine(Dir, "data"), "--exec-root", Path.Combine(Dir, "exec"),
                         "-p", Path.Combine(Dir, "docker.pid"), "--bridge", "none", "--iptables=false", "--ip6tables=false",
                         "--ip-masq=false", "--ip-forward=false", "--userland-proxy=false" })
                psi.ArgumentList.Add(a);
            _p = Process.Start(psi)!;
            _p.OutputDataReceived += (_, _) => { };
            _p.ErrorDataReceived += (_, _) => { };
            _p.BeginOutputReadLine();
            _p.BeginErrorReadLine();
            var end = DateTime.UtcNow.AddSeconds(60);
            while (Docker("version").Code != 0)
            {
                Assert.True(DateTime.UtcNow < end && !_p.HasExited, "dockerd did not start");
                Thread.Sleep(200);
            }
        }

        public (int Code, string Stdout, string Stderr) Docker(params string[] args) => DockerCli.Run(Socket, Dir, args);

        public string Ok(params string[] args)
        {
            var r = Docker(args);
            Assert.True(r.Code == 0, $"dockerd: docker {string.Join(' ', args)} exited {r.Code}: {r.Stdout}{r.Stderr}");
            return r.Stdout;
        }

        public void Dispose()
        {
            var ids = Docker("ps", "-aq").Stdout.Split('\n', StringSplitOptions.RemoveEmptyEntries);
            if (ids.Length > 0) Docker(["rm", "-f", .. ids]);
            Run.Command("kill", ["-TERM", _p.Id.ToString(System.Globalization.CultureInfo.InvariantCulture)]); // stops its containerd too
            if (!_p.WaitForExit(30000)) _p.Kill();
            foreach (var line in File.ReadAllLines("/proc/self/mountinfo").Reverse())
            {
                var mp = line.Split(' ')[4];
                if (mp.StartsWith(Dir, StringComparison.Ordinal)) Run.Command("umount", ["-l", mp]);
            }
            try { Directory.Delete(Dir, recursive: true); } catch (IOException) { } catch (UnauthorizedAccessException) { }
        }
    }

    [Fact]
    public void BerthToDockerd_AndBack_SameIds()
    {
        if (!File.Exists("/usr/sbin/dockerd")) return; // scripts/deps.sh installs docker.io
        using var d = new Dockerd();
        var tar = Path.Combine(fx.Dir.Path, "to-dockerd.tar");
        var back = Path.Combine(fx.Dir.Path, "from-dockerd.tar");
        try
        {
            var id = fx.Inspect("busybox", "{{.Id}}");
            fx.Ok("save", "-o", tar, "busybox");
            Assert.Contains("Loaded image: busybox:latest", d.Ok("load", "-i", tar));
            Assert.Equal(id, d.Ok("inspect", "-f", "{{.Id}}", "busybox").Trim());
            Assert.Equal("hi\n", d.Ok("run", "--rm", "--network", "none", "busybox", "echo", "hi"));

            // dockerd makes a second layer (a new file and a deletion), commits and saves; berthd loads it.
            var c = d.Ok("run", "-d", "--network", "none", "busybox", "sh", "-c", "echo from-dockerd > /marker; rm /bin/ls").Trim();
            d.Ok("wait", c);
            var committed = d.Ok("commit", c, "from-dockerd:1").Trim();
            d.Ok("save", "-o", back, "from-dockerd:1");
            Assert.Contains("Loaded image: from-dockerd:1", fx.Ok("load", "-i", back));
            Assert.Equal(committed, fx.Inspect("from-dockerd:1", "{{.Id}}"));
            Assert.Equal("from-dockerd\n", fx.Ok("run", "--rm", "from-dockerd:1", "cat", "/marker"));
            Assert.NotEqual(0, fx.Docker("run", "--rm", "from-dockerd:1", "test", "-e", "/bin/ls").Code); // deleted stays deleted

            // docker history: the same entries (dockerd knows the parent image, Berth shows <missing> as for any loaded image).
            string[] hist = ["history", "--no-trunc", "--format", "{{.CreatedBy}}|{{.Comment}}", "from-dockerd:1"];
            Assert.Equal(d.Ok(hist), fx.Ok(hist));
            Assert.StartsWith(committed, fx.Ok("history", "-q", "--no-trunc", "from-dockerd:1"));

            // Berth saves the two-layer image again; its layer names and layer tars are dockerd's.
            var again = Path.Combine(fx.Dir.Path, "again.tar");
            fx.Ok("save", "-o", again, "from-dockerd:1");
            var (_, mine, _) = Run.Command("tar", ["-tf", again]);
            var (_, theirs, _) = Run.Command("tar", ["-tf", back]);
            Assert.Equal(Names(theirs), Names(mine));
            d.Ok("rmi", "from-dockerd:1");
            d.Ok("load", "-i", again);
            Assert.Equal(committed, d.Ok("inspect", "-f", "{{.Id}}", "from-dockerd:1").Trim());
            File.Delete(again);
        }
        finally
        {
            fx.Docker("rmi", "from-dockerd:1");
            File.Delete(tar);
            File.Delete(back);
        }
    }

    private static List<string> Names(string list) =>
        list.Split('\n', StringSplitOptions.RemoveEmptyEntries).Select(n => n.TrimEnd('/')).Where(n => n.EndsWith(".tar") || n.EndsWith(".json") && n.Contains('/')).Order().ToList();
}
