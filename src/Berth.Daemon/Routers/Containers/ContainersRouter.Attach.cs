using System.Net.Sockets;
using Berth.Daemon.Server;
using Berth.Engine.Backends;

namespace Berth.Daemon.Routers.Containers;

/// <summary>Hijacked attach: the connection relayed to the container's monitor (berth-monitor's attach.sock).</summary>
public static partial class ContainersRouter
{
    private static async Task Attach(HttpContext ctx, IContainerBackend engine, string id)
    {
        var c = engine.Get(id);
        bool tty = c.Tty;
        bool stdin = Flag(ctx, "stdin");
        // After the upgrade the client half-closes when it has no (more) stdin, and Kestrel then signals
        // RequestAborted: so from here on only a failed write ends the relay, never RequestAborted.
        var client = await Hijack.UpgradeAsync(ctx);

        // At once if running, else just before the process starts; null if it ends (or its start fails) first.
        var monitor = await engine.AttachAsync(c.Id);
        if (monitor is null)
        {
            await client.DisposeAsync();
            return;
        }
        using (monitor)
        await using (var ms = new NetworkStream(monitor, ownsSocket: false))
        {
            // The client's input is always read (Kestrel needs its end consumed); without stdin it is dropped.
            _ = Task.Run(async () =>
            {
                var buf = new byte[16 * 1024];
                int n;
                try
                {
                    while ((n = await client.ReadAsync(buf)) > 0)
                        if (stdin) await ms.WriteAsync(buf.AsMemory(0, n));
                    if (stdin) monitor.Shutdown(SocketShutdown.Send); // the client's half-close closes the container's stdin
                }
                catch (Exception e) when (e is IOException or SocketException or ObjectDisposedException or OperationCanceledException) { }
            });
            await CopyOutput(ms, client, tty, CancellationToken.None);
        }
        try { await client.FlushAsync(); }
        catch (Exception e) when (e is IOException or ObjectDisposedException or OperationCanceledException) { }
        await client.DisposeAsync();
    }

    /// <summary>Monitor frames to the client: as they are for non-tty, payloads only (raw) for a tty.</summary>
    private static async Task CopyOutput(Stream from, Stream to, bool raw, CancellationToken ct)
    {
        var header = new byte[8];
        var payload = new byte[32 * 1024];
        try
        {
            while (true)
            {
                if (!await ReadExactly(from, header, ct)) return;
                int len = (int)global::System.Buffers.Binary.BinaryPrimitives.ReadUInt32BigEndian(header.AsSpan(4));
                if (len > payload.Length) payload = new byte[len];
                if (!await ReadExactly(from, payload.AsMemory(0, len), ct)) return;
                if (!raw) await to.WriteAsync(header, ct);
                await to.WriteAsync(payload.AsMemory(0, len), ct);
                await to.FlushAsync(ct);
            }
        }
        catch (Exception e) when (e is IOException or OperationCanceledException or SocketException) { }
    }

    private static async Task<bool> ReadExactly(Stream s, Memory<byte> buf, CancellationToken ct)
    {
        int off = 0;
        while (off < buf.Length)
        {
            int n = await s.ReadAsync(buf[off..], ct);
            if (n == 0) return false;
            off += n;
        }
        return true;
    }
}
