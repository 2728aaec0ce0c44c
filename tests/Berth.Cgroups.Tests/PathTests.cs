using Berth.Core;

namespace Berth.Cgroups.Tests;

public class PathTests
{
    [Theory]
    [InlineData("/foo/bar", "id", "/foo/bar")]
    [InlineData("/foo//bar/../baz/", "id", "/foo/baz")]
    [InlineData("foo/bar", "id", "foo/bar")]
    [InlineData("", "abc", "/berth/abc")]
    [InlineData(null, "abc", "/berth/abc")]
    [InlineData("system.slice:docker:abc", "abc", "/system.slice/docker-abc.scope")]
    [InlineData("user-1000.slice::x", "x", "/user.slice/user-1000.slice/x.scope")]
    [InlineData(":berth:abc", "abc", "/system.slice/berth-abc.scope")]
    [InlineData("-.slice:p:n", "n", "/p-n.scope")]
    [InlineData("machine.slice::sub.slice", "n", "/machine.slice/sub.slice")]
    [InlineData("a:b:c/n", "n", "a:b:c/n")] // with a '/': a cgroupfs path whose names hold colons (a --cgroup-parent)
    [InlineData("/a:b/n", "n", "/a:b/n")]
    public void Normalize(string? input, string id, string expected) =>
        Assert.Equal(expected, CgroupPaths.Normalize(input, id));

    [Theory]
    [InlineData("../escape")]
    [InlineData("bad:slice:name")]
    [InlineData("a--b.slice:p:n")]
    public void Invalid(string input)
    {
        var e = Assert.Throws<BerthException>(() => CgroupPaths.Normalize(input, "id"));
        Assert.Equal(ErrorKind.InvalidParameter, e.Kind);
    }

    [Fact]
    public void AbsolutePath_IsRelativeToEachHierarchyRoot_NotOwnCgroup()
    {
        using var t = new FakeTree();
        var root = CgroupRoot.ForV1(t.Base, ["cpu", "memory"], ownCgroups: new Dictionary<string, string> { ["memory"] = "/runtime" });
        var abs = CgroupManagerFactory.Create("/c1", "c1", root);
        Assert.Equal(Path.Combine(t.Base, "memory/c1"), abs.Paths["memory"]);
        Assert.Equal(Path.Combine(t.Base, "cpu/c1"), abs.Paths["cpu"]);

        var rel = CgroupManagerFactory.Create("c1", "c1", root);
        Assert.Equal(Path.Combine(t.Base, "memory/runtime/c1"), rel.Paths["memory"]);
        Assert.Equal(Path.Combine(t.Base, "cpu/c1"), rel.Paths["cpu"]);

        var systemd = CgroupManagerFactory.Create("system.slice:berth:c1", "c1", root);
        Assert.Equal(Path.Combine(t.Base, "memory/system.slice/berth-c1.scope"), systemd.Paths["memory"]);
    }
}
