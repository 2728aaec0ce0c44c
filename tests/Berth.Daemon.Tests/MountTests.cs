using System.Text.Json;

namespace Berth.Daemon.Tests;

/// <summary>
/// Container mounts end to end with the real docker CLI: `-v` binds and volumes, `--mount` bind/volume/tmpfs,
/// `--tmpfs`, `--volumes-from`, image VOLUMEs filled from the image, `--read-only` with writable mounts, inspect's
/// Mounts, anonymous volumes removed by `rm -v` and `--rm`, and mount targets that try to leave the root.
/// </summary>
public sealed class MountTests(DaemonFixture fx) : IClassFixture<DaemonFixture>
{
    private (int Code, string Stdout, string Stderr) Docker(params string[] args) => DockerCli.Run(fx.Dir.Socket, fx.Dir.Path, args);

    private string Ok(params string[] args)
    {
        var (code, stdout, stderr) = Docker(args);
        Assert.True(code == 0, $"docker {string.Join(' ', args)} exited {code}: {stdout}{stderr}\n{fx.LogTail}");
        return stdout;
    }

    private string Refused(params string[] args)
    {
        var (code, stdout, stderr) = Docker(args);
        Assert.True(code == 125, $"docker {string.Join(' ', args)} exited {code}: {stdout}{stderr}");
        return stderr;
    }

    private string HostDir(string name)
    {
        var d = Path.Combine(fx.Dir.Path, "host-" + name);
        Directory.CreateDirectory(d);
        return d;
    }

    private string VolumesRoot => Path.Combine(fx.Dir.DataRoot, "volumes");

    private JsonElement Inspect(string id) => JsonDocument.Parse(Ok("inspect", id)).RootElement[0];

    private int ContainerCount() => Ok("ps", "-aq").Split('\n', StringSplitOptions.RemoveEmptyEntries).Length;

    /// <summary>An image of busybox (as /bin/busybox and /bin/sh) plus what <paramref name="populate"/> adds, with
    /// the given `--change` instructions.</summary>
    private string Image(string name, Action<string> populate, params string[] changes)
    {
        var root = Path.Combine(fx.Dir.Path, "img-" + name);
        Directory.CreateDirectory(Path.Combine(root, "bin"));
        File.Copy("/bin/busybox", Path.Combine(root, "bin", "busybox"));
        foreach (var tool in new[] { "sh", "cat", "ls", "stat", "echo", "touch", "grep", "readlink", "true" })
            File.CreateSymbolicLink(Path.Combine(root, "bin", tool), "busybox");
        Directory.CreateDirectory(Path.Combine(root, "etc"));
        populate(root);
        var tar = root + ".tar";
        Assert.Equal(0, Run.Command("tar", ["--numeric-owner", "--xattrs", "-C", root, "-cf", tar, "."]).Code);
        var args = new List<string> { "import" };
        foreach (var c in changes) args.AddRange(["-c", c]);
        args.AddRange([tar, name]);
        Ok([.. args]);
        return name;
    }

    [Fact]
    public void Bind_ReadWriteAndReadOnly()
    {
        var dir = HostDir("bind");
        File.WriteAllText(Path.Combine(dir, "f"), "from host\n");
        Assert.Equal("from host\n", Ok("run", "--rm", "-v", dir + ":/b", "busybox", "sh", "-c", "cat /b/f; echo from ctr > /b/w"));
        Assert.Equal("from ctr\n", File.ReadAllText(Path.Combine(dir, "w")));

        // :ro is really read-only, also through /proc/self/root.
        var (code, _, stderr) = Docker("run", "--rm", "-v", dir + ":/b:ro", "busybox", "sh", "-c", "echo x > /b/y");
        Assert.NotEqual(0, code);
        Assert.Contains("Read-only file system", stderr);
        (code, _, stderr) = Docker("run", "--rm", "-v", dir + ":/b:ro", "busybox", "sh", "-c", "echo x > /proc/self/root/b/y");
        Assert.NotEqual(0, code);
        Assert.Contains("Read-only file system", stderr);
        Assert.False(File.Exists(Path.Combine(dir, "y")));
        Assert.Contains(" /b ", Ok("run", "--rm", "-v", dir + ":/b:ro", "busybox", "sh", "-c", "grep ' /b ' /proc/mounts | grep -q ' ro,' && echo ' /b '"));
    }

    [Fact]
    public void Bind_FileAndSymlinkSources()
    {
        var dir = HostDir("bindfile");
        var file = Path.Combine(dir, "conf");
        File.WriteAllText(file, "a file\n");
        Assert.Equal("a file\n", Ok("run", "--rm", "-v", file + ":/etc/app.conf:ro", "busybox", "cat", "/etc/app.conf"));
        // A symlink as the source is resolved on the host: the container sees its target.
        var real = HostDir("bindreal");
        File.WriteAllText(Path.Combine(real, "t"), "target\n");
        var link = Path.Combine(dir, "link");
        File.CreateSymbolicLink(link, real);
        Assert.Equal("target\n", Ok("run", "--rm", "-v", link + ":/l", "busybox", "cat", "/l/t"));
    }

    [Fact]
    public void DashV_CreatesAMissingHostDirectory_MountBindRefusesIt()
    {
        var missing = Path.Combine(HostDir("missing"), "new", "sub");
        Ok("run", "--rm", "-v", missing + ":/m", "busybox", "sh", "-c", "echo hi > /m/x");
        Assert.Equal("hi\n", File.ReadAllText(Path.Combine(missing, "x")));
        Assert.Equal(UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute | UnixFileMode.GroupRead
            | UnixFileMode.GroupExecute | UnixFileMode.OtherRead | UnixFileMode.OtherExecute, File.GetUnixFileMode(missing));

        int before = ContainerCount();
        var gone = Path.Combine(fx.Dir.Path, "no-such-source");
        var stderr = Refused("run", "--rm", "--mount", $"type=bind,source={gone},target=/x", "busybox", "true");
        Assert.Contains($"invalid mount config for type \"bind\": bind source path does not exist: {gone}", stderr);
        Assert.False(Directory.Exists(gone));
        Assert.Equal(before, ContainerCount());
    }

    [Fact]
    public async Task InvalidSpecs_AreRefusedWithDockersMessages()
    {
        int before = ContainerCount();
        Assert.Contains("Duplicate mount point: /x", Refused("run", "--rm", "-v", "/tmp:/x", "-v", "/var:/x", "busybox", "true"));
        Assert.Contains("includes invalid characters for a local volume name", Refused("run", "--rm", "-v", "rel/dir:/x", "busybox", "true"));
        // (A missing --volumes-from container is a 404 at create, which the CLI takes for a missing image, as with
        // dockerd: the API's answer is checked here.)
        var (status, body) = await EngineCalls.Client(fx.Dir.Socket).CallAsync("POST", "/v1.41/containers/create",
            """{"Image":"busybox","Cmd":["true"],"HostConfig":{"VolumesFrom":["no-such-container"]}}""");
        Assert.Equal(System.Net.HttpStatusCode.NotFound, status);
        Assert.Equal("""{"message":"No such container: no-such-container"}""", body.Trim());
        (status, body) = await EngineCalls.Client(fx.Dir.Socket).CallAsync("POST", "/v1.41/containers/create",
            """{"Image":"busybox","Cmd":["true"],"HostConfig":{"Binds":["/h:/c:bogus","/x:/"]}}""");
        Assert.Equal(System.Net.HttpStatusCode.BadRequest, status);
        Assert.Contains("invalid mode: bogus", body);
        Assert.Contains("invalid mode: bogus", Refused("run", "--rm", "--volumes-from", "x:bogus", "busybox", "true"));
        Assert.Contains("Invalid tmpfs option [\"bogus\"]", Refused("run", "--rm", "--tmpfs", "/t:bogus", "busybox", "true"));
        Assert.Equal(before, ContainerCount());
    }

    [Fact]
    public void Tmpfs_IsMemoryOnlyWithItsSize()
    {
        var id = Ok("run", "-d", "--tmpfs", "/t:size=1m", "busybox", "sh", "-c", "echo secret > /t/s; echo disk > /d; sleep 60").Trim();
        try
        {
            Thread.Sleep(300);
            var pid = Inspect(id).GetProperty("State").GetProperty("Pid").GetInt32();
            var mountinfo = File.ReadAllLines($"/proc/{pid}/mountinfo").Single(l => l.Split(' ')[4] == "/t");
            Assert.Contains(" - tmpfs tmpfs ", mountinfo);
            Assert.Contains("size=1024k", mountinfo);
            var opts = mountinfo.Split(' ')[5];
            Assert.Contains("nosuid", opts);
            Assert.Contains("nodev", opts);
            Assert.Contains("noexec", opts);
            // The file written to the tmpfs is in memory only: not in the container's writable layer.
            var upper = Inspect(id).GetProperty("GraphDriver").GetProperty("Data").GetProperty("UpperDir").GetString()!;
            Assert.True(File.Exists(Path.Combine(upper, "d")));
            Assert.False(File.Exists(Path.Combine(upper, "t", "s")));
            Assert.Equal("secret\n", File.ReadAllText($"/proc/{pid}/root/t/s"));
        }
        finally
        {
            Docker("rm", "-f", id);
        }
        Assert.Contains("/t tmpfs rw,nosuid,nodev,noexec,relatime,size=1024k",
            Ok("run", "--rm", "--mount", "type=tmpfs,target=/t,tmpfs-size=1024k", "busybox", "cat", "/proc/mounts"));
        Assert.Contains("/t tmpfs rw,nosuid,nodev,relatime,size=2048k,mode=1770",
            Ok("run", "--rm", "--tmpfs", "/t:exec,size=2m,mode=1770", "busybox", "cat", "/proc/mounts"));
    }

    [Fact]
    public void NamedVolume_PersistsFromOneContainerToTheNext()
    {
        Ok("run", "--rm", "-v", "persist:/data", "busybox", "sh", "-c", "echo kept > /data/file");
        Assert.Equal("kept\n", Ok("run", "--rm", "-v", "persist:/data", "busybox", "cat", "/data/file"));
        Assert.Equal("kept\n", File.ReadAllText(Path.Combine(VolumesRoot, "persist", "_data", "file")));
        // --rm does not remove a named volume.
        Assert.True(Directory.Exists(Path.Combine(VolumesRoot, "persist")));
    }

    [Fact]
    public void Inspect_ShowsMountsAsDocker()
    {
        var dir = HostDir("inspect");
        var id = Ok("create", "--mount", $"type=bind,source={dir},target=/b,readonly", "--mount", "type=volume,source=insp-vol,target=/v",
            "--mount", "type=tmpfs,target=/t,tmpfs-size=67108864,tmpfs-mode=1770", "-v", "insp-named:/n", "-v", dir + ":/c:rw,rslave",
            "-v", "/anon", "--tmpfs", "/run:size=1m", "busybox").Trim();
        try
        {
            var c = Inspect(id);
            var mounts = c.GetProperty("Mounts").EnumerateArray().ToDictionary(m => m.GetProperty("Destination").GetString()!, m => m.Compact());
            Assert.Equal($$"""{"Type":"bind","Source":"{{dir}}","Destination":"/b","Mode":"","RW":false,"Propagation":"rprivate"}""", mounts["/b"]);
            Assert.Equal($$"""{"Type":"bind","Source":"{{dir}}","Destination":"/c","Mode":"rw,rslave","RW":true,"Propagation":"rslave"}""", mounts["/c"]);
            Assert.Equal("""{"Type":"tmpfs","Source":"","Destination":"/t","Mode":"","RW":true,"Propagation":""}""", mounts["/t"]);
            Assert.Equal($$"""{"Type":"volume","Name":"insp-vol","Source":"{{VolumesRoot}}/insp-vol/_data","Destination":"/v","Driver":"local","Mode":"z","RW":true,"Propagation":""}""", mounts["/v"]);
            Assert.Equal($$"""{"Type":"volume","Name":"insp-named","Source":"{{VolumesRoot}}/insp-named/_data","Destination":"/n","Driver":"local","Mode":"z","RW":true,"Propagation":""}""", mounts["/n"]);
            var anon = JsonDocument.Parse(mounts["/anon"]).RootElement;
            Assert.Matches("^[0-9a-f]{64}$", anon.GetProperty("Name").GetString());
            Assert.Equal("", anon.GetProperty("Mode").GetString());
            Assert.Equal(5 + 1, mounts.Count); // HostConfig.Tmpfs mounts are not in Mounts, as with dockerd
            // The request is echoed as given.
            var h = c.GetProperty("HostConfig");
            // (as a set: the docker CLI collects -v through a Go map, so its order varies from run to run)
            Assert.Equal(new[] { $"{dir}:/c:rw,rslave", "insp-named:/n" },
                h.GetProperty("Binds").EnumerateArray().Select(b => b.GetString()!).Order(StringComparer.Ordinal).ToArray());
            Assert.Equal("""{"/run":"size=1m"}""", h.GetProperty("Tmpfs").Compact());
            Assert.Equal($$"""{"Type":"bind","Source":"{{dir}}","Target":"/b","ReadOnly":true}""", h.GetProperty("Mounts")[0].Compact());
            Assert.Equal("""{"Type":"tmpfs","Target":"/t","TmpfsOptions":{"SizeBytes":67108864,"Mode":1016}}""", h.GetProperty("Mounts")[2].Compact());
            Assert.Equal("""{"/anon":{}}""", c.GetProperty("Config").GetProperty("Volumes").Compact());
            // ps shows them too.
            Assert.Contains("insp-vol", Ok("ps", "-a", "--no-trunc", "--filter", "id=" + id, "--format", "{{.Mounts}}"));
        }
        finally
        {
            Ok("rm", "-v", id);
        }
    }

    [Fact]
    public void VolumesFrom_SharesTheMountsWithAnOverride()
    {
        var dir = HostDir("vfrom");
        var src = Ok("create", "--name", "vf-source", "-v", "vf-data:/data", "-v", dir + ":/b", "busybox").Trim();
        try
        {
            Ok("run", "--rm", "--volumes-from", "vf-source", "busybox", "sh", "-c", "echo shared > /data/f; echo bound > /b/g");
            Assert.Equal("bound\n", File.ReadAllText(Path.Combine(dir, "g")));
            Assert.Equal("shared\n", Ok("run", "--rm", "--volumes-from", "vf-source:ro", "busybox", "cat", "/data/f"));
            var (code, _, stderr) = Docker("run", "--rm", "--volumes-from", "vf-source:ro", "busybox", "sh", "-c", "echo x > /data/f");
            Assert.NotEqual(0, code);
            Assert.Contains("Read-only file system", stderr);
            var id = Ok("create", "--volumes-from", "vf-source:ro", "busybox").Trim();
            var m = Inspect(id).GetProperty("Mounts").EnumerateArray().Single(x => x.GetProperty("Destination").GetString() == "/data");
            Assert.Equal(("vf-data", false, ""), (m.GetProperty("Name").GetString(), m.GetProperty("RW").GetBoolean(), m.GetProperty("Mode").GetString()));
            Ok("rm", id);
        }
        finally
        {
            Docker("rm", "-f", src);
        }
    }

    [Fact]
    public void AnonymousVolumes_GoWithRmVAndRm_NotWithRm()
    {
        var id = Ok("create", "-v", "/anon", "busybox").Trim();
        var name = Inspect(id).GetProperty("Mounts")[0].GetProperty("Name").GetString()!;
        Assert.True(Directory.Exists(Path.Combine(VolumesRoot, name)));
        Ok("rm", "-v", id);
        Assert.False(Directory.Exists(Path.Combine(VolumesRoot, name)));

        id = Ok("create", "-v", "/anon", "busybox").Trim();
        name = Inspect(id).GetProperty("Mounts")[0].GetProperty("Name").GetString()!;
        Ok("rm", id);
        Assert.True(Directory.Exists(Path.Combine(VolumesRoot, name)), "plain rm keeps the volume");

        id = Ok("run", "-d", "--rm", "-v", "/anon", "busybox", "sleep", "30").Trim();
        name = Inspect(id).GetProperty("Mounts")[0].GetProperty("Name").GetString()!;
        Assert.True(Directory.Exists(Path.Combine(VolumesRoot, name)));
        Ok("kill", id);
        for (int i = 0; i < 100 && Directory.Exists(Path.Combine(VolumesRoot, name)); i++) Thread.Sleep(100);
        Assert.False(Directory.Exists(Path.Combine(VolumesRoot, name)), "--rm removes the anonymous volume");
    }

    [Fact]
    public void ImageVolume_IsFilledWithTheImagesContent_UnlessNocopy()
    {
        var image = Image("volimg", root =>
        {
            var data = Directory.CreateDirectory(Path.Combine(root, "data")).FullName;
            File.WriteAllText(Path.Combine(data, "hello"), "from image\n");
            Assert.Equal(0, Run.Command("chown", ["1000:1001", Path.Combine(data, "hello"), data]).Code);
            File.SetUnixFileMode(Path.Combine(data, "hello"), UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.GroupRead);
            File.CreateSymbolicLink(Path.Combine(data, "link"), "hello");
        }, "VOLUME /data");
        Assert.Equal("from image\n1000:1001 640\nhello\n1000:1001\n",
            Ok("run", "--rm", image, "/bin/sh", "-c", "cat /data/hello; stat -c '%u:%g %a' /data/hello; readlink /data/link; stat -c '%u:%g' /data"));
        var id = Ok("create", image, "/bin/true").Trim();
        Assert.Equal("""{"/data":{}}""", Inspect(id).GetProperty("Config").GetProperty("Volumes").Compact());
        var source = Inspect(id).GetProperty("Mounts")[0].GetProperty("Source").GetString()!;
        Assert.Equal("from image\n", File.ReadAllText(Path.Combine(source, "hello")));
        Ok("rm", "-v", id);

        // A named volume is filled the first time only; nocopy leaves it empty; a bind is never copied into.
        Ok("run", "--rm", "-v", "filled:/data", image, "/bin/true");
        Assert.Equal("from image\n", File.ReadAllText(Path.Combine(VolumesRoot, "filled", "_data", "hello")));
        Assert.Equal("", Ok("run", "--rm", "-v", "empty:/data:nocopy", image, "/bin/ls", "/data"));
        var dir = HostDir("nocopybind");
        Assert.Equal("", Ok("run", "--rm", "-v", dir + ":/data", image, "/bin/ls", "/data"));
    }

    [Fact]
    public void ReadOnlyRoot_WithWritableTmpfsAndVolume()
    {
        var (code, _, stderr) = Docker("run", "--rm", "--read-only", "--tmpfs", "/tmp", "-v", "rovol:/v", "busybox", "sh", "-c", "echo x > /root-file");
        Assert.NotEqual(0, code);
        Assert.Contains("Read-only file system", stderr);
        Assert.Equal("ok\n", Ok("run", "--rm", "--read-only", "--tmpfs", "/tmp", "-v", "rovol:/v", "busybox", "sh", "-c",
            "echo x > /tmp/a && echo y > /v/b && echo ok"));
    }

    [Fact]
    public void Propagation_NeedsASharedSource_AndCarriesHostMountsIn()
    {
        var dir = HostDir("prop");
        var sub = Directory.CreateDirectory(Path.Combine(dir, "sub")).FullName;
        var (mp, optional) = Engine.Volumes.MountPropagation.MountOf(dir);
        if (!optional.Any(o => o.StartsWith("shared:", StringComparison.Ordinal)))
        {
            Assert.Contains($"path {dir} is mounted on {mp} but it is not a shared mount",
                Refused("run", "--rm", "-v", dir + ":/s:rshared", "busybox", "true"));
            if (!optional.Any(o => o.StartsWith("master:", StringComparison.Ordinal)))
                Assert.Contains($"path {dir} is mounted on {mp} but it is not a shared or slave mount",
                    Refused("run", "--rm", "-v", dir + ":/s:rslave", "busybox", "true"));
        }
        Assert.Equal(0, Run.Command("mount", ["--bind", dir, dir]).Code);
        string? shared = null, priv = null;
        try
        {
            Assert.Equal(0, Run.Command("mount", ["--make-shared", dir]).Code);
            shared = Ok("run", "-d", "-v", dir + ":/s:rshared", "busybox", "sleep", "60").Trim();
            priv = Ok("run", "-d", "-v", dir + ":/s", "busybox", "sleep", "60").Trim();
            Assert.Equal(0, Run.Command("mount", ["-t", "tmpfs", "berth-prop", sub]).Code);
            // A mount made on the host after the start reaches the rshared bind, not the (default) rprivate one.
            Assert.Contains("/s/sub", MountsOf(shared));
            Assert.DoesNotContain("/s/sub", MountsOf(priv));
        }
        finally
        {
            if (shared is not null) Docker("rm", "-f", shared);
            if (priv is not null) Docker("rm", "-f", priv);
            Run.Command("umount", [sub]);
            Run.Command("umount", [dir]);
        }
    }

    private string MountsOf(string id)
    {
        var pid = Inspect(id).GetProperty("State").GetProperty("Pid").GetInt32();
        return File.ReadAllText($"/proc/{pid}/mountinfo");
    }

    [Fact]
    public void MountTargets_ThatAreSymlinksOutOfTheRoot_StayInTheRoot()
    {
        var image = Image("escape", root =>
        {
            File.CreateSymbolicLink(Path.Combine(root, "abs"), "/etc");
            File.CreateSymbolicLink(Path.Combine(root, "up"), "../../../../../../etc");
        }, "VOLUME /abs/berth-escape-anon");
        var dir = HostDir("escape");
        File.WriteAllText(Path.Combine(dir, "marker"), "m\n");
        foreach (var target in new[] { "/abs/berth-escape-bind", "/up/berth-escape-up" })
        {
            Ok("run", "--rm", "-v", dir + ":" + target, image, "/bin/true");
            Assert.False(Path.Exists("/etc/" + Path.GetFileName(target)), "a mount point was made on the host: /etc/" + Path.GetFileName(target));
        }
        Assert.Equal("m\n", Ok("run", "--rm", "-v", dir + ":/abs/berth-escape-bind", image, "/bin/cat", "/etc/berth-escape-bind/marker"));
        Ok("run", "--rm", image, "/bin/true");
        Assert.False(Path.Exists("/etc/berth-escape-anon"));
        Assert.False(File.Exists("/etc/marker"));
    }
}

internal static class JsonCompact
{
    /// <summary>The element as compact JSON (inspect's answer is indented).</summary>
    public static string Compact(this JsonElement e) => JsonSerializer.Serialize(e);
}
