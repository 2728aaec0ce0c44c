namespace Berth.Daemon.Tests;

/// <summary>kill -9 of berthd while the image's content is copied into a new volume (an image with 20,000 files under
/// a VOLUME): after the restart the half-filled volume does not pass for a filled one, nothing stays mounted, the
/// container whose create was cut short is gone, complete volumes are intact, and the next container gets the whole copy.</summary>
public sealed class VolumeCopyUpCrashTests : IDisposable
{
    private const string DockerCli = "/usr/local/bin/docker";
    private const int Files = 20_000;
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

    /// <summary>Mount points at or below the test's directory.</summary>
    private IReadOnlyList<string> MountsUnderTestDir() =>
        [.. File.ReadLines("/proc/self/mountinfo").Select(l => l.Split(' ')[4]).Where(p => p.StartsWith(_dir.Path + "/", StringComparison.Ordinal))];

    private void ImportManyFiles()
    {
        var root = Path.Combine(_dir.Path, "img");
        Directory.CreateDirectory(Path.Combine(root, "bin"));
        File.Copy("/bin/busybox", Path.Combine(root, "bin", "busybox"));
        foreach (var tool in new[] { "sh", "cat", "find", "wc", "true" }) File.CreateSymbolicLink(Path.Combine(root, "bin", tool), "busybox");
        for (int d = 0; d < Files / 200; d++)
        {
            var dir = Path.Combine(root, "data", "d" + d);
            Directory.CreateDirectory(dir);
            for (int f = 0; f < 200; f++) File.WriteAllText(Path.Combine(dir, "f" + f), $"{d}/{f}\n");
        }
        var tar = root + ".tar";
        Assert.Equal(0, Run.Command("tar", ["--numeric-owner", "-C", root, "-cf", tar, "."]).Code);
        Directory.Delete(root, recursive: true);
        Ok("import", "-c", "VOLUME /data", tar, "many-files");
        File.Delete(tar);
    }

    [Fact]
    public async Task KillDuringCopyUpLeavesNoHalfVolumeNoMountAndWholeVolumesIntact()
    {
        var volumes = Path.Combine(_dir.DataRoot, "volumes");
        var marker = Path.Combine(volumes, "half", "copy-up.pending");
        var data = Path.Combine(volumes, "half", "_data");
        using (var d = BerthdProcess.StartIn(_dir))
        {
            ImportManyFiles();
            Ok("run", "--rm", "-v", "whole:/w", "busybox", "sh", "-c", "echo kept > /w/k");
            Assert.Equal($"{Files}\n", Ok("run", "--rm", "-v", "full:/data", "many-files", "sh", "-c", "find /data -type f | wc -l"));

            var create = Task.Run(() => Docker("create", "--name", "cut", "-v", "half:/data", "many-files", "true"));
            // Killed once the copy is under way: the marker is there and files are arriving.
            var until = DateTime.UtcNow.AddSeconds(120);
            while (!(File.Exists(marker) && Directory.Exists(data) && Directory.EnumerateFileSystemEntries(data).Any()))
            {
                Assert.True(DateTime.UtcNow < until && !create.IsCompleted, "the copy-up was not seen under way");
                Thread.Sleep(5);
            }
            d.Signal(9);
            Assert.True(d.WaitForExit(TimeSpan.FromSeconds(10)));
            await create.WaitAsync(TimeSpan.FromSeconds(30));
            // Cut short: marked, and fewer files than the image has.
            Assert.True(File.Exists(marker));
            int copied = Directory.EnumerateFiles(data, "*", SearchOption.AllDirectories).Count();
            Assert.True(copied < Files, $"the copy ended before the kill ({copied} files)");
        }
        File.Delete(_dir.Socket);
        using (var d = BerthdProcess.StartIn(_dir))
        {
            // The half copy is gone (the volume is empty, unmarked), and so is every mount the crash left.
            Assert.False(File.Exists(marker));
            Assert.Empty(Directory.EnumerateFileSystemEntries(data));
            Assert.Empty(MountsUnderTestDir());
            Assert.Equal(1, Docker("inspect", "cut").Code);
            // Complete volumes are intact.
            Assert.Equal("kept\n", Ok("run", "--rm", "-v", "whole:/w", "busybox", "cat", "/w/k"));
            Assert.Equal($"{Files}\n", Ok("run", "--rm", "-v", "full:/data", "busybox", "sh", "-c", "find /data -type f | wc -l"));
            // The next container copies again, all of it.
            Assert.Equal($"{Files}\n", Ok("run", "--rm", "-v", "half:/data", "many-files", "sh", "-c", "find /data -type f | wc -l"));
            Assert.Equal("12/45\n", Ok("run", "--rm", "-v", "half:/data", "busybox", "cat", "/data/d12/f45"));
            Ok("volume", "rm", "half", "whole", "full");
        }
        Assert.Empty(MountsUnderTestDir());
    }
}
