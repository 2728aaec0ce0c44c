using System.Diagnostics;
using Berth.Core;
using Berth.Engine.Volumes.Drivers;
using Berth.Images;
using Berth.Interop;

namespace Berth.Engine.Tests.Volumes;

/// <summary>The `local` driver's -o type/device/o volumes on the real kernel, as root: tmpfs, bind, an ext4 image
/// through a loop device; mounted for the first user, unmounted after the last.</summary>
public sealed class LocalMountTests : IDisposable
{
    private readonly string _dir = Directory.CreateTempSubdirectory("berth-localmount-").FullName;
    private readonly List<string> _targets = [];

    public LocalMountTests() => Assert.True(Libc.geteuid() == 0, "the local mount tests need root (mount(2), loop devices)");

    public void Dispose()
    {
        foreach (var t in _targets) MountHelper.Unmount(t);
        Directory.Delete(_dir, recursive: true);
    }

    private string Data(string volume)
    {
        var p = Path.Combine(_dir, "volumes", volume, "_data");
        Directory.CreateDirectory(p);
        _targets.Add(p);
        return p;
    }

    private static LocalMountOptions Opts(params (string K, string V)[] o) =>
        LocalMountOptions.Parse(o.ToDictionary(x => x.K, x => x.V))!;

    /// <summary>The mountinfo line of the mount on <paramref name="target"/>: (fstype, source, super options).</summary>
    private static (string Type, string Source, string Super)? MountOf(string target)
    {
        foreach (var line in File.ReadLines("/proc/self/mountinfo"))
        {
            var f = line.Split(' ');
            if (f[4] != target) continue; // temp paths have no characters mountinfo escapes
            int sep = Array.IndexOf(f, "-");
            return (f[sep + 1], f[sep + 2], f[sep + 3]);
        }
        return null;
    }

    [Fact]
    public void Unknown_keys_are_refused_with_dockers_message()
    {
        var ex = Assert.Throws<BerthException>(() => LocalMountOptions.Parse(new Dictionary<string, string> { ["type"] = "tmpfs", ["size"] = "10m" }));
        Assert.Equal(ErrorKind.InvalidParameter, ex.Kind);
        Assert.Equal("invalid option key: \"size\"", ex.Message);
        Assert.Null(LocalMountOptions.Parse(new Dictionary<string, string>()));
    }

    [Fact]
    public void O_words_split_into_flags_data_and_loop()
    {
        var (flags, data, loop) = Opts(("type", "tmpfs"), ("device", "tmpfs"), ("o", "size=10m,ro,nosuid,uid=1000,loop")).Split();
        Assert.Equal(Libc.MS_RDONLY | Libc.MS_NOSUID, flags);
        Assert.Equal("size=10m,uid=1000", data);
        Assert.True(loop);
    }

    [Fact]
    public void Nfs_addr_host_names_are_resolved_as_dockerd_does()
    {
        Assert.Equal("vers=4,addr=127.0.0.1,rw", LocalMountOptions.ResolveAddr("vers=4,addr=localhost,rw"));
        Assert.Equal("addr=10.1.2.3", LocalMountOptions.ResolveAddr("addr=10.1.2.3"));
        Assert.Equal("nolock", LocalMountOptions.ResolveAddr("nolock"));
    }

    [Fact]
    public void A_tmpfs_volume_is_mounted_for_the_first_user_and_unmounted_after_the_last()
    {
        var data = Data("tmp");
        var mounts = new LocalVolumeMounts();
        var opts = Opts(("type", "tmpfs"), ("device", "tmpfs"), ("o", "size=10m,uid=1000"));
        Assert.Equal(data, mounts.Mount("tmp", data, opts, "c1"));
        var m = MountOf(data);
        Assert.NotNull(m);
        Assert.Equal("tmpfs", m.Value.Type);
        Assert.Contains("size=10240k", m.Value.Super);
        Assert.Contains("uid=1000", m.Value.Super);
        File.WriteAllText(Path.Combine(data, "f"), "on tmpfs");

        mounts.Mount("tmp", data, opts, "c2");
        mounts.Unmount("tmp", data, "c1");
        mounts.Unmount("tmp", data, "c1"); // twice: idempotent, c2 still uses it
        Assert.True(MountHelper.IsMounted(data));
        Assert.Equal("on tmpfs", File.ReadAllText(Path.Combine(data, "f")));
        Assert.Equal(["c2"], mounts.Users("tmp"));

        var busy = Assert.Throws<BerthException>(() => mounts.PrepareRemove("tmp", data));
        Assert.Equal("volume has active mounts", busy.Message);

        mounts.Unmount("tmp", data, "c2");
        Assert.False(MountHelper.IsMounted(data));
        Assert.False(File.Exists(Path.Combine(data, "f"))); // the tmpfs went with its last user
        mounts.PrepareRemove("tmp", data);
    }

    [Fact]
    public void A_bind_volume_shows_the_host_directory()
    {
        var host = Directory.CreateDirectory(Path.Combine(_dir, "host")).FullName;
        File.WriteAllText(Path.Combine(host, "from-host"), "hello");
        var data = Data("bind");
        var mounts = new LocalVolumeMounts();
        mounts.Mount("bind", data, Opts(("type", "none"), ("o", "bind"), ("device", host)), "c1");
        Assert.Equal("hello", File.ReadAllText(Path.Combine(data, "from-host")));
        File.WriteAllText(Path.Combine(data, "from-volume"), "back");
        mounts.Unmount("bind", data, "c1");
        Assert.False(MountHelper.IsMounted(data));
        Assert.Equal("back", File.ReadAllText(Path.Combine(host, "from-volume")));
    }

    [Fact]
    public void A_read_only_bind_volume_refuses_writes()
    {
        var host = Directory.CreateDirectory(Path.Combine(_dir, "rohost")).FullName;
        var data = Data("robind");
        var mounts = new LocalVolumeMounts();
        mounts.Mount("robind", data, Opts(("type", "none"), ("o", "bind,ro"), ("device", host)), "c1");
        var ex = Assert.ThrowsAny<IOException>(() => File.WriteAllText(Path.Combine(data, "x"), "x"));
        Assert.Contains("Read-only", ex.Message);
        mounts.Unmount("robind", data, "c1");
    }

    [Fact]
    public void An_ext4_image_is_mounted_through_a_loop_device_that_is_released_at_unmount()
    {
        var image = Path.Combine(_dir, "disk.img");
        using (var fs = File.Create(image)) fs.SetLength(32 << 20);
        Run("mkfs.ext4", "-q", "-F", image);
        var data = Data("ext4");
        var mounts = new LocalVolumeMounts();
        var opts = Opts(("type", "ext4"), ("device", image));
        mounts.Mount("ext4", data, opts, "c1");
        var m = MountOf(data);
        Assert.NotNull(m);
        Assert.Equal("ext4", m.Value.Type);
        Assert.StartsWith("/dev/loop", m.Value.Source);
        var loop = m.Value.Source;
        Assert.Equal(image, Libc.LoopBackingFile(loop));
        Assert.True(Directory.Exists(Path.Combine(data, "lost+found")));
        File.WriteAllText(Path.Combine(data, "persisted"), "on ext4");

        mounts.Unmount("ext4", data, "c1");
        Assert.False(MountHelper.IsMounted(data));
        Assert.False(File.Exists(Path.Combine(data, "persisted")));
        WaitUntil(() => Libc.LoopBackingFile(loop) != image, "the loop device is released (LO_FLAGS_AUTOCLEAR)");

        mounts.Mount("ext4", data, opts, "c2"); // the data lives in the image
        Assert.Equal("on ext4", File.ReadAllText(Path.Combine(data, "persisted")));
        loop = MountOf(data)!.Value.Source;
        mounts.Unmount("ext4", data, "c2");
        WaitUntil(() => Libc.LoopBackingFile(loop) != image, "the loop device is released again");
    }

    [Fact]
    public void A_failed_mount_is_worded_as_dockerd_and_leaves_nothing_mounted()
    {
        var data = Data("bad");
        var mounts = new LocalVolumeMounts();
        var ex = Assert.Throws<BerthException>(() => mounts.Mount("bad", data, Opts(("type", "nosuchfs"), ("device", "x"), ("o", "size=1m")), "c1"));
        Assert.Equal($"failed to mount local volume: mount x:{data}, data: size=1m: no such device", ex.Message);
        Assert.False(MountHelper.IsMounted(data));
        Assert.Empty(mounts.Users("bad"));

        var missing = Assert.Throws<BerthException>(() => mounts.Mount("bad", data, Opts(("type", "tmpfs")), "c1"));
        Assert.Equal("missing device in volume options", missing.Message);
    }

    [Fact]
    public void A_failed_loop_mount_releases_the_loop_device()
    {
        var image = Path.Combine(_dir, "notfs.img");
        using (var fs = File.Create(image)) fs.SetLength(1 << 20); // zeros: no filesystem
        var data = Data("notfs");
        var before = LoopsBackedBy(image);
        Assert.Throws<BerthException>(() => new LocalVolumeMounts().Mount("notfs", data, Opts(("type", "ext4"), ("device", image)), "c1"));
        Assert.False(MountHelper.IsMounted(data));
        WaitUntil(() => LoopsBackedBy(image) == before, "no loop device keeps the image");
    }

    [Fact]
    public void Recovery_rebuilds_users_and_unmounts_a_volume_nobody_runs_with()
    {
        var data = Data("rec");
        var opts = Opts(("type", "tmpfs"), ("device", "tmpfs"));
        new LocalVolumeMounts().Mount("rec", data, opts, "c1"); // then the daemon died

        var after = new LocalVolumeMounts();
        after.Recover("rec", data, opts, ["c1"]);
        Assert.True(MountHelper.IsMounted(data));
        Assert.Equal(["c1"], after.Users("rec"));

        var afterC1Died = new LocalVolumeMounts();
        afterC1Died.Recover("rec", data, opts, []);
        Assert.False(MountHelper.IsMounted(data));

        var afterReboot = new LocalVolumeMounts(); // not mounted, but a running container uses it
        afterReboot.Recover("rec", data, opts, ["c2"]);
        Assert.True(MountHelper.IsMounted(data));
        afterReboot.Unmount("rec", data, "c2");
        Assert.False(MountHelper.IsMounted(data));
    }

    private static int LoopsBackedBy(string image) =>
        Directory.GetFiles("/dev", "loop*").Where(d => char.IsDigit(d[^1])).Count(d => Libc.LoopBackingFile(d) == image);

    private static void WaitUntil(Func<bool> cond, string what)
    {
        var sw = Stopwatch.StartNew();
        while (!cond())
        {
            Assert.True(sw.Elapsed < TimeSpan.FromSeconds(10), "timed out waiting until " + what);
            Thread.Sleep(50);
        }
    }

    private static void Run(string file, params string[] args)
    {
        var psi = new ProcessStartInfo(file) { RedirectStandardError = true, RedirectStandardOutput = true };
        foreach (var a in args) psi.ArgumentList.Add(a);
        using var p = Process.Start(psi)!;
        var err = p.StandardError.ReadToEnd();
        p.WaitForExit();
        Assert.True(p.ExitCode == 0, $"{file} failed: {err}");
    }
}
