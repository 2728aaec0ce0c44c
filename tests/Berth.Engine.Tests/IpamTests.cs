using Berth.Core;
using Berth.Engine.Networking;

namespace Berth.Engine.Tests;

/// <summary>The default IPAM's order and reservations, pools and the nftables ruleset (no kernel needed).</summary>
public sealed class IpamTests
{
    private static NetworkRecord Net(string subnet, string gateway, string range = "", Dictionary<string, string>? aux = null) =>
        new() { Id = "n1", Name = "n", Subnet = subnet, Gateway = gateway, IPRange = range, AuxAddresses = aux ?? [] };

    private static void Take(NetworkRecord n, uint ip) =>
        n.Endpoints[ip.ToString()] = new EndpointRecord { Id = ip.ToString(), IPAddress = Ipam.Format(ip) };

    [Fact]
    public void AddressesInOrder_SkippingGatewayAndAux_LowestFreeReused()
    {
        var n = Net("10.1.0.0/24", "10.1.0.1", aux: new() { ["r"] = "10.1.0.3" });
        var got = new List<string>();
        for (int i = 0; i < 3; i++)
        {
            var a = Ipam.Allocate(n, null);
            got.Add(Ipam.Format(a));
            Take(n, a);
        }
        Assert.Equal(["10.1.0.2", "10.1.0.4", "10.1.0.5"], got);
        n.Endpoints.Remove(Ipam.Parse("10.1.0.2").ToString());
        Assert.Equal("10.1.0.2", Ipam.Format(Ipam.Allocate(n, null)));
    }

    [Fact]
    public void IpRange_AndRequestedAddresses()
    {
        var n = Net("172.29.0.0/16", "172.29.5.254", "172.29.5.0/24");
        Assert.Equal("172.29.5.1", Ipam.Format(Ipam.Allocate(n, null)));
        Assert.Equal("172.29.9.9", Ipam.Format(Ipam.Allocate(n, "172.29.9.9")));
        Assert.Equal("Address already in use", Assert.Throws<BerthException>(() => Ipam.Allocate(n, "172.29.5.254")).Message);
        Assert.Throws<BerthException>(() => Ipam.Allocate(n, "10.0.0.1"));
    }

    [Fact]
    public void SmallSubnetRunsOut()
    {
        var n = Net("10.2.0.0/30", "10.2.0.1");
        Take(n, Ipam.Allocate(n, null));
        Assert.Contains("no available IPv4 addresses", Assert.Throws<BerthException>(() => Ipam.Allocate(n, null)).Message);
    }

    [Fact]
    public void MacFromAddress_AsDocker() => Assert.Equal("02:42:ac:11:00:02", Ipam.MacFor(Ipam.Parse("172.17.0.2")));

    [Fact]
    public void Cidr_ParsesAndOverlaps()
    {
        var a = Cidr.TryParse("10.123.4.5/16")!.Value;
        Assert.Equal("10.123.0.0/16", a.ToString());
        Assert.True(a.Overlaps(Cidr.TryParse("10.123.200.0/24")!.Value));
        Assert.False(a.Overlaps(Cidr.TryParse("10.124.0.0/16")!.Value));
        Assert.Null(Cidr.TryParse("10.1.2.3"));
    }

    [Fact]
    public void DefaultPools_AreDockers()
    {
        var pools = AddressPools.Defaults().Select(p => p.ToString()).ToList();
        Assert.Equal("172.17.0.0/16", pools[0]);
        Assert.Equal("172.31.0.0/16", pools[14]);
        Assert.Equal("192.168.0.0/20", pools[15]);
        Assert.Equal("192.168.240.0/20", pools[^1]);
    }

    [Fact]
    public void Ruleset_IsOneTable_ReplacedInOneTransaction()
    {
        var nets = new[]
        {
            new NetworkRecord { Id = "a", Driver = "bridge", BridgeName = "berth0", Subnet = "172.17.0.0/16" },
            new NetworkRecord { Id = "b", Driver = "bridge", BridgeName = "br-b", Subnet = "172.18.0.0/16", Internal = true },
            new NetworkRecord { Id = "h", Driver = "host" },
        };
        var r = NftRules.Render("berth", nets);
        Assert.StartsWith("add table ip berth\ndelete table ip berth\ntable ip berth {\n", r);
        Assert.Contains("ip saddr 172.17.0.0/16 oifname != \"berth0\" masquerade", r);
        Assert.DoesNotContain("172.18.0.0/16 oifname", r);
        Assert.Contains("iifname \"br-b\" oifname != \"br-b\" drop", r);
        Assert.Contains("iifname \"berth0\" oifname { \"berth0\", \"br-b\" } oifname != \"berth0\" drop", r);
    }
}
