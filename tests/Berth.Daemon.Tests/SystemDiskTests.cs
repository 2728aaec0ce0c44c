using System.Text.Json;

namespace Berth.Daemon.Tests;

/// <summary>`docker system df` (-v, the API's numbers against the bytes on disk) and `docker system prune` (what
/// it removes and the space it reports), with the real docker CLI and with `berth`, each on a berthd of its own
/// (prune takes everything unused).</summary>
public sealed class SystemDiskTests : IDisposable
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

    private static string BerthPath()
    {
        string? dir = AppContext.BaseDirectory;
        while (dir is not null && !File.Exists(Path.Combine(dir, "Berth.slnx"))) dir = Path.GetDirectoryName(dir);
        return Path.Combine(dir ?? "/", "out", "bin", "berth");
    }

    private string BerthOk(params string[] args)
    {
        var (code, stdout, stderr) = Run.Command(BerthPath(), ["-H", "unix://" + _dir.Socket, .. args]);
        Assert.True(code == 0, $"berth {string.Join(' ', args)} exited {code}: {stdout}{stderr}");
        return stdout;
    }

    private JsonDocument Df()
    {
        using var http = UnixHttp.Client(_dir.Socket);
        var body = http.GetStringAsync("http://berth/v1.41/system/df").GetAwaiter().GetResult();
        return JsonDocument.Parse(body);
    }

    /// <summary>Bytes of the regular files below <paramref name="dir"/> (what du --apparent-size -b counts for files).</summary>
    private static long FileBytes(string dir) =>
        new DirectoryInfo(dir).EnumerateFiles("*", new EnumerationOptions { RecurseSubdirectories = true, AttributesToSkip = 0 })
            .Where(f => f.LinkTarget is null).Sum(f => f.Length);

    /// <summary>A table row of docker's output: the cells split on runs of 2+ spaces.</summary>
    private static string[] Row(string output, string first) =>
        System.Text.RegularExpressions.Regex.Split(output.Split('\n').First(l => l.StartsWith(first, StringComparison.Ordinal)).Trim(), " {2,}");

    private string ImportTagless(string marker)
    {
        var root = Path.Combine(_dir.Path, "img-" + marker);
        Directory.CreateDirectory(Path.Combine(root, "bin"));
        File.Copy("/bin/busybox", Path.Combine(root, "bin", "busybox"));
        File.WriteAllBytes(Path.Combine(root, marker), new byte[50_000 + marker.Length]);
        var tar = root + ".tar";
        Assert.Equal(0, Run.Command("tar", ["--numeric-owner", "-C", root, "-cf", tar, "."]).Code);
        return Ok("import", tar).Trim();
    }

    [Fact]
    public void DfCountsVolumesContainersAndImagesAsOnDisk()
    {
        using var d = BerthdProcess.StartIn(_dir);
        // Two containers share one volume (RefCount 2); one writes 100,000 bytes into it and 12,345 into its own layer.
        Ok("volume", "create", "shared");
        Ok("volume", "create", "idle");
        Ok("run", "--name", "w1", "-v", "shared:/data", "busybox", "sh", "-c",
            "dd if=/dev/zero of=/data/blob bs=1000 count=100 2>/dev/null; dd if=/dev/zero of=/layer bs=12345 count=1 2>/dev/null");
        Ok("create", "--name", "w2", "-v", "shared:/data", "busybox", "true");

        using var doc = Df();
        var root = doc.RootElement;
        var volumes = root.GetProperty("Volumes").EnumerateArray().ToDictionary(v => v.GetProperty("Name").GetString()!);
        var shared = volumes["shared"].GetProperty("UsageData");
        Assert.Equal(FileBytes(Path.Combine(_dir.DataRoot, "volumes", "shared", "_data")), shared.GetProperty("Size").GetInt64());
        Assert.Equal(100_000, shared.GetProperty("Size").GetInt64());
        Assert.Equal(2, shared.GetProperty("RefCount").GetInt64());
        Assert.Equal(0, volumes["idle"].GetProperty("UsageData").GetProperty("RefCount").GetInt64());
        Assert.Equal(0, volumes["idle"].GetProperty("UsageData").GetProperty("Size").GetInt64());

        var containers = root.GetProperty("Containers").EnumerateArray().ToDictionary(c => c.GetProperty("Names")[0].GetString()!);
        var image = root.GetProperty("Images").EnumerateArray().Single();
        long imageSize = image.GetProperty("Size").GetInt64();
        Assert.True(imageSize > 0);
        Assert.Equal(2, image.GetProperty("Containers").GetInt64());
        Assert.Equal(0, image.GetProperty("SharedSize").GetInt64());
        Assert.Equal(imageSize, root.GetProperty("LayersSize").GetInt64());
        long rw = containers["/w1"].GetProperty("SizeRw").GetInt64();
        Assert.Equal(12_345, rw);
        Assert.Equal(imageSize + rw, containers["/w1"].GetProperty("SizeRootFs").GetInt64());
        Assert.False(containers["/w2"].TryGetProperty("SizeRw", out _)); // 0: omitted, as dockerd
        Assert.Equal(JsonValueKind.Null, root.GetProperty("BuildCache").ValueKind);

        // docker system df: the same numbers in its table.
        var table = Ok("system", "df");
        Assert.StartsWith("TYPE            TOTAL     ACTIVE    SIZE      RECLAIMABLE\n", table);
        Assert.Equal(["Images", "1", "1"], Row(table, "Images")[..3]);
        Assert.Equal(["Containers", "2", "0", "12.35kB", "12.35kB (100%)"], Row(table, "Containers"));
        Assert.Equal(["Local Volumes", "2", "1", "100kB", "0B (0%)"], Row(table, "Local Volumes"));
        Assert.Equal(["Build Cache", "0", "0", "0B", "0B"], Row(table, "Build Cache"));

        var verbose = Ok("system", "df", "-v");
        Assert.Contains("Images space usage:\n\nREPOSITORY", verbose);
        Assert.Equal(["shared", "2", "100kB"], Row(verbose, "shared"));
        Assert.Equal(["idle", "0", "0B"], Row(verbose, "idle"));
        Assert.Contains("\nBuild cache usage: 0B\n", verbose);
        var w1 = Row(verbose, containers["/w1"].GetProperty("Id").GetString()![..12]);
        Assert.Equal("busybox", w1[1]);
        Assert.Equal("1", w1[3]); // one local volume
        Assert.Equal("12.3kB", w1[4]);

        // berth system df: docker's table.
        var berth = BerthOk("system", "df");
        Assert.Equal(table.Split('\n')[0], berth.Split('\n')[0]);
        Assert.Equal(Row(table, "Local Volumes"), Row(berth, "Local Volumes"));
        Assert.Equal(Row(table, "Containers"), Row(berth, "Containers"));
        Assert.Equal(Row(table, "Images"), Row(berth, "Images"));
        var berthVerbose = BerthOk("system", "df", "-v");
        Assert.Equal(["shared", "2", "100kB"], Row(berthVerbose, "shared"));
        var berthW1 = Row(berthVerbose, w1[0]);
        Assert.Equal(w1[..5], berthW1[..5]); // ID, IMAGE, COMMAND, LOCAL VOLUMES, SIZE (CREATED may have moved on)
        Assert.Equal(w1[^1], berthW1[^1]);
        Ok("rm", "-f", "w1", "w2");
    }

    [Fact]
    public async Task PruneRemovesWhatItReportsAndTheSpaceItFrees()
    {
        using var d = BerthdProcess.StartIn(_dir);
        Ok("volume", "create", "keep-used");
        Ok("volume", "create", "unused");
        File.WriteAllBytes(Path.Combine(_dir.DataRoot, "volumes", "unused", "_data", "f"), new byte[7000]);
        Ok("run", "--name", "stopped", "busybox", "sh", "-c", "dd if=/dev/zero of=/x bs=1000 count=3 2>/dev/null");
        var running = Ok("run", "-d", "--name", "running", "-v", "keep-used:/k", "busybox", "sleep", "600").Trim();
        var dangling = ImportTagless("dangling");
        var tagged = ImportTagless("tagged");
        Ok("tag", tagged, "unused-img:1");

        // docker system prune -f: stopped containers, unused networks, dangling images; not volumes, not tagged images.
        var output = Ok("system", "prune", "-f");
        var stoppedId = output.Split('\n').SkipWhile(l => l != "Deleted Containers:").Skip(1).First();
        Assert.Matches("^[0-9a-f]{64}$", stoppedId);
        Assert.Contains($"Deleted Images:\ndeleted: {dangling}\n", output);
        Assert.DoesNotContain("Deleted Volumes:", output);
        Assert.Matches(@"Total reclaimed space: [0-9.]+(kB|MB)\n$", output);
        Assert.Equal(1, Docker("inspect", "stopped").Code);
        Assert.Equal(1, Docker("image", "inspect", dangling).Code);
        Ok("image", "inspect", "unused-img:1");
        Ok("volume", "inspect", "unused");

        // -a --volumes: the tagged image no container uses, the volume no container uses; the rest stays.
        output = Ok("system", "prune", "-a", "--volumes", "-f");
        Assert.Contains("Deleted Volumes:\nunused\n", output);
        Assert.Contains($"Deleted Images:\nuntagged: unused-img:1\ndeleted: {tagged}\n", output);
        Assert.Equal(1, Docker("image", "inspect", "unused-img:1").Code);
        Assert.Equal(1, Docker("volume", "inspect", "unused").Code);
        Ok("volume", "inspect", "keep-used");
        Ok("image", "inspect", "busybox");
        Assert.Equal(running, Ok("ps", "-q", "--no-trunc").Trim());

        // The API's report: what went and its bytes (a layer of 50,000 + 5 bytes of the marker, and busybox).
        var third = ImportTagless("third");
        using var http = UnixHttp.Client(_dir.Socket);
        var answer = await http.PostAsync("http://berth/v1.41/images/prune", null);
        Assert.Equal(200, (int)answer.StatusCode);
        using var report = JsonDocument.Parse(await answer.Content.ReadAsStringAsync());
        Assert.Equal(third, report.RootElement.GetProperty("ImagesDeleted")[0].GetProperty("Deleted").GetString());
        Assert.Equal(new FileInfo("/bin/busybox").Length + 50_005, report.RootElement.GetProperty("SpaceReclaimed").GetInt64());
        answer = await http.PostAsync("http://berth/v1.41/images/prune", null);
        Assert.Equal("{\"ImagesDeleted\":null,\"SpaceReclaimed\":0}\n", await answer.Content.ReadAsStringAsync());

        // berth system prune: the same sections.
        Ok("run", "--name", "stopped2", "busybox", "true");
        var berth = BerthOk("system", "prune", "-f");
        Assert.StartsWith("Deleted Containers:\n", berth);
        Assert.EndsWith("Total reclaimed space: 0B\n", berth);
        Assert.Equal(1, Docker("inspect", "stopped2").Code);
        Ok("rm", "-f", "running");
    }
}
