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
        // dockerd's default ctrl-p,ctrl-q; checked before the upgrade (400), as dockerd does.
        var keys = ctx.Request.Query["detachKeys"].FirstOrDefault() is { Length: > 0 } k ? k : Berth.Api.Streams.DetachKeys.Default;
        if (!Berth.Api.Streams.DetachKeys.TryParse(keys, out var detachKeys, out _))
            throw Berth.Core.BerthException.Invalid($"Invalid detach keys ({keys}) provided");
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
        // With a tty the detach keys end the attach and leave the container running (dockerd: only with a tty).
        using (monitor)
            await StdioRelay.RunAsync(client, monitor, raw: tty, stdin, tty ? detachKeys : null);
        try { await client.FlushAsync(); }
        catch (Exception e) when (e is IOException or ObjectDisposedException or OperationCanceledException) { }
        await client.DisposeAsync();
    }
}
