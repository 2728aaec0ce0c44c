using Berth.Core;

namespace Berth.Daemon.Routers.Networks;

/// <summary>
/// Networks are not implemented yet: there are none, so one asked for by name is not found (the docker CLI's
/// untyped inspect asks here after containers and images); every other network endpoint is a 501.
/// </summary>
public static class NetworksRouter
{
    public static void Map(IEndpointRouteBuilder app) =>
        app.MapGet("/networks/{id}", ctx => throw BerthException.NotFound($"network {(string)ctx.Request.RouteValues["id"]!} not found"));
}
