using System.Text.Json;
using Berth.Core;
using Berth.Engine.Backends;
using Berth.Engine.Stats;

namespace Berth.Daemon.Routers.Containers;

/// <summary>The operations on a container: stats, top, rename, update, pause, unpause (docs/design/operations.md).</summary>
public static partial class ContainersRouter
{
    private static void MapOperations(IEndpointRouteBuilder app, Func<IContainerBackend> engine)
    {
        app.MapGet("/containers/{id}/stats", ctx => Stats(ctx, engine(), Id(ctx)));
        app.MapGet("/containers/{id}/top", ctx => Top(ctx, engine(), Id(ctx)));
        app.MapPost("/containers/{id}/rename", ctx =>
        {
            engine().Rename(Id(ctx), ctx.Request.Query["name"].FirstOrDefault() ?? "");
            ctx.Response.StatusCode = StatusCodes.Status204NoContent;
            return Task.CompletedTask;
        });
        app.MapPost("/containers/{id}/update", async ctx =>
        {
            var body = await ReadBody(ctx);
            Berth.Api.Containers.HostConfig update;
            try
            {
                update = JsonSerializer.Deserialize(body.Span, Berth.Api.Containers.ContainersJsonContext.Default.HostConfig) ?? new();
            }
            catch (JsonException e)
            {
                throw BerthException.Invalid($"invalid update body: {e.Message}");
            }
            update.RestartPolicy ??= new();
            var warnings = engine().Update(Id(ctx), update);
            await WriteJson(ctx, w =>
            {
                w.WriteStartObject();
                w.WriteStartArray("Warnings");
                foreach (var warning in warnings) w.WriteStringValue(warning);
                w.WriteEndArray();
                w.WriteEndObject();
            });
        });
        app.MapPost("/containers/{id}/pause", async ctx =>
        {
            await engine().PauseAsync(Id(ctx));
            ctx.Response.StatusCode = StatusCodes.Status204NoContent;
        });
        app.MapPost("/containers/{id}/unpause", async ctx =>
        {
            await engine().UnpauseAsync(Id(ctx));
            ctx.Response.StatusCode = StatusCodes.Status204NoContent;
        });
    }

    /// <summary>
    /// GET /containers/{id}/stats (dockerd's ContainerStats): stream (default) writes a reading a second; stream=0
    /// takes two readings a second apart (so that precpu_stats is set) and writes the second; one-shot=1 writes the
    /// first at once. A container that does not run: zeros, its name and id.
    /// </summary>
    private static async Task Stats(HttpContext ctx, IContainerBackend engine, string id)
    {
        var c = engine.Get(id);
        var q = ctx.Request.Query;
        bool stream = q["stream"].FirstOrDefault() is null || Flag(ctx, "stream"); // dockerd's BoolValueOrDefault(true)
        bool oneShot = Flag(ctx, "one-shot");
        if (stream && oneShot) throw BerthException.Invalid("cannot have stream=true and one-shot=true");
        ctx.Response.StatusCode = 200;
        ctx.Response.ContentType = "application/json";
        if (!stream && !c.State.Running)
        {
            await WriteStats(ctx, c.Name, c.Id, null, null);
            return;
        }
        await ctx.Response.StartAsync(ctx.RequestAborted);
        StatsSample? pre = null;
        bool primed = stream || oneShot;
        try
        {
            while (!ctx.RequestAborted.IsCancellationRequested)
            {
                var name = engine.Get(c.Id).Name;
                var cur = engine.Stats(c.Id);
                if (!primed)
                {
                    primed = true;
                    pre = cur;
                    await Task.Delay(TimeSpan.FromSeconds(1), ctx.RequestAborted);
                    continue;
                }
                await WriteStats(ctx, name, c.Id, cur, pre);
                if (!stream) return;
                await ctx.Response.Body.FlushAsync(ctx.RequestAborted);
                pre = cur;
                await Task.Delay(TimeSpan.FromSeconds(1), ctx.RequestAborted);
            }
        }
        catch (OperationCanceledException) { }
        catch (BerthException e) when (e.Kind == ErrorKind.NotFound && ctx.Response.HasStarted) { } // removed while streamed
    }

    private static Task WriteStats(HttpContext ctx, string name, string id, StatsSample? cur, StatsSample? pre) =>
        WriteJson(ctx, w => StatsJson.Write(w, name, id, cur, pre), setLength: !ctx.Response.HasStarted);

    /// <summary>GET /containers/{id}/top?ps_args=: Titles and Processes.</summary>
    private static async Task Top(HttpContext ctx, IContainerBackend engine, string id)
    {
        var top = engine.Top(id, ctx.Request.Query["ps_args"].FirstOrDefault() ?? "");
        await WriteJson(ctx, w =>
        {
            w.WriteStartObject();
            w.WriteStartArray("Processes");
            foreach (var row in top.Processes)
            {
                w.WriteStartArray();
                foreach (var f in row) w.WriteStringValue(f);
                w.WriteEndArray();
            }
            w.WriteEndArray();
            w.WriteStartArray("Titles");
            foreach (var t in top.Titles) w.WriteStringValue(t);
            w.WriteEndArray();
            w.WriteEndObject();
        });
    }
}
