using System.Net;
using System.Net.Sockets;
using Berth.Core;

namespace Berth.Engine.Networking;

/// <summary>One published port: host address and port → container address and port, for one protocol.</summary>
public sealed record PortMap(string Proto, string HostIp, int HostPort, string ContainerIp, int ContainerPort)
{
    /// <summary>The key Docker uses in HostConfig.PortBindings and NetworkSettings.Ports: "80/tcp".</summary>
    public string Key => $"{ContainerPort}/{Proto}";
}

/// <summary>
/// Published ports: Docker's PortBindings keys and bindings parsed, host ports allocated (a fixed port, a range,
/// or a free ephemeral port from /proc/sys/net/ipv4/ip_local_port_range), each host port checked against
/// the other containers' maps and against the host by binding it, as dockerd with userland-proxy=false does;
/// the port is then held by a bound socket for the container's life (<see cref="Hold"/>), as dockerd's
/// (dummy) proxy holds it. The rules are <see cref="PortRules"/>'.
/// </summary>
public static class PortMaps
{
    /// <summary>A PortBindings key ("80", "80/tcp", "53/udp", "8000-8010/tcp") → protocol and port range.</summary>
    public static (string Proto, int First, int Last) ParseKey(string key)
    {
        var slash = key.IndexOf('/');
        var proto = slash < 0 ? "tcp" : key[(slash + 1)..].ToLowerInvariant();
        var ports = slash < 0 ? key : key[..slash];
        if (proto is not ("tcp" or "udp" or "sctp")) throw BerthException.Invalid($"invalid proto: {proto}");
        var (first, last) = ParseRange(ports) ?? throw BerthException.Invalid($"invalid containerPort: {ports}");
        return (proto, first, last);
    }

    /// <summary>"8080" or "8080-8090" → the range; "" → (0, 0): any free port.</summary>
    public static (int First, int Last)? ParseRange(string s)
    {
        if (s == "") return (0, 0);
        var dash = s.IndexOf('-');
        if (dash < 0) return int.TryParse(s, out var p) && p is > 0 and <= 65535 ? (p, p) : null;
        if (!int.TryParse(s[..dash], out var a) || !int.TryParse(s[(dash + 1)..], out var b)) return null;
        return a is > 0 and <= 65535 && b >= a && b <= 65535 ? (a, b) : null;
    }

    /// <summary>The kernel's ephemeral range, where -P and an empty HostPort pick from.</summary>
    public static (int First, int Last) EphemeralRange(string path = "/proc/sys/net/ipv4/ip_local_port_range")
    {
        try
        {
            var parts = File.ReadAllText(path).Split((char[])['\t', ' ', '\n'], StringSplitOptions.RemoveEmptyEntries);
            if (parts.Length == 2 && int.TryParse(parts[0], out var a) && int.TryParse(parts[1], out var b) && a > 0 && b >= a) return (a, b);
        }
        catch (IOException) { }
        return (32768, 60999);
    }

    /// <summary>Whether the host has the port free: bound (and released at once) on the host address.</summary>
    public static bool HostPortFree(string proto, string hostIp, int port)
    {
        var addr = hostIp is "" or "0.0.0.0" ? IPAddress.Any : IPAddress.Parse(hostIp);
        var (type, p) = proto == "udp" ? (SocketType.Dgram, ProtocolType.Udp) : (SocketType.Stream, ProtocolType.Tcp);
        if (proto == "sctp") return true; // no SCTP sockets without the module; the map conflicts are still checked
        try
        {
            using var s = new Socket(AddressFamily.InterNetwork, type, p);
            s.Bind(new IPEndPoint(addr, port));
            return true;
        }
        catch (SocketException) { return false; }
    }

    /// <summary>
    /// Binds the host port and keeps the socket (the DNAT rules take the traffic before any socket sees it), so
    /// that no other program and no other daemon on the host takes it while the container
    /// publishes it. Null when the port is not free; SCTP is not held (nothing to bind without the module).
    /// </summary>
    public static Socket? Hold(string proto, string hostIp, int port)
    {
        if (proto == "sctp") return null;
        var addr = hostIp is "" or "0.0.0.0" ? IPAddress.Any : IPAddress.Parse(hostIp);
        var (type, p) = proto == "udp" ? (SocketType.Dgram, ProtocolType.Udp) : (SocketType.Stream, ProtocolType.Tcp);
        var s = new Socket(AddressFamily.InterNetwork, type, p);
        try
        {
            s.Bind(new IPEndPoint(addr, port));
            // .NET sets SO_REUSEADDR on TCP sockets at bind on Linux, and two such sockets bound but not
            // listening may share a port: a listening one may not be shared. (dockerd's dummy proxy listens too.)
            // The DNAT rules take every connection before a socket is looked up: none ever waits here.
            if (proto == "tcp") s.Listen(1);
            return s;
        }
        catch (SocketException)
        {
            s.Dispose();
            throw;
        }
    }

    private static bool Overlap(string a, string b) => a == b || a is "" or "0.0.0.0" || b is "" or "0.0.0.0";

    /// <summary>
    /// A host port for one binding: the first of <paramref name="first"/>..<paramref name="last"/> (the
    /// ephemeral range when 0) not used by <paramref name="taken"/> and free on the host. Docker's error when none.
    /// </summary>
    public static int Allocate(string proto, string hostIp, int first, int last, IEnumerable<PortMap> taken,
        string endpoint, Func<string, string, int, bool>? hostFree = null)
    {
        hostFree ??= HostPortFree;
        var used = taken.Where(m => m.Proto == proto && Overlap(m.HostIp, hostIp)).Select(m => m.HostPort).ToHashSet();
        bool ephemeral = first == 0;
        if (ephemeral) (first, last) = EphemeralRange();
        // An ephemeral pick starts at a random place in the range, as dockerd's allocator does not always
        // hand out the same first port.
        int count = last - first + 1, start = ephemeral ? Random.Shared.Next(count) : 0;
        for (int i = 0; i < count; i++)
        {
            int port = first + (start + i) % count;
            if (!used.Contains(port) && hostFree(proto, hostIp, port)) return port;
        }
        var ip = hostIp is "" ? "0.0.0.0" : hostIp;
        // A fixed port that no container holds but something else on the host does: dockerd's proxy's words.
        if (!ephemeral && first == last && !used.Contains(first))
            throw new BerthException(ErrorKind.System,
                $"driver failed programming external connectivity on endpoint {endpoint}: Error starting userland proxy: listen {proto}4 {ip}:{first}: bind: address already in use");
        if (ephemeral) throw BerthException.Conflict($"driver failed programming external connectivity on endpoint {endpoint}: no free port in the range {first}-{last}");
        var shown = first == last ? first.ToString() : $"{first}-{last}";
        throw new BerthException(ErrorKind.System,
            $"driver failed programming external connectivity on endpoint {endpoint}: Bind for {ip}:{shown} failed: port is already allocated");
    }
}
