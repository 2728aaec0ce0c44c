using System.Buffers.Binary;
using System.Net;
using System.Net.Sockets;

namespace Berth.Engine.Networking.Dns;

/// <summary>
/// One container sandbox's resolver: a UDP and a TCP socket bound to 127.0.0.11:53 inside the sandbox (made by
/// libberth on a native thread, see <see cref="Berth.Interop.Native.NetnsListen"/>), served from berthd's
/// threads. Names of the container's user-defined networks are answered from the current <see cref="DnsTable"/>
/// (A records, round robin; AAAA: no record, NOERROR; PTR of their addresses); everything else is forwarded
/// to <see cref="Upstreams"/>; SERVFAIL when there is none or none answers.
/// </summary>
public sealed class EmbeddedDns : IDisposable
{
    public const string Address = "127.0.0.11";
    private const int UdpMax = 512; // no EDNS0: a longer answer is cut and marked truncated (the client asks over TCP)

    private readonly string _containerId;
    private readonly Func<DnsTable> _table;
    private readonly Socket _udp, _tcp;
    private readonly CancellationTokenSource _stop = new();

    public EmbeddedDns(string containerId, int udpFd, int tcpFd, Func<DnsTable> table, IReadOnlyList<IPEndPoint> upstreams)
    {
        _containerId = containerId;
        _table = table;
        Upstreams = upstreams;
        _udp = new Socket(new SafeSocketHandle(udpFd, ownsHandle: true));
        _tcp = new Socket(new SafeSocketHandle(tcpFd, ownsHandle: true));
    }

    public IReadOnlyList<IPEndPoint> Upstreams { get; set; }

    /// <summary>Opens the sockets in the sandbox at <paramref name="sandboxPath"/> and starts serving.</summary>
    public static EmbeddedDns Open(string containerId, string sandboxPath, Func<DnsTable> table, IReadOnlyList<IPEndPoint> upstreams)
    {
        var (udp, tcp) = Berth.Interop.Native.NetnsListen(sandboxPath, Address, 53);
        var dns = new EmbeddedDns(containerId, udp, tcp, table, upstreams);
        dns.Start();
        return dns;
    }

    public void Start()
    {
        _ = Task.Run(ServeUdpAsync);
        _ = Task.Run(ServeTcpAsync);
    }

    private async Task ServeUdpAsync()
    {
        var buf = new byte[65535];
        EndPoint any = new IPEndPoint(IPAddress.Any, 0);
        while (!_stop.IsCancellationRequested)
        {
            SocketReceiveFromResult r;
            try { r = await _udp.ReceiveFromAsync(buf, SocketFlags.None, any, _stop.Token); }
            catch (Exception e) when (e is OperationCanceledException or ObjectDisposedException) { return; }
            catch (SocketException) { continue; }
            var query = buf[..r.ReceivedBytes];
            var client = r.RemoteEndPoint;
            byte[]? local;
            try { local = Answer(query, tcp: false); }
            catch (Exception) { continue; } // a query Berth cannot answer never stops the resolver
            if (local is not null) { await ReplyAsync(local, client); continue; }
            // Forwarding waits on the network: off the receive loop.
            _ = Task.Run(async () =>
            {
                var answer = await ForwardAsync(query, tcp: false);
                if (answer is not null) await ReplyAsync(answer, client);
            });
        }
    }

    // Async only: a socket made from a handle is in blocking mode for .NET, and a blocking call while the
    // receive is pending throws InvalidOperationException.
    private async Task ReplyAsync(byte[] answer, EndPoint client)
    {
        try { await _udp.SendToAsync(answer, SocketFlags.None, client, _stop.Token); }
        catch (Exception e) when (e is SocketException or ObjectDisposedException or OperationCanceledException) { }
    }

    private async Task ServeTcpAsync()
    {
        while (!_stop.IsCancellationRequested)
        {
            Socket c;
            try { c = await _tcp.AcceptAsync(_stop.Token); }
            catch (Exception e) when (e is OperationCanceledException or ObjectDisposedException) { return; }
            catch (SocketException) { continue; }
            _ = Task.Run(() => ServeConnectionAsync(c));
        }
    }

    private async Task ServeConnectionAsync(Socket c)
    {
        using var _ = c;
        try
        {
            while (true)
            {
                using var idle = CancellationTokenSource.CreateLinkedTokenSource(_stop.Token);
                idle.CancelAfter(TimeSpan.FromSeconds(10));
                var query = await DnsForwarder.ReadFramedAsync(c, idle.Token);
                if (query is null) return;
                var answer = Answer(query, tcp: true) ?? await ForwardAsync(query, tcp: true);
                if (answer is null) return;
                var framed = new byte[answer.Length + 2];
                BinaryPrimitives.WriteUInt16BigEndian(framed, (ushort)answer.Length);
                answer.CopyTo(framed, 2);
                await c.SendAsync(framed, SocketFlags.None, idle.Token);
            }
        }
        catch (Exception e) when (e is OperationCanceledException or SocketException or ObjectDisposedException or IOException) { }
    }

    /// <summary>The answer Berth gives itself, or null when the query is to be forwarded.</summary>
    public byte[]? Answer(byte[] query, bool tcp)
    {
        if (!DnsMessage.TryParseQuery(query, out var q)) return DnsMessage.Error(query, DnsMessage.FormErr);
        if (q.Opcode != 0) return DnsMessage.Error(query, DnsMessage.NotImp);
        var table = _table();
        if (q.Class == DnsMessage.ClassIn && q.Type is DnsMessage.TypeA or DnsMessage.TypeAaaa)
        {
            var addrs = table.Lookup(_containerId, q.Name, rotate: q.Type == DnsMessage.TypeA);
            if (addrs is not null)
            {
                if (q.Type == DnsMessage.TypeAaaa) return DnsMessage.Response(query, q, DnsMessage.NoError); // IPv6 off: no record
                if (!tcp && q.QuestionEnd + addrs.Count * 16 > UdpMax)
                {
                    var r = DnsMessage.Response(query, q, DnsMessage.NoError, [.. addrs.Take((UdpMax - q.QuestionEnd) / 16)]);
                    r[2] |= 0x02; // TC
                    return r;
                }
                return DnsMessage.Response(query, q, DnsMessage.NoError, addrs);
            }
        }
        else if (q.Class == DnsMessage.ClassIn && q.Type == DnsMessage.TypePtr && ReverseAddress(q.Name) is uint ip
                 && table.Reverse(_containerId, ip) is string name)
        {
            return DnsMessage.Response(query, q, DnsMessage.NoError, ptrName: name);
        }
        if (Upstreams.Count == 0 || table.OnlyInternal(_containerId)) return DnsMessage.Response(query, q, DnsMessage.ServFail);
        return null;
    }

    private async Task<byte[]?> ForwardAsync(byte[] query, bool tcp)
    {
        try
        {
            var r = await DnsForwarder.ForwardAsync(query, Upstreams, tcp, _stop.Token);
            if (r is not null) return r;
        }
        catch (OperationCanceledException) { return null; }
        return DnsMessage.TryParseQuery(query, out var q) ? DnsMessage.Response(query, q, DnsMessage.ServFail) : null;
    }

    /// <summary>"4.3.2.1.in-addr.arpa" → 1.2.3.4 (as a uint in network order), else null.</summary>
    private static uint? ReverseAddress(string name)
    {
        const string suffix = ".in-addr.arpa";
        if (!name.EndsWith(suffix, StringComparison.Ordinal)) return null;
        var parts = name[..^suffix.Length].Split('.');
        if (parts.Length != 4) return null;
        uint v = 0;
        for (int i = 3; i >= 0; i--)
        {
            if (!byte.TryParse(parts[i], out var b)) return null;
            v = (v << 8) | b;
        }
        return v;
    }

    public void Dispose()
    {
        _stop.Cancel();
        _udp.Dispose();
        _tcp.Dispose();
    }
}
