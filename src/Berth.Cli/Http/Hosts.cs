namespace Berth.Cli.Http;

/// <summary>Where the daemon is: -H, then DOCKER_HOST, then BERTH_HOST, then /run/berth.sock. The calls
/// themselves go through Berth.Client's EngineClient.</summary>
internal static class Hosts
{
    public static string SocketFromEnvironment(string? host)
    {
        host ??= Environment.GetEnvironmentVariable("DOCKER_HOST") is { Length: > 0 } d ? d
               : Environment.GetEnvironmentVariable("BERTH_HOST") is { Length: > 0 } b ? b : "unix:///run/berth.sock";
        if (!host.StartsWith("unix://", StringComparison.Ordinal))
            throw new CliException($"unsupported host {host}: only unix:// sockets", 125);
        return host["unix://".Length..];
    }
}
