using Berth.Engine.Backends;

namespace Berth.Daemon.Routers.Containers;

/// <summary>docker diff, export and container prune (docs/design/operations.md, "diff, export, prune").</summary>
public static partial class ContainersRouter
{
    private static void MapChanges(IEndpointRouteBuilder app, Func<IContainerBackend> engine)
    {
        app.MapGet("/containers/{id}/changes", async ctx =>
        {
            var changes = engine().Changes(Id(ctx));
            await WriteJson(ctx, w =>
            {
                w.WriteStartArray();
                foreach (var ch in changes)
                {
                    w.WriteStartObject();
                    w.WriteString("Path", ch.Path);
                    w.WriteNumber("Kind", ch.Kind);
                    w.WriteEndObject();
                }
                w.WriteEndArray();
            });
        });
        app.MapGet("/containers/{id}/export", ctx => engine().ExportAsync(Id(ctx), () =>
        {
            ctx.Response.StatusCode = StatusCodes.Status200OK;
            ctx.Response.ContentType = "application/x-tar";
            return ctx.Response.Body;
        }, ctx.RequestAborted));
        app.MapPost("/containers/prune", async ctx =>
        {
            var result = await engine().PruneAsync(Berth.Api.FilterArgs.Parse(ctx.Request.Query["filters"].FirstOrDefault()), ctx.RequestAborted);
            await WriteJson(ctx, w =>
            {
                w.WriteStartObject();
                if (result.Deleted.Count == 0) w.WriteNull("ContainersDeleted");
                else
                {
                    w.WriteStartArray("ContainersDeleted");
                    foreach (var id in result.Deleted) w.WriteStringValue(id);
                    w.WriteEndArray();
                }
                w.WriteNumber("SpaceReclaimed", result.SpaceReclaimed);
                w.WriteEndObject();
            });
        });
    }
}
