using System.Formats.Tar;
using System.Text;
using System.Text.Json;

namespace Berth.Daemon.Tests;

/// <summary>docker save / docker load against berthd with the real docker CLI: round trip, hostile archives.</summary>
public sealed class SaveLoadTests(DaemonFixture fx) : IClassFixture<DaemonFixture>
{
    private string TarPath(string name) => Path.Combine(fx.Dir.Path, name);

    /// <summary>A one-layer image of its own (export of a busybox container, imported), so rmi really deletes it.</summary>
    private string MakeImage(string tag, string marker)
    {
        var c = fx.Ok("run", "-d", "busybox", "sh", "-c", $"echo {marker} > /marker; mkdir -p /d/e; echo x > /d/e/f").Trim();
        fx.Ok("wait", c);
        var export = TarPath(tag.Replace(':', '_') + ".rootfs.tar");
        fx.Ok("export", "-o", export, c);
        fx.Ok("rm", c);
        var id = fx.Ok("import", export, tag).Trim();
        File.Delete(export);
        return id;
    }

    private static Dictionary<string, byte[]> ReadTar(string path)
    {
        var files = new Dictionary<string, byte[]>();
        using var r = new TarReader(File.OpenRead(path));
        while (r.GetNextEntry() is { } e)
        {
            if (e.EntryType is not (TarEntryType.RegularFile or TarEntryType.V7RegularFile)) continue;
            using var ms = new MemoryStream();
            e.DataStream?.CopyTo(ms);
            files[e.Name] = ms.ToArray();
        }
        return files;
    }

    private static void WriteTar(string path, IEnumerable<(string Name, byte[] Data)> files)
    {
        using var w = new TarWriter(File.Create(path), TarEntryFormat.Ustar);
        foreach (var (name, data) in files)
            w.WriteEntry(new UstarTarEntry(TarEntryType.RegularFile, name) { DataStream = new MemoryStream(data) });
    }

    private int LayerCount() => Directory.GetDirectories(Path.Combine(fx.Dir.DataRoot, "overlay")).Count(d => !Path.GetFileName(d).StartsWith('.') && Path.GetFileName(d) != "containers");

    [Fact]
    public void SaveRmiLoad_SameIdAndRuns()
    {
        var id = MakeImage("saveload-rt:1", "roundtrip");
        var tar = TarPath("rt.tar");
        try
        {
            fx.Ok("save", "-o", tar, "saveload-rt:1");
            var files = ReadTar(tar);
            using var manifest = JsonDocument.Parse(files["manifest.json"]);
            var m = manifest.RootElement[0];
            Assert.Equal(id["sha256:".Length..] + ".json", m.GetProperty("Config").GetString());
            Assert.Equal("saveload-rt:1", m.GetProperty("RepoTags")[0].GetString());
            var layer = m.GetProperty("Layers")[0].GetString()!;
            Assert.Equal("1.0", Encoding.ASCII.GetString(files[layer.Replace("layer.tar", "VERSION")]));
            Assert.Contains("saveload-rt", Encoding.UTF8.GetString(files["repositories"]));
            // The layer tar is the imported one byte for byte: its digest is the config's diff id.
            using var config = JsonDocument.Parse(files[id["sha256:".Length..] + ".json"]);
            var diffId = config.RootElement.GetProperty("rootfs").GetProperty("diff_ids")[0].GetString();
            Assert.Equal(diffId, "sha256:" + Convert.ToHexStringLower(System.Security.Cryptography.SHA256.HashData(files[layer])));

            fx.Ok("rmi", "saveload-rt:1");
            Assert.NotEqual(0, fx.Docker("image", "inspect", id).Code);
            var outp = fx.Ok("load", "-i", tar);
            Assert.Contains("Loaded image: saveload-rt:1", outp);
            Assert.Equal(id, fx.Inspect("saveload-rt:1", "{{.Id}}"));
            Assert.Equal("roundtrip\n", fx.Ok("run", "--rm", "saveload-rt:1", "cat", "/marker"));
            // Loading again: the same image, nothing new.
            int layers = LayerCount();
            Assert.Contains("Loaded image: saveload-rt:1", fx.Ok("load", "-q", "-i", tar));
            Assert.Equal(layers, LayerCount());
        }
        finally
        {
            fx.Docker("rmi", "saveload-rt:1");
            File.Delete(tar);
        }
    }

    [Fact]
    public void SaveById_HasNoTags_LoadPrintsTheId()
    {
        var id = MakeImage("saveload-id:1", "byid");
        var tar = TarPath("id.tar");
        try
        {
            fx.Ok("save", "-o", tar, id[7..19]);
            var files = ReadTar(tar);
            Assert.Contains("\"RepoTags\":null", Encoding.UTF8.GetString(files["manifest.json"]));
            Assert.False(files.ContainsKey("repositories"));
            fx.Ok("rmi", "saveload-id:1");
            Assert.Contains($"Loaded image ID: {id}", fx.Ok("load", "-i", tar));
            Assert.Equal(id, fx.Inspect(id, "{{.Id}}"));
        }
        finally
        {
            fx.Docker("rmi", id);
            File.Delete(tar);
        }
    }

    [Fact]
    public void Load_DiffIdMismatch_IsRefusedAndLeavesNothing()
    {
        var id = MakeImage("saveload-bad:1", "bad");
        var tar = TarPath("bad.tar");
        var bad = TarPath("bad-edited.tar");
        try
        {
            fx.Ok("save", "-o", tar, "saveload-bad:1");
            fx.Ok("rmi", "saveload-bad:1");
            var files = ReadTar(tar);
            var layer = files.Keys.Single(k => k.EndsWith("/layer.tar", StringComparison.Ordinal));
            // Another layer tar under the same name: its digest is not the config's diff id.
            var other = new MemoryStream();
            using (var w = new TarWriter(other, TarEntryFormat.Ustar, leaveOpen: true))
                w.WriteEntry(new UstarTarEntry(TarEntryType.RegularFile, "evil") { DataStream = new MemoryStream("x"u8.ToArray()) });
            files[layer] = other.ToArray();
            WriteTar(bad, files.Select(kv => (kv.Key, kv.Value)));
            int layers = LayerCount();
            var (code, _, err) = fx.Docker("load", "-i", bad);
            Assert.NotEqual(0, code);
            Assert.Contains("does not match its diff id", err);
            Assert.NotEqual(0, fx.Docker("image", "inspect", id).Code);
            Assert.Equal(layers, LayerCount());
            Assert.Empty(Directory.GetDirectories(Path.Combine(fx.Dir.DataRoot, "images", "load-tmp")));
        }
        finally
        {
            File.Delete(tar);
            File.Delete(bad);
        }
    }

    [Fact]
    public void Load_DotDotEntry_IsRefused()
    {
        var bad = TarPath("dotdot.tar");
        try
        {
            WriteTar(bad, [("../evil.json", "{}"u8.ToArray()), ("manifest.json", "[]"u8.ToArray())]);
            var (code, _, err) = fx.Docker("load", "-i", bad);
            Assert.NotEqual(0, code);
            Assert.Contains("\"..\" component", err);
            Assert.False(File.Exists(Path.Combine(fx.Dir.DataRoot, "images", "evil.json")));
        }
        finally
        {
            File.Delete(bad);
        }
    }

    [Fact]
    public void Save_UnknownImage_IsNotFound()
    {
        var (code, _, err) = fx.Docker("save", "-o", TarPath("none.tar"), "no-such-image:1");
        Assert.NotEqual(0, code);
        Assert.Contains("No such image", err);
    }

    [Fact]
    public void Save_LayerWithoutTarSplit_FailsBeforeTheFirstByte_WithTheReason()
    {
        var id = MakeImage("saveload-nosplit:1", "nosplit");
        var tar = TarPath("nosplit.tar");
        try
        {
            // A one-layer image: its chain id is its diff id. Without the layer's tar-split (a layer stored by an
            // older Berth) the archive cannot be rebuilt bit for bit: the client must get the reason, not an EOF.
            var diffId = fx.Inspect("saveload-nosplit:1", "{{index .RootFS.Layers 0}}");
            File.Delete(Path.Combine(fx.Dir.DataRoot, "overlay", diffId["sha256:".Length..], "tar-split.gz"));
            var (code, _, err) = fx.Docker("save", "-o", tar, "saveload-nosplit:1");
            Assert.NotEqual(0, code);
            Assert.Contains("was stored before Berth kept layer tar metadata", err);
            Assert.DoesNotContain("EOF", err);
        }
        finally
        {
            fx.Docker("rmi", id);
            File.Delete(tar);
        }
    }
}
