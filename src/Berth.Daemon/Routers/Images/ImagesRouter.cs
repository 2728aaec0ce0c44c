using System.Text.Json;
using Berth.Api.Images;
using Berth.Core;
using Berth.Daemon.Server;
using Berth.Engine.Backends;
using Berth.Images;
using Microsoft.AspNetCore.Http.Features;

namespace Berth.Daemon.Routers.Images;

/// <summary>Image routes over <see cref="IImageBackend"/>: list, inspect, import (docker import: POST /images/create?fromSrc=-), pull (fromImage: PullRoute), tag, remove, prune.</summary>
public static class ImagesRouter
{
    public static void Map(IEndpointRouteBuilder app, DaemonState state)
    {
        IImageBackend Backend() => state.Images ?? throw new BerthException(ErrorKind.Unavailable, "the image store is not running");
        app.MapGet("/images/json", ctx => HttpJson.Write(ctx, Backend().List().ToList(), ImagesApiJsonContext.Api.ListImageSummary));
        app.MapPost("/images/create", ctx => Create(ctx, Backend()));
        app.MapPost("/images/prune", ctx =>
            HttpJson.Write(ctx, Backend().Prune(Berth.Api.FilterArgs.Parse(ctx.Request.Query["filters"].FirstOrDefault())), ImagesApiJsonContext.Api.ImagesPruneReport));
        ImageArchiveRoutes.Map(app, Backend);
        CommitRoute.Map(app, state);
        // Names contain '/' and ':' (localhost:5000/a/b:tag): one catch-all route, the action is the last segment.
        app.MapMethods("/images/{**rest}", [HttpMethods.Get, HttpMethods.Post, HttpMethods.Delete], ctx => Named(ctx, Backend()));
    }

    private static async Task Named(HttpContext ctx, IImageBackend images)
    {
        var rest = (string)ctx.Request.RouteValues["rest"]!;
        var method = ctx.Request.Method;
        if (HttpMethods.IsGet(method) && rest.EndsWith("/json", StringComparison.Ordinal))
        {
            await HttpJson.Write(ctx, images.Inspect(rest[..^5]), ImagesApiJsonContext.Api.ImageInspect);
            return;
        }
        if (HttpMethods.IsGet(method) && rest.EndsWith("/history", StringComparison.Ordinal))
        {
            await HttpJson.Write(ctx, images.History(rest[..^8]), ImagesApiJsonContext.Api.ListHistoryResponseItem);
            return;
        }
        if (HttpMethods.IsGet(method) && rest.EndsWith("/get", StringComparison.Ordinal))
        {
            await ImageArchiveRoutes.Save(ctx, images, [rest[..^4]]);
            return;
        }
        if (HttpMethods.IsPost(method) && rest.EndsWith("/tag", StringComparison.Ordinal))
        {
            var repo = ctx.Request.Query["repo"].FirstOrDefault() ?? throw BerthException.Invalid("repository name must be given");
            images.Tag(rest[..^4], repo, ctx.Request.Query["tag"].FirstOrDefault());
            ctx.Response.StatusCode = StatusCodes.Status201Created;
            return;
        }
        if (HttpMethods.IsDelete(method))
        {
            bool force = ctx.Request.Query["force"].FirstOrDefault() is "1" or "true";
            var deleted = images.Remove(rest, force);
            await HttpJson.Write(ctx, deleted.ToList(), ImagesApiJsonContext.Api.ListImageDeleteItem);
            return;
        }
        await Unimplemented.Handle(ctx); // e.g. /images/{name}/history: 501; anything else: 404
    }

    /// <summary>docker import (fromSrc=-): the body is a rootfs tar; progress-stream answer with the image id.</summary>
    private static async Task Create(HttpContext ctx, IImageBackend images)
    {
        var q = ctx.Request.Query;
        if (q["fromSrc"].FirstOrDefault() is not { } src)
        {
            await PullRoute.Handle(ctx, images, q["fromImage"].FirstOrDefault() ?? throw BerthException.Invalid("fromImage or fromSrc must be given"));
            return;
        }
        if (src != "-") throw new BerthException(ErrorKind.NotImplemented, "image import from a URL is not implemented in Berth yet: use fromSrc=- (docker import FILE)");
        var repo = q["repo"].FirstOrDefault();
        var tag = q["tag"].FirstOrDefault();
        string? repoTag = string.IsNullOrEmpty(repo) ? null : string.IsNullOrEmpty(tag) ? repo : $"{repo}:{tag}";
        var changes = q["changes"].Count > 0 ? ImageConfigChangesParser.Parse(q["changes"].Select(s => s ?? ""), q["message"].FirstOrDefault()) : null;
        // The tar is unpacked as it arrives: nothing is staged outside the layer store, whose ingest directory
        // is deleted when the import fails or is cut off, and (after a crash) when the store next opens.
        // The unpacker reads synchronously: it runs on a pool thread, off the request's.
        if (ctx.Features.Get<IHttpBodyControlFeature>() is { } body) body.AllowSynchronousIO = true;
        Stream upload = ctx.Request.Body;
        string id = await Task.Run(() => images.Import(upload, repoTag, changes), ctx.RequestAborted);
        ctx.Response.ContentType = "application/json";
        var ms = new MemoryStream();
        using (var w = new Utf8JsonWriter(ms, new JsonWriterOptions { Encoder = global::System.Text.Encodings.Web.JavaScriptEncoder.UnsafeRelaxedJsonEscaping }))
        {
            w.WriteStartObject();
            w.WriteString("status", id);
            w.WriteEndObject();
        }
        ms.Write("\r\n"u8);
        await ctx.Response.Body.WriteAsync(ms.ToArray(), ctx.RequestAborted);
    }
}
