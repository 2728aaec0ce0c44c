using System.Net;
using System.Net.Sockets;
using Berth.Core;
using Berth.Daemon;

namespace Berth.Daemon.Tests;

public sealed class LifecycleTests
{
    [Fact]
    public async Task Stop_RemovesSocketAndPidFile()
    {
        using var dir = new TempDir();
        DaemonHost host = await DaemonHost.StartAsync(dir.Options());
        Assert.True(File.Exists(dir.Socket));
        Assert.True(File.Exists(dir.PidFile));
        await host.StopAsync();
        Assert.False(File.Exists(dir.Socket));
        Assert.False(File.Exists(dir.PidFile));
        await host.DisposeAsync(); // idempotent
    }

    [Fact]
    public async Task StaleSocketFile_IsReplaced()
    {
        using var dir = new TempDir();
        // A socket file left by a process that is gone (.NET's Socket unlinks its own file on dispose: use python).
        using (var p = System.Diagnostics.Process.Start("python3", ["-c", $"import socket; socket.socket(socket.AF_UNIX).bind('{dir.Socket}')"]))
            p.WaitForExit();
        Assert.True(File.Exists(dir.Socket));
        await using DaemonHost host = await DaemonHost.StartAsync(dir.Options());
        Assert.Equal("OK", EngineCalls.Client(dir.Socket).Ping().Body);
    }

    [Fact]
    public async Task LiveSocket_IsRefused()
    {
        using var dir = new TempDir();
        await using DaemonHost first = await DaemonHost.StartAsync(dir.Options());
        DaemonOptions second = dir.Options();
        second.PidFile = Path.Combine(dir.Path, "other.pid");
        second.DataRoot = Path.Combine(dir.Path, "data2");
        var e = await Assert.ThrowsAsync<BerthException>(() => DaemonHost.StartAsync(second));
        Assert.Equal(ErrorKind.Conflict, e.Kind);
        Assert.False(File.Exists(second.PidFile));
        Assert.Equal("OK", EngineCalls.Client(dir.Socket).Ping().Body);
    }

    [Fact]
    public async Task TwoDaemons_SideBySide()
    {
        using var a = new TempDir();
        using var b = new TempDir();
        await using DaemonHost ha = await DaemonHost.StartAsync(a.Options());
        await using DaemonHost hb = await DaemonHost.StartAsync(b.Options());
        Assert.Equal(a.DataRoot, EngineCalls.Client(a.Socket).SystemInfo().RootElement.GetProperty("DockerRootDir").GetString());
        Assert.Equal(b.DataRoot, EngineCalls.Client(b.Socket).SystemInfo().RootElement.GetProperty("DockerRootDir").GetString());
    }

    [Fact]
    public async Task EngineId_IsKeptAcrossRestarts()
    {
        using var dir = new TempDir();
        string first, second;
        await using (DaemonHost h = await DaemonHost.StartAsync(dir.Options())) first = h.State.EngineId;
        await using (DaemonHost h = await DaemonHost.StartAsync(dir.Options())) second = h.State.EngineId;
        Assert.Equal(first, second);
        Assert.Matches("^([A-Z2-7]{4}:){11}[A-Z2-7]{4}$", first);
    }

    [Fact]
    public async Task TcpHost_AlsoServes()
    {
        using var dir = new TempDir();
        var l = new TcpListener(IPAddress.Loopback, 0);
        l.Start();
        int port = ((IPEndPoint)l.LocalEndpoint).Port;
        l.Stop();
        DaemonOptions o = dir.Options();
        o.Hosts.Add($"tcp://127.0.0.1:{port}");
        await using DaemonHost host = await DaemonHost.StartAsync(o);
        using var http = new HttpClient { BaseAddress = new Uri($"http://127.0.0.1:{port}") };
        Assert.Equal("OK", await http.GetStringAsync("/_ping"));
    }
}
