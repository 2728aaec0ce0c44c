namespace Berth.Daemon.Tests;

/// <summary>
/// docker cp end to end (HEAD/GET/PUT /containers/{id}/archive) with the real docker CLI: both directions, files and
/// directories, modes and owners, stopped containers, volumes, Docker's errors, and symlinks in the container that
/// point at a host directory (static and swapped during the copies) never reaching the host.
/// </summary>
public sealed class CpTests(DaemonFixture fx) : IClassFixture<DaemonFixture>
{
    private (int Code, string Stdout, string Stderr) Docker(params string[] args) => DockerCli.Run(fx.Dir.Socket, fx.Dir.Path, args);

    private string Ok(params string[] args)
    {
        var (code, stdout, stderr) = Docker(args);
        Assert.True(code == 0, $"docker {string.Join(' ', args)} exited {code}: {stdout}{stderr}\nberthd:\n{fx.LogTail}");
        return stdout;
    }

    private string Sleeper(params string[] runArgs) => Ok(["run", "-d", .. runArgs, "busybox", "sleep", "1000"]).Trim();

    private string Local(string name) => Path.Combine(fx.Dir.Path, name);

    [Fact]
    public void Cp_FilesAndDirectories_InAndOut_ModesKept()
    {
        var id = Sleeper();
        var work = Local("cp-io");
        try
        {
            Directory.CreateDirectory(work);
            File.WriteAllText(Path.Combine(work, "f.txt"), "hello file\n");
            File.SetUnixFileMode(Path.Combine(work, "f.txt"), (UnixFileMode)0x1e9); // 0751
            Directory.CreateDirectory(Path.Combine(work, "d/sub"));
            File.WriteAllText(Path.Combine(work, "d/sub/g.txt"), "deep\n");

            Ok("cp", Path.Combine(work, "f.txt"), id + ":/tmp/");
            Ok("cp", Path.Combine(work, "d"), id + ":/tmp/d");
            Assert.Equal("hello file\n751 0:0\n", Ok("exec", id, "sh", "-c", "cat /tmp/f.txt; stat -c '%a %u:%g' /tmp/f.txt"));
            Assert.Equal("deep\n", Ok("exec", id, "cat", "/tmp/d/sub/g.txt"));

            Ok("exec", id, "sh", "-c", "mkdir -p /out/x && echo inner > /out/x/i && echo top > /out/t && chmod 640 /out/t && ln -s t /out/l");
            Ok("cp", id + ":/out", Path.Combine(work, "out"));
            Assert.Equal("top\n", File.ReadAllText(Path.Combine(work, "out/t")));
            Assert.Equal((UnixFileMode)0x1a0, File.GetUnixFileMode(Path.Combine(work, "out/t")));
            Assert.Equal("inner\n", File.ReadAllText(Path.Combine(work, "out/x/i")));
            Assert.Equal("t", new FileInfo(Path.Combine(work, "out/l")).LinkTarget);
            Ok("cp", id + ":/out/t", Path.Combine(work, "single"));
            Assert.Equal("top\n", File.ReadAllText(Path.Combine(work, "single")));
            // -L follows a symlink in the source.
            Ok("cp", "-L", id + ":/out/l", Path.Combine(work, "followed"));
            Assert.Equal("top\n", File.ReadAllText(Path.Combine(work, "followed")));
            // Into stdout as a tar.
            var (code, tar, _) = Docker("cp", id + ":/out/t", "-");
            Assert.Equal(0, code);
            Assert.Contains("top\n", tar);
        }
        finally
        {
            Docker("rm", "-f", id);
        }
    }

    [Fact]
    public void Cp_Archive_KeepsUidGid_OtherwiseRoot()
    {
        var id = Sleeper();
        var work = Local("cp-a");
        try
        {
            Directory.CreateDirectory(work);
            var f = Path.Combine(work, "owned");
            File.WriteAllText(f, "x");
            Assert.Equal(0, Berth.Interop.Libc.fchownat(Berth.Interop.Libc.AT_FDCWD, f, 1234, 5678, 0));
            Ok("cp", "-a", f, id + ":/tmp/a");
            Ok("cp", f, id + ":/tmp/b");
            Assert.Equal("1234:5678\n0:0\n", Ok("exec", id, "stat", "-c", "%u:%g", "/tmp/a", "/tmp/b"));
        }
        finally
        {
            Docker("rm", "-f", id);
        }
    }

    [Fact]
    public void Cp_StoppedContainer_AndIntoItsVolume()
    {
        var vol = "cpvol" + Guid.NewGuid().ToString("N")[..8];
        var id = Ok("run", "-d", "-v", vol + ":/data", "busybox", "sh", "-c", "echo in-rootfs > /r; echo in-vol > /data/v").Trim();
        var work = Local("cp-stopped");
        try
        {
            Ok("wait", id);
            Directory.CreateDirectory(work);
            Ok("cp", id + ":/r", Path.Combine(work, "r"));
            Ok("cp", id + ":/data/v", Path.Combine(work, "v"));
            Assert.Equal("in-rootfs\n", File.ReadAllText(Path.Combine(work, "r")));
            Assert.Equal("in-vol\n", File.ReadAllText(Path.Combine(work, "v")));

            File.WriteAllText(Path.Combine(work, "new"), "copied-in\n");
            Ok("cp", Path.Combine(work, "new"), id + ":/data/");
            var mountpoint = Ok("volume", "inspect", "-f", "{{.Mountpoint}}", vol).Trim();
            Assert.Equal("copied-in\n", File.ReadAllText(Path.Combine(mountpoint, "new")));
            Ok("cp", Path.Combine(work, "new"), id + ":/");
            Ok("cp", id + ":/new", Path.Combine(work, "back"));
            Assert.Equal("copied-in\n", File.ReadAllText(Path.Combine(work, "back")));
            // The volume bound in for the copies is gone again.
            Assert.DoesNotContain(File.ReadAllLines("/proc/self/mountinfo"), l => l.Contains(fx.Dir.DataRoot) && l.Contains("/data "));
        }
        finally
        {
            Docker("rm", "-f", id);
            Docker("volume", "rm", "-f", vol);
        }
    }

    [Fact]
    public void Cp_Errors_AreDockers()
    {
        var id = Sleeper("--name", "cp-err-" + Guid.NewGuid().ToString("N")[..6]);
        var name = Ok("inspect", "-f", "{{.Name}}", id).Trim().TrimStart('/');
        var work = Local("cp-err");
        try
        {
            Directory.CreateDirectory(work);
            var (code, _, stderr) = Docker("cp", name + ":/nope", work);
            Assert.Equal(1, code);
            Assert.Contains($"Could not find the file /nope in container {name}", stderr);
            File.WriteAllText(Path.Combine(work, "f"), "x");
            (code, _, stderr) = Docker("cp", Path.Combine(work, "f"), name + ":/nope/dir/");
            Assert.Equal(1, code);
            Assert.True(stderr.Contains("Could not find the file /nope/dir") || stderr.Contains("no such directory"), stderr);
            (code, _, stderr) = Docker("cp", work, name + ":/etc/passwd");
            Assert.Equal(1, code);
            Assert.Contains("cannot copy directory", stderr);
        }
        finally
        {
            Docker("rm", "-f", id);
        }
    }

    [Fact]
    public void Cp_SymlinkToHostDirectory_NeverReachesTheHost_EvenSwappedDuringTheCopy()
    {
        var host = Local("host-canary-dir");
        Directory.CreateDirectory(host);
        var canary = Path.Combine(host, "canary");
        File.WriteAllText(canary, "host secret\n");
        var work = Local("cp-esc");
        Directory.CreateDirectory(work);
        File.WriteAllText(Path.Combine(work, "canary"), "overwritten!\n");
        File.WriteAllText(Path.Combine(work, "planted"), "planted!\n");
        var id = Sleeper();
        try
        {
            // Static: /esc -> <host dir> (absolute) and a relative one climbing out.
            Ok("exec", id, "sh", "-c", $"ln -s {host} /esc; ln -s ../../../../../../..{host} /tmp/rel");
            foreach (var link in new[] { "/esc", "/tmp/rel" })
            {
                var (code, _, stderr) = Docker("cp", id + ":" + link + "/canary", Path.Combine(work, "leak"));
                Assert.NotEqual(0, code);
                Assert.Contains("Could not find the file", stderr);
                Assert.False(File.Exists(Path.Combine(work, "leak")));
                Docker("cp", Path.Combine(work, "canary"), id + ":" + link + "/");
                Docker("cp", Path.Combine(work, "planted"), id + ":" + link + "/planted");
            }
            // With the directory made in the container, the copies land there, in the container.
            Ok("exec", id, "mkdir", "-p", host);
            Ok("cp", Path.Combine(work, "canary"), id + ":/esc/");
            Assert.Equal("overwritten!\n", Ok("exec", id, "cat", host + "/canary"));

            // Swapped: a loop in the container flips /sw between a directory and a symlink to the host dir.
            Ok("exec", "-d", id, "sh", "-c", $"while :; do rm -rf /sw; mkdir /sw; echo c > /sw/canary; rm -rf /sw; ln -s {host} /sw; done");
            for (int i = 0; i < 30; i++)
            {
                Docker("cp", Path.Combine(work, "canary"), id + ":/sw/");
                Docker("cp", Path.Combine(work, "planted"), id + ":/sw/planted");
                Docker("cp", id + ":/sw/canary", Path.Combine(work, "swapped-out"));
                if (File.Exists(Path.Combine(work, "swapped-out")))
                {
                    Assert.NotEqual("host secret\n", File.ReadAllText(Path.Combine(work, "swapped-out")));
                    File.Delete(Path.Combine(work, "swapped-out"));
                }
            }
            Assert.Equal("host secret\n", File.ReadAllText(canary));
            Assert.Equal(["canary"], Directory.GetFileSystemEntries(host).Select(Path.GetFileName));
        }
        finally
        {
            Docker("rm", "-f", id);
        }
    }
}
