using System.Text.Json;
using Berth.Api;
using Berth.Api.Volumes;
using Berth.Core;
using Berth.Daemon.Server;
using Berth.Engine.Backends;

namespace Berth.Daemon.Routers.Volumes;

/// <summary>Volume routes over <see cref="IVolumeBackend"/> (moby's router/volume, API v1.41): create, list,
/// inspect, remove, prune; and Berth's export and import of a volume's data as a tar.</summary>
public static class VolumesRouter
{
    public static void Map(IEndpointRouteBuilder app, DaemonState state)
    {
        IVolumeBackend Backend() => state.Volumes ?? throw new BerthException(ErrorKind.Unavailable, "the volume store is not running");
        app.MapPost("/volumes/create", ctx => Create(ctx, Backend()));
        app.MapGet("/volumes", ctx =>
        {
            var list = Backend().List(FilterArgs.Parse(ctx.Request.Query["filters"].FirstOrDefault()));
            return HttpJson.Write(ctx, new VolumeListResponse { Volumes = [.. list] }, VolumesApiJsonContext.Api.VolumeListResponse);
        });
        app.MapPost("/volumes/prune", ctx =>
        {
            var report = Backend().Prune(FilterArgs.Parse(ctx.Request.Query["filters"].FirstOrDefault()));
            return HttpJson.Write(ctx, report, VolumesApiJsonContext.Api.VolumesPruneReport);
        });
        app.MapGet("/volumes/{name}", ctx => HttpJson.Write(ctx, Backend().Inspect(Name(ctx)), VolumesApiJsonContext.Api.Volume));
        app.MapDelete("/volumes/{name}", ctx =>
        {
            bool force = ctx.Request.Query["force"].FirstOrDefault() is "1" or "true" or "True";
            Backend().Remove(Name(ctx), force);
            ctx.Response.StatusCode = StatusCodes.Status204NoContent;
            return Task.CompletedTask;
        });
        // Berth extensions (Podman's volume export/import): see VolumesRouter.Archive.cs.
        app.MapGet("/volumes/{name}/export", ctx => WithData(ctx, Backend(), dir => VolumeArchiveHandlers.Export(ctx, dir)));
        app.MapPost("/volumes/{name}/import", ctx => WithData(ctx, Backend(), dir => VolumeArchiveHandlers.Import(ctx, dir)));
    }

    /// <summary>Runs <paramref name="handler"/> on the directory holding the volume's data. A `local` volume with
    /// options or a plugin volume is mounted around the call with an id of the router's own (so that the archive is
    /// of the mounted data, and the volume counts as in use meanwhile).</summary>
    private static async Task WithData(HttpContext ctx, IVolumeBackend backend, Func<string, Task> handler)
    {
        var volumes = backend as Engine.Volumes.IVolumes
            ?? throw new BerthException(ErrorKind.Unavailable, "the volume store cannot mount volumes");
        var name = Name(ctx);
        var v = volumes.Get(name);
        bool mount = v.Driver != Engine.Volumes.LocalVolumeDriver.DriverName || v.Options.Count > 0;
        if (!mount)
        {
            await handler(v.Mountpoint);
            return;
        }
        var id = "archive-" + Convert.ToHexStringLower(global::System.Security.Cryptography.RandomNumberGenerator.GetBytes(16));
        var dir = volumes.Mount(name, id);
        try { await handler(dir); }
        finally { volumes.Unmount(name, id); }
    }

    private static string Name(HttpContext ctx) => (string)ctx.Request.RouteValues["name"]!;

    private static async Task Create(HttpContext ctx, IVolumeBackend volumes)
    {
        var ms = new MemoryStream();
        await ctx.Request.Body.CopyToAsync(ms, ctx.RequestAborted);
        if (ms.Length == 0) throw BerthException.Invalid("got EOF while reading request body");
        VolumeCreateBody body;
        try
        {
            body = JsonSerializer.Deserialize(ms.GetBuffer().AsSpan(0, (int)ms.Length), VolumesApiJsonContext.Api.VolumeCreateBody)
                   ?? throw BerthException.Invalid("got EOF while reading request body");
        }
        catch (JsonException e)
        {
            throw BerthException.Invalid(e.Message);
        }
        var volume = volumes.Create(body.Name, body.Driver, body.DriverOpts, body.Labels);
        ctx.Response.StatusCode = StatusCodes.Status201Created;
        await HttpJson.Write(ctx, volume, VolumesApiJsonContext.Api.Volume);
    }
}
