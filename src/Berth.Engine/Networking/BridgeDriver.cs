using Berth.Interop;
using Berth.Interop.Netlink;

namespace Berth.Engine.Networking;

/// <summary>
/// The bridge driver: a Linux bridge per network holding the gateway address; an endpoint is a veth pair whose
/// host side is a port of the bridge and whose peer is made directly in the sandbox (IFLA_NET_NS_FD) under its
/// final name (eth0…) and MAC. All through rtnetlink (<see cref="RtNetlink"/>), no `ip` processes.
/// NAT and isolation are the table's (<see cref="NftRules"/>, applied by the NetworkManager).
/// </summary>
/// <param name="owner">The alias every bridge it makes carries (see <see cref="NetworkOwnership"/>).</param>
public sealed class BridgeDriver(RtNetlink host, string owner = "") : INetworkDriver
{
    public string Name => "bridge";
    public bool HasEndpoints => true;

    public void CreateNetwork(NetworkRecord n)
    {
        int index = host.LinkIndex(n.BridgeName);
        if (index == 0)
        {
            host.AddBridge(n.BridgeName, n.Mtu);
            index = host.LinkIndex(n.BridgeName);
            if (owner != "") host.SetAlias(index, owner);
        }
        var subnet = Cidr.TryParse(n.Subnet)!.Value;
        try { host.AddAddress(index, Ipam.ToAddress(Ipam.Parse(n.Gateway)), subnet.Prefix); }
        catch (ErrnoException e) when (e.Errno == Libc.EEXIST) { }
        host.SetUp(index);
        if (!n.Internal) EnableForwarding();
    }

    public void DeleteNetwork(NetworkRecord n) => host.DeleteLink(n.BridgeName);

    public void Join(NetworkRecord n, EndpointRecord ep, Sandbox sandbox)
    {
        int bridge = host.LinkIndex(n.BridgeName);
        int nsfd = sandbox.OpenFd();
        try { host.AddVeth(ep.HostIfName, ep.IfName, nsfd, Ipam.MacBytes(ep.MacAddress), n.Mtu); }
        finally { Libc.close(nsfd); }
        try
        {
            int hostIndex = host.LinkIndex(ep.HostIfName);
            host.SetUp(hostIndex, bridge);
            if (!n.EnableIcc) host.SetBridgePort(hostIndex, isolated: true, hairpin: false);
            var nl = sandbox.Netlink;
            int inner = nl.LinkIndex(ep.IfName);
            var subnet = Cidr.TryParse(n.Subnet)!.Value;
            nl.AddAddress(inner, Ipam.ToAddress(Ipam.Parse(ep.IPAddress)), subnet.Prefix);
            nl.SetUp(inner);
            if (!n.Internal && !sandbox.HasDefaultRoute && n.Gateway != "")
            {
                nl.AddDefaultRoute(Ipam.ToAddress(Ipam.Parse(n.Gateway)), inner);
                sandbox.HasDefaultRoute = true;
            }
        }
        catch
        {
            host.DeleteLink(ep.HostIfName);
            throw;
        }
    }

    public void Leave(NetworkRecord n, EndpointRecord ep, Sandbox? sandbox) => host.DeleteLink(ep.HostIfName);

    private static bool s_forwarding;

    /// <summary>net.ipv4.ip_forward=1, as dockerd sets it for bridge networks with a way out.</summary>
    private static void EnableForwarding()
    {
        if (s_forwarding) return;
        const string path = "/proc/sys/net/ipv4/ip_forward";
        if (File.ReadAllText(path).Trim() != "1") File.WriteAllText(path, "1");
        s_forwarding = true;
    }
}
