using Berth.Core;
using Berth.Interop;

namespace Berth.Images.Tests;

/// <summary>
/// No host user but root may reach image or container content (the class of CVE-2021-41091): layers keep setuid
/// binaries as they are, so a layer's diff must not be reachable by others. Checked as `nobody` with runuser.
/// </summary>
public sealed class PermissionTests : IDisposable
{
    private const UnixFileMode P0700 = (UnixFileMode)0x1c0;
    private readonly TempDir _dir = new();
    private readonly string _root;

    public PermissionTests()
    {
        // The temp dir is 0700: open the path down to the data root, so that only Berth's own modes stand in the way.
        File.SetUnixFileMode(_dir.Path, (UnixFileMode)0x1ed);
        // The data root itself world-listable (berthd makes it 0711, but an admin may have made it by hand):
        // what keeps others out must be the content directories' own modes.
        _root = _dir.Sub("root");
        Directory.CreateDirectory(_root, (UnixFileMode)0x1ed);
    }

    public void Dispose() => _dir.Dispose();

    private static (int Code, string Stdout, string Stderr) AsNobody(params string[] args)
    {
        var psi = new System.Diagnostics.ProcessStartInfo("runuser", ["-u", "nobody", "--", .. args])
        {
            RedirectStandardOutput = true, RedirectStandardError = true,
        };
        using var p = System.Diagnostics.Process.Start(psi)!;
        var stdout = p.StandardOutput.ReadToEndAsync();
        var stderr = p.StandardError.ReadToEndAsync();
        p.WaitForExit();
        return (p.ExitCode, stdout.Result, stderr.Result);
    }

    /// <summary>A store with one image whose layer has a setuid-root file and a container snapshot on it.</summary>
    private (ImageStore Store, Digest Layer, OverlaySnapshotter Snapshots) Populate()
    {
        Assert.Equal(0u, Posix.geteuid()); // runuser and a root-owned setuid file need root (tests run as root)
        var store = new ImageStore(_root);
        var tar = new TarBuilder().Dir("bin/").File("bin/suid", "#!/bin/sh\nid\n", mode: 0x9ed /* 04755 */)
            .File("etc/secret", "s3cret", mode: 0x1a4).Stream();
        var id = store.Import(tar, "t:1", null);
        var layer = store.TopLayer(id)!.Value;
        var snaps = new OverlaySnapshotter(store.Layers);
        snaps.Prepare("c1", layer);
        File.WriteAllText(Path.Combine(snaps.UpperDir("c1"), "written-by-container"), "x");
        return (store, layer, snaps);
    }

    [Fact]
    public void Content_directories_are_0700_and_nobody_reaches_no_layer_or_container_file()
    {
        var (store, layer, snaps) = Populate();
        foreach (var d in new[] { "overlay", "content", "images", "overlay/containers", "overlay/.ingest" })
            Assert.Equal(P0700, File.GetUnixFileMode(Path.Combine(_root, d)));

        var suid = Path.Combine(store.Layers.DiffDir(layer), "bin", "suid");
        Assert.True(File.Exists(suid));
        Assert.Equal((UnixFileMode)0x9ed, File.GetUnixFileMode(suid)); // the layer keeps the set-uid bit: hence the 0700

        var find = AsNobody("find", _root, "-type", "f");
        Assert.Equal("", find.Stdout); // nothing listed: not the suid file, not the container's file, no blob
        Assert.NotEqual(0, find.Code); // find says Permission denied for the 0700 directories
        Assert.NotEqual(0, AsNobody("cat", Path.Combine(store.Layers.DiffDir(layer), "etc", "secret")).Code);
        Assert.NotEqual(0, AsNobody("test", "-x", suid).Code);
        Assert.NotEqual(0, AsNobody("cat", Path.Combine(snaps.UpperDir("c1"), "written-by-container")).Code);
        // Root still reads everything.
        Assert.Equal("s3cret", File.ReadAllText(Path.Combine(store.Layers.DiffDir(layer), "etc", "secret")));
    }

    [Fact]
    public void An_existing_world_readable_store_is_tightened_when_opened()
    {
        Populate();
        foreach (var d in new[] { "overlay", "content", "images", "overlay/containers" })
            File.SetUnixFileMode(Path.Combine(_root, d), (UnixFileMode)0x1ed); // as an older berth left them
        Assert.Contains("suid", AsNobody("find", _root, "-type", "f").Stdout); // the hole, before reopening

        var reopened = new ImageStore(_root);
        _ = new OverlaySnapshotter(reopened.Layers);
        foreach (var d in new[] { "overlay", "content", "images", "overlay/containers" })
            Assert.Equal(P0700, File.GetUnixFileMode(Path.Combine(_root, d)));
        Assert.Equal("", AsNobody("find", _root, "-type", "f").Stdout);
        Assert.Single(reopened.List());
    }

    [Fact]
    public void FsyncDirectory_failure_is_an_error_not_swallowed()
    {
        var missing = _dir.Sub("no-such-dir");
        var e = Assert.Throws<ErrnoException>(() => AtomicFile.FsyncDirectory(missing));
        Assert.Equal("open", e.Syscall);
        Assert.Equal(2 /* ENOENT */, e.Errno); // classified (NotFound) at the boundary, not in Interop
        var file = _dir.Sub("a-file");
        File.WriteAllText(file, "x");
        Assert.Equal(20 /* ENOTDIR */, Assert.Throws<ErrnoException>(() => AtomicFile.FsyncDirectory(file)).Errno);
        AtomicFile.FsyncDirectory(_dir.Path); // a directory: fine
    }
}
