namespace Berth.Daemon.Server;

/// <summary>
/// Docker's Engine API v1.41 endpoints (generated from its OpenAPI file: method, path template, operation). A
/// request that no route of Berth's took but that is one of these answers 501 "&lt;operation&gt; is not
/// implemented in Berth yet"; anything else is 404 "page not found", as dockerd.
/// </summary>
public static class Unimplemented
{
    private sealed record Endpoint(string Method, string Template, string Operation)
    {
        public readonly string[] Segments = Template.Trim('/').Split('/');
    }

    private static readonly Endpoint[] Endpoints =
    [
        new("GET", "/containers/json", "container list"),
        new("POST", "/containers/create", "container create"),
        new("GET", "/containers/{id}/json", "container inspect"),
        new("GET", "/containers/{id}/logs", "container logs"),
        new("POST", "/containers/{id}/resize", "container resize"),
        new("POST", "/containers/{id}/start", "container start"),
        new("POST", "/containers/{id}/stop", "container stop"),
        new("POST", "/containers/{id}/restart", "container restart"),
        new("POST", "/containers/{id}/kill", "container kill"),
        new("POST", "/containers/{id}/attach", "container attach"),
        new("GET", "/containers/{id}/attach/ws", "container attach websocket"),
        new("POST", "/containers/{id}/wait", "container wait"),
        new("DELETE", "/containers/{id}", "container delete"),
        new("GET", "/images/json", "image list"),
        new("POST", "/build", "image build"),
        new("POST", "/images/create", "image create"),
        new("GET", "/images/{name}/json", "image inspect"),
        new("POST", "/images/{name}/push", "image push"),
        new("POST", "/images/{name}/tag", "image tag"),
        new("DELETE", "/images/{name}", "image delete"),
        new("GET", "/images/search", "image search"),
        new("POST", "/auth", "system auth"),
        new("GET", "/info", "system info"),
        new("GET", "/version", "system version"),
        new("GET", "/_ping", "system ping"),
        new("HEAD", "/_ping", "system ping head"),
        new("GET", "/plugins", "plugin list"),
        new("GET", "/plugins/privileges", "get plugin privileges"),
        new("POST", "/plugins/pull", "plugin pull"),
        new("GET", "/plugins/{name}/json", "plugin inspect"),
        new("DELETE", "/plugins/{name}", "plugin delete"),
        new("POST", "/plugins/{name}/enable", "plugin enable"),
        new("POST", "/plugins/{name}/disable", "plugin disable"),
        new("POST", "/plugins/{name}/upgrade", "plugin upgrade"),
        new("POST", "/plugins/create", "plugin create"),
        new("POST", "/plugins/{name}/push", "plugin push"),
        new("POST", "/plugins/{name}/set", "plugin set"),
        new("GET", "/nodes", "node list"),
        new("GET", "/nodes/{id}", "node inspect"),
        new("DELETE", "/nodes/{id}", "node delete"),
        new("POST", "/nodes/{id}/update", "node update"),
        new("GET", "/swarm", "swarm inspect"),
        new("POST", "/swarm/init", "swarm init"),
        new("POST", "/swarm/join", "swarm join"),
        new("POST", "/swarm/leave", "swarm leave"),
        new("POST", "/swarm/update", "swarm update"),
        new("GET", "/swarm/unlockkey", "swarm unlockkey"),
        new("POST", "/swarm/unlock", "swarm unlock"),
        new("GET", "/services", "service list"),
        new("POST", "/services/create", "service create"),
        new("GET", "/services/{id}", "service inspect"),
        new("DELETE", "/services/{id}", "service delete"),
        new("POST", "/services/{id}/update", "service update"),
        new("GET", "/services/{id}/logs", "service logs"),
        new("GET", "/tasks", "task list"),
        new("GET", "/tasks/{id}", "task inspect"),
        new("GET", "/tasks/{id}/logs", "task logs"),
        new("GET", "/secrets", "secret list"),
        new("POST", "/secrets/create", "secret create"),
        new("GET", "/secrets/{id}", "secret inspect"),
        new("DELETE", "/secrets/{id}", "secret delete"),
        new("POST", "/secrets/{id}/update", "secret update"),
        new("GET", "/configs", "config list"),
        new("POST", "/configs/create", "config create"),
        new("GET", "/configs/{id}", "config inspect"),
        new("DELETE", "/configs/{id}", "config delete"),
        new("POST", "/configs/{id}/update", "config update"),
        new("GET", "/distribution/{name}/json", "distribution inspect"),
        new("POST", "/session", "session"),
    ];

    /// <summary>The operation a method and path (without the version prefix) name, or null.</summary>
    public static string? Operation(string method, string path)
    {
        var segs = path.Trim('/').Split('/');
        foreach (var e in Endpoints)
        {
            if (e.Method != method && !(method == "HEAD" && e.Method == "GET")) continue;
            if (Matches(e.Segments, segs)) return e.Operation;
        }
        return null;
    }

    /// <summary>{name} of an image may hold '/' (registry/namespace/repo): it takes as many segments as it must.</summary>
    private static bool Matches(string[] t, string[] p)
    {
        if (t.Length == p.Length) return t.Zip(p).All(x => x.First.StartsWith('{') ? x.Second.Length > 0 : x.First == x.Second);
        int wild = Array.FindIndex(t, s => s == "{name}");
        if (wild < 0 || p.Length < t.Length || t[0] != "images" && t[0] != "distribution" && t[0] != "plugins") return false;
        int extra = p.Length - t.Length;
        for (int i = 0; i < wild; i++) if (!(t[i].StartsWith('{') || t[i] == p[i])) return false;
        for (int i = wild + 1; i < t.Length; i++) if (!(t[i].StartsWith('{') || t[i] == p[i + extra])) return false;
        return true;
    }

    /// <summary>Terminal handler: no route matched.</summary>
    public static Task Handle(HttpContext ctx)
    {
        // Berth has no plugins: one asked for by name is not found (the CLI's untyped inspect asks).
        if (HttpMethods.IsGet(ctx.Request.Method) && ctx.Request.Path.Value is { } p && p.StartsWith("/plugins/", StringComparison.Ordinal)
            && p.EndsWith("/json", StringComparison.Ordinal) && p.Length > "/plugins//json".Length)
            return ErrorMapping.WriteError(ctx, StatusCodes.Status404NotFound, $"plugin {p["/plugins/".Length..^"/json".Length]} found");
        if (Operation(ctx.Request.Method, ctx.Request.Path.Value ?? "/") is { } op)
            return ErrorMapping.WriteError(ctx, StatusCodes.Status501NotImplemented, $"{op} is not implemented in Berth yet");
        return ErrorMapping.NotFound(ctx);
    }
}
