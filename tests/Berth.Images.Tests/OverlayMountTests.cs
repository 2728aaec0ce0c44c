using Berth.Core;

namespace Berth.Images.Tests;

/// <summary>Real overlay mounts: needs root (CI runs as root). Not skipped: fails loudly otherwise.</summary>
public class OverlayMountTests
{
    private static void RequireRoot() =>
        Assert.True(Posix.geteuid() == 0, "the overlay mount tests need root (CI runs them as root)");

    private static bool InMountinfo(string path) =>
        File.ReadLines("/proc/self/mountinfo").Any(l => l.Split(' ')[4] == path);

    [Fact]
    public void Busybox_container_snapshot_is_copy_on_write_and_tears_down()
    {
        RequireRoot();
        using var tmp = new TempDir();
        var store = new ImageStore(tmp.Path);
        var id = BusyboxImage.Create(store);
        var top = store.TopLayer("busybox")!.Value;
        var snapshots = new OverlaySnapshotter(store.Layers);

        var mount = snapshots.Prepare("c1", top);
        var dir = snapshots.SnapshotDir("c1");
        Assert.Equal("overlay", mount.Type);
        Assert.Equal("overlay", mount.Source);
        Assert.Equal(Path.Combine(dir, "merged"), mount.Target);
        Assert.Contains("lowerdir=" + store.Layers.DiffDir(top), mount.Options);
        Assert.Contains("upperdir=" + Path.Combine(dir, "upper"), mount.Options);
        Assert.Contains("workdir=" + Path.Combine(dir, "work"), mount.Options);
        Assert.False(InMountinfo(mount.Target)); // Prepare is data only
        Assert.Equal(2, store.Layers.Get(top)!.RefCount); // image + snapshot
        Assert.Equal(ErrorKind.Conflict, Assert.Throws<BerthException>(() => snapshots.Prepare("c1", top)).Kind);

        MountHelper.Mount(mount);
        try
        {
            Assert.True(InMountinfo(mount.Target));
            Assert.True(MountHelper.IsMounted(mount.Target));
            Assert.True(File.Exists(Path.Combine(mount.Target, "bin/busybox")));
            Assert.Equal("/bin/busybox", new FileInfo(Path.Combine(mount.Target, "bin/sh")).LinkTarget);

            File.WriteAllText(Path.Combine(mount.Target, "tmp/hello"), "cow");
            File.AppendAllText(Path.Combine(mount.Target, "etc/passwd"), "extra:x:1:1::/:/bin/sh\n");
            Assert.Equal("cow", File.ReadAllText(Path.Combine(dir, "upper/tmp/hello")));
            var lower = store.Layers.DiffDir(top);
            Assert.False(File.Exists(Path.Combine(lower, "tmp/hello")));
            Assert.DoesNotContain("extra:", File.ReadAllText(Path.Combine(lower, "etc/passwd")));
            Assert.Contains("extra:", File.ReadAllText(Path.Combine(dir, "upper/etc/passwd")));
        }
        finally
        {
            MountHelper.Unmount(mount.Target);
        }
        Assert.False(InMountinfo(mount.Target));
        MountHelper.Unmount(mount.Target); // idempotent

        // Remove of a mounted snapshot unmounts it first
        MountHelper.Mount(snapshots.Mounts("c1"));
        Assert.True(InMountinfo(mount.Target));
        snapshots.Remove("c1");
        Assert.False(InMountinfo(mount.Target));
        Assert.False(Directory.Exists(dir));
        Assert.Equal(1, store.Layers.Get(top)!.RefCount);
        snapshots.Remove("c1"); // idempotent
        Assert.DoesNotContain(File.ReadAllText("/proc/self/mountinfo"), tmp.Path);
        Assert.NotEmpty(id);
    }

    [Fact]
    public void Whiteouts_and_opaque_dirs_hide_lower_content_in_the_merged_view()
    {
        RequireRoot();
        using var tmp = new TempDir();
        var layers = new LayerStore(tmp.Sub("overlay"));
        var l0 = layers.Register(new TarBuilder().Dir("a/").File("a/old", "old").File("b", "b").File("c", "c").Stream(), null);
        var l1 = layers.Register(new TarBuilder().File(".wh.b", "").Dir("a/").File("a/.wh..wh..opq", "").File("a/new", "new").Stream(),
            Digest.Parse(l0.ChainID));
        var snapshots = new OverlaySnapshotter(layers);
        var mount = snapshots.Prepare("w", Digest.Parse(l1.ChainID));
        Assert.Contains($"lowerdir={layers.DiffDir(Digest.Parse(l1.ChainID))}:{layers.DiffDir(Digest.Parse(l0.ChainID))}", mount.Options);
        MountHelper.Mount(mount);
        try
        {
            var m = mount.Target;
            Assert.False(File.Exists(Path.Combine(m, "b")));
            Assert.True(File.Exists(Path.Combine(m, "c")));
            Assert.False(File.Exists(Path.Combine(m, "a/old")));
            Assert.Equal("new", File.ReadAllText(Path.Combine(m, "a/new")));
        }
        finally
        {
            snapshots.Remove("w");
        }
        Assert.False(InMountinfo(mount.Target));
        Assert.False(Directory.Exists(snapshots.SnapshotDir("w")));
    }

    [Fact]
    public void Snapshot_without_parent_is_a_bind_mount_of_upper()
    {
        RequireRoot();
        using var tmp = new TempDir();
        var layers = new LayerStore(tmp.Sub("overlay"));
        var snapshots = new OverlaySnapshotter(layers);
        var mount = snapshots.Prepare("scratch", null);
        Assert.Equal("bind", mount.Type);
        MountHelper.Mount(mount);
        File.WriteAllText(Path.Combine(mount.Target, "f"), "x");
        Assert.True(File.Exists(Path.Combine(snapshots.UpperDir("scratch"), "f")));
        snapshots.Remove("scratch");
        Assert.False(InMountinfo(mount.Target));
        Assert.False(Directory.Exists(snapshots.SnapshotDir("scratch")));
        Assert.Equal(ErrorKind.InvalidParameter, Assert.Throws<BerthException>(() => snapshots.Prepare("../evil", null)).Kind);
    }
}
