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
        host.LogConfig ??= new LogConfig();
        host.RestartPolicy ??= new RestartPolicy();
        host.ConsoleSize ??= [0, 0];
        if (!string.IsNullOrEmpty(host.Runtime) && host.Runtime != runtimeName)
            throw BerthException.Invalid($"HostConfig.Runtime: the runtime \"{host.Runtime}\" is not this daemon's ({runtimeName}): per-container runtimes are not implemented in Berth yet");
        host.Runtime = runtimeName;
        var config = b.ToConfig();
        Normalize(config, host);
        return new CreateInput { Name = name, Config = config, HostConfig = host, NetworkingConfig = b.NetworkingConfig, Platform = platform };
    }

    /// <summary>JSON null for a Go string leaves it empty: the same here.</summary>
    private static void Normalize(ContainerConfig c, HostConfig h)
    {
        c.Hostname ??= ""; c.Domainname ??= ""; c.User ??= ""; c.Image ??= ""; c.WorkingDir ??= "";
        h.ContainerIDFile ??= ""; h.NetworkMode ??= ""; h.VolumeDriver ??= ""; h.CgroupnsMode ??= ""; h.IpcMode ??= "";
        h.Cgroup ??= ""; h.PidMode ??= ""; h.UTSMode ??= ""; h.UsernsMode ??= ""; h.Isolation ??= ""; h.CgroupParent ??= "";
        h.CpusetCpus ??= ""; h.CpusetMems ??= ""; h.LogConfig.Type ??= ""; h.RestartPolicy.Name ??= "";
        if (c.Env?.Any(e => e is null) == true) throw BerthException.Invalid("Config.Env: null is not a string");
        if (c.Cmd?.Any(e => e is null) == true) throw BerthException.Invalid("Config.Cmd: null is not a string");
        if (c.Entrypoint?.Any(e => e is null) == true) throw BerthException.Invalid("Config.Entrypoint: null is not a string");
    }
}
