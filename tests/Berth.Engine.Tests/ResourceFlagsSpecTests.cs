using Berth.Api.Containers;
using CgroupSupport = Berth.Cgroups.CgroupSupport;
using Berth.Core;
using Berth.Engine.Containers.Create;
using Berth.Engine.Specs;

namespace Berth.Engine.Tests;

/// <summary>--device, --device-cgroup-rule, blkio per-device, swappiness, OOM killer, real-time CPU in the OCI
/// spec; what the host cannot do, discarded with dockerd's warnings (ResourceCheck).</summary>
public sealed class ResourceFlagsSpecTests
{
    private static readonly ImageDefaults Image = new();

    private static ContainerSpecInput Input(Func<ContainerSpecInput, ContainerSpecInput> edit) =>
        edit(new ContainerSpecInput { Id = new string('a', 64), RootfsPath = "/nonexistent", Cmd = ["true"] });

    [Fact]
    public void DevicesAndRulesAtStart()
    {
        var c = Input(c => new ContainerSpecInput
        {
            Id = c.Id, RootfsPath = c.RootfsPath, Cmd = c.Cmd,
            Devices = [new DeviceMapping { PathOnHost = "/dev/null", PathInContainer = "/dev/mynull", CgroupPermissions = "r" }],
            DeviceCgroupRules = ["b 7:* rw"],
            BlkioDeviceReadBps = [new ThrottleDevice { Path = "/dev/null", Rate = 1048576 }],
        });
        var spec = DockerSpec.Build(c, Image, false, resolveUser: false);
        Assert.Null(spec.Linux!.Devices); // at create nothing is read from the host
        Assert.Null(spec.Linux.Resources!.BlockIO);

        spec = DockerSpec.Build(c, Image, false, resolveUser: true);
        var d = Assert.Single(spec.Linux!.Devices!);
        Assert.Equal(("/dev/mynull", "c", 1L, 3L), (d.Path, d.Type, d.Major, d.Minor));
        Assert.Equal(0x1b6u, d.FileMode); // the host node's mode (0666)
        var rules = spec.Linux.Resources!.Devices!;
        Assert.False(rules[0].Allow); // deny all first
        Assert.Contains(rules, r => r.Allow && r.Type == "c" && r.Major == 1 && r.Minor == 3 && r.Access == "r");
        Assert.Contains(rules, r => r.Allow && r.Type == "b" && r.Major == 7 && r.Minor is null && r.Access == "rw");
        var t = Assert.Single(spec.Linux.Resources.BlockIO!.ThrottleReadBpsDevice!);
        Assert.Equal((1L, 3L, 1048576UL), (t.Major, t.Minor, t.Rate));
    }

    [Fact]
    public void MissingNodesGetDockerdsErrors()
    {
        var c = Input(c => new ContainerSpecInput
        {
            Id = c.Id, RootfsPath = c.RootfsPath, Cmd = c.Cmd, Devices = [new DeviceMapping { PathOnHost = "/dev/berth-none" }],
        });
        Assert.Equal("error gathering device information while adding custom device \"/dev/berth-none\": no such file or directory",
            Assert.Throws<BerthException>(() => DockerSpec.Build(c, Image, false)).Message);
        c = Input(c => new ContainerSpecInput
        {
            Id = c.Id, RootfsPath = c.RootfsPath, Cmd = c.Cmd, BlkioDeviceWriteIOps = [new ThrottleDevice { Path = "/dev/berth-none", Rate = 1 }],
        });
        Assert.Equal("stat /dev/berth-none: no such file or directory", Assert.Throws<BerthException>(() => DockerSpec.Build(c, Image, false)).Message);
    }

    [Fact]
    public void ADirectoryWithoutNodesIsAnErrorAndEmptyPermissionsAreRwm()
    {
        var dir = Directory.CreateTempSubdirectory("berth-devdir-").FullName;
        try
        {
            File.WriteAllText(Path.Combine(dir, "not-a-node"), "");
            var devices = new List<Berth.Runtime.Spec.LinuxDevice>();
            var rules = new List<Berth.Runtime.Spec.LinuxDeviceCgroup>();
            // No node in it: dockerd's error.
            Assert.Throws<BerthException>(() => DeviceSpec.AddMapping(new DeviceMapping { PathOnHost = dir, PathInContainer = "/dev/d" }, devices, rules));
            DeviceSpec.AddMapping(new DeviceMapping { PathOnHost = "/dev/null", PathInContainer = "/dev/n", CgroupPermissions = "" }, devices, rules);
            Assert.Equal("rwm", Assert.Single(rules).Access); // empty permissions: rwm, as the docker CLI's default
        }
        finally
        {
            Directory.Delete(dir, true);
        }
    }

    [Fact]
    public void MemoryAndRealtimeFields()
    {
        var r = DockerSpec.Build(Input(c => new ContainerSpecInput
        {
            Id = c.Id, RootfsPath = c.RootfsPath, Cmd = c.Cmd, MemorySwappiness = 30, OomKillDisable = true,
            CpuRealtimePeriod = 1_000_000, CpuRealtimeRuntime = 950_000,
        }), Image, false, resolveUser: false).Linux!.Resources!;
        Assert.Equal((30UL, true), (r.Memory!.Swappiness, r.Memory.DisableOomKiller));
        Assert.Null(r.Memory.Limit);
        Assert.Equal((1_000_000UL, 950_000L), (r.Cpu!.RealtimePeriod, r.Cpu.RealtimeRuntime));
    }

    private static readonly CgroupSupport V2Host = new(true, false, false, false, true, true, true, true, true, true);
    private static readonly CgroupSupport V1NoWeights = new(false, true, true, true, false, false, true, true, true, true);

    [Fact]
    public void V2DiscardsWhatCgroup2DoesNotHaveWithDockerdsWarnings()
    {
        var h = new HostConfig { MemorySwappiness = 10, OomKillDisable = true, Memory = 64 << 20, BlkioDeviceReadBps = [new ThrottleDevice { Path = "/dev/sda", Rate = 1 }] };
        var w = new List<string>();
        ResourceCheck.Apply(h, V2Host, w);
        Assert.Equal(
        [
            "Your kernel does not support memory swappiness capabilities or the cgroup is not mounted. Memory swappiness discarded.",
            "Your kernel does not support OomKillDisable. OomKillDisable discarded.",
        ], w);
        Assert.Null(h.MemorySwappiness);
        Assert.Null(h.OomKillDisable);
        Assert.Single(h.BlkioDeviceReadBps!); // io.max on v2
        Assert.Equal("Your kernel does not support CPU real-time scheduler",
            Assert.Throws<BerthException>(() => ResourceCheck.Apply(new HostConfig { CpuRealtimeRuntime = 1000 }, V2Host, [])).Message);
    }

    [Fact]
    public void V1ChecksAndDiscards()
    {
        var h = new HostConfig { MemorySwappiness = -1, KernelMemory = 64 << 20, OomKillDisable = true, BlkioWeight = 300, BlkioWeightDevice = [new WeightDevice { Path = "/dev/sda", Weight = 300 }] };
        var w = new List<string>();
        ResourceCheck.Apply(h, V1NoWeights, w);
        Assert.Equal(
        [
            "Specifying a kernel memory limit is deprecated and will be removed in a future release.",
            "Your kernel does not support kernel memory limit capabilities or the cgroup is not mounted. Limitation discarded.",
            "OOM killer is disabled for the container, but no memory limit is set, this can result in the system running out of resources.",
            "Your kernel does not support Block I/O weight or the cgroup is not mounted. Weight discarded.",
            "Your kernel does not support Block I/O weight_device or the cgroup is not mounted. Weight-device discarded.",
        ], w);
        Assert.Equal((null, 0L, true, (ushort)0), (h.MemorySwappiness, h.KernelMemory, h.OomKillDisable, h.BlkioWeight));
        Assert.Empty(h.BlkioWeightDevice!);

        static string Err(HostConfig h) => Assert.Throws<BerthException>(() => ResourceCheck.Apply(h, V1NoWeights, [])).Message;
        Assert.Equal("Invalid value: 101, valid memory swappiness range is 0-100", Err(new HostConfig { MemorySwappiness = 101 }));
        Assert.Equal("Minimum kernel memory limit allowed is 6MB", Err(new HostConfig { KernelMemory = 1 << 20 }));
        Assert.Equal("cpu real-time runtime cannot be higher than cpu real-time period", Err(new HostConfig { CpuRealtimePeriod = 1000, CpuRealtimeRuntime = 2000 }));
        Assert.Equal("bad mode specified: rwx", Err(new HostConfig { Devices = [new DeviceMapping { PathOnHost = "/dev/null", CgroupPermissions = "rwx" }] }));
        Assert.Equal("invalid device cgroup rule format: 'c 1:3'", Err(new HostConfig { DeviceCgroupRules = ["c 1:3"] }));
    }
}
