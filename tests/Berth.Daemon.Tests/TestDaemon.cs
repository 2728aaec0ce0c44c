using System.Net.Sockets;
using Berth.Daemon;

namespace Berth.Daemon.Tests;

/// <summary>A private directory (socket, roots, pid file) and an HttpClient over a unix socket.</summary>
public sealed class TempDir : IDisposable
{
    public TempDir()
    {
        Path = Directory.CreateTempSubdirectory("berthd-test-").FullName;
    }

    public string Path { get; }
    public string Socket => System.IO.Path.Combine(Path, "berth.sock");
    public string PidFile => System.IO.Path.Combine(Path, "berth.pid");
    public string DataRoot => System.IO.Path.Combine(Path, "data");
    public string ExecRoot => System.IO.Path.Combine(Path, "exec");

    public DaemonOptions Options() => new()
    {
        Hosts = ["unix://" + Socket],
        DataRoot = DataRoot,
        ExecRoot = ExecRoot,
        PidFile = PidFile,
        ConfigFile = System.IO.Path.Combine(Path, "no-daemon.json"),
    };

    /// <summary>
    /// After every daemon on this directory is gone: what a daemon killed without a graceful stop leaves in the
    /// host (its sandboxes, its bridges and the veths on them, its nftables table) removed by owner
    /// (Engine.Networking.NetworkOwnership), then the directory.
    /// </summary>
    public void Dispose()
    {
        try { Berth.Engine.Networking.NetworkOwnership.RemoveAllOf(ExecRoot); }
        catch (Berth.Core.BerthException) { }
        // A test that failed half-way (or a daemon killed without recovery) may leave its containers' mounts:
        // detach them, deepest first, so that nothing of this directory stays mounted on the machine.
        var mounts = File.ReadAllLines("/proc/self/mountinfo")
            .Select(l => l.Split(' ')[4].Replace("\\040", " "))
            .Where(m => m.StartsWith(Path + "/", StringComparison.Ordinal))
            .OrderByDescending(m => m.Length);
        foreach (var m in mounts) Berth.Interop.Libc.umount2(m, Berth.Interop.Libc.MNT_DETACH);
        try { Directory.Delete(Path, recursive: true); } catch (IOException) { }
    }
}

public static class UnixHttp
{
    public static HttpClient Client(string socketPath) =>
        new(new SocketsHttpHandler
        {
            ConnectCallback = async (_, ct) =>
            {
                var s = new Socket(AddressFamily.Unix, SocketType.Stream, ProtocolType.Unspecified);
                try
                {
                    await s.ConnectAsync(new UnixDomainSocketEndPoint(socketPath), ct);
                    return new NetworkStream(s, ownsSocket: true);
                }
                catch
                {
                    s.Dispose();
                    throw;
                }
            },
        })
        {
            BaseAddress = new Uri("http://api.moby.localhost"),
            Timeout = TimeSpan.FromSeconds(20),
        };
}

/// <summary>Raw API calls through Berth.Client (paths carry their own /v1.41 prefix): status and body as they came.</summary>
public static class EngineCalls
{
    public static EngineClient Client(string socketPath) => new(socketPath, "berth-tests/0.1.0");

    public static Task<(System.Net.HttpStatusCode Status, string Body)> CallAsync(this EngineClient client, string method, string path, string? json = null) =>
        Task.Run(() =>
        {
            using var r = client.Send(method, path, json, versioned: false);
            return ((System.Net.HttpStatusCode)r.Status, r.ReadAll());
        });

    public static Task<(System.Net.HttpStatusCode Status, string Body)> CallAsync(this EngineClient client, string method, string path, byte[] body, string contentType) =>
        Task.Run(() =>
        {
            using var r = client.Send(method, path, body, contentType, versioned: false);
            return ((System.Net.HttpStatusCode)r.Status, r.ReadAll());
        });
}
