using System.Security.Cryptography;
using Berth.Core;
using Berth.Interop;
using Berth.Interop.Netlink;

namespace Berth.Engine.Networking;

/// <summary>
/// The macvlan driver (Docker's libnetwork macvlan, bridge mode by default): an endpoint is a macvlan interface on
/// the network's parent link, made directly in the sandbox (IFLA_NET_NS_FD) under its final name and MAC; the
/// containers of one parent reach each other through it (bridge mode) and the parent's segment directly, with no
/// bridge, NAT or rule of Berth's (the table does not list macvlan networks).
/// Parent: <c>-o parent=IF</c>; <c>IF.VLAN</c> that does not exist is made as an 802.1q link and deleted with the
/// network; no parent (or <c>--internal</c>) is a dummy link "dm-&lt;id&gt;" as in Docker. The links it makes carry the
/// owner alias (see <see cref="NetworkOwnership"/>). A kernel that cannot make one (no 8021q, no dummy module)
/// makes `network create` fail with the kernel's reason named. Modes: bridge, private, vepa, passthru, each tried
/// on the parent when the network is created (a mode the kernel refuses refuses the network).
/// </summary>
public sealed class MacvlanDriver(RtNetlink host, string owner = "") : INetworkDriver
{
    public const string ParentOption = "parent", ModeOption = "macvlan_mode";
    private const int EOPNOTSUPP = 95;
    private readonly HashSet<string> _checked = new(StringComparer.Ordinal);

    public string Name => "macvlan";
    public bool HasEndpoints => true;

    /// <summary>The link the network's interfaces hang on: -o parent, or the dummy made for a parentless network.</summary>
    public static string ParentOf(NetworkRecord n) =>
        !n.Internal && n.Options.TryGetValue(ParentOption, out var p) && p != "" ? p : DummyName(n);

    public static string DummyName(NetworkRecord n) => "dm-" + n.Id[..12];

    /// <summary>Docker's macvlan modes → the kernel's; Invalid with Docker's words for others.</summary>
    public static uint ModeOf(NetworkRecord n)
    {
        var mode = n.Options.TryGetValue(ModeOption, out var m) && m != "" ? m : "bridge";
        return mode switch
        {
            "bridge" => RtNetlink.MACVLAN_MODE_BRIDGE,
            "private" => RtNetlink.MACVLAN_MODE_PRIVATE,
            "vepa" => RtNetlink.MACVLAN_MODE_VEPA,
            "passthru" => RtNetlink.MACVLAN_MODE_PASSTHRU,
            _ => throw BerthException.Invalid($"requested macvlan mode '{mode}' is not valid, 'bridge' mode is the macvlan driver default"),
        };
    }

    public void CreateNetwork(NetworkRecord n)
    {
        var parent = ParentOf(n);
        if (parent == "lo") throw BerthException.Invalid("loopback interface is not a valid macvlan parent link");
        uint mode = ModeOf(n);
        int index = host.LinkIndex(parent);
        if (index == 0)
        {
            if (parent == DummyName(n)) MakeLink(n, parent, () => host.AddLink(parent, "dummy"), "dummy",
                "the kernel has no dummy link support (needed for a macvlan network without -o parent, or --internal)");
            else
            {
                var (lower, vlan) = ParseVlan(parent);
                int lowerIndex = host.LinkIndex(lower);
                if (lowerIndex == 0) throw BerthException.Invalid($"-o parent interface was not found on the host: {lower}");
                MakeLink(n, parent, () => host.AddVlan(parent, lowerIndex, vlan), "vlan",
                    "the kernel has no 802.1q VLAN support (the 8021q module)");
            }
            index = host.LinkIndex(parent);
        }
        if (_checked.Contains(n.Id)) return;
        // The mode tried on the parent once (the kernel refuses passthru on a parent that has other macvlans, for one).
        var probe = "mvp" + Convert.ToHexString(RandomNumberGenerator.GetBytes(4)).ToLowerInvariant();
        try { host.AddMacvlan(probe, index, mode, -1, null, n.Mtu); }
        catch (ErrnoException e)
        {
            throw BerthException.Invalid($"macvlan mode {n.Options.GetValueOrDefault(ModeOption, "bridge")} on parent {parent} refused by the kernel: {Libc.StrError(e.Errno)}");
        }
        host.DeleteLink(probe);
        _checked.Add(n.Id);
    }

    private void MakeLink(NetworkRecord n, string name, Action add, string kind, string why)
    {
        try { add(); }
        catch (ErrnoException e) when (e.Errno == EOPNOTSUPP)
        {
            throw new BerthException(ErrorKind.NotImplemented, $"failed to create the {name} subinterface: {why}: {kind} links are not supported (Unknown device type)");
        }
        catch (ErrnoException e)
        {
            throw new BerthException(ErrorKind.System, $"failed to create the {name} subinterface: {Libc.StrError(e.Errno)}");
        }
        int index = host.LinkIndex(name);
        n.MadeLink = name;
        if (owner != "") host.SetAlias(index, owner);
        host.SetUp(index);
    }

    /// <summary>"eth0.10" → ("eth0", 10), with Docker's errors.</summary>
    public static (string Lower, ushort Vlan) ParseVlan(string name)
    {
        int dot = name.LastIndexOf('.');
        if (dot <= 0) throw BerthException.Invalid($"invalid subinterface vlan name {name}, example formatting is eth0.10");
        if (!int.TryParse(name[(dot + 1)..], out int id))
            throw BerthException.Invalid($"unable to parse vlan id {name[(dot + 1)..]} from {name}: required syntax is parent_interface_name.vlan_id, ex. eth0.10");
        if (id is < 1 or > 4094) throw BerthException.Invalid($"vlan id must be between 1-4094, received: {id}");
        return (name[..dot], (ushort)id);
    }

    public void DeleteNetwork(NetworkRecord n)
    {
        _checked.Remove(n.Id);
        if (n.MadeLink != "") host.DeleteLink(n.MadeLink);
    }

    public void Join(NetworkRecord n, EndpointRecord ep, Sandbox sandbox)
    {
        var parent = ParentOf(n);
        int index = host.LinkIndex(parent);
        if (index == 0) throw BerthException.Invalid($"-o parent interface was not found on the host: {parent}");
        int nsfd = sandbox.OpenFd();
        try { host.AddMacvlan(ep.IfName, index, ModeOf(n), nsfd, Ipam.MacBytes(ep.MacAddress), n.Mtu); }
        finally { Libc.close(nsfd); }
        var nl = sandbox.Netlink;
        int inner = nl.LinkIndex(ep.IfName);
        try
        {
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
            nl.DeleteLink(inner);
            throw;
        }
    }

    /// <summary>The interface lives in the sandbox only: deleted there (it goes with the namespace otherwise).</summary>
    public void Leave(NetworkRecord n, EndpointRecord ep, Sandbox? sandbox)
    {
        if (sandbox is not null) sandbox.Netlink.DeleteLink(ep.IfName);
    }
}
