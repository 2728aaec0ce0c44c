using Berth.Core;
using Berth.Engine.Backends;

namespace Berth.Daemon.Routers.Containers;

/// <summary>docker cp: HEAD, GET and PUT /containers/{id}/archive?path= (docs/design/operations.md, "cp").</summary>
public static partial class ContainersRouter
{
    private const string PathStatHeader = "X-Docker-Container-Path-Stat";

    private static void MapArchive(IEndpointRouteBuilder app, Func<IContainerBackend> engine)
    {
        app.MapMethods("/containers/{id}/archive", ["HEAD"], async ctx =>
        {
            var stat = await engine().ArchiveStatAsync(Id(ctx), ArchivePath(ctx));
            ctx.Response.Headers[PathStatHeader] = stat.ToHeader();
            ctx.Response.StatusCode = StatusCodes.Status200OK;
        });
        app.MapGet("/containers/{id}/archive", ctx => engine().ArchiveGetAsync(Id(ctx), ArchivePath(ctx), stat =>
        {
            ctx.Response.StatusCode = StatusCodes.Status200OK;
            ctx.Response.ContentType = "application/x-tar";
            ctx.Response.Headers[PathStatHeader] = stat.ToHeader();
            return ctx.Response.Body;
        }, ctx.RequestAborted));
        app.MapPut("/containers/{id}/archive", async ctx =>
        {
            await engine().ArchivePutAsync(Id(ctx), ArchivePath(ctx), ctx.Request.Body,
                Flag(ctx, "noOverwriteDirNonDir"), Flag(ctx, "copyUIDGID"), ctx.RequestAborted);
            ctx.Response.StatusCode = StatusCodes.Status200OK;
        });
    }

    /// <summary>The path query parameter (dockerd's ArchiveFormValues: "Path cannot be empty", 400).</summary>
    private static string ArchivePath(HttpContext ctx) =>
        ctx.Request.Query["path"].FirstOrDefault() is { Length: > 0 } p ? p : throw BerthException.Invalid("Path cannot be empty");
}
