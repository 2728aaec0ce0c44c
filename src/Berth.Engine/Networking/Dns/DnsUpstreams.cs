using System.Net;

namespace Berth.Engine.Networking.Dns;

/// <summary>
/// Where the embedded resolver forwards what is not a container's name, as Docker 20.10 chooses: the
/// container's --dns servers when it has some (loopback ones too: Docker reaches those from the host's
/// namespace, and so does Berth), else the host's resolv.conf nameservers without loopback ones (Google's
/// public resolvers when none is left). IPv4 only, port 53. The forwarding itself runs in berthd's namespace.
/// </summary>
public static class DnsUpstreams
{
    public const string HostResolvConf = "/etc/resolv.conf";

    /// <summary>systemd-resolved's stub at 127.0.0.53: the real servers are in this file (as Docker reads it).</summary>
    public const string ResolvedResolvConf = "/run/systemd/resolve/resolv.conf";

    public static IReadOnlyList<IPEndPoint> For(IReadOnlyList<string>? containerDns, string hostResolvConf = HostResolvConf)
    {
        var list = new List<IPEndPoint>();
        if (containerDns is { Count: > 0 })
        {
            foreach (var d in containerDns) Add(list, d, keepLoopback: true);
            return list;
        }
        var servers = Nameservers(hostResolvConf);
        if (servers.Count > 0 && servers.All(s => s == "127.0.0.53") && File.Exists(ResolvedResolvConf))
            servers = Nameservers(ResolvedResolvConf);
        foreach (var s in servers) Add(list, s, keepLoopback: false);
        if (list.Count == 0)
        {
            list.Add(new IPEndPoint(IPAddress.Parse("8.8.8.8"), 53));
            list.Add(new IPEndPoint(IPAddress.Parse("8.8.4.4"), 53));
        }
        return list;
    }

    /// <summary>The nameserver lines of a resolv.conf (none when it cannot be read).</summary>
    public static List<string> Nameservers(string path)
    {
        var ns = new List<string>();
        string[] lines;
        try { lines = File.ReadAllLines(path); }
        catch (IOException) { return ns; }
        catch (UnauthorizedAccessException) { return ns; }
        foreach (var raw in lines)
        {
            var f = raw.Split((char[])[' ', '\t'], StringSplitOptions.RemoveEmptyEntries);
            if (f.Length >= 2 && f[0] == "nameserver") ns.Add(f[1]);
        }
        return ns;
    }

    private static void Add(List<IPEndPoint> list, string s, bool keepLoopback)
    {
        if (!IPAddress.TryParse(s, out var ip) || ip.AddressFamily != System.Net.Sockets.AddressFamily.InterNetwork) return;
        if (!keepLoopback && IPAddress.IsLoopback(ip)) return;
        if (list.Count < 3) list.Add(new IPEndPoint(ip, 53));
    }
}
