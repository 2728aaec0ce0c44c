using System.Text;
using Berth.Core;
using Berth.Engine.Backends;
using Berth.Engine.Logs;

namespace Berth.Daemon.Routers.Containers;

/// <summary>GET /containers/{id}/logs: the json-file log, framed (stdcopy) unless the container has a tty.</summary>
public static partial class ContainersRouter
{
    private static DateTime? Bound(string? value) =>
        Berth.Api.DockerTime.ParseTimestamp(value) is { } t && t > DateTime.UnixEpoch ? t : null;

    private static async Task Logs(HttpContext ctx, IContainerBackend engine, string id)
    {
        var c = engine.Get(id);
        var q = ctx.Request.Query;
        var query = new LogQuery
        {
            Stdout = Flag(ctx, "stdout"), Stderr = Flag(ctx, "stderr"), Follow = Flag(ctx, "follow"), Timestamps = Flag(ctx, "timestamps"),
            Tail = int.TryParse(q["tail"], out var tail) ? tail : null,
            // "seconds[.nanoseconds]" as the CLI sends it (python3-docker: whole seconds); 0 is no bound.
            Since = Bound(q["since"].FirstOrDefault()),
            Until = Bound(q["until"].FirstOrDefault()),
        };
        if (!query.Stdout && !query.Stderr)
            throw BerthException.Invalid("Bad parameters: you must choose at least one stream");
        bool tty = c.Tty, details = Flag(ctx, "details");
        var entries = engine.Logs(c.Id, query, ctx.RequestAborted); // a driver that cannot be read fails here, before the 200
        ctx.Response.StatusCode = 200;
        await ctx.Response.StartAsync(ctx.RequestAborted);
        await foreach (var e in entries)
        {
            var bytes = Encoding.UTF8.GetBytes(JsonFileLog.Text(e, query.Timestamps, details));
            await ctx.Response.Body.WriteAsync(tty ? bytes : JsonFileLog.Frame(e.Stream, bytes), ctx.RequestAborted);
            if (query.Follow) await ctx.Response.Body.FlushAsync(ctx.RequestAborted);
        }
    }
}
