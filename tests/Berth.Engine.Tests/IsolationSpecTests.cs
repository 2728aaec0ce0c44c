using Berth.Api.Containers;
using Berth.Core;
using Berth.Engine.Containers.Create;
using Berth.Engine.Specs;

namespace Berth.Engine.Tests;

/// <summary>The isolation fields: create-time checks (dockerd's messages) and the OCI spec they give.</summary>
public sealed class IsolationSpecTests : IDisposable
{
    private readonly string _rootfs = Directory.CreateTempSubdirectory("berth-iso-").FullName;

    public IsolationSpecTests()
    {
        Directory.CreateDirectory(Path.Combine(_rootfs, "etc"));
        File.WriteAllText(Path.Combine(_rootfs, "etc", "passwd"), "root:x:0:0:root:/root:/bin/sh\n");
        File.WriteAllText(Path.Combine(_rootfs, "etc", "group"), "root:x:0:\nwheel:x:10:root\nstaff:x:50:\n");
    }

    public void Dispose() => Directory.Delete(_rootfs, recursive: true);

    private static string Refused(Action<ContainerConfig, HostConfig> set)
    {
        var c = new ContainerConfig { Image = "busybox" };
        var h = new HostConfig();
        set(c, h);
        return Assert.Throws<BerthException>(() => CreateCheck.Validate(c, h, null)).Message;
    }

    private static void Accepted(Action<ContainerConfig, HostConfig> set)
    {
        var c = new ContainerConfig { Image = "busybox" };
        var h = new HostConfig();
        set(c, h);
        CreateCheck.Validate(c, h, null);
    }

    [Fact]
    public void ModesAreCheckedWithDockersMessages()
    {
        Assert.Equal("Conflicting options: hostname and the UTS mode", Refused((c, h) => { h.UTSMode = "host"; c.Hostname = "x"; }));
        Assert.Equal("invalid PID mode: container:", Refused((_, h) => h.PidMode = "container:"));
        Assert.Equal("invalid IPC mode: bogus", Refused((_, h) => h.IpcMode = "bogus"));
        Assert.Equal("invalid cgroup namespace mode: bogus", Refused((_, h) => h.CgroupnsMode = "bogus"));
        Assert.Contains("userns-remap", Refused((_, h) => h.UsernsMode = "private"));
        Assert.Equal("invalid --security-opt 2: \"foo=bar\"", Refused((_, h) => h.SecurityOpt = ["foo=bar"]));
        Assert.Equal("invalid --security-opt 1: \"foo\"", Refused((_, h) => h.SecurityOpt = ["foo"]));
        Assert.Contains("AppArmor is not enabled", Refused((_, h) => h.SecurityOpt = ["apparmor=docker-default"]));
        Assert.Contains("SELinux is not enabled", Refused((_, h) => h.SecurityOpt = ["label=level:s0"]));
        Assert.Contains("not an absolute path", Refused((_, h) => h.MaskedPaths = ["proc/kcore"]));
        foreach (var mode in new[] { "host", "container:abc" })
        {
            Accepted((_, h) => h.PidMode = mode);
            Accepted((_, h) => h.IpcMode = mode);
        }
        Accepted((_, h) => { h.UTSMode = "host"; h.UsernsMode = "host"; h.CgroupnsMode = "private"; h.CgroupParent = "/p"; h.GroupAdd = ["wheel", "7"]; });
        Accepted((_, h) => h.CgroupParent = "a:b:c"); // cgroupfs: a directory name, as dockerd
        Accepted((_, h) => h.SecurityOpt = ["apparmor=unconfined", "label=disable", "seccomp:unconfined", "no-new-privileges:true", "seccomp={}"]);
    }

    private ContainerSpecInput Input(NamespaceModes modes, string? parent = null, IReadOnlyList<string>? groups = null) => new()
    {
        Id = new string('b', 64), RootfsPath = _rootfs, Cmd = ["true"], Namespaces = modes, CgroupParent = parent, GroupAdd = groups,
    };

    [Fact]
    public void HostAndJoinedNamespacesInTheSpec()
    {
        var spec = DockerSpec.Build(Input(new NamespaceModes { Pid = "host", Ipc = "/proc/42/ns/ipc", UtsHost = true, CgroupnsPrivate = true }),
            new ImageDefaults(), cgroupV2: false);
        var ns = spec.Linux!.Namespaces!;
        Assert.DoesNotContain(ns, n => n.Type is "pid" or "uts");
        Assert.Equal("/proc/42/ns/ipc", Assert.Single(ns, n => n.Type == "ipc").Path);
        Assert.Single(ns, n => n.Type == "cgroup" && n.Path is null);
        Assert.Null(spec.Hostname);
        spec = DockerSpec.Build(Input(new NamespaceModes { Pid = "/proc/7/ns/pid", IpcNone = true, CgroupnsPrivate = false }), new ImageDefaults(), cgroupV2: true);
        Assert.Equal("/proc/7/ns/pid", Assert.Single(spec.Linux!.Namespaces!, n => n.Type == "pid").Path);
        Assert.DoesNotContain(spec.Linux.Namespaces!, n => n.Type == "cgroup");
        Assert.DoesNotContain(spec.Mounts!, m => m.Destination == "/dev/shm");
    }

    [Fact]
    public void CgroupParentAndGroupAdd()
    {
        var id = new string('b', 64);
        Assert.Equal("/berth/" + id, DockerSpec.Build(Input(new()), new ImageDefaults(), false).Linux!.CgroupsPath);
        Assert.Equal("/my/parent/" + id, DockerSpec.Build(Input(new(), "/my/parent/"), new ImageDefaults(), false).Linux!.CgroupsPath);
        Assert.Equal("rel/" + id, DockerSpec.Build(Input(new(), "rel"), new ImageDefaults(), false).Linux!.CgroupsPath);
        // As dockerd's cgroupfs driver: ':' is part of a name, ".." never climbs above the start (runc's CleanPath).
        Assert.Equal("a:b:c/" + id, DockerSpec.Build(Input(new(), "a:b:c"), new ImageDefaults(), false).Linux!.CgroupsPath);
        Assert.Equal("x/" + id, DockerSpec.Build(Input(new(), "../x"), new ImageDefaults(), false).Linux!.CgroupsPath);
        Assert.Equal("/" + id, DockerSpec.Build(Input(new(), "/"), new ImageDefaults(), false).Linux!.CgroupsPath);
        Assert.Equal("/p/" + id, DockerSpec.Build(Input(new(), "/../p/./"), new ImageDefaults(), false).Linux!.CgroupsPath);
        var user = DockerSpec.Build(Input(new(), groups: ["staff", "1234", "10"]), new ImageDefaults(), false).Process!.User;
        Assert.Equal([10u, 50u, 1234u], user.AdditionalGids!);
        var e = Assert.Throws<BerthException>(() => DockerSpec.Build(Input(new(), groups: ["nosuch"]), new ImageDefaults(), false));
        Assert.Equal("Unable to find group nosuch", e.Message);
    }
}
