using System.Text.Json;
using Berth.Core;
using Berth.Engine.Backends;
using Berth.Engine.Networking;
using static Berth.Daemon.Routers.Containers.ContainersRouter;

namespace Berth.Daemon.Routers.Networks;

/// <summary>The network API (Docker 20.10's shapes): list, inspect, create, remove, connect, disconnect, prune.</summary>
public static class NetworksRouter
{
    public static void Map(IEndpointRouteBuilder app, DaemonState state)
    {
        INetworkBackend Engine() => state.Networks ?? throw new BerthException(ErrorKind.Unavailable, "the network controller is not running");
        app.MapGet("/networks", ctx => List(ctx, Engine()));
        app.MapGet("/networks/{id}", ctx => Inspect(ctx, Engine(), Id(ctx)));
        app.MapPost("/networks/create", ctx => Create(ctx, Engine()));
        app.MapDelete("/networks/{id}", ctx =>
        {
            Engine().Remove(Id(ctx));
            ctx.Response.StatusCode = StatusCodes.Status204NoContent;
            return Task.CompletedTask;
        });
        app.MapPost("/networks/{id}/connect", async ctx =>
        {
            using var body = await Body(ctx);
            var root = body.RootElement;
            JsonElement? ep = root.TryGetProperty("EndpointConfig", out var e) && e.ValueKind == JsonValueKind.Object ? e : null;
            await Engine().ConnectAsync(Id(ctx), Str(root, "Container"), ep, ctx.RequestAborted);
            ctx.Response.StatusCode = 200;
        });
        app.MapPost("/networks/{id}/disconnect", async ctx =>
        {
            using var body = await Body(ctx);
            var root = body.RootElement;
            bool force = root.TryGetProperty("Force", out var f) && f.ValueKind == JsonValueKind.True;
            await Engine().DisconnectAsync(Id(ctx), Str(root, "Container"), force, ctx.RequestAborted);
            ctx.Response.StatusCode = 200;
        });
        app.MapPost("/networks/prune", ctx => Prune(ctx, Engine()));
    }

    private static string Id(HttpContext ctx) => (string)ctx.Request.RouteValues["id"]!;

    private static async Task<JsonDocument> Body(HttpContext ctx)
    {
        var ms = new MemoryStream();
        await ctx.Request.Body.CopyToAsync(ms, ctx.RequestAborted);
        if (ms.Length == 0) return JsonDocument.Parse("{}");
        try { return JsonDocument.Parse(ms.GetBuffer().AsMemory(0, (int)ms.Length)); }
        catch (JsonException e) { throw BerthException.Invalid($"invalid JSON: {e.Message}"); }
    }

    private static string Str(JsonElement o, string name) =>
        o.ValueKind == JsonValueKind.Object && o.TryGetProperty(name, out var v) && v.ValueKind == JsonValueKind.String ? v.GetString()! : "";

    private static bool Bool(JsonElement o, string name) =>
        o.ValueKind == JsonValueKind.Object && o.TryGetProperty(name, out var v) && v.ValueKind == JsonValueKind.True;

    private static Dictionary<string, string> Map(JsonElement o, string name)
    {
        var d = new Dictionary<string, string>(StringComparer.Ordinal);
        if (o.ValueKind == JsonValueKind.Object && o.TryGetProperty(name, out var v) && v.ValueKind == JsonValueKind.Object)
            foreach (var p in v.EnumerateObject())
                d[p.Name] = p.Value.ValueKind == JsonValueKind.String ? p.Value.GetString()! : p.Value.GetRawText();
        return d;
    }

    private static async Task Create(HttpContext ctx, INetworkBackend engine)
    {
        using var body = await Body(ctx);
        var r = body.RootElement;
        if (Bool(r, "ConfigOnly") || (r.TryGetProperty("ConfigFrom", out var cf) && cf.ValueKind == JsonValueKind.Object && Str(cf, "Network") != ""))
            throw BerthException.Invalid("ConfigOnly and ConfigFrom: configuration-only networks are not implemented in Berth yet");
        if (Str(r, "Scope") is not ("" or "local")) throw BerthException.Invalid($"Scope: \"{Str(r, "Scope")}\" networks are not implemented in Berth yet");
        var ipam = r.TryGetProperty("IPAM", out var i) && i.ValueKind == JsonValueKind.Object ? i : default;
        var pools = new List<IpamPool>();
        if (ipam.ValueKind == JsonValueKind.Object && ipam.TryGetProperty("Config", out var cfgs) && cfgs.ValueKind == JsonValueKind.Array)
            foreach (var c in cfgs.EnumerateArray())
                pools.Add(new IpamPool { Subnet = Str(c, "Subnet"), IPRange = Str(c, "IPRange"), Gateway = Str(c, "Gateway"), AuxAddress = Map(c, "AuxiliaryAddresses") });
        var n = engine.Create(new NetworkCreateOptions
        {
            Name = Str(r, "Name"), Driver = Str(r, "Driver"), Internal = Bool(r, "Internal"), Attachable = Bool(r, "Attachable"),
            EnableIPv6 = Bool(r, "EnableIPv6"), Ingress = Bool(r, "Ingress"),
            IpamDriver = ipam.ValueKind == JsonValueKind.Object ? Str(ipam, "Driver") : "", IpamOptions = Map(ipam, "Options"),
            IpamConfig = pools, Options = Map(r, "Options"), Labels = Map(r, "Labels"),
        });
        ctx.Response.StatusCode = StatusCodes.Status201Created;
        await WriteJson(ctx, w =>
        {
            w.WriteStartObject();
            w.WriteString("Id", n.Id);
            w.WriteString("Warning", "");
            w.WriteEndObject();
        });
    }

    private static readonly HashSet<string> ListFilters = ["driver", "id", "label", "name", "scope", "type", "dangling"];

    private static async Task List(HttpContext ctx, INetworkBackend engine)
    {
        var f = Berth.Api.FilterArgs.Parse(ctx.Request.Query["filters"].FirstOrDefault());
        f.Validate(ListFilters);
        var list = engine.List().Where(n => Matches(n, f)).ToList();
        await WriteJson(ctx, w =>
        {
            w.WriteStartArray();
            foreach (var n in list) Write(w, n, withContainers: false);
            w.WriteEndArray();
        });
    }

    private static bool Matches(NetworkRecord n, Berth.Api.FilterArgs f)
    {
        if (f.Contains("driver") && !f.Get("driver").Contains(n.Driver)) return false;
        if (f.Contains("id") && !f.Get("id").Any(x => n.Id.StartsWith(x, StringComparison.Ordinal))) return false;
        if (f.Contains("name") && !f.Get("name").Any(x => n.Name.Contains(x, StringComparison.Ordinal))) return false;
        if (f.Contains("scope") && !f.Get("scope").Contains("local")) return false;
        if (f.Contains("label") && !f.MatchKeyValues("label", n.Labels)) return false;
        if (f.Contains("type"))
        {
            foreach (var t in f.Get("type"))
                if (t is not ("custom" or "builtin")) throw BerthException.Invalid($"invalid filter: 'type'='{t}'");
            if (!f.Get("type").Contains(n.Predefined ? "builtin" : "custom")) return false;
        }
        if (f.Contains("dangling"))
        {
            var v = f.Get("dangling");
            bool want = v.Contains("true") || v.Contains("1");
            if (!v.All(x => x is "true" or "false" or "1" or "0")) throw BerthException.Invalid($"invalid filter 'dangling={v[0]}'");
            bool dangling = !n.Predefined && n.Endpoints.Count == 0;
            if (want != dangling) return false;
        }
        return true;
    }

    private static async Task Inspect(HttpContext ctx, INetworkBackend engine, string id)
    {
        var n = engine.Get(id);
        await WriteJson(ctx, w => Write(w, n, withContainers: true));
    }

    private static async Task Prune(HttpContext ctx, INetworkBackend engine)
    {
        var f = Berth.Api.FilterArgs.Parse(ctx.Request.Query["filters"].FirstOrDefault());
        f.Validate(new HashSet<string> { "label", "label!", "until" });
        DateTime? until = null;
        if (f.Contains("until"))
        {
            var u = f.Get("until")[0];
            until = long.TryParse(u, out var secs) ? DateTimeOffset.FromUnixTimeSeconds(secs).UtcDateTime
                  : GoDuration(u) is { } d ? DateTime.UtcNow - d
                  : DateTime.TryParse(u, null, global::System.Globalization.DateTimeStyles.AdjustToUniversal, out var t) ? t
                  : throw BerthException.Invalid($"failed to parse value of until filter: {u}");
        }
        var removed = engine.Prune(n =>
            (!f.Contains("label") || f.MatchKeyValues("label", n.Labels))
            && (!f.Contains("label!") || !f.MatchKeyValues("label!", n.Labels))
            && (until is null || n.Created < until));
        await WriteJson(ctx, w =>
        {
            w.WriteStartObject();
            w.WriteStartArray("NetworksDeleted");
            foreach (var name in removed) w.WriteStringValue(name);
            w.WriteEndArray();
            w.WriteEndObject();
        });
    }

    /// <summary>A Go duration of one unit ("24h", "30m", "10s"), or null.</summary>
    private static TimeSpan? GoDuration(string s)
    {
        if (s.Length < 2 || !double.TryParse(s[..^1], global::System.Globalization.NumberStyles.Float, global::System.Globalization.CultureInfo.InvariantCulture, out var v)) return null;
        return s[^1] switch { 'h' => TimeSpan.FromHours(v), 'm' => TimeSpan.FromMinutes(v), 's' => TimeSpan.FromSeconds(v), _ => null };
    }

    /// <summary>A network as dockerd's network inspect (and list, without Containers) writes it.</summary>
    public static void Write(Utf8JsonWriter w, NetworkRecord n, bool withContainers)
    {
        w.WriteStartObject();
        w.WriteString("Name", n.Name);
        w.WriteString("Id", n.Id);
        w.WriteString("Created", n.Created.ToLocalTime().ToString("yyyy-MM-ddTHH:mm:ss.fffffffzzz"));
        w.WriteString("Scope", "local");
        w.WriteString("Driver", n.Driver);
        w.WriteBoolean("EnableIPv6", false);
        w.WriteStartObject("IPAM");
        w.WriteString("Driver", "default");
        if (n.Predefined) w.WriteNull("Options");
        else
        {
            w.WriteStartObject("Options");
            w.WriteEndObject();
        }
        w.WriteStartArray("Config");
        if (n.Subnet != "")
        {
            w.WriteStartObject();
            w.WriteString("Subnet", n.Subnet);
            if (n.IPRange != "") w.WriteString("IPRange", n.IPRange);
            w.WriteString("Gateway", n.Gateway);
            if (n.AuxAddresses.Count > 0)
            {
                w.WriteStartObject("AuxiliaryAddresses");
                foreach (var (k, v) in n.AuxAddresses) w.WriteString(k, v);
                w.WriteEndObject();
            }
            w.WriteEndObject();
        }
        w.WriteEndArray();
        w.WriteEndObject();
        w.WriteBoolean("Internal", n.Internal);
        w.WriteBoolean("Attachable", n.Attachable);
        w.WriteBoolean("Ingress", false);
        w.WriteStartObject("ConfigFrom");
        w.WriteString("Network", "");
        w.WriteEndObject();
        w.WriteBoolean("ConfigOnly", false);
        w.WriteStartObject("Containers");
        if (withContainers)
        {
            var prefix = Cidr.TryParse(n.Subnet)?.Prefix ?? 0;
            foreach (var e in n.Endpoints.Values.OrderBy(e => e.ContainerId, StringComparer.Ordinal))
            {
                w.WriteStartObject(e.ContainerId);
                w.WriteString("Name", e.ContainerName);
                w.WriteString("EndpointID", e.Id);
                w.WriteString("MacAddress", e.MacAddress);
                w.WriteString("IPv4Address", $"{e.IPAddress}/{prefix}");
                w.WriteString("IPv6Address", "");
                w.WriteEndObject();
            }
        }
        w.WriteEndObject();
        w.WriteStartObject("Options");
        foreach (var (k, v) in n.Options) w.WriteString(k, v);
        w.WriteEndObject();
        w.WriteStartObject("Labels");
        foreach (var (k, v) in n.Labels) w.WriteString(k, v);
        w.WriteEndObject();
        w.WriteEndObject();
    }
}
