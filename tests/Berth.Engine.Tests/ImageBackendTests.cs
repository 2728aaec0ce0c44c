using Berth.Engine.Containers;
using Berth.Engine.Images;
using Berth.Engine.Specs;
using Berth.Images;

namespace Berth.Engine.Tests;

/// <summary>Containers on the real image store: the built-in busybox image, an overlay rootfs, copy-on-write.</summary>
public sealed class ImageBackendTests : IDisposable
{
    private readonly string _root = Directory.CreateTempSubdirectory("bci-").FullName;
    private readonly ContainerManager _engine;
    private readonly ImageBackend _images;

    public ImageBackendTests()
    {
        Assert.True(Interop.Libc.geteuid() == 0, "these tests need root");
        var repo = AppContext.BaseDirectory;
        while (!File.Exists(Path.Combine(repo, "Berth.slnx"))) repo = Path.GetDirectoryName(repo)!;
        var data = Path.Combine(_root, "data");
        var store = new ImageStore(data);
        BusyboxImage.Create(store);
        _images = new ImageBackend(store, new OverlaySnapshotter(store.Layers));
        _engine = new ContainerManager(new EngineOptions
        {
            DataRoot = data, ExecRoot = Path.Combine(_root, "run"),
            RuntimePath = Path.Combine(repo, "out", "bin", "berth-runtime"),
            MonitorPath = Path.Combine(repo, "src", "monitor", "build", "berth-monitor"),
        }, _images, _images);
    }

    public void Dispose()
    {
        foreach (var c in _engine.Store.List()) _engine.RemoveAsync(c.Id, force: true).Wait();
        Directory.Delete(_root, recursive: true);
    }

    [Fact]
    public async Task BusyboxRunsOnAnOverlayAndWritesStayInTheContainerLayer()
    {
        var c = _engine.Create(new CreateInput
        {
            Config = new Berth.Api.Containers.ContainerConfig { Image = "busybox", Cmd = ["sh", "-c", "echo hi > /written; cat /written; grep CapEff /proc/self/status"] },
        }).Container;
        await _engine.StartAsync(c.Id);
        Assert.Equal(0, await _engine.WaitAsync(c.Id).WaitAsync(TimeSpan.FromSeconds(20)));
        var log = string.Concat(File.ReadAllLines(c.LogPath).Select(l => System.Text.Json.JsonDocument.Parse(l).RootElement.GetProperty("log").GetString()));
        Assert.Equal("hi\nCapEff:\t00000000a80425fb\n", log);
        // Unmounted after exit; the write is in this container's upper layer only.
        Assert.DoesNotContain(File.ReadAllLines("/proc/self/mountinfo"), l => l.Contains(c.Id, StringComparison.Ordinal));
        var second = _engine.Create(new CreateInput
        {
            Config = new Berth.Api.Containers.ContainerConfig { Image = "busybox:latest", Cmd = ["sh", "-c", "test ! -e /written"] },
        }).Container;
        await _engine.StartAsync(second.Id);
        Assert.Equal(0, await _engine.WaitAsync(second.Id).WaitAsync(TimeSpan.FromSeconds(20)));
        await _engine.RemoveAsync(c.Id, force: false);
        Assert.DoesNotContain(File.ReadAllLines("/proc/self/mountinfo"), l => l.Contains(c.Id, StringComparison.Ordinal));
    }
}
