using Berth.Daemon.Server;

namespace Berth.Daemon.Routers.System;

/// <summary>Routes of the system group: ping, version, info, events.</summary>
public static class SystemRouter
{
    public static void Map(IEndpointRouteBuilder app, DaemonState state)
    {
        app.MapMethods("/_ping", [HttpMethods.Get, HttpMethods.Head], Ping);
        app.MapGet("/version", ctx => HttpJson.Write(ctx, VersionHandler.Build(), ApiJsonContext.Api.SystemVersion));
        app.MapGet("/info", ctx => HttpJson.Write(ctx, InfoHandler.Build(state), ApiJsonContext.Api.SystemInfo));
        app.MapGet("/events", ctx => EventsHandler.Handle(ctx, state.Events));
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
