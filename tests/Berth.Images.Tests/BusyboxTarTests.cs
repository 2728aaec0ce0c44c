using System.Formats.Tar;
using System.Security.Cryptography;

namespace Berth.Images.Tests;

/// <summary>
/// The built-in image's tar is written by Berth's own ustar writer, so its bytes (and the image ID) are fixed by
/// the code, not by the .NET version. A fake "busybox" (a shell script that answers --list-full with a fixed list)
/// is the fixed input: its rootfs tar has a golden digest.
/// </summary>
public sealed class BusyboxTarTests : IDisposable
{
    private readonly TempDir _dir = new();
    private readonly string _fake;

    /// <summary>sha256 of BuildRootfs(fake busybox): changes only when the writer or the image's layout changes.
    /// Python's tarfile (USTAR_FORMAT, the same entries and fields, its 10240-byte record padding cut) writes these
    /// very bytes: an independent check of the header layout.</summary>
    private const string GoldenRootfs = "sha256:ba684a5c34508efb42b0a78fdbe1fbe088ca5105f029096243999956e6f7df9a";

    /// <summary>The image ID of the fake busybox on amd64 (the config names the architecture).</summary>
    private const string GoldenImageIdAmd64 = "sha256:09ad7bef5e73e683967cd1d789508d16dea9f98d7f184c2e3ff23f9dfb49fb19";

    public BusyboxTarTests()
    {
        _fake = _dir.Sub("busybox");
        File.WriteAllText(_fake, "#!/bin/sh\n[ \"$1\" = --list-full ] && printf '%s\\n' bin/sh bin/ls usr/bin/env sbin/init usr/sbin/a/very/long/" +
                                 new string('x', 90) + "/applet\n");
        File.SetUnixFileMode(_fake, (UnixFileMode)0x1ed);
    }

    public void Dispose() => _dir.Dispose();

    [Fact]
    public void Rootfs_tar_bytes_are_golden()
    {
        using var tar = BusyboxImage.BuildRootfs(_fake);
        Assert.Equal(GoldenRootfs, "sha256:" + Convert.ToHexStringLower(SHA256.HashData(tar.ToArray())));
    }

    [Fact]
    public void Image_id_is_golden_on_amd64_and_the_same_when_built_twice()
    {
        var a = new ImageStore(_dir.Sub("a"));
        var id1 = BusyboxImage.Create(a, _fake);
        var id2 = BusyboxImage.Create(a, _fake);
        var other = BusyboxImage.Create(new ImageStore(_dir.Sub("b")), _fake);
        Assert.Equal(id1, id2);
        Assert.Equal(id1, other);
        Assert.Single(a.List());
        Assert.Equal([GoldenRootfs], a.Inspect(id1).RootFS.Layers); // the layer's DiffID is the tar's digest
        if (ImageStore.CurrentArchitecture == "amd64") Assert.Equal(GoldenImageIdAmd64, id1);
    }

    [Fact]
    public void Tar_is_standard_ustar_that_readers_understand()
    {
        using var tar = BusyboxImage.BuildRootfs(_fake);
        Assert.Equal(0, tar.Length % 512);
        var reader = new TarReader(tar);
        var entries = new List<TarEntry>();
        while (reader.GetNextEntry() is { } e) entries.Add(e);
        Assert.All(entries, e =>
        {
            Assert.Equal(TarEntryFormat.Ustar, e.Format);
            Assert.Equal(0, e.Uid);
            Assert.Equal(0, e.Gid);
            Assert.Equal("root", ((PosixTarEntry)e).UserName);
            Assert.Equal("root", ((PosixTarEntry)e).GroupName);
            Assert.Equal(BusyboxImage.Epoch, e.ModificationTime.UtcDateTime);
        });
        var names = entries.Select(e => e.Name).ToList();
        Assert.Equal(names.Order(StringComparer.Ordinal), names);
        var bb = entries.Single(e => e.Name == "bin/busybox");
        Assert.Equal(TarEntryType.RegularFile, bb.EntryType);
        Assert.Equal((UnixFileMode)0x1ed, bb.Mode);
        Assert.Equal(new FileInfo(_fake).Length, bb.Length);
        var sh = entries.Single(e => e.Name == "bin/sh");
        Assert.Equal(TarEntryType.SymbolicLink, sh.EntryType);
        Assert.Equal("/bin/busybox", sh.LinkName);
        Assert.Equal(TarEntryType.Directory, entries.Single(e => e.Name == "tmp/").EntryType);
        Assert.Equal((UnixFileMode)0x3ff, entries.Single(e => e.Name == "tmp/").Mode);
        // A name over 100 bytes goes through the ustar prefix field and reads back whole.
        Assert.Contains(entries, e => e.Name == "usr/sbin/a/very/long/" + new string('x', 90) + "/applet");
    }

    [Fact]
    public void Gnu_tar_lists_it_without_complaint()
    {
        using var tar = BusyboxImage.BuildRootfs(_fake);
        var path = _dir.Sub("rootfs.tar");
        File.WriteAllBytes(path, tar.ToArray());
        var psi = new System.Diagnostics.ProcessStartInfo("tar", ["-tvf", path]) { RedirectStandardOutput = true, RedirectStandardError = true };
        psi.Environment["TZ"] = "UTC";
        using var p = System.Diagnostics.Process.Start(psi)!;
        string stdout = p.StandardOutput.ReadToEnd(), stderr = p.StandardError.ReadToEnd();
        p.WaitForExit();
        Assert.True(p.ExitCode == 0, stderr);
        Assert.Equal("", stderr);
        Assert.Contains("lrwxrwxrwx root/root         0 2024-01-01 00:00 bin/sh -> /bin/busybox", stdout);
    }
}
