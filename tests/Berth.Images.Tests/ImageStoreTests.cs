using System.Text.Json;
using Berth.Core;
using Berth.Api.Images;

namespace Berth.Images.Tests;

public class ReferenceTests
{
    [Theory]
    [InlineData("busybox", "docker.io/library/busybox:latest", "busybox:latest")]
    [InlineData("busybox:1.36", "docker.io/library/busybox:1.36", "busybox:1.36")]
    [InlineData("docker.io/library/busybox", "docker.io/library/busybox:latest", "busybox:latest")]
    [InlineData("index.docker.io/library/busybox", "docker.io/library/busybox:latest", "busybox:latest")]
    [InlineData("me/app:v1", "docker.io/me/app:v1", "me/app:v1")]
    [InlineData("localhost:5000/app", "localhost:5000/app:latest", "localhost:5000/app:latest")]
    [InlineData("ghcr.io/org/sub/app:1.0-rc.1", "ghcr.io/org/sub/app:1.0-rc.1", "ghcr.io/org/sub/app:1.0-rc.1")]
    public void Normalises_like_docker(string input, string full, string familiar)
    {
        var r = ImageReference.ParseNormalized(input);
        Assert.Equal(full, r.ToString());
        Assert.Equal(familiar, r.FamiliarString);
    }

    [Theory]
    [InlineData("")]
    [InlineData("a b")]
    [InlineData("busybox:")]
    [InlineData(":tag")]
    [InlineData("busy--box_")]
    [InlineData("busybox:bad/tag")]
    [InlineData("-busybox")]
    public void Rejects_invalid_format(string input)
    {
        var ex = Assert.Throws<BerthException>(() => ImageReference.ParseNormalized(input));
        Assert.Equal(ErrorKind.InvalidParameter, ex.Kind);
        Assert.StartsWith("invalid reference format", ex.Message);
    }

    [Fact]
    public void Uppercase_and_hex_names_have_dockers_messages()
    {
        Assert.Equal("invalid reference format: repository name (library/Busybox) must be lowercase",
            Assert.Throws<BerthException>(() => ImageReference.ParseNormalized("Busybox")).Message);
        var hex = new string('a', 64);
        Assert.Equal($"invalid repository name ({hex}), cannot specify 64-byte hexadecimal strings",
            Assert.Throws<BerthException>(() => ImageReference.ParseNormalized(hex)).Message);
    }
}

public class ImageStoreTests
{
    private static MemoryStream Rootfs(string marker = "base") =>
        new TarBuilder().Dir("bin/").File("bin/hello", "#!/bin/sh\necho " + marker + "\n", 0x1ed).Dir("etc/").File("etc/os-release", marker).Stream();

    [Fact]
    public void Import_list_inspect_resolve_tag()
    {
        using var tmp = new TempDir();
        var store = new ImageStore(tmp.Path);
        var changes = new ImageConfigChanges
        {
            Cmd = ["/bin/hello"], Env = ["A=1"], WorkingDir = "/work", Labels = new Dictionary<string, string> { ["z"] = "1", ["a"] = "2" },
        };
        var id = store.Import(Rootfs(), "myimg", changes);
        Assert.True(Digest.TryParse(id, out var digest));
        // the ID is the digest of the config blob in the content store
        Assert.Equal(digest, Digest.Of(File.ReadAllBytes(store.Content.BlobPath(digest))));
        var config = store.GetConfig(digest);
        Assert.Equal("linux", config.Os);
        Assert.Equal(ImageStore.CurrentArchitecture, config.Architecture);
        Assert.Equal("layers", config.RootFs.Type);
        Assert.Single(config.RootFs.DiffIds);

        var list = store.List();
        var summary = Assert.Single(list);
        Assert.Equal(id, summary.Id);
        Assert.Equal(["myimg:latest"], summary.RepoTags);
        Assert.Null(summary.RepoDigests); // dockerd: null for an image without digests
        Assert.True(summary.Size > 0);
        Assert.Equal(summary.Size, summary.VirtualSize);
        Assert.Equal("2", summary.Labels!["a"]);
        Assert.InRange(summary.Created, DateTimeOffset.UtcNow.ToUnixTimeSeconds() - 60, DateTimeOffset.UtcNow.ToUnixTimeSeconds() + 1);

        var inspect = store.Inspect("myimg");
        Assert.Equal(id, inspect.Id);
        Assert.Equal(["myimg:latest"], inspect.RepoTags);
        Assert.Equal(["/bin/hello"], inspect.Config!.Cmd);
        Assert.Equal(["A=1"], inspect.Config.Env);
        Assert.Equal("/work", inspect.Config.WorkingDir);
        Assert.Equal(config.RootFs.DiffIds, inspect.RootFS.Layers);
        Assert.Equal("layers", inspect.RootFS.Type);
        Assert.Equal("linux", inspect.Os);
        Assert.EndsWith("Z", inspect.Created);
        var json = JsonSerializer.Serialize(inspect, Berth.Api.Images.ImagesApiJsonContext.Default.ImageInspect);
        Assert.Contains("\"RootFS\":{\"Type\":\"layers\",\"Layers\":[", json);

        // raw config JSON uses OCI's lowercase keys and Docker's inner Config keys
        var raw = File.ReadAllText(store.Content.BlobPath(digest));
        Assert.Contains("\"rootfs\":{\"type\":\"layers\",\"diff_ids\":[\"sha256:", raw);
        Assert.Contains("\"Cmd\":[\"/bin/hello\"]", raw);
        Assert.Contains("\"Labels\":{\"a\":\"2\",\"z\":\"1\"}", raw);

        foreach (var name in new[] { "myimg", "myimg:latest", "docker.io/library/myimg:latest", id, digest.Hex, digest.Short, digest.Hex[..5], "sha256:" + digest.Short })
            Assert.Equal(digest, store.Resolve(name));

        store.Tag(digest.Short, "other/repo", "v2");
        store.Tag("myimg", "localhost:5000/x", null);
        Assert.Equal(["localhost:5000/x:latest", "myimg:latest", "other/repo:v2"], store.Inspect(id).RepoTags);
        Assert.Equal(digest, store.Resolve("docker.io/other/repo:v2"));
        var repos = File.ReadAllText(Path.Combine(tmp.Path, "images", "repositories.json"));
        Assert.Contains("\"docker.io/library/myimg\":{\"latest\":\"" + id + "\"}", repos);

        Assert.Equal("No such image: nope:latest", Assert.Throws<BerthException>(() => store.Resolve("nope:latest")).Message);
        Assert.Equal(ErrorKind.NotFound, Assert.Throws<BerthException>(() => store.Inspect("nope")).Kind);
        Assert.Equal("No such image: abcdef", Assert.Throws<BerthException>(() => store.Resolve("abcdef")).Message);
        var bad = Assert.Throws<BerthException>(() => store.Tag("myimg", "Bad Repo", "x"));
        Assert.Equal(ErrorKind.InvalidParameter, bad.Kind);
        Assert.Equal("invalid reference format", bad.Message);
        Assert.Equal(ErrorKind.InvalidParameter, Assert.Throws<BerthException>(() => store.Import(Rootfs(), "UPPER:x", null)).Kind);
        Assert.Equal(ErrorKind.InvalidParameter, Assert.Throws<BerthException>(() => store.Tag("myimg", "repo", "bad tag")).Kind);
        Assert.Equal("No such image: ghost", Assert.Throws<BerthException>(() => store.Tag("ghost", "repo", "x")).Message);
    }

    [Fact]
    public void Remove_untags_then_deletes_with_dockers_conflicts()
    {
        using var tmp = new TempDir();
        var store = new ImageStore(tmp.Path);
        var id = store.Import(Rootfs(), "app:1", null);
        var digest = Digest.Parse(id);
        store.Tag("app:1", "app", "2");
        var top = store.TopLayer(id)!.Value;

        // in use by a container, last reference: must force
        store.Remove("app:2", force: false, usedBy: _ => "c0ffee1234567890abcdef"); // not the last tag: fine
        var conflict = Assert.Throws<BerthException>(() => store.Remove("app:1", false, _ => "c0ffee1234567890abcdef"));
        Assert.Equal(ErrorKind.Conflict, conflict.Kind);
        Assert.Equal($"conflict: unable to remove repository reference \"app:1\" (must force) - container c0ffee123456 is using its referenced image {digest.Short}",
            conflict.Message);

        store.Tag(id, "app", "3");
        var multi = Assert.Throws<BerthException>(() => store.Remove(digest.Short, false));
        Assert.Equal($"conflict: unable to delete {digest.Short} (must be forced) - image is referenced in multiple repositories", multi.Message);

        Assert.Equal([new ImageDeleteItem("app:3", null)], store.Remove("app:3", false));
        var items = store.Remove("app:1", false, _ => null);
        Assert.Equal(new ImageDeleteItem("app:1", null), items[0]);
        Assert.Equal(new ImageDeleteItem(null, id), items[1]);
        Assert.Equal(new ImageDeleteItem(null, top.ToString()), items[2]);
        Assert.Empty(store.List());
        Assert.False(store.Content.Exists(digest));
        Assert.False(Directory.Exists(store.Layers.LayerDir(top)));
        var gone = Assert.Throws<BerthException>(() => store.Remove("app:1", false));
        Assert.Equal(ErrorKind.NotFound, gone.Kind);
        Assert.Equal("No such image: app:1", gone.Message);
    }

    [Fact]
    public void Remove_by_id_with_force_and_in_use()
    {
        using var tmp = new TempDir();
        var store = new ImageStore(tmp.Path);
        var id = store.Import(Rootfs(), "a", null);
        store.Tag(id, "b", null);
        var ex = Assert.Throws<BerthException>(() => store.Remove(id, false, _ => "ctr1"));
        Assert.Equal(ErrorKind.Conflict, ex.Kind);
        Assert.Contains("(must be forced) - image is being used by stopped container ctr1", ex.Message);
        // forced while in use: untagged, kept (dangling) for the container
        var items = store.Remove(id, true, _ => "ctr1");
        Assert.Equal(2, items.Count);
        Assert.All(items, i => Assert.NotNull(i.Untagged));
        Assert.Empty(Assert.Single(store.List()).RepoTags);
        // no longer used: deleted
        items = store.Remove(id[7..19], false, _ => null);
        Assert.Equal(id, items[0].Deleted);
        Assert.Empty(store.List());
    }

    [Fact]
    public void Images_sharing_a_base_layer_share_one_diff_dir()
    {
        using var tmp = new TempDir();
        var store = new ImageStore(tmp.Path);
        var a = store.Import(Rootfs("same"), "a", new ImageConfigChanges { Cmd = ["a"] });
        var b = store.Import(Rootfs("same"), "b", new ImageConfigChanges { Cmd = ["b"] });
        Assert.NotEqual(a, b);
        var top = store.TopLayer(a)!.Value;
        Assert.Equal(top, store.TopLayer(b));
        Assert.Single(store.Layers.List());
        Assert.Equal(2, store.Layers.Get(top)!.RefCount);
        var diffDirs = Directory.EnumerateDirectories(store.Layers.Root).Where(d => Digest.TryFromHex(Path.GetFileName(d), out _)).ToList();
        Assert.Single(diffDirs);

        var items = store.Remove("a", false);
        Assert.Equal(2, items.Count); // Untagged a, Deleted image: the layer stays
        Assert.True(File.Exists(Path.Combine(store.Layers.DiffDir(top), "bin/hello")));
        Assert.Equal(1, store.Layers.Get(top)!.RefCount);
        Assert.Equal(b, store.Inspect("b").Id);

        items = store.Remove("b", false);
        Assert.Equal(top.ToString(), items[^1].Deleted);
        Assert.Empty(store.Layers.List());
    }

    [Fact]
    public void Reimport_of_identical_content_and_time_is_a_noop()
    {
        using var tmp = new TempDir();
        var store = new ImageStore(tmp.Path);
        var t = new DateTime(2023, 1, 1, 0, 0, 0, DateTimeKind.Utc);
        var a = store.Import(Rootfs(), "x", null, t);
        var b = store.Import(Rootfs(), "x", null, t);
        Assert.Equal(a, b);
        Assert.Single(store.List());
        Assert.Equal(1, store.Layers.Get(store.TopLayer(a)!.Value)!.RefCount);
        Assert.Equal("2023-01-01T00:00:00Z", store.Inspect(a).Created);
    }

    [Fact]
    public void State_survives_a_new_store_instance()
    {
        using var tmp = new TempDir();
        var id = new ImageStore(tmp.Path).Import(Rootfs(), "persist:1", null);
        var store = new ImageStore(tmp.Path);
        Assert.Equal(id, store.Inspect("persist:1").Id);
        Assert.Equal(["persist:1"], Assert.Single(store.List()).RepoTags);
    }
}

public class BusyboxImageTests
{
    [Fact]
    public void Builtin_busybox_is_deterministic_and_idempotent()
    {
        using var t1 = new TempDir();
        using var t2 = new TempDir();
        var s1 = new ImageStore(t1.Path);
        var id1 = BusyboxImage.Create(s1);
        var id2 = BusyboxImage.Create(new ImageStore(t2.Path));
        Assert.Equal(id1, id2);
        Assert.Equal(id1, BusyboxImage.Create(s1)); // again: no-op
        Assert.Single(s1.List());
        Assert.Equal(1, s1.Layers.Get(s1.TopLayer(id1)!.Value)!.RefCount);

        var inspect = s1.Inspect("busybox");
        Assert.Equal(["busybox:latest"], inspect.RepoTags);
        Assert.Equal(["sh"], inspect.Config!.Cmd);
        Assert.Equal([BusyboxImage.Path], inspect.Config.Env);

        var diff = s1.Layers.DiffDir(s1.TopLayer(id1)!.Value);
        Assert.Equal(File.ReadAllBytes("/bin/busybox"), File.ReadAllBytes(Path.Combine(diff, "bin/busybox")));
        Assert.Equal("/bin/busybox", new FileInfo(Path.Combine(diff, "bin/sh")).LinkTarget);
        Assert.Equal("/bin/busybox", new FileInfo(Path.Combine(diff, "bin/ls")).LinkTarget);
        Assert.Equal(0x43ff, (int)Posix.Lstat(Path.Combine(diff, "tmp")).Mode);
        foreach (var d in new[] { "proc", "sys", "dev", "etc", "home", "var", "usr", "root" })
            Assert.True(Directory.Exists(Path.Combine(diff, d)), d);
        Assert.StartsWith("root:x:0:0:", File.ReadAllText(Path.Combine(diff, "etc/passwd")));
        Assert.Contains("nobody:x:65534:", File.ReadAllText(Path.Combine(diff, "etc/group")));
    }
}
