using Berth.Api.Containers;
using Berth.Core;
using Berth.Engine.Containers;

namespace Berth.Daemon.Routers.Containers;

/// <summary>POST /containers/create: the body read strictly into Docker's types (<see cref="CreateBodyParser"/>),
/// the query's name and platform.</summary>
public static class CreateRequest
{
    public static CreateInput Parse(ReadOnlySpan<byte> body, string? name, string? platform, string runtimeName)
    {
        var b = CreateBodyParser.Parse(body);
        var host = b.HostConfig ?? new HostConfig();
        if (!string.IsNullOrEmpty(host.Runtime) && host.Runtime != runtimeName)
            throw BerthException.Invalid($"HostConfig.Runtime: the runtime \"{host.Runtime}\" is not this daemon's ({runtimeName}): per-container runtimes are not implemented in Berth yet");
        host.Runtime = runtimeName;
        var config = b.ToConfig();
        return new CreateInput { Name = name, Config = config, HostConfig = host, NetworkingConfig = b.NetworkingConfig, Platform = platform };
    }
}
