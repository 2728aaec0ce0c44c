using System.Text;

namespace Berth.Engine.Networking;

/// <summary>
/// The published ports' part of Berth's table (<see cref="NftRules"/> renders the table; these chains are
/// appended to it, so one `nft -f -` transaction changes everything at once). Per map (proto, host address,
/// host port → container address and port):
/// - port-prerouting (nat, dstnat): traffic arriving from outside, from other namespaces and from containers
///   to a local address (`fib daddr type local`, or `ip daddr HOSTIP` for `-p HOSTIP:…`) is DNATed;
/// - port-output (nat, output): the same for the host's own connections (incl. 127.0.0.1, which needs
///   route_localnet=1 on the bridge, set by the NetworkManager);
/// - port-postrouting (nat, srcnat): what comes from 127.0.0.0/8 into the bridge is masqueraded (the
///   container could not answer 127.0.0.1), and so is DNATed traffic from the bridge's subnet back into it
///   (hairpin: a container reaching its own or another container's published port through a host address
///   gets the reply through the host, whether the bridge passes it at L3 or, with br_netfilter, at L2);
/// - port-input (filter): new connections from the bridge to 127.0.0.0/8 are dropped (route_localnet would
///   otherwise let a container reach the host's loopback services; kube-proxy's rule): the replies to the
///   host's 127.0.0.1 connections, de-NATed on their way in, are established and pass.
/// </summary>
public static class PortRules
{
    public static void Append(StringBuilder sb, IReadOnlyList<NetworkRecord> bridges)
    {
        var withMaps = bridges.Where(b => b.Endpoints.Values.Any(e => e.Ports.Count > 0)).ToList();
        if (withMaps.Count == 0) return;
        var dnat = new StringBuilder();
        foreach (var b in withMaps)
            foreach (var ep in b.Endpoints.Values.OrderBy(e => e.IPAddress, StringComparer.Ordinal))
                foreach (var m in ep.Ports)
                {
                    var match = m.HostIp is "" or "0.0.0.0" ? "fib daddr type local" : $"ip daddr {m.HostIp}";
                    dnat.Append($"\t\t{match} {m.Proto} dport {m.HostPort} dnat to {m.ContainerIp}:{m.ContainerPort}\n");
                }
        sb.Append("\tchain port-prerouting {\n\t\ttype nat hook prerouting priority dstnat; policy accept;\n").Append(dnat).Append("\t}\n");
        sb.Append("\tchain port-output {\n\t\ttype nat hook output priority -100; policy accept;\n").Append(dnat).Append("\t}\n");
        sb.Append("\tchain port-postrouting {\n\t\ttype nat hook postrouting priority srcnat; policy accept;\n");
        foreach (var b in withMaps)
        {
            sb.Append($"\t\tip saddr 127.0.0.0/8 oifname \"{b.BridgeName}\" masquerade\n");
            if (b.Subnet != "") sb.Append($"\t\tip saddr {b.Subnet} oifname \"{b.BridgeName}\" ct status dnat masquerade\n");
        }
        sb.Append("\t}\n");
        sb.Append("\tchain port-input {\n\t\ttype filter hook input priority filter; policy accept;\n");
        foreach (var b in withMaps)
            sb.Append($"\t\tiifname \"{b.BridgeName}\" ip daddr 127.0.0.0/8 ct state != {{ established, related }} drop\n");
        sb.Append("\t}\n");
    }
}
