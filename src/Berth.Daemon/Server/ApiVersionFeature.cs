namespace Berth.Daemon.Server;

/// <summary>The API version a request is served at: from its <c>/vX.Y</c> prefix, or the default.</summary>
public sealed class ApiVersionFeature(ApiVersion version)
{
    public ApiVersion Version { get; } = version;
}

public static class ApiVersionHttpContextExtensions
{
    public static ApiVersion ApiVersion(this HttpContext ctx) =>
        ctx.Features.Get<ApiVersionFeature>()?.Version ?? ApiVersions.MaxVersion;
}
