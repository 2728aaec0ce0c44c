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

    /// <summary>Monitor frames to the client: as they are for non-tty, payloads only (raw) for a tty (the one
    /// stdcopy implementation, <see cref="Berth.Api.Streams.StdCopy"/>); a client or monitor that went away ends it.</summary>
    private static async Task CopyOutput(Stream from, Stream to, bool raw, CancellationToken ct)
    {
        try { await Berth.Api.Streams.StdCopy.CopyFramesAsync(from, to, raw, ct); }
        catch (Exception e) when (e is IOException or OperationCanceledException or SocketException) { }
    }
}
