using System.Net;
using System.Text.Json;

namespace Berth.Cli.Commands;

/// <summary>
/// run/create's port flags as the docker CLI sends them (its nat.ParsePortSpecs): -p/--publish
/// `[ip:][hostPort:]containerPort[/proto]` with ranges → Config.ExposedPorts and HostConfig.PortBindings,
/// --expose → Config.ExposedPorts, -P/--publish-all → HostConfig.PublishAllPorts; and `berth port`.
/// </summary>
internal static class RunPortFlags
{
    /// <summary>The bindings of every -p, keyed "80/tcp" (in the order given), and the --expose ports.</summary>
    public static (List<(string Key, string HostIp, string HostPort)> Bindings, List<string> Exposed) Parse(Args a, string cmd)
    {
        CliException Bad(string flag, string value, string why) => new($"invalid argument \"{value}\" for \"{flag}\" flag: {why}\nSee '{cmd} --help'.", 125);
        var bindings = new List<(string, string, string)>();
        var exposed = new List<string>();
        foreach (var spec in a.All("publish"))
        {
            var (proto, rest) = SplitProto(spec);
            var parts = rest.Split(':');
            string ip = "", host = "", container;
            if (parts.Length == 1) container = parts[0];
            else if (parts.Length == 2) (host, container) = (parts[0], parts[1]);
            else (ip, host, container) = (string.Join(':', parts[..^2]), parts[^2], parts[^1]);
            ip = ip.Trim('[', ']');
            if (ip != "" && !IPAddress.TryParse(ip, out _)) throw Bad("-p", spec, $"invalid IP address: {ip}");
            if (container == "") throw Bad("-p", spec, $"no port specified: {spec}<empty>");
            var c = Range(container) ?? throw Bad("-p", spec, $"invalid containerPort: {container}");
            (int First, int Last)? h = host == "" ? null : Range(host) ?? throw Bad("-p", spec, $"invalid hostPort: {host}");
            if (proto is not ("tcp" or "udp" or "sctp")) throw Bad("-p", spec, $"invalid proto: {proto}");
            if (h is { } hr && c.Last > c.First && hr.Last - hr.First != c.Last - c.First)
                throw Bad("-p", spec, $"invalid ranges specified for container and host Ports: {container} and {host}");
            for (int p = c.First; p <= c.Last; p++)
            {
                var hostPort = h is not { } r ? "" : c.Last > c.First ? (r.First + p - c.First).ToString() : host;
                bindings.Add(($"{p}/{proto}", ip, hostPort));
            }
        }
        foreach (var spec in a.All("expose"))
        {
            var (proto, rest) = SplitProto(spec);
            var r = Range(rest) ?? throw Bad("--expose", spec, $"invalid range format for --expose: {spec}, error: invalid port");
            for (int p = r.First; p <= r.Last; p++) exposed.Add($"{p}/{proto}");
        }
        return (bindings, exposed);
    }

    private static (string Proto, string Ports) SplitProto(string s)
    {
        int slash = s.LastIndexOf('/');
        return slash < 0 ? ("tcp", s) : (s[(slash + 1)..].ToLowerInvariant() is { Length: > 0 } p ? p : "tcp", s[..slash]);
    }

    private static (int First, int Last)? Range(string s)
    {
        var dash = s.IndexOf('-');
        if (dash < 0) return int.TryParse(s, out var p) && p is >= 0 and <= 65535 ? (p, p) : null;
        return int.TryParse(s[..dash], out var a) && int.TryParse(s[(dash + 1)..], out var b) && a >= 0 && b >= a && b <= 65535 ? (a, b) : null;
    }

    /// <summary>Config.ExposedPorts: the -p and --expose ports.</summary>
    public static void WriteExposed(Utf8JsonWriter w, List<(string Key, string HostIp, string HostPort)> bindings, List<string> exposed)
    {
        var keys = bindings.Select(b => b.Key).Concat(exposed).Distinct().ToList();
        if (keys.Count == 0) return;
        w.WriteStartObject("ExposedPorts");
        foreach (var k in keys) { w.WriteStartObject(k); w.WriteEndObject(); }
        w.WriteEndObject();
    }

    /// <summary>HostConfig.PortBindings and PublishAllPorts.</summary>
    public static void WriteHost(Utf8JsonWriter w, Args a, List<(string Key, string HostIp, string HostPort)> bindings)
    {
        if (bindings.Count > 0)
        {
            w.WriteStartObject("PortBindings");
            foreach (var g in bindings.GroupBy(b => b.Key))
            {
                w.WriteStartArray(g.Key);
                foreach (var b in g)
                {
                    w.WriteStartObject();
                    w.WriteString("HostIp", b.HostIp);
                    w.WriteString("HostPort", b.HostPort);
                    w.WriteEndObject();
                }
                w.WriteEndArray();
            }
            w.WriteEndObject();
        }
        if (a.Bool("publish-all")) w.WriteBoolean("PublishAllPorts", true);
    }

    /// <summary>berth port CONTAINER [PRIVATE_PORT[/PROTO]]: docker port's lines ("80/tcp -> 0.0.0.0:8080").</summary>
    public static int Port(Invocation inv)
    {
        var a = inv.Args.Positional;
        using var r = inv.Api.Send("GET", $"/containers/{Uri.EscapeDataString(a[0])}/json", null);
        if (r.Status != 200) throw new CliException("Error response from daemon: " + r.ErrorMessage(), 1);
        using var doc = JsonDocument.Parse(r.ReadAll());
        var ports = doc.RootElement.GetProperty("NetworkSettings").GetProperty("Ports");
        static string Addr(JsonElement b)
        {
            var ip = b.GetProperty("HostIp").GetString() ?? "";
            return (ip.Contains(':') ? $"[{ip}]" : ip) + ":" + b.GetProperty("HostPort").GetString();
        }
        if (a.Count > 1)
        {
            var want = a[1].Contains('/') ? a[1] : a[1] + "/tcp";
            if (ports.ValueKind == JsonValueKind.Object && ports.TryGetProperty(want, out var bs) && bs.ValueKind == JsonValueKind.Array && bs.GetArrayLength() > 0)
            {
                foreach (var b in bs.EnumerateArray()) Console.WriteLine(Addr(b));
                return 0;
            }
            throw new CliException($"Error: No public port '{a[1]}' published for {a[0]}", 1);
        }
        if (ports.ValueKind != JsonValueKind.Object) return 0;
        // docker port sorts by port number, then protocol.
        foreach (var p in ports.EnumerateObject().OrderBy(p => int.Parse(p.Name.Split('/')[0])).ThenBy(p => p.Name, StringComparer.Ordinal))
        {
            if (p.Value.ValueKind != JsonValueKind.Array) continue;
            foreach (var b in p.Value.EnumerateArray()) Console.WriteLine($"{p.Name} -> {Addr(b)}");
        }
        return 0;
    }
}
