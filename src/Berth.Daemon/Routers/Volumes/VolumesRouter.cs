using Berth.Core;

namespace Berth.Daemon.Routers.Volumes;

/// <summary>
/// Volumes are not implemented yet: there are none, so one asked for by name is not found (the docker CLI's
/// untyped inspect asks here); every other volume endpoint is a 501.
/// </summary>
public static class VolumesRouter
{
    public static void Map(IEndpointRouteBuilder app) =>
        app.MapGet("/volumes/{name}", ctx => throw BerthException.NotFound($"get {(string)ctx.Request.RouteValues["name"]!}: no such volume"));
}
