using Berth.Api.Containers;
using Berth.Core;
using Berth.Engine.Containers;
using Berth.Engine.Volumes;

namespace Berth.Engine.Tests;

/// <summary>What the container side asks of the volume store (IVolumes), over fakes of the monitor and runtime:
/// volumes made at create, mounted at start, unmounted at exit and remove, anonymous ones removed by `rm -v`.</summary>
public sealed class ContainerVolumesTests : IDisposable
{
    private readonly string _root = Directory.CreateTempSubdirectory("bcv-").FullName;
    private readonly RecordingVolumes _volumes;
    private readonly ContainerManager _engine;

    private sealed class RecordingVolumes(string root) : IVolumes
    {
        public readonly List<string> Calls = [];
        private int _n;

        public VolumeRecord GetOrCreate(string? name, string? driver, IReadOnlyDictionary<string, string>? options,
            IReadOnlyDictionary<string, string>? labels, bool anonymous)
        {
            name ??= new string((char)('a' + _n++), 64);
            Calls.Add($"create {(anonymous ? "anon" : name)} labels={string.Join(',', labels?.Keys ?? [])}");
            var dir = Directory.CreateDirectory(Path.Combine(root, name)).FullName;
            return new VolumeRecord { Name = name, Mountpoint = dir, Anonymous = anonymous };
        }

        public VolumeRecord Get(string name) =>
            Directory.Exists(Path.Combine(root, name)) ? new VolumeRecord { Name = name, Mountpoint = Path.Combine(root, name) }
                : throw BerthException.NotFound($"get {name}: no such volume");

        public string Mount(string name, string containerId)
        {
            Calls.Add("mount " + name[..Math.Min(5, name.Length)]);
            return Path.Combine(root, name);
        }

        public void Unmount(string name, string containerId) => Calls.Add("unmount " + name[..Math.Min(5, name.Length)]);

        public void RemoveIfUnused(string name) => Calls.Add("remove " + name[..Math.Min(5, name.Length)]);
    }

    public ContainerVolumesTests()
    {
        var template = Path.Combine(_root, "template");
        Directory.CreateDirectory(Path.Combine(template, "etc"));
        File.WriteAllText(Path.Combine(template, "etc", "passwd"), "root:x:0:0:root:/root:/bin/sh\n");
        Directory.CreateDirectory(Path.Combine(template, "data"));
        File.WriteAllText(Path.Combine(template, "data", "seed"), "from image\n");
        var monitor = new FakeMonitor();
        var runtime = new FakeRuntime(monitor, id => Path.Combine(_root, "run", "containers", id));
        _volumes = new RecordingVolumes(Path.Combine(_root, "volumes"));
        _engine = new ContainerManager(new EngineOptions
        {
            DataRoot = Path.Combine(_root, "data"), ExecRoot = Path.Combine(_root, "run"), RuntimePath = "/nonexistent/runtime",
            MonitorPath = "/nonexistent/monitor", CgroupV2 = false,
        }, new DirectoryRootfs(template, Path.Combine(_root, "rootfs")), new FixedImage(), monitor, runtime, volumes: _volumes);
    }

    public void Dispose() => Directory.Delete(_root, recursive: true);

    [Fact]
    public async Task CreateStartExitRemove_CallTheStore()
    {
        var c = _engine.Create(new CreateInput
        {
            Config = new ContainerConfig { Image = "busybox", Cmd = ["sleep", "1"], Volumes = new() { ["/data"] = new EmptyObject() } },
            HostConfig = new HostConfig
            {
                Binds = ["named:/n"],
                Mounts = [new MountSpec { Type = "volume", Source = "labelled", Target = "/l", VolumeOptions = new() { Labels = new() { ["k"] = "v" } } }],
            },
        }).Container;
        // Named volumes are created as given; the image path's anonymous volume is mounted once to be filled.
        var anon = c.MountPoints.Single(m => m.Destination == "/data");
        Assert.Matches("^[0-9a-f]{64}$", anon.Name); // named (in the record) by the container side, before it exists
        Assert.Equal(["create named labels=", "create labelled labels=k", "create anon labels=", "mount " + anon.Name[..5], "unmount " + anon.Name[..5]],
            _volumes.Calls);
        // The anonymous volume for the image path got the image's content.
        Assert.Equal("from image\n", File.ReadAllText(Path.Combine(anon.Source, "seed")));
        Assert.Equal(64, anon.Name.Length);
        _volumes.Calls.Clear();

        await _engine.StartAsync(c.Id);
        Assert.Equal(3, _volumes.Calls.Count(x => x.StartsWith("mount ", StringComparison.Ordinal)));
        await _engine.StopAsync(c.Id, 5);
        Assert.Equal(3, _volumes.Calls.Count(x => x.StartsWith("unmount ", StringComparison.Ordinal)));
        _volumes.Calls.Clear();
        await _engine.RemoveAsync(c.Id, force: false, removeVolumes: true);
        // Only the anonymous volume goes with the container.
        Assert.Equal(["remove " + anon.Name[..5]], _volumes.Calls.Where(x => x.StartsWith("remove ", StringComparison.Ordinal)));
    }

    [Fact]
    public void ANamedVolumeWithContent_IsNotCopiedInto()
    {
        var data = _volumes.GetOrCreate("full", null, null, null, false).Mountpoint;
        File.WriteAllText(Path.Combine(data, "mine"), "x");
        _volumes.Calls.Clear();
        _engine.Create(new CreateInput
        {
            Config = new ContainerConfig { Image = "busybox", Cmd = ["true"] },
            HostConfig = new HostConfig { Binds = ["full:/data"] },
        });
        Assert.Equal(["create full labels="], _volumes.Calls);
        Assert.False(File.Exists(Path.Combine(data, "seed")));
    }

    [Fact]
    public void AFailedCreate_RemovesTheAnonymousVolumesItMade()
    {
        File.WriteAllText(Path.Combine(_root, "template", "file"), "x");
        var e = Assert.Throws<BerthException>(() => _engine.Create(new CreateInput
        {
            Config = new ContainerConfig { Image = "busybox", Cmd = ["true"], Volumes = new() { ["/a"] = new EmptyObject(), ["/file"] = new EmptyObject() } },
        }));
        Assert.StartsWith("cannot mount volume over existing file, file exists ", e.Message);
        Assert.Empty(_engine.Store.List());
        var made = _volumes.Calls.Where(x => x.StartsWith("create ", StringComparison.Ordinal)).Count();
        Assert.Equal(made, _volumes.Calls.Count(x => x.StartsWith("remove ", StringComparison.Ordinal)));
    }
}
