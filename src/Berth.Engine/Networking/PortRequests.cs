using Berth.Api.Containers;
using Berth.Core;

namespace Berth.Engine.Networking;

/// <summary>One binding asked for: a container port published on a host address and a host port or range
/// (0..0: any free port of the ephemeral range).</summary>
public sealed record PortRequest(string Proto, int ContainerPort, string HostIp, int HostFirst, int HostLast);

/// <summary>
/// What a container asks to publish, from Config.ExposedPorts, HostConfig.PortBindings and PublishAllPorts, as
/// dockerd reads them: each exposed port (the image's, --expose, and the keys of PortBindings) gets the bindings
/// PortBindings gives it; with -P an exposed port without bindings gets one on a random free port. Checked at
/// create with dockerd's messages.
/// </summary>
public static class PortRequests
{
    /// <summary>"80" → "80/tcp"; the exposed keys in dockerd's order (sorted by port, then protocol).</summary>
    public static List<string> ExposedKeys(IEnumerable<string>? exposed, Dictionary<string, List<PortBinding>?>? bindings)
    {
        var keys = new HashSet<string>(StringComparer.Ordinal);
        foreach (var k in (exposed ?? []).Concat(bindings?.Keys ?? (IEnumerable<string>)[]))
        {
            var (proto, first, last) = PortMaps.ParseKey(k);
            for (int p = first; p <= last; p++) keys.Add($"{p}/{proto}");
        }
        return keys.OrderBy(k => int.Parse(k[..k.IndexOf('/')]))
            .ThenBy(k => k[(k.IndexOf('/') + 1)..], StringComparer.Ordinal).ToList();
    }

    /// <summary>The bindings to make at start.</summary>
    public static List<PortRequest> Requested(IEnumerable<string>? exposed, Dictionary<string, List<PortBinding>?>? bindings, bool publishAll)
    {
        var list = new List<PortRequest>();
        var byKey = new Dictionary<string, List<(string Ip, int First, int Last)>>(StringComparer.Ordinal);
        foreach (var (key, bs) in bindings ?? [])
        {
            if (bs is not { Count: > 0 }) continue;
            var (proto, first, last) = PortMaps.ParseKey(key);
            for (int p = first; p <= last; p++)
            {
                var one = byKey.TryGetValue($"{p}/{proto}", out var l) ? l : byKey[$"{p}/{proto}"] = [];
                foreach (var b in bs)
                {
                    var (hf, hl) = HostRange(b.HostPort);
                    // A range key with a host range of the same length maps port to port (8000-8001:80-81).
                    if (last > first && hl - hf == last - first) (hf, hl) = (hf + p - first, hf + p - first);
                    one.Add((b.HostIp, hf, hl));
                }
            }
        }
        foreach (var key in ExposedKeys(exposed, bindings))
        {
            var slash = key.IndexOf('/');
            int port = int.Parse(key[..slash]);
            var proto = key[(slash + 1)..];
            if (byKey.TryGetValue(key, out var bs))
                foreach (var (ip, f, l) in bs) list.Add(new PortRequest(proto, port, ip, f, l));
            else if (publishAll)
                list.Add(new PortRequest(proto, port, "", 0, 0));
        }
        return list;
    }

    private static (int, int) HostRange(string hostPort)
    {
        // dockerd accepts "8080/tcp" in HostPort (nat.SplitProtoPort): the protocol part is ignored.
        var s = hostPort.Contains('/') ? hostPort[..hostPort.IndexOf('/')] : hostPort;
        return PortMaps.ParseRange(s) ?? throw BerthException.Invalid($"invalid port specification: \"{hostPort}\"");
    }

    /// <summary>
    /// At create: keys, host ports and host addresses parse (dockerd's "invalid port specification"), the
    /// protocol is one the kernel can carry, and the network mode can publish. Returns warnings (host mode
    /// discards published ports, as dockerd says).
    /// </summary>
    public static List<string> Check(ContainerConfig c, HostConfig h)
    {
        var warnings = new List<string>();
        var publishes = h.PublishAllPorts || (h.PortBindings?.Values.Any(v => v is { Count: > 0 }) ?? false);
        var mode = h.NetworkMode;
        if (mode.StartsWith("container:", StringComparison.Ordinal))
        {
            if (c.ExposedPorts is { Count: > 0 }) throw BerthException.Invalid("conflicting options: port exposing and the container type network mode");
            if (publishes) throw BerthException.Invalid("conflicting options: port publishing and the container type network mode");
        }
        foreach (var key in (c.ExposedPorts?.Keys ?? (IEnumerable<string>)[]).Concat(h.PortBindings?.Keys ?? (IEnumerable<string>)[]))
        {
            var slash = key.IndexOf('/');
            var ports = slash < 0 ? key : key[..slash];
            if (PortMaps.ParseRange(ports) is not { } r || r.First == 0) throw BerthException.Invalid($"invalid port specification: \"{ports}\"");
            var (proto, _, _) = PortMaps.ParseKey(key);
            if (proto == "sctp" && publishes && h.PortBindings?.ContainsKey(key) == true && !SctpAvailable())
                throw BerthException.Invalid($"publishing {key}: this kernel has no SCTP support (no SCTP in /proc/net/protocols)");
        }
        foreach (var (key, bs) in h.PortBindings ?? [])
        {
            foreach (var b in bs ?? [])
            {
                HostRange(b.HostPort);
                if (b.HostIp is { Length: > 0 } ip)
                {
                    if (!System.Net.IPAddress.TryParse(ip, out var a)) throw BerthException.Invalid($"invalid IP address: {ip}");
                    if (a.AddressFamily != System.Net.Sockets.AddressFamily.InterNetwork)
                        throw BerthException.Invalid($"HostConfig.PortBindings {key}: IPv6 host addresses ({ip}) are not implemented in Berth yet");
                }
            }
        }
        if (publishes && mode == "host") warnings.Add("Published ports are discarded when using host network mode");
        if (publishes && mode == "none") warnings.Add("Published ports are discarded when using network mode none");
        if (h.PublishAllPorts && SctpAvailable() == false && (c.ExposedPorts?.Keys.Any(k => k.EndsWith("/sctp", StringComparison.Ordinal)) ?? false))
            throw BerthException.Invalid("publishing sctp ports (-P): this kernel has no SCTP support (no SCTP in /proc/net/protocols)");
        return warnings;
    }

    /// <summary>Whether the kernel has SCTP (the module loaded or built in).</summary>
    public static bool SctpAvailable()
    {
        try { return File.ReadAllLines("/proc/net/protocols").Any(l => l.StartsWith("SCTP ", StringComparison.Ordinal)); }
        catch (IOException) { return false; }
    }
}
