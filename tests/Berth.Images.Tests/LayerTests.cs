using System.IO.Compression;
using System.Security.Cryptography;
using System.Text;
using Berth.Core;

namespace Berth.Images.Tests;

public class LayerTests
{
    private static string Hex(string s) => Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes(s)));

    [Fact]
    public void ChainIds_follow_the_oci_spec()
    {
        // OCI image-spec config.md: ChainID(L0) = DiffID(L0); ChainID(L0|..|Ln) = Digest(ChainID(L0|..|Ln-1) + " " + DiffID(Ln)).
        var a = Digest.Parse("sha256:a9561eb1b190625c9adb5a9513e72c4dedafc1cb2d4c5236c9a6957ec7dfd5a9");
        var b = Digest.Parse("sha256:3b5b6c2fe5ff3a1bd0a36da57a42bd6c5a9e1b6fcb3ab4bf4a3a3b9f0c0b2a3e");
        var c = Digest.Parse("sha256:d3e0e9ba7a6d1a4b5e0f1ddee8b2b9f6a8c6cf8e7b5b4a3f2e1d0c9b8a7f6e5d");
        var chain = LayerStore.ChainIds([a, b, c]);
        Assert.Equal(a, chain[0]);
        var ab = "sha256:" + Hex(a + " " + b);
        Assert.Equal(ab, chain[1].ToString());
        Assert.Equal("sha256:" + Hex(ab + " " + c), chain[2].ToString());
        Assert.Equal(chain[2], LayerStore.ChainId(chain[1], c));
    }

    [Fact]
    public void Unpacks_files_dirs_links_devices_with_metadata_and_computes_diffid()
    {
        using var tmp = new TempDir();
        var layers = new LayerStore(tmp.Sub("overlay"));
        var mtime = new DateTimeOffset(2021, 2, 3, 4, 5, 6, TimeSpan.Zero);
        var tar = new TarBuilder()
            .Dir("./", 0x1ed)
            .Dir("./etc/", 0x1ed, mtime: mtime)
            .File("./etc/hosts", "127.0.0.1 localhost\n", 0x1a4, mtime: mtime)
            .File("./usr/bin/tool", "#!/bin/sh\n", 0x9ed /* setuid 4755 */, uid: 1000, gid: 1001, mtime: mtime)
            .Dir("./tmp/", 0x3ff)
            .Symlink("./bin", "usr/bin")
            .Symlink("./etc/absolute", "/etc/shadow")
            .Hardlink("./etc/hosts.link", "./etc/hosts")
            .CharDev("./dev/null", 1, 3)
            .Fifo("./run/fifo")
            .Bytes();

        var info = layers.Register(new MemoryStream(tar), null);
        Assert.Equal(Digest.Of(tar).ToString(), info.DiffID);
        Assert.Equal(info.DiffID, info.ChainID); // base layer
        Assert.Null(info.Parent);
        Assert.Equal(1, info.RefCount);
        Assert.Equal(20 + 10, info.Size);

        var diff = layers.DiffDir(Digest.Parse(info.ChainID));
        Assert.Equal("127.0.0.1 localhost\n", File.ReadAllText(Path.Combine(diff, "etc/hosts")));
        var tool = Posix.Lstat(Path.Combine(diff, "usr/bin/tool"));
        Assert.Equal(0x81ed | 0x800, (int)tool.Mode); // regular, 4755
        Assert.Equal(1000u, tool.Uid);
        Assert.Equal(1001u, tool.Gid);
        Assert.Equal(mtime.ToUnixTimeSeconds(), tool.Mtime);
        Assert.Equal(mtime.ToUnixTimeSeconds(), Posix.Lstat(Path.Combine(diff, "etc")).Mtime); // dir mtime after its children
        Assert.Equal(0x43ff, (int)Posix.Lstat(Path.Combine(diff, "tmp")).Mode); // dir, 1777
        Assert.Equal("usr/bin", new FileInfo(Path.Combine(diff, "bin")).LinkTarget);
        Assert.Equal("/etc/shadow", new FileInfo(Path.Combine(diff, "etc/absolute")).LinkTarget);
        var hosts = Posix.Lstat(Path.Combine(diff, "etc/hosts"));
        var link = Posix.Lstat(Path.Combine(diff, "etc/hosts.link"));
        Assert.Equal(hosts.Ino, link.Ino);
        Assert.Equal(2ul, hosts.Nlink);
        var dev = Posix.Lstat(Path.Combine(diff, "dev/null"));
        Assert.Equal(0x2000, (int)dev.Mode & 0xf000);
        Assert.Equal((1ul << 8) | 3, dev.Rdev);
        Assert.Equal(0x1000, (int)Posix.Lstat(Path.Combine(diff, "run/fifo")).Mode & 0xf000);

        // layer.json is the persisted metadata
        var reread = layers.Get(Digest.Parse(info.ChainID))!;
        Assert.Equal(info.DiffID, reread.DiffID);
        Assert.True(File.Exists(Path.Combine(layers.LayerDir(Digest.Parse(info.ChainID)), "layer.json")));
        Assert.Empty(Directory.EnumerateFileSystemEntries(Path.Combine(layers.Root, ".ingest")));
    }

    [Fact]
    public void Gzip_layer_has_the_diffid_of_its_uncompressed_tar_and_is_unpacked_once()
    {
        using var tmp = new TempDir();
        var layers = new LayerStore(tmp.Sub("overlay"));
        var tar = new TarBuilder().File("a", "x").Bytes();
        var gz = new MemoryStream();
        using (var z = new GZipStream(gz, CompressionLevel.Fastest, leaveOpen: true)) z.Write(tar);
        gz.Position = 0;
        var viaGzip = layers.Register(gz, null);
        var plain = layers.Register(new MemoryStream(tar), null);
        Assert.Equal(Digest.Of(tar).ToString(), viaGzip.DiffID);
        Assert.Equal(viaGzip.ChainID, plain.ChainID);
        Assert.Equal(2, plain.RefCount);
        Assert.Single(layers.List());
        Assert.Empty(layers.Release(Digest.Parse(plain.ChainID)));
        Assert.Equal([Digest.Parse(plain.ChainID)], layers.Release(Digest.Parse(plain.ChainID)));
        Assert.False(Directory.Exists(layers.LayerDir(Digest.Parse(plain.ChainID))));
    }

    [Fact]
    public void Whiteouts_and_opaque_dirs_become_overlay_whiteouts_over_a_parent_layer()
    {
        using var tmp = new TempDir();
        var layers = new LayerStore(tmp.Sub("overlay"));
        var baseLayer = layers.Register(new TarBuilder()
            .Dir("a/").File("a/old", "old").File("b", "b").Dir("c/").File("c/keep", "k").Bytes().AsStream(), null);
        var upperTar = new TarBuilder()
            .File(".wh.b", "")
            .Dir("a/")
            .File("a/.wh..wh..opq", "")
            .File("a/new", "new")
            .File("c/.wh.keep", "")
            .File("d/.wh..wh.plnk", "") // aufs metadata: ignored
            .Bytes();
        var baseChain = Digest.Parse(baseLayer.ChainID);
        var upper = layers.Register(new MemoryStream(upperTar), baseChain);
        Assert.Equal(LayerStore.ChainId(baseChain, Digest.Of(upperTar)).ToString(), upper.ChainID);
        Assert.Equal(baseLayer.ChainID, upper.Parent);
        Assert.Equal(2, layers.Get(baseChain)!.RefCount); // held by the caller and by the child

        var diff = layers.DiffDir(Digest.Parse(upper.ChainID));
        var b = Posix.Lstat(Path.Combine(diff, "b"));
        Assert.Equal(0x2000, (int)b.Mode & 0xf000);
        Assert.Equal(0ul, b.Rdev);
        Assert.Equal(0ul, Posix.Lstat(Path.Combine(diff, "c/keep")).Rdev);
        Assert.Equal("y", Posix.GetXattr(Path.Combine(diff, "a"), "trusted.overlay.opaque"));
        Assert.Null(Posix.GetXattr(Path.Combine(diff, "c"), "trusted.overlay.opaque"));
        Assert.Equal("new", File.ReadAllText(Path.Combine(diff, "a/new")));
        Assert.False(File.Exists(Path.Combine(diff, ".wh.b")));
        Assert.False(File.Exists(Path.Combine(diff, "a/.wh..wh..opq")));
        Assert.False(File.Exists(Path.Combine(diff, "d/.wh..wh.plnk")));
        // the parent's diff is untouched
        var baseDiff = layers.DiffDir(baseChain);
        Assert.Equal("b", File.ReadAllText(Path.Combine(baseDiff, "b")));
        Assert.Equal("old", File.ReadAllText(Path.Combine(baseDiff, "a/old")));
        Assert.Equal([layers.DiffDir(Digest.Parse(upper.ChainID)), baseDiff], layers.LowerDirs(Digest.Parse(upper.ChainID)));

        // releasing the child drops it and its reference on the parent
        Assert.Equal([Digest.Parse(upper.ChainID)], layers.Release(Digest.Parse(upper.ChainID)));
        Assert.Equal(1, layers.Get(baseChain)!.RefCount);
    }

    public static TheoryData<string, byte[]> HostileTars(string outside) => new()
    {
        { "dotdot", new TarBuilder().File("../x", "pwned").Bytes() },
        { "dotdot-deep", new TarBuilder().Dir("a/").File("a/../../x", "pwned").Bytes() },
        { "absolute", new TarBuilder().File("/abs", "pwned").Bytes() },
        { "symlink-parent", new TarBuilder().Symlink("a", outside).File("a/passwd", "pwned").Bytes() },
        { "symlink-parent-etc", new TarBuilder().Symlink("a", "/etc").File("a/passwd", "pwned").Bytes() },
        { "symlink-parent-relative", new TarBuilder().Dir("d/").Symlink("d/up", "../../../../../../..").File("d/up/x", "pwned").Bytes() },
        { "hardlink-out", new TarBuilder().Hardlink("h", "../../../../../../etc/passwd").Bytes() },
        { "hardlink-via-symlink", new TarBuilder().Symlink("a", "/etc").Hardlink("h", "a/passwd").Bytes() },
        { "whiteout-via-symlink", new TarBuilder().Symlink("a", outside).File("a/.wh.victim", "").Bytes() },
        { "opaque-via-symlink", new TarBuilder().Symlink("a", outside).File("a/.wh..wh..opq", "").Bytes() },
        { "dir-via-symlink", new TarBuilder().Symlink("a", outside).Dir("a/sub/").Bytes() },
    };

    [Theory]
    [InlineData("missing")]
    [InlineData("no/such/dir/file")]
    public void A_hard_link_to_a_missing_target_is_a_bad_layer_not_a_missing_object(string target)
    {
        using var tmp = new TempDir();
        var layers = new LayerStore(tmp.Sub("overlay"));
        var tar = new TarBuilder().File("present", "x").Hardlink("h", target).Bytes();
        var ex = Assert.Throws<BerthException>(() => layers.Register(new MemoryStream(tar), null));
        Assert.Equal(ErrorKind.InvalidParameter, ex.Kind);
        Assert.Equal($"layer entry \"h\": hard link target \"{target}\" is not in the layer", ex.Message);
    }

    [Fact]
    public void Hostile_tars_are_rejected_and_nothing_escapes()
    {
        using var tmp = new TempDir();
        var outside = tmp.Sub("outside");
        Directory.CreateDirectory(outside);
        File.WriteAllText(Path.Combine(outside, "victim"), "safe");
        var passwdBefore = File.ReadAllBytes("/etc/passwd");
        var root = tmp.Sub("deep/er/data");
        var layers = new LayerStore(Path.Combine(root, "overlay"));
        foreach (var row in HostileTars(outside))
        {
            var name = (string)row[0];
            var tar = (byte[])row[1];
            var ex = Assert.Throws<BerthException>(() => layers.Register(new MemoryStream(tar), null));
            Assert.True(ErrorKind.InvalidParameter == ex.Kind, $"{name}: {ex.Kind} {ex.Message}");
            Assert.Contains("rejected", ex.Message);
        }
        Assert.Equal(["victim"], Directory.EnumerateFileSystemEntries(outside).Select(Path.GetFileName));
        Assert.Equal("safe", File.ReadAllText(Path.Combine(outside, "victim")));
        Assert.Null(Posix.GetXattr(outside, "trusted.overlay.opaque"));
        Assert.Equal(passwdBefore, File.ReadAllBytes("/etc/passwd"));
        Assert.False(File.Exists("/abs"));
        foreach (var p in new[] { tmp.Sub("x"), tmp.Sub("deep/x"), tmp.Sub("deep/er/x"), Path.Combine(root, "x") })
            Assert.False(File.Exists(p), p);
        Assert.Empty(layers.List());
        Assert.Empty(Directory.EnumerateFileSystemEntries(Path.Combine(layers.Root, ".ingest")));
    }

    [Fact]
    public void Xattrs_keep_their_bytes_from_both_record_kinds_and_overlay_ones_are_never_forged()
    {
        using var tmp = new TempDir();
        var layers = new LayerStore(tmp.Sub("overlay"));
        byte[] binary = [0x01, 0x00, 0xff, 0x80, 0x7f];
        var ms = new MemoryStream();
        using (var w = new System.Formats.Tar.TarWriter(ms, System.Formats.Tar.TarEntryFormat.Pax, leaveOpen: true))
        {
            var e = new System.Formats.Tar.PaxTarEntry(System.Formats.Tar.TarEntryType.RegularFile, "f", new Dictionary<string, string>
            {
                ["SCHILY.xattr.user.text"] = "caf\u00e9", // a PAX record is UTF-8: the bytes are c3 a9
                ["LIBARCHIVE.xattr.user.bin"] = Convert.ToBase64String(binary),
                ["SCHILY.xattr.trusted.overlay.opaque"] = "y",
            }) { Mode = (UnixFileMode)0x1a4, DataStream = new MemoryStream("x"u8.ToArray()) };
            w.WriteEntry(e);
        }
        var info = layers.Register(new MemoryStream(ms.ToArray()), null);
        var xattrs = Berth.Interop.Libc.ListXattrs(Path.Combine(layers.DiffDir(Digest.Parse(info.ChainID)), "f"))
            .ToDictionary(x => x.Name, x => Convert.ToHexString(x.Value));
        Assert.Equal("636166C3A9", xattrs["user.text"]);
        Assert.Equal(Convert.ToHexString(binary), xattrs["user.bin"]);
        Assert.DoesNotContain("trusted.overlay.opaque", xattrs.Keys);
    }

    [Fact]
    public void Garbage_is_invalid_parameter()
    {
        using var tmp = new TempDir();
        var layers = new LayerStore(tmp.Sub("overlay"));
        var junk = new byte[1024];
        Array.Fill(junk, (byte)'z');
        var ex = Assert.Throws<BerthException>(() => layers.Register(new MemoryStream(junk), null));
        Assert.Equal(ErrorKind.InvalidParameter, ex.Kind);
        Assert.Empty(layers.List());
    }
}

internal static class BytesExt
{
    public static MemoryStream AsStream(this byte[] b) => new(b);
}
