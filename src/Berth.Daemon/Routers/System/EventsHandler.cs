using System.Text.Json;
using Berth.Api;
using Berth.Core;
using Berth.Engine.Events;

namespace Berth.Daemon.Routers.System;

/// <summary>
/// GET /events (moby's getEvents): headers flushed at once; the kept events between <c>since</c> and <c>until</c>
/// that the filters take, then (unless <c>until</c> is past) each new one as it comes, one JSON object per line,
/// flushed; the stream ends when <c>until</c> is reached or the client goes.
/// </summary>
public static class EventsHandler
{
    public static async Task Handle(HttpContext ctx, EngineEvents bus)
    {
        var q = ctx.Request.Query;
        var since = DockerTime.ParseTimestamp(q["since"].FirstOrDefault());
        var until = DockerTime.ParseTimestamp(q["until"].FirstOrDefault());
        if (until is not null && since is not null && until < since)
            throw BerthException.Invalid($"`since` time ({q["since"]}) cannot be after `until` time ({q["until"]})");
        var filter = EventFilter.Parse(q["filters"].FirstOrDefault());

        using var sub = bus.Subscribe(out var history);
        ctx.Response.StatusCode = 200;
        ctx.Response.ContentType = "application/json";
        await ctx.Response.StartAsync(ctx.RequestAborted);
        await ctx.Response.Body.FlushAsync(ctx.RequestAborted);

        // As dockerd: the history is replayed only when since or until is given.
        if (since is not null || until is not null)
        {
            long sinceNano = since is { } s ? Nano(s) : 0, untilNano = until is { } u ? Nano(u) : 0;
            foreach (var e in history)
                if (e.TimeNano >= sinceNano && (untilNano == 0 || e.TimeNano <= untilNano) && filter.Include(e))
                    await Write(ctx, e);
            await ctx.Response.Body.FlushAsync(ctx.RequestAborted);
        }
        var now = DateTime.UtcNow;
        if (until is { } end && end <= now) return;

        using var timeout = until is { } stop && stop - now < TimeSpan.FromDays(20) ? new CancellationTokenSource(stop - now) : new CancellationTokenSource();
        using var linked = CancellationTokenSource.CreateLinkedTokenSource(ctx.RequestAborted, timeout.Token);
        try
        {
            await foreach (var e in sub.Reader.ReadAllAsync(linked.Token))
            {
                if (!filter.Include(e)) continue;
                await Write(ctx, e);
                await ctx.Response.Body.FlushAsync(linked.Token);
            }
        }
        catch (OperationCanceledException) { }
    }

    private static long Nano(DateTime t) => (t.Ticks - DateTime.UnixEpoch.Ticks) * 100;

    private static Task Write(HttpContext ctx, EngineEvent e)
    {
        var buf = new global::System.Buffers.ArrayBufferWriter<byte>(512);
        using (var w = new Utf8JsonWriter(buf, new JsonWriterOptions { Encoder = global::System.Text.Encodings.Web.JavaScriptEncoder.UnsafeRelaxedJsonEscaping }))
            e.Write(w);
        global::System.Buffers.BuffersExtensions.Write(buf, "\n"u8);
        return ctx.Response.Body.WriteAsync(buf.WrittenMemory, ctx.RequestAborted).AsTask();
    }
}
