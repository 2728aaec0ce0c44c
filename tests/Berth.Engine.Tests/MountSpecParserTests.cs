using Berth.Api.Containers;
using Berth.Core;
using Berth.Engine.Volumes;

namespace Berth.Engine.Tests;

/// <summary>`-v`, `--mount`, `--volumes-from` and `--tmpfs` read as dockerd 20.10 reads them, with its messages.</summary>
public sealed class MountSpecParserTests
{
    private static string Error(Action a) => Assert.Throws<BerthException>(a).Message;

    [Fact]
    public void Bind_HostPath_IsBindWithDefaultPropagation()
    {
        var m = MountSpecParser.ParseBind("/tmp//x/:/data", null);
        Assert.Equal(("bind", "/tmp/x", "/data", true, "rprivate", ""), (m.Type, m.Source, m.Destination, m.RW, m.Propagation, m.Mode));
    }

    [Fact]
    public void Bind_Modes()
    {
        var ro = MountSpecParser.ParseBind("/h:/c:ro", null);
        Assert.False(ro.RW);
        Assert.Equal("ro", ro.Mode);
        var shared = MountSpecParser.ParseBind("/h:/c:rw,rshared,z", null);
        Assert.True(shared.RW);
        Assert.Equal("rshared", shared.Propagation);
        Assert.Equal("rw,rshared,z", shared.Mode);
        var vol = MountSpecParser.ParseBind("data:/c:nocopy", null);
        Assert.Equal(("volume", "data", false, false), (vol.Type, vol.Name, vol.CopyData, vol.Anonymous));
        var anon = MountSpecParser.ParseBind("/only", null);
        Assert.Equal(("volume", "", true, true), (anon.Type, anon.Name, anon.CopyData, anon.Anonymous));
        var driver = MountSpecParser.ParseBind("data:/c", "local");
        Assert.Equal("local", driver.Driver);
        Assert.True(MountSpecParser.ParseBind("/h:/c:cached", null).RW);
    }

    [Theory]
    [InlineData(":/c", "invalid volume specification: ':/c'")]
    [InlineData("/c:rw", "invalid volume specification: '/c:rw'")]
    [InlineData("/a:/b:/c:/d", "invalid volume specification: '/a:/b:/c:/d'")]
    [InlineData("/h:/c:bogus", "invalid mode: bogus")]
    [InlineData("/h:/c:ro,rw", "invalid mode: ro,rw")]
    [InlineData("/h:/c:shared,slave", "invalid mode: shared,slave")]
    [InlineData("/h:/", "invalid volume specification: '/h:/': invalid mount config for type \"bind\": invalid specification: destination can't be '/'")]
    [InlineData("/h:rel", "invalid volume specification: '/h:rel': invalid mount config for type \"bind\": invalid mount path: 'rel' mount path must be absolute")]
    [InlineData("rel", "invalid volume specification: 'rel': invalid mount config for type \"volume\": invalid mount path: 'rel' mount path must be absolute")]
    [InlineData("./rel:/c", "\"./rel\" includes invalid characters for a local volume name, only \"[a-zA-Z0-9][a-zA-Z0-9_.-]\" are allowed. If you intended to pass a host directory, use absolute path")]
    [InlineData("rel/dir:/c", "\"rel/dir\" includes invalid characters for a local volume name, only \"[a-zA-Z0-9][a-zA-Z0-9_.-]\" are allowed. If you intended to pass a host directory, use absolute path")]
    public void Bind_Errors(string raw, string message) => Assert.Equal(message, Error(() => MountSpecParser.ParseBind(raw, null)));

    [Fact]
    public void Mount_Types()
    {
        var dir = Directory.CreateTempSubdirectory().FullName;
        try
        {
            var bind = MountSpecParser.ParseMount(new MountSpec { Type = "bind", Source = dir, Target = "/x", ReadOnly = true,
                BindOptions = new MountBindOptions { Propagation = "rslave" } });
            Assert.Equal(("bind", dir, "/x", false, "rslave", true), (bind.Type, bind.Source, bind.Destination, bind.RW, bind.Propagation, bind.SkipMountpointCreation));
            var vol = MountSpecParser.ParseMount(new MountSpec { Type = "volume", Source = "v1", Target = "/v",
                VolumeOptions = new MountVolumeOptions { NoCopy = true, DriverConfig = new MountDriver { Name = "local" } } });
            Assert.Equal(("v1", "local", false, false), (vol.Name, vol.Driver, vol.CopyData, vol.Anonymous));
            var tmp = MountSpecParser.ParseMount(new MountSpec { Type = "tmpfs", Target = "/t",
                TmpfsOptions = new MountTmpfsOptions { SizeBytes = 1024 * 1024, Mode = Convert.ToUInt32("1770", 8) } });
            Assert.Equal("mode=1770,size=1m", tmp.TmpfsData);
        }
        finally { Directory.Delete(dir); }
    }

    [Theory]
    [InlineData("bind", "/nonexistent-berth-x", "/x", "invalid mount config for type \"bind\": bind source path does not exist: /nonexistent-berth-x")]
    [InlineData("bind", "", "/x", "invalid mount config for type \"bind\": field Source must not be empty")]
    [InlineData("bind", "rel", "/x", "invalid mount config for type \"bind\": invalid mount path: 'rel' mount path must be absolute")]
    [InlineData("volume", "v", "", "invalid mount config for type \"volume\": field Target must not be empty")]
    [InlineData("volume", "v", "/", "invalid mount config for type \"volume\": invalid specification: destination can't be '/'")]
    [InlineData("volume", "v", "x", "invalid mount config for type \"volume\": invalid mount path: 'x' mount path must be absolute")]
    [InlineData("tmpfs", "src", "/t", "invalid mount config for type \"tmpfs\": field Source must not be specified")]
    [InlineData("npipe", "", "/t", "invalid mount config for type \"npipe\": mount type unknown")]
    public void Mount_Errors(string type, string source, string target, string message) =>
        Assert.Equal(message, Error(() => MountSpecParser.ParseMount(new MountSpec { Type = type, Source = source, Target = target })));

    [Fact]
    public void Mount_OptionErrors()
    {
        Assert.Equal("invalid mount config for type \"volume\": must not set ReadOnly mode when using anonymous volumes",
            Error(() => MountSpecParser.ParseMount(new MountSpec { Type = "volume", Target = "/v", ReadOnly = true })));
        Assert.Equal("invalid mount config for type \"volume\": field BindOptions must not be specified",
            Error(() => MountSpecParser.ParseMount(new MountSpec { Type = "volume", Target = "/v", BindOptions = new() })));
        Assert.Equal("invalid mount config for type \"tmpfs\": field BindOptions must not be specified",
            Error(() => MountSpecParser.ParseMount(new MountSpec { Type = "tmpfs", Target = "/v", BindOptions = new() })));
        Assert.Equal("invalid mount config for type \"bind\": field VolumeOptions must not be specified",
            Error(() => MountSpecParser.ParseMount(new MountSpec { Type = "bind", Source = "/", Target = "/v", VolumeOptions = new() })));
        Assert.Equal("invalid mount config for type \"bind\": invalid propagation mode: bogus",
            Error(() => MountSpecParser.ParseMount(new MountSpec { Type = "bind", Source = "/", Target = "/v", BindOptions = new() { Propagation = "bogus" } })));
    }

    [Fact]
    public void VolumesFrom()
    {
        Assert.Equal(("c1", "rw"), MountSpecParser.ParseVolumesFrom("c1"));
        Assert.Equal(("c1", "ro"), MountSpecParser.ParseVolumesFrom("c1:ro"));
        Assert.Equal("volumes-from specification cannot be an empty string", Error(() => MountSpecParser.ParseVolumesFrom("")));
        Assert.Equal("invalid mode: bogus", Error(() => MountSpecParser.ParseVolumesFrom("c1:bogus")));
        Assert.Equal("invalid mode: rshared", Error(() => MountSpecParser.ParseVolumesFrom("c1:rshared")));
        Assert.Equal("invalid mode: nocopy", Error(() => MountSpecParser.ParseVolumesFrom("c1:nocopy")));
    }

    [Fact]
    public void Tmpfs_OptionsMergeAsDocker()
    {
        Assert.Equal(["noexec", "nosuid", "nodev", "rprivate"], MountSpecParser.TmpfsOptions(""));
        Assert.Equal(["nosuid", "nodev", "rprivate", "size=1m", "exec"], MountSpecParser.TmpfsOptions("size=1m,exec"));
        Assert.Equal(["noexec", "nosuid", "nodev", "rprivate", "mode=1777", "size=2m"], MountSpecParser.TmpfsOptions("size=1m,mode=1777,size=2m"));
        Assert.Equal("Invalid tmpfs option [\"bogus\"]", Error(() => MountSpecParser.TmpfsOptions("bogus")));
        Assert.Equal("Invalid tmpfs option [\"color\" \"red\"]", Error(() => MountSpecParser.TmpfsOptions("color=red")));
        Assert.Equal("invalid specification: destination can't be '/'", Error(() => MountSpecParser.ValidateTmpfsDestination("/")));
        Assert.Equal("invalid mount path: 'run' mount path must be absolute", Error(() => MountSpecParser.ValidateTmpfsDestination("run")));
    }

    [Fact]
    public void TmpfsData_PicksTheLargestUnit()
    {
        Assert.Equal("ro,size=3g", MountSpecParser.TmpfsData(new MountTmpfsOptions { SizeBytes = 3L << 30 }, readOnly: true));
        Assert.Equal("size=1000", MountSpecParser.TmpfsData(new MountTmpfsOptions { SizeBytes = 1000 }, readOnly: false));
        Assert.Equal("size=1536k", MountSpecParser.TmpfsData(new MountTmpfsOptions { SizeBytes = 1536 * 1024 }, readOnly: false));
    }

    [Theory]
    [InlineData("/a/../../b/./c//", "/b/c")]
    [InlineData("/", "/")]
    [InlineData("a/..", ".")]
    public void CleanPath_IsGoPathClean(string p, string clean) => Assert.Equal(clean, MountSpecParser.CleanPath(p));

    [Fact]
    public void InRootPath_StaysInTheRoot()
    {
        var root = Directory.CreateTempSubdirectory().FullName;
        try
        {
            Directory.CreateDirectory(Path.Combine(root, "real"));
            File.CreateSymbolicLink(Path.Combine(root, "abs"), "/etc");
            File.CreateSymbolicLink(Path.Combine(root, "up"), "../../../../etc");
            File.CreateSymbolicLink(Path.Combine(root, "rel"), "real");
            Assert.Equal(root + "/etc", InRootPath.Resolve(root, "/abs"));
            Assert.Equal(root + "/etc/x", InRootPath.Resolve(root, "/up/x"));
            Assert.Equal(root + "/real/y", InRootPath.Resolve(root, "/rel/y"));
            Assert.Equal(root + "/etc", InRootPath.Resolve(root, "/../../etc"));
        }
        finally { Directory.Delete(root, recursive: true); }
    }

    [Fact]
    public void CopyUp_KeepsOwnersModesLinksAndXattrs()
    {
        var src = Directory.CreateTempSubdirectory().FullName;
        var dst = Directory.CreateTempSubdirectory().FullName;
        try
        {
            Directory.CreateDirectory(Path.Combine(src, "sub"));
            File.WriteAllText(Path.Combine(src, "sub", "f"), "hello");
            Interop.Libc.Check(Interop.Libc.fchownat(Interop.Libc.AT_FDCWD, Path.Combine(src, "sub", "f"), 1234, 4321, 0), "chown");
            Interop.Libc.Check(Interop.Libc.fchmodat(Interop.Libc.AT_FDCWD, Path.Combine(src, "sub", "f"), 0x1e0 /*0740*/, 0), "chmod");
            Interop.Libc.Check(Interop.Libc.linkat(Interop.Libc.AT_FDCWD, Path.Combine(src, "sub", "f"), Interop.Libc.AT_FDCWD, Path.Combine(src, "hard"), 0), "link");
            File.CreateSymbolicLink(Path.Combine(src, "link"), "sub/f");
            bool xattr = Interop.Libc.SetXattr(Path.Combine(src, "sub", "f"), "user.berth", "v"u8.ToArray()) == 0;
            Interop.Libc.Check(Interop.Libc.fchmodat(Interop.Libc.AT_FDCWD, src, 0x3ff /*01777*/, 0), "chmod");
            Interop.Libc.Check(Interop.Libc.fchownat(Interop.Libc.AT_FDCWD, src, 7, 8, 0), "chown");

            Assert.True(CopyUp.Copy(src, dst));
            var f = Interop.Libc.Lstat(Path.Combine(dst, "sub", "f"));
            Assert.Equal((1234u, 4321u, 0x1e0u), (f.Uid, f.Gid, f.Mode & 0xfff));
            Assert.Equal("hello", File.ReadAllText(Path.Combine(dst, "sub", "f")));
            Assert.Equal(f.Ino, Interop.Libc.Lstat(Path.Combine(dst, "hard")).Ino);
            Assert.Equal("sub/f", new FileInfo(Path.Combine(dst, "link")).LinkTarget);
            if (xattr) Assert.Equal("v", Interop.Libc.GetXattr(Path.Combine(dst, "sub", "f"), "user.berth"));
            var root = Interop.Libc.Lstat(dst);
            Assert.Equal((7u, 8u, 0x3ffu), (root.Uid, root.Gid, root.Mode & 0xfff));
            // A volume that has something is left alone.
            Assert.False(CopyUp.Copy(src, dst));
        }
        finally
        {
            Directory.Delete(src, recursive: true);
            Directory.Delete(dst, recursive: true);
        }
    }
}
