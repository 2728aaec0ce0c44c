using Microsoft.Net.Http.Headers;

namespace Berth.Daemon.Server;

/// <summary>The one place API versions are handled. Strips a <c>/vX.Y</c> prefix (routes are registered
/// unversioned), records the version for handlers, rejects versions outside [Min, Max] as dockerd does, and puts
/// the daemon's identity headers on every response.</summary>
public sealed class VersionMiddleware(RequestDelegate next)
{
    public const string ServerHeader = "Berth/" + BuildInfo.Version + " (linux)";

    public Task InvokeAsync(HttpContext ctx)
    {
        IHeaderDictionary h = ctx.Response.Headers;
        h["Api-Version"] = ApiVersions.Max;
        h["Ostype"] = "linux";
        h["Docker-Experimental"] = "false";
        h[HeaderNames.Server] = ServerHeader;

        if (DaemonLog.Logger.IsEnabled(LogLevel.Debug))
            DaemonLog.Logger.ApiCall(ctx.Request.Method, ctx.Request.Path.ToString() + ctx.Request.QueryString.ToString());
        ApiVersion version = ApiVersions.MaxVersion;
        string path = ctx.Request.Path.Value ?? "/";
        if (TrySplitVersion(path, out ApiVersion requested, out string rest))
        {
            if (requested > ApiVersions.MaxVersion)
                return ErrorMapping.WriteError(ctx, StatusCodes.Status400BadRequest,
                    $"client version {requested} is too new. Maximum supported API version is {ApiVersions.Max}");
            if (requested < ApiVersions.MinVersion)
                return ErrorMapping.WritePlain(ctx, StatusCodes.Status400BadRequest,
                    $"client version {requested} is too old. Minimum supported API version is {ApiVersions.Min}, please upgrade your client to a newer version");
            version = requested;
            ctx.Request.PathBase = ctx.Request.PathBase.Add(path[..(path.Length - rest.Length)]);
            ctx.Request.Path = rest;
        }
        ctx.Features.Set(new ApiVersionFeature(version));
        return next(ctx);
    }

    /// <summary>"/v1.41/containers/json" → 1.41 and "/containers/json". Paths not of that form are unversioned.</summary>
    public static bool TrySplitVersion(string path, out ApiVersion version, out string rest)
    {
        version = default;
        rest = path;
        if (path.Length < 5 || path[0] != '/' || path[1] != 'v') return false;
        int slash = path.IndexOf('/', 2);
        ReadOnlySpan<char> v = slash < 0 ? path.AsSpan(2) : path.AsSpan(2, slash - 2);
        if (!ApiVersion.TryParse(v, out version)) return false;
        rest = slash < 0 ? "/" : path[slash..];
        return true;
    }
}
