using System.Text.Json;
using Berth.Core;
using Berth.Daemon.Server;
using Berth.Engine.Backends;
using Berth.Engine.Containers;

namespace Berth.Daemon.Routers.Containers;

/// <summary>
/// The container routes the CLI's run/create/start/attach/wait/logs/ps/inspect/stop/kill/rm use, over
/// <see cref="IContainerBackend"/>: this router parses and checks the request and writes the answer, the engine
/// does the work. One file per handler group: here the verbs, <c>.Attach.cs</c>, <c>.Logs.cs</c>, <c>.Writers.cs</c>
/// (list and inspect).
/// </summary>
public static partial class ContainersRouter
{
    public static void Map(IEndpointRouteBuilder app, DaemonState state)
    {
        IContainerBackend Engine() => state.Containers ?? throw new BerthException(ErrorKind.Unavailable, "the container engine is not running");
        app.MapPost("/containers/create", ctx => Create(ctx, Engine(), state.Options.Runtime));
        app.MapGet("/containers/json", ctx => List(ctx, Engine()));
        app.MapGet("/containers/{id}/json", ctx => Inspect(ctx, Engine(), Id(ctx)));
        app.MapPost("/containers/{id}/start", async ctx =>
        {
            await Engine().StartAsync(Id(ctx), ctx.RequestAborted);
            ctx.Response.StatusCode = StatusCodes.Status204NoContent;
        });
        app.MapPost("/containers/{id}/wait", ctx => Wait(ctx, Engine(), Id(ctx)));
        app.MapPost("/containers/{id}/attach", ctx => Attach(ctx, Engine(), Id(ctx)));
        app.MapGet("/containers/{id}/logs", ctx => Logs(ctx, Engine(), Id(ctx)));
        app.MapPost("/containers/{id}/resize", ctx => Resize(ctx, Engine(), Id(ctx)));
        app.MapPost("/containers/{id}/kill", async ctx =>
        {
            await Engine().KillAsync(Id(ctx), ctx.Request.Query["signal"].FirstOrDefault() is { Length: > 0 } s ? s : "KILL", ctx.RequestAborted);
            ctx.Response.StatusCode = StatusCodes.Status204NoContent;
        });
        app.MapPost("/containers/{id}/stop", async ctx =>
        {
            await Engine().StopAsync(Id(ctx), Timeout(ctx), ctx.RequestAborted);
            ctx.Response.StatusCode = StatusCodes.Status204NoContent;
        });
        app.MapPost("/containers/{id}/restart", async ctx =>
        {
            int? t = Timeout(ctx);
            try { await Engine().StopAsync(Id(ctx), t, ctx.RequestAborted); }
            catch (BerthException e) when (e.Kind == ErrorKind.NotModified) { }
            await Engine().StartAsync(Id(ctx), ctx.RequestAborted);
            ctx.Response.StatusCode = StatusCodes.Status204NoContent;
        });
        MapOperations(app, Engine);
        MapArchive(app, Engine);
        MapChanges(app, Engine);
        app.MapDelete("/containers/{id}", async ctx =>
        {
            if (Flag(ctx, "link")) Engine().RemoveLink(Id(ctx)); // docker rm --link /parent/alias
            else await Engine().RemoveAsync(Id(ctx), Flag(ctx, "force"), Flag(ctx, "v"), ctx.RequestAborted);
            ctx.Response.StatusCode = StatusCodes.Status204NoContent;
        });
        // docker rm --link /parent/alias: the CLI sends the link's name unescaped (DELETE /containers/parent/alias?link=1).
        app.MapDelete("/containers/{parent}/{alias}", ctx =>
        {
            var name = $"{ctx.Request.RouteValues["parent"]}/{ctx.Request.RouteValues["alias"]}";
            if (!Flag(ctx, "link")) throw BerthException.NotFound($"No such container: {name}");
            Engine().RemoveLink(name);
            ctx.Response.StatusCode = StatusCodes.Status204NoContent;
            return Task.CompletedTask;
        });
    }

    internal static string Id(HttpContext ctx) => (string)ctx.Request.RouteValues["id"]!;

    /// <summary>stop/restart's t: seconds (negative: wait for ever); absent: the container's StopTimeout or 10 s.</summary>
    private static int? Timeout(HttpContext ctx)
    {
        var t = ctx.Request.Query["t"].FirstOrDefault();
        if (string.IsNullOrEmpty(t)) return null;
        return int.TryParse(t, global::System.Globalization.NumberStyles.AllowLeadingSign, global::System.Globalization.CultureInfo.InvariantCulture, out var v)
            ? v : throw BerthException.Invalid($"strconv.Atoi: parsing \"{t}\": invalid syntax");
    }

    /// <summary>dockerd's BoolValue: present and not "", "0", "no", "false" or "none" (any case), so python3-docker's
    /// "True"/"False" and the CLI's "1"/"0" both work.</summary>
    internal static bool Flag(HttpContext ctx, string name) =>
        ctx.Request.Query[name].FirstOrDefault() is { } v && v.Trim().ToLowerInvariant() is not ("" or "0" or "no" or "false" or "none");

    private static async Task Create(HttpContext ctx, IContainerBackend engine, string runtimeName)
    {
        var body = await ReadBody(ctx);
        var input = CreateRequest.Parse(body.Span, ctx.Request.Query["name"].FirstOrDefault(), ctx.Request.Query["platform"].FirstOrDefault(), runtimeName);
        var created = engine.Create(input);
        ctx.Response.StatusCode = StatusCodes.Status201Created;
        await WriteJson(ctx, w =>
        {
            w.WriteStartObject();
            w.WriteString("Id", created.Container.Id);
            w.WriteStartArray("Warnings");
            foreach (var warning in created.Warnings) w.WriteStringValue(warning);
            w.WriteEndArray();
            w.WriteEndObject();
        });
    }

    /// <summary>The whole body (bounded by <see cref="RequestLimits"/>: a JSON body over 4 MiB is a 413).</summary>
    private static async Task<ReadOnlyMemory<byte>> ReadBody(HttpContext ctx)
    {
        var ms = new MemoryStream();
        await ctx.Request.Body.CopyToAsync(ms, ctx.RequestAborted);
        return ms.GetBuffer().AsMemory(0, (int)ms.Length);
    }

    private static async Task Wait(HttpContext ctx, IContainerBackend engine, string id)
    {
        var c = engine.Get(id);
        var condition = ctx.Request.Query["condition"].FirstOrDefault() is { Length: > 0 } cond ? cond : "not-running";
        if (condition is not ("not-running" or "next-exit" or "removed"))
            throw BerthException.Invalid($"invalid condition: \"{condition}\"");
        var waiting = engine.WaitAsync(c.Id, condition, ctx.RequestAborted);
        // Headers go out at once; the body when the container exits (the CLI sends wait before start).
        ctx.Response.StatusCode = 200;
        ctx.Response.ContentType = "application/json";
        await ctx.Response.StartAsync(ctx.RequestAborted);
        await ctx.Response.Body.FlushAsync(ctx.RequestAborted);
        int code = await waiting;
        await WriteJson(ctx, w =>
        {
            w.WriteStartObject();
            w.WriteNull("Error");
            w.WriteNumber("StatusCode", code);
            w.WriteEndObject();
        }, setLength: false);
    }

    private static async Task Resize(HttpContext ctx, IContainerBackend engine, string id)
    {
        var c = engine.Get(id);
        if (!int.TryParse(ctx.Request.Query["h"], out var h) || !int.TryParse(ctx.Request.Query["w"], out var w))
            throw BerthException.Invalid("invalid resize parameters");
        if (c.State.Running && c.Tty) await engine.ResizeAsync(c.Id, h, w);
        ctx.Response.StatusCode = 200;
    }

    internal static Task WriteJson(HttpContext ctx, Action<Utf8JsonWriter> write, bool setLength = true)
    {
        var ms = new MemoryStream();
        // Go's encoder: quotes, plus signs and non-ASCII stay as they are.
        using (var w = new Utf8JsonWriter(ms, new JsonWriterOptions { Encoder = global::System.Text.Encodings.Web.JavaScriptEncoder.UnsafeRelaxedJsonEscaping })) write(w);
        ms.WriteByte((byte)'\n');
        if (!ctx.Response.HasStarted)
        {
            ctx.Response.ContentType = "application/json";
            if (setLength) ctx.Response.ContentLength = ms.Length;
        }
        return ctx.Response.Body.WriteAsync(ms.GetBuffer().AsMemory(0, (int)ms.Length), ctx.RequestAborted).AsTask();
    }
}
