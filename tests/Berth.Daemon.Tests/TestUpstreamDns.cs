using System.Buffers.Binary;
using System.Net;
using System.Net.Sockets;
using Berth.Engine.Networking.Dns;

namespace Berth.Daemon.Tests;

/// <summary>
/// A tiny DNS server on a loopback address of its own (127.x.y.z:53, UDP and TCP), standing in for the host's resolvers:
/// it answers A queries for the names it is given, NXDOMAIN for the rest, and counts the queries it saw.
/// Runs in the test's (= berthd's) network namespace, where the embedded DNS forwards from.
/// </summary>
public sealed class TestUpstreamDns : IDisposable
{
    private readonly Socket _udp, _tcp;
    private readonly Dictionary<string, uint> _names;
    private readonly CancellationTokenSource _stop = new();
    private int _queries;

    public TestUpstreamDns(Dictionary<string, string> names)
    {
        _names = names.ToDictionary(kv => kv.Key, kv => (uint)BinaryPrimitives.ReadUInt32BigEndian(IPAddress.Parse(kv.Value).GetAddressBytes()));
        _udp = new Socket(AddressFamily.InterNetwork, SocketType.Dgram, ProtocolType.Udp);
        for (int tries = 0; ; tries++)
        {
            Address = $"127.{Random.Shared.Next(1, 250)}.{Random.Shared.Next(1, 250)}.{Random.Shared.Next(2, 250)}";
            try { _udp.Bind(new IPEndPoint(IPAddress.Parse(Address), 53)); break; }
            catch (SocketException) when (tries < 20) { }
        }
        _tcp = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
        _tcp.Bind(new IPEndPoint(IPAddress.Parse(Address), 53));
        _tcp.Listen();
        _ = Task.Run(ServeAsync);
        _ = Task.Run(ServeTcpAsync);
    }

    public string Address { get; private set; }

    public int Queries => Volatile.Read(ref _queries);

    private async Task ServeAsync()
    {
        var buf = new byte[4096];
        EndPoint any = new IPEndPoint(IPAddress.Any, 0);
        while (!_stop.IsCancellationRequested)
        {
            SocketReceiveFromResult r;
            try { r = await _udp.ReceiveFromAsync(buf, SocketFlags.None, any, _stop.Token); }
            catch (Exception) { return; }
            var answer = AnswerTo(buf[..r.ReceivedBytes]);
            if (answer is null) continue;
            try { await _udp.SendToAsync(answer, SocketFlags.None, r.RemoteEndPoint); }
            catch (SocketException) { }
        }
    }

    private byte[]? AnswerTo(byte[] q)
    {
        Interlocked.Increment(ref _queries);
        if (!DnsMessage.TryParseQuery(q, out var query)) return null;
        return _names.TryGetValue(query.Name, out var ip)
            ? DnsMessage.Response(q, query, DnsMessage.NoError, query.Type == DnsMessage.TypeA ? [ip] : null, ttl: 30)
            : DnsMessage.Response(q, query, DnsMessage.NxDomain);
    }

    private async Task ServeTcpAsync()
    {
        while (!_stop.IsCancellationRequested)
        {
            Socket c;
            try { c = await _tcp.AcceptAsync(_stop.Token); }
            catch (Exception) { return; }
            using (c)
            {
                try
                {
                    var q = await DnsForwarder.ReadFramedAsync(c, _stop.Token);
                    if (q is null || AnswerTo(q) is not { } a) continue;
                    await c.SendAsync(new byte[] { (byte)(a.Length >> 8), (byte)a.Length }.Concat(a).ToArray(), SocketFlags.None);
                }
                catch (Exception e) when (e is SocketException or OperationCanceledException) { }
            }
        }
    }

    public void Dispose()
    {
        _stop.Cancel();
        _udp.Dispose();
        _tcp.Dispose();
    }
}
