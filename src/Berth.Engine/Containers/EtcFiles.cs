using System.Text;
using Berth.Interop;

namespace Berth.Engine.Containers;

/// <summary>
/// A container's /etc/hostname, /etc/hosts and /etc/resolv.conf (bind-mounted from its directory): derived
/// from the record (hostname, HostConfig.ExtraHosts, Dns, DnsSearch, DnsOptions), so written without fsync; one
/// that a crash left missing or empty is written again at start.
/// </summary>
public static class EtcFiles
{
    private const UnixFileMode Mode = (UnixFileMode)0x1a4; // 0644

    /// <param name="hostGateway">What --add-host NAME:host-gateway maps to (the default bridge's gateway, as
    /// dockerd's default host-gateway-ip); such entries are left out when null.</param>
    /// <param name="links">The legacy links' lines ("IP\talias hostname name\n", Lifecycle/Links.cs), after --add-host's.</param>
    public static void Write(string dir, ContainerRecord c, string hostname, string? hostGateway = null, string links = "")
    {
        AtomicFile.WriteAllBytes(Path.Combine(dir, "hostname"), Encoding.UTF8.GetBytes(hostname + "\n"), Mode, sync: Sync.None);
        AtomicFile.WriteAllBytes(Path.Combine(dir, "hosts"), Encoding.UTF8.GetBytes(Hosts(c, hostGateway, links)), Mode, sync: Sync.None);
        AtomicFile.WriteAllBytes(Path.Combine(dir, "resolv.conf"), Encoding.UTF8.GetBytes(ResolvConf(c)), Mode, sync: Sync.None);
    }

    /// <summary>Writes them again when one is missing or the hostname file (never empty when written) is empty.</summary>
    public static void Ensure(string dir, ContainerRecord c, string hostname, string? hostGateway = null)
    {
        var f = new FileInfo(Path.Combine(dir, "hostname"));
        if (!f.Exists || f.Length == 0 || !File.Exists(Path.Combine(dir, "hosts")) || !File.Exists(Path.Combine(dir, "resolv.conf")))
            Write(dir, c, hostname, hostGateway);
    }

    /// <summary>The host's name (/proc/sys/kernel/hostname), which --network host containers get.</summary>
    public static string HostHostname()
    {
        try { return File.ReadAllText("/proc/sys/kernel/hostname").Trim(); }
        catch (IOException) { return System.Environment.MachineName; }
    }

    public static string Hosts(ContainerRecord c, string? hostGateway = null, string links = "")
    {
        // --network host: the host's /etc/hosts, as dockerd copies it (then --add-host entries).
        if (c.HostConfig.NetworkMode == "host")
        {
            string host;
            try { host = File.ReadAllText("/etc/hosts"); }
            catch (IOException) { host = "127.0.0.1\tlocalhost\n"; }
            var hb = new StringBuilder(host);
            if (host.Length > 0 && !host.EndsWith('\n')) hb.Append('\n');
            AddExtraHosts(hb, c, hostGateway);
            return hb.ToString();
        }
        var sb = new StringBuilder(
            "127.0.0.1\tlocalhost\n::1\tlocalhost ip6-localhost ip6-loopback\nfe00::0\tip6-localnet\nff00::0\tip6-mcastprefix\nff02::1\tip6-allnodes\nff02::2\tip6-allrouters\n");
        AddExtraHosts(sb, c, hostGateway);
        sb.Append(links);
        // The container's own addresses with its hostname (dockerd: "IP\tHOSTNAME"), one per network.
        foreach (var s in c.Networks.Values)
            if (s.IPAddress != "") sb.Append(HostsLine(c, s.IPAddress));
        return sb.ToString();
    }

    /// <summary>The line of one of the container's addresses in its /etc/hosts: "IP\tHOSTNAME" (with the
    /// domain: "IP\tHOSTNAME.DOMAIN HOSTNAME"), as dockerd writes it.</summary>
    private static string HostsLine(ContainerRecord c, string ip)
    {
        var name = c.Config.Hostname;
        if (!string.IsNullOrEmpty(c.Config.Domainname)) name = $"{name}.{c.Config.Domainname} {name}";
        return $"{ip}\t{name}\n";
    }

    /// <summary>
    /// After `network connect` of a running container: the new address's line appended to its /etc/hosts, and,
    /// when this is its first user-defined network (<paramref name="wasEmbedded"/> false, now true), its
    /// resolv.conf rewritten to the embedded DNS, as dockerd's sandbox does (rebuildDNS when the resolver
    /// starts). Both IN PLACE: the files are bind-mounted into the container (and into container:X joiners),
    /// a rename would not be seen there. The rest of /etc/hosts (what a process in the container wrote) stays.
    /// </summary>
    public static void Connected(string dir, ContainerRecord c, string ip, bool wasEmbedded)
    {
        if (ip != "") EditHosts(dir, lines => [.. lines, HostsLine(c, ip).TrimEnd('\n')]);
        if (!wasEmbedded && UsesEmbeddedDns(c)) WriteInPlace(Path.Combine(dir, "resolv.conf"), ResolvConf(c));
    }

    /// <summary>After `network disconnect` of a running container: the lines of the address it had there removed
    /// from /etc/hosts; when no user-defined network is left, resolv.conf is the host-derived one again (its
    /// embedded DNS stopped). In place, as <see cref="Connected"/>.</summary>
    public static void Disconnected(string dir, ContainerRecord c, string ip, bool wasEmbedded)
    {
        if (ip != "") EditHosts(dir, lines => [.. lines.Where(l => l.Split((char[])[' ', '\t'], 2)[0] != ip)]);
        if (wasEmbedded && !UsesEmbeddedDns(c)) WriteInPlace(Path.Combine(dir, "resolv.conf"), ResolvConf(c));
    }

    private static void EditHosts(string dir, Func<List<string>, List<string>> edit)
    {
        var path = Path.Combine(dir, "hosts");
        List<string> lines;
        try { lines = [.. File.ReadAllText(path).Split('\n')]; }
        catch (FileNotFoundException) { return; }
        if (lines.Count > 0 && lines[^1] == "") lines.RemoveAt(lines.Count - 1);
        var edited = edit(lines);
        WriteInPlace(path, edited.Count == 0 ? "" : string.Join('\n', edited) + "\n");
    }

    /// <summary>Truncates and writes the file (the same inode, which a bind mount shows), not a rename.</summary>
    private static void WriteInPlace(string path, string content)
    {
        using var f = new FileStream(path, FileMode.OpenOrCreate, FileAccess.Write, FileShare.ReadWrite);
        var bytes = Encoding.UTF8.GetBytes(content);
        f.SetLength(0);
        f.Write(bytes);
    }

    // --add-host HOST:IP, as dockerd writes them: "IP\tHOST"; host-gateway is the host's address on the default bridge.
    private static void AddExtraHosts(StringBuilder sb, ContainerRecord c, string? hostGateway)
    {
        foreach (var e in c.HostConfig.ExtraHosts ?? [])
        {
            int colon = e.IndexOf(':');
            var ip = e[(colon + 1)..].Trim('[', ']');
            if (ip == "host-gateway") ip = hostGateway;
            if (ip is null) continue;
            sb.Append(ip).Append('\t').Append(e[..colon]).Append('\n');
        }
    }

    /// <summary>
    /// --network none has no resolver of its own: only what --dns, --dns-search and --dns-option give (an empty
    /// file otherwise, so that programs reading it do not fail). --network host: the host's resolv.conf. A bridge
    /// network: the host's resolv.conf without localhost nameservers (unreachable from the container's namespace;
    /// Google's public resolvers when none is left, as dockerd), each of --dns, --dns-search, --dns-option
    /// replacing its part. A user-defined network: the embedded DNS (nameserver 127.0.0.11, which forwards to
    /// the --dns servers or the host's), the host's or --dns-search domains, and the host's or --dns-option
    /// options with ndots:0 added unless one sets ndots, as dockerd writes it.
    /// </summary>
    public static string ResolvConf(ContainerRecord c)
    {
        var h = c.HostConfig;
        var mode = h.NetworkMode;
        if (UsesEmbeddedDns(c)) return Embedded(h);
        if (mode != "none" && !mode.StartsWith("container:", StringComparison.Ordinal))
            return FromHost(h, filterLocalhost: mode != "host");
        var sb = new StringBuilder();
        if (h.DnsSearch is { Count: > 0 }) sb.Append("search ").AppendJoin(' ', h.DnsSearch).Append('\n');
        foreach (var d in h.Dns ?? []) sb.Append("nameserver ").Append(d).Append('\n');
        if (h.DnsOptions is { Count: > 0 }) sb.Append("options ").AppendJoin(' ', h.DnsOptions).Append('\n');
        return sb.ToString();
    }

    /// <summary>Whether the container is on a user-defined network (the predefined ones are bridge, host and none),
    /// whether it started there or was connected to one later (dockerd: the first endpoint that needs the resolver
    /// starts it, a container of the default bridge connected to a user network included).</summary>
    public static bool UsesEmbeddedDns(ContainerRecord c)
    {
        var mode = c.HostConfig.NetworkMode;
        if (mode is "host" or "none" || mode.StartsWith("container:", StringComparison.Ordinal)) return false;
        return c.Networks.Keys.Any(k => k is not ("bridge" or "host" or "none"));
    }

    private static string Embedded(Berth.Api.Containers.HostConfig h)
    {
        var (search, options) = HostSearchAndOptions();
        if (h.DnsSearch is { Count: > 0 }) search = [.. h.DnsSearch];
        if (h.DnsOptions is { Count: > 0 }) options = [.. h.DnsOptions];
        if (!options.Any(o => o.StartsWith("ndots:", StringComparison.Ordinal))) options.Add("ndots:0");
        var sb = new StringBuilder();
        if (search.Count > 0) sb.Append("search ").AppendJoin(' ', search).Append('\n');
        sb.Append("nameserver 127.0.0.11\n");
        sb.Append("options ").AppendJoin(' ', options).Append('\n');
        return sb.ToString();
    }

    private static (List<string> Search, List<string> Options) HostSearchAndOptions()
    {
        string[] lines;
        try { lines = File.ReadAllLines("/etc/resolv.conf"); }
        catch (IOException) { lines = []; }
        var search = new List<string>();
        var options = new List<string>();
        foreach (var raw in lines)
        {
            var f = raw.Split((char[])[' ', '\t'], StringSplitOptions.RemoveEmptyEntries);
            if (f.Length < 2) continue;
            if (f[0] is "search" or "domain") search = [.. f.Skip(1)];
            else if (f[0] == "options") options.AddRange(f.Skip(1));
        }
        return (search, options);
    }

    private static string FromHost(Berth.Api.Containers.HostConfig h, bool filterLocalhost)
    {
        string[] lines;
        try { lines = File.ReadAllLines("/etc/resolv.conf"); }
        catch (IOException) { lines = []; }
        var ns = new List<string>();
        var search = new List<string>();
        var options = new List<string>();
        foreach (var raw in lines)
        {
            var f = raw.Split((char[])[' ', '\t'], StringSplitOptions.RemoveEmptyEntries);
            if (f.Length < 2) continue;
            switch (f[0])
            {
                case "nameserver":
                    if (!filterLocalhost || !(f[1].StartsWith("127.", StringComparison.Ordinal) || f[1] == "::1")) ns.Add(f[1]);
                    break;
                case "search" or "domain": search = [.. f.Skip(1)]; break;
                case "options": options.AddRange(f.Skip(1)); break;
            }
        }
        if (filterLocalhost) ns.RemoveAll(n => n.Contains(':')); // no IPv6 in Berth's networks yet
        if (h.Dns is { Count: > 0 }) ns = [.. h.Dns];
        else if (ns.Count == 0 && filterLocalhost) ns = ["8.8.8.8", "8.8.4.4"];
        if (h.DnsSearch is { Count: > 0 }) search = [.. h.DnsSearch];
        if (h.DnsOptions is { Count: > 0 }) options = [.. h.DnsOptions];
        var sb = new StringBuilder();
        if (search.Count > 0) sb.Append("search ").AppendJoin(' ', search).Append('\n');
        foreach (var n in ns) sb.Append("nameserver ").Append(n).Append('\n');
        if (options.Count > 0) sb.Append("options ").AppendJoin(' ', options).Append('\n');
        return sb.ToString();
    }
}
