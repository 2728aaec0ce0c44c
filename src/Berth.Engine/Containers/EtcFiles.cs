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

    public static void Write(string dir, ContainerRecord c, string hostname)
    {
        AtomicFile.WriteAllBytes(Path.Combine(dir, "hostname"), Encoding.UTF8.GetBytes(hostname + "\n"), Mode, sync: Sync.None);
        AtomicFile.WriteAllBytes(Path.Combine(dir, "hosts"), Encoding.UTF8.GetBytes(Hosts(c)), Mode, sync: Sync.None);
        AtomicFile.WriteAllBytes(Path.Combine(dir, "resolv.conf"), Encoding.UTF8.GetBytes(ResolvConf(c)), Mode, sync: Sync.None);
    }

    /// <summary>Writes them again when one is missing or the hostname file (never empty when written) is empty.</summary>
    public static void Ensure(string dir, ContainerRecord c, string hostname)
    {
        var f = new FileInfo(Path.Combine(dir, "hostname"));
        if (!f.Exists || f.Length == 0 || !File.Exists(Path.Combine(dir, "hosts")) || !File.Exists(Path.Combine(dir, "resolv.conf")))
            Write(dir, c, hostname);
    }

    public static string Hosts(ContainerRecord c)
    {
        var sb = new StringBuilder(
            "127.0.0.1\tlocalhost\n::1\tlocalhost ip6-localhost ip6-loopback\nfe00::0\tip6-localnet\nff00::0\tip6-mcastprefix\nff02::1\tip6-allnodes\nff02::2\tip6-allrouters\n");
        // --add-host HOST:IP, as dockerd writes them: "IP\tHOST".
        foreach (var e in c.HostConfig.ExtraHosts ?? [])
        {
            int colon = e.IndexOf(':');
            sb.Append(e[(colon + 1)..].Trim('[', ']')).Append('\t').Append(e[..colon]).Append('\n');
        }
        return sb.ToString();
    }

    /// <summary>--network none has no resolver of its own: only what --dns, --dns-search and --dns-option give
    /// (an empty file otherwise, so that programs reading it do not fail).</summary>
    public static string ResolvConf(ContainerRecord c)
    {
        var h = c.HostConfig;
        var sb = new StringBuilder();
        if (h.DnsSearch is { Count: > 0 }) sb.Append("search ").AppendJoin(' ', h.DnsSearch).Append('\n');
        foreach (var d in h.Dns ?? []) sb.Append("nameserver ").Append(d).Append('\n');
        if (h.DnsOptions is { Count: > 0 }) sb.Append("options ").AppendJoin(' ', h.DnsOptions).Append('\n');
        return sb.ToString();
    }
}
