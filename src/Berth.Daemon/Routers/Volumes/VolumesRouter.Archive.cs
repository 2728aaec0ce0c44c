using Berth.Engine.Volumes;

namespace Berth.Daemon.Routers.Volumes;

/// <summary>
/// GET /volumes/{name}/export and POST /volumes/{name}/import (beyond Docker; Podman's `volume export/import`):
/// the HTTP side of <see cref="VolumeArchive"/>. The caller (the volumes router) resolves the volume and passes the
/// directory holding its data: for a `local` volume with mount options or a plugin volume, it mounts the volume
/// first (IVolumes.Mount with an id of its own, e.g. "export-&lt;random&gt;") and unmounts it after the handler
/// returns, so that the archive is of the mounted data and not of the empty _data directory under it.
/// </summary>
public static class VolumeArchiveHandlers
{
    /// <summary>200 with the PAX tar of <paramref name="dataDir"/> as application/x-tar, streamed.</summary>
    public static async Task Export(HttpContext ctx, string dataDir)
    {
        ctx.Response.StatusCode = 200;
        ctx.Response.ContentType = "application/x-tar";
        await ctx.Response.StartAsync(ctx.RequestAborted);
        await VolumeArchive.ExportAsync(dataDir, ctx.Response.Body, ctx.RequestAborted);
    }

    /// <summary>Unpacks the request body (a tar, plain or gzip) into <paramref name="dataDir"/>; 204 when done, 400 for
    /// an archive that is not a tar or has an entry leaving the volume (InvalidParameter from VolumeArchive).</summary>
    public static async Task Import(HttpContext ctx, string dataDir)
    {
        await VolumeArchive.ImportAsync(ctx.Request.Body, dataDir, ctx.RequestAborted);
        ctx.Response.StatusCode = 204;
    }
}
