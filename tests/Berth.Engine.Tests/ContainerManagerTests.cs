using System.Diagnostics;
using Berth.Core;
using Berth.Engine.Containers;
using Berth.Engine.Specs;

namespace Berth.Engine.Tests;

/// <summary>A rootfs per container copied from a busybox template directory (the image store's stand-in here).</summary>
internal sealed class DirectoryRootfs(string template, string root) : IRootfsProvider
{
    private string Dir(string id) => Path.Combine(root, id);
    public void Prepare(string containerId, string imageId)
    {
        Directory.CreateDirectory(root);
        Exec("cp", "-a", template, Dir(containerId));
    }
    public string Mount(string containerId) => Dir(containerId);
    public void Unmount(string containerId) { }
    public void Remove(string containerId)
    {
        if (Directory.Exists(Dir(containerId))) Directory.Delete(Dir(containerId), recursive: true);
    }

    internal static void Exec(string file, params string[] args)
    {
        var psi = new ProcessStartInfo(file) { RedirectStandardError = true };
        foreach (var a in args) psi.ArgumentList.Add(a);
        using var p = System.Diagnostics.Process.Start(psi)!;
        var err = p.StandardError.ReadToEnd();
        p.WaitForExit();
        if (p.ExitCode != 0) throw new InvalidOperationException($"{file}: {err}");
    }
}

internal sealed class FixedImage : IImageResolver
{
    public (string ImageId, ImageDefaults Defaults) Resolve(string reference) =>
        reference is "busybox" or "busybox:latest" or "sha256:busybox"
            ? ("sha256:busybox", new ImageDefaults { Cmd = ["sh"], Env = [DockerSpec.DefaultPath] })
            : throw BerthException.NotFound($"No such image: {reference}");
}

/// <summary>The engine's container lifecycle against the real berth-monitor and berth-runtime (root).</summary>
public sealed class ContainerManagerTests : IDisposable
{
    private static readonly string Repo = FindRepo();
    private readonly string _root = Directory.CreateTempSubdirectory("bce-").FullName;
    private readonly ContainerManager _engine;

    public ContainerManagerTests()
    {
        Assert.True(Interop.Libc.geteuid() == 0, "these tests need root");
        var template = Path.Combine(_root, "template");
        DirectoryRootfs.Exec(Path.Combine(Repo, "scripts", "make-busybox-rootfs.sh"), template);
        _engine = NewEngine();
    }

    private ContainerManager NewEngine() => new(new EngineOptions
    {
        DataRoot = Path.Combine(_root, "data"), ExecRoot = Path.Combine(_root, "run"),
        RuntimePath = Path.Combine(Repo, "out", "bin", "berth-runtime"),
        MonitorPath = Path.Combine(Repo, "src", "monitor", "build", "berth-monitor"),
    }, new DirectoryRootfs(Path.Combine(_root, "template"), Path.Combine(_root, "rootfs")), new FixedImage());

    public void Dispose()
    {
        foreach (var c in _engine.Store.List())
        {
            try { _engine.RemoveAsync(c.Id, force: true).Wait(); }
            catch (AggregateException) { }
        }
        Directory.Delete(_root, recursive: true);
    }

    private static string FindRepo()
    {
        var d = AppContext.BaseDirectory;
        while (!File.Exists(Path.Combine(d, "Berth.slnx"))) d = Path.GetDirectoryName(d)!;
        return d;
    }

    private static CreateInput Input(params string[] cmd) => new()
    {
        Config = new Berth.Api.Containers.ContainerConfig { Image = "busybox", Cmd = [.. cmd] },
    };

    private static string Log(ContainerRecord c) => string.Concat(File.ReadAllLines(c.LogPath)
        .Select(l => System.Text.Json.JsonDocument.Parse(l).RootElement.GetProperty("log").GetString()));

    [Fact]
    public async Task RunsLogsAndReportsTheExitCode()
    {
        var c = _engine.Create(Input("sh", "-c", "echo out; echo err >&2; exit 3")).Container;
        Assert.Equal("created", c.State.Status);
        await _engine.StartAsync(c.Id);
        Assert.Equal(3, await _engine.WaitAsync(c.Id).WaitAsync(TimeSpan.FromSeconds(20)));
        var after = _engine.Store.Get(c.Id);
        Assert.Equal(("exited", 3), (after.State.Status, after.State.ExitCode));
        Assert.Equal("out\nerr\n", Log(c));
        Assert.Contains("\"stream\":\"stderr\"", File.ReadAllText(c.LogPath), StringComparison.Ordinal);
    }

    [Fact]
    public async Task StopSendsTermThenKill()
    {
        var c = _engine.Create(Input("sh", "-c", "trap '' TERM; echo ready; sleep 300")).Container;
        await _engine.StartAsync(c.Id);
        var sw = Stopwatch.StartNew();
        await _engine.StopAsync(c.Id, timeoutSeconds: 1);
        Assert.InRange(sw.Elapsed.TotalSeconds, 0.9, 15);
        Assert.Equal(137, _engine.Store.Get(c.Id).State.ExitCode);
        var e = await Assert.ThrowsAsync<BerthException>(() => _engine.StopAsync(c.Id));
        Assert.Equal(ErrorKind.NotModified, e.Kind);
    }

    [Fact]
    public async Task RemoveRunningNeedsForce()
    {
        var c = _engine.Create(Input("sleep", "300")).Container;
        await _engine.StartAsync(c.Id);
        var e = await Assert.ThrowsAsync<BerthException>(() => _engine.RemoveAsync(c.Id, force: false));
        Assert.Equal(ErrorKind.Conflict, e.Kind);
        Assert.StartsWith($"You cannot remove a running container {c.Id}", e.Message);
        await _engine.RemoveAsync(c.Id, force: true);
        Assert.False(_engine.Store.TryGet(c.Id, out _));
        Assert.False(Directory.Exists(_engine.StateDir(c.Id)));
        Assert.False(Directory.Exists($"/sys/fs/cgroup/memory/berth/{c.Id}"));
    }

    [Fact]
    public async Task MissingCommandFailsAtStartWithTheRuntimesMessage()
    {
        var c = _engine.Create(Input("no-such-command")).Container;
        var e = await Assert.ThrowsAsync<BerthException>(() => _engine.StartAsync(c.Id));
        Assert.Contains("executable file not found in $PATH", e.Message);
        Assert.Equal("created", _engine.Store.Get(c.Id).State.Status);
        Assert.False(File.Exists(Path.Combine(_engine.StateDir(c.Id), "attach.sock")));
    }

    [Fact]
    public async Task ContainersOutliveTheEngineAndAreFoundAgain()
    {
        var c = _engine.Create(Input("sh", "-c", "echo before; sleep 2; echo after; exit 5")).Container;
        await _engine.StartAsync(c.Id);
        // A new engine over the same roots (a daemon restart): the container still runs and its exit is seen.
        var restarted = NewEngine();
        Assert.Equal("running", restarted.Store.Get(c.Id).State.Status);
        Assert.Equal(5, await restarted.WaitAsync(c.Id).WaitAsync(TimeSpan.FromSeconds(20)));
        Assert.Equal("before\nafter\n", Log(c));
    }

    [Fact]
    public void UnknownImageIsNotFound()
    {
        var e = Assert.Throws<BerthException>(() => _engine.Create(new CreateInput
        {
            Config = new Berth.Api.Containers.ContainerConfig { Image = "nope", Cmd = ["true"] },
        }));
        Assert.Equal((ErrorKind.NotFound, "No such image: nope"), (e.Kind, e.Message));
    }
}
