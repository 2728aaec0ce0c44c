using System.Buffers.Binary;
using System.Net;
using System.Net.Sockets;

namespace Berth.Engine.Networking.Dns;

/// <summary>
/// Sends a query on to the upstream servers in order (at most three, as Docker) over the transport the client
/// used, and returns the first answer whose id matches, byte for byte; null when none answered in time
/// (4 s each, Docker's extIOTimeout). Runs in berthd's network namespace.
/// </summary>
public static class DnsForwarder
{
    public static TimeSpan Timeout { get; set; } = TimeSpan.FromSeconds(4);

    public static async Task<byte[]?> ForwardAsync(byte[] query, IReadOnlyList<IPEndPoint> upstreams, bool tcp, CancellationToken ct)
    {
        foreach (var up in upstreams)
        {
            using var cts = CancellationTokenSource.CreateLinkedTokenSource(ct);
            cts.CancelAfter(Timeout);
            try
            {
                var r = tcp ? await OverTcpAsync(query, up, cts.Token) : await OverUdpAsync(query, up, cts.Token);
                if (r is not null) return r;
            }
            catch (OperationCanceledException) when (!ct.IsCancellationRequested) { }
            catch (SocketException) { }
            catch (IOException) { }
        }
        return null;
    }

    private static async Task<byte[]?> OverUdpAsync(byte[] query, IPEndPoint up, CancellationToken ct)
    {
        using var s = new Socket(AddressFamily.InterNetwork, SocketType.Dgram, ProtocolType.Udp);
        await s.ConnectAsync(up, ct);
        await s.SendAsync(query, SocketFlags.None, ct);
        var buf = new byte[65535];
        while (true)
        {
            int n = await s.ReceiveAsync(buf, SocketFlags.None, ct);
            if (n >= 2 && buf[0] == query[0] && buf[1] == query[1]) return buf[..n];
        }
    }

    private static async Task<byte[]?> OverTcpAsync(byte[] query, IPEndPoint up, CancellationToken ct)
    {
        using var s = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
        await s.ConnectAsync(up, ct);
        var framed = new byte[query.Length + 2];
        BinaryPrimitives.WriteUInt16BigEndian(framed, (ushort)query.Length);
        query.CopyTo(framed, 2);
        await s.SendAsync(framed, SocketFlags.None, ct);
        return await ReadFramedAsync(s, ct);
    }

    /// <summary>One length-prefixed message of a DNS-over-TCP stream; null at its end.</summary>
    public static async Task<byte[]?> ReadFramedAsync(Socket s, CancellationToken ct)
    {
        var len = new byte[2];
        if (!await ReadExactlyAsync(s, len, ct)) return null;
        var m = new byte[BinaryPrimitives.ReadUInt16BigEndian(len)];
        return await ReadExactlyAsync(s, m, ct) ? m : null;
    }

    private static async Task<bool> ReadExactlyAsync(Socket s, Memory<byte> buf, CancellationToken ct)
    {
        int got = 0;
        while (got < buf.Length)
        {
            int n = await s.ReceiveAsync(buf[got..], SocketFlags.None, ct);
            if (n == 0) return false;
            got += n;
        }
        return true;
    }
}
