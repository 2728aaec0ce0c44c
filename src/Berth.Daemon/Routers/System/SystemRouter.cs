using Berth.Daemon.Server;

namespace Berth.Daemon.Routers.System;

/// <summary>Routes of the system group: ping, version, info, events, disk usage (system df), build cache prune.</summary>
public static class SystemRouter
{
    public static void Map(IEndpointRouteBuilder app, DaemonState state)
    {
        app.MapMethods("/_ping", [HttpMethods.Get, HttpMethods.Head], Ping);
        app.MapGet("/version", ctx => HttpJson.Write(ctx, VersionHandler.Build(), ApiJsonContext.Api.SystemVersion));
        app.MapGet("/info", ctx => HttpJson.Write(ctx, InfoHandler.Build(state), ApiJsonContext.Api.SystemInfo));
        app.MapGet("/events", ctx => EventsHandler.Handle(ctx, state.Events));
        app.MapGet("/system/df", ctx => DiskUsageHandler.Handle(ctx, state));
        app.MapPost("/build/prune", BuildPrune);
    }

    private static readonly HashSet<string> BuildPruneFilters = new(StringComparer.Ordinal)
        { "until", "unused-for", "id", "parent", "type", "description", "inuse", "shared", "private" };

    /// <summary>
    /// POST /build/prune: Berth has no builder (POST /build is 501), hence no build cache: nothing is deleted, and the
    /// answer says so (CachesDeleted null, SpaceReclaimed 0). The parameters are checked as dockerd's (a bad filter
    /// or keep-storage is a 400). It exists because `docker system prune` calls it last and fails on a 501.
    /// </summary>
    private static Task BuildPrune(HttpContext ctx)
    {
        var q = ctx.Request.Query;
        Berth.Api.FilterArgs.Parse(q["filters"].FirstOrDefault()).Validate(BuildPruneFilters);
        if (q["keep-storage"].FirstOrDefault() is { Length: > 0 } keep && !long.TryParse(keep, out _))
            throw Core.BerthException.Invalid($"keep-storage is in bytes and expects an integer, got {keep}");
        return HttpJson.Write(ctx, new Berth.Api.Images.BuildCachePruneReport(), Berth.Api.Images.ImagesApiJsonContext.Api.BuildCachePruneReport);
    }

    private static readonly byte[] Ok = "OK"u8.ToArray();

    /// <summary>GET and HEAD /_ping: "OK" as text/plain, never cached (HEAD: Content-Length 0, no body, as dockerd).</summary>
    public static Task Ping(HttpContext ctx)
    {
        IHeaderDictionary h = ctx.Response.Headers;
        h.CacheControl = "no-cache, no-store, must-revalidate";
        h.Pragma = "no-cache";
        ctx.Response.ContentType = "text/plain; charset=utf-8";
        if (HttpMethods.IsHead(ctx.Request.Method))
        {
            ctx.Response.ContentLength = 0;
            return Task.CompletedTask;
        }
        ctx.Response.ContentLength = Ok.Length;
        return ctx.Response.Body.WriteAsync(Ok, ctx.RequestAborted).AsTask();
    }
}
