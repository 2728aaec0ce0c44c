using System.Net;
using System.Net.Sockets;
using Berth.Core;
using Berth.Engine.Networking;

namespace Berth.Engine.Tests;

public sealed class PortMapsTests
{
    [Theory]
    [InlineData("80", "tcp", 80, 80)]
    [InlineData("53/udp", "udp", 53, 53)]
    [InlineData("8000-8010/tcp", "tcp", 8000, 8010)]
    [InlineData("9/SCTP", "sctp", 9, 9)]
    public void ParseKey_DockersPortKeys(string key, string proto, int first, int last) =>
        Assert.Equal((proto, first, last), PortMaps.ParseKey(key));

    [Theory]
    [InlineData("80/icmp")]
    [InlineData("0/tcp")]
    [InlineData("70000")]
    [InlineData("90-80")]
    public void ParseKey_RefusesBadKeys(string key) => Assert.Throws<BerthException>(() => PortMaps.ParseKey(key));

    [Fact]
    public void EphemeralRange_ReadsTheKernelsRange()
    {
        var (a, b) = PortMaps.EphemeralRange();
        Assert.True(a > 1024 && b >= a && b <= 65535);
    }

    [Fact]
    public void Allocate_SkipsPortsOtherMapsHoldAndFailsWithDockersMessage()
    {
        var taken = new[] { new PortMap("tcp", "0.0.0.0", 8080, "172.17.0.2", 80) };
        Assert.Equal(8081, PortMaps.Allocate("tcp", "", 8080, 8081, taken, "ep", (_, _, _) => true));
        Assert.Equal(8080, PortMaps.Allocate("udp", "", 8080, 8080, taken, "ep", (_, _, _) => true));
        var e = Assert.Throws<BerthException>(() => PortMaps.Allocate("tcp", "127.0.0.1", 8080, 8080, taken, "ep1", (_, _, _) => true));
        Assert.Equal("driver failed programming external connectivity on endpoint ep1: Bind for 127.0.0.1:8080 failed: port is already allocated", e.Message);
    }

    [Fact]
    public void Allocate_DetectsAPortInUseOnTheHost()
    {
        using var listener = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
        listener.Bind(new IPEndPoint(IPAddress.Loopback, 0));
        listener.Listen();
        int port = ((IPEndPoint)listener.LocalEndPoint!).Port;
        Assert.False(PortMaps.HostPortFree("tcp", "0.0.0.0", port));
        Assert.Throws<BerthException>(() => PortMaps.Allocate("tcp", "", port, port, [], "ep"));
        var (a, b) = PortMaps.EphemeralRange();
        int eph = PortMaps.Allocate("tcp", "", 0, 0, [], "ep");
        Assert.InRange(eph, a, b);
    }

    [Fact]
    public void Requested_BindingsPerExposedPort_PublishAllTakesTheRest()
    {
        var bindings = new Dictionary<string, List<Berth.Api.Containers.PortBinding>?>
        {
            ["80/tcp"] = [new() { HostIp = "", HostPort = "8080" }, new() { HostIp = "127.0.0.1", HostPort = "9000-9010" }],
            ["53/udp"] = [],
        };
        var r = PortRequests.Requested(["81/tcp", "53/udp"], bindings, publishAll: true);
        Assert.Equal([
            new PortRequest("udp", 53, "", 0, 0),
            new PortRequest("tcp", 80, "", 8080, 8080),
            new PortRequest("tcp", 80, "127.0.0.1", 9000, 9010),
            new PortRequest("tcp", 81, "", 0, 0)], r);
        Assert.Equal(["53/udp", "80/tcp", "81/tcp"], PortRequests.ExposedKeys(["81/tcp", "53/udp"], bindings));
        Assert.Equal(2, PortRequests.Requested(["81/tcp"], bindings, publishAll: false).Count);
    }

    [Fact]
    public void Rules_DnatPerMap_MasqueradeForLoopbackAndHairpin()
    {
        var n = new NetworkRecord { Id = "n", Driver = "bridge", BridgeName = "berth0", Subnet = "172.17.0.0/16" };
        n.Endpoints["e"] = new EndpointRecord
        {
            Id = "e", IPAddress = "172.17.0.2",
            Ports = [new PortMap("tcp", "0.0.0.0", 8080, "172.17.0.2", 80), new PortMap("udp", "127.0.0.1", 5353, "172.17.0.2", 53)],
        };
        var text = NftRules.Render("berth", [n]);
        Assert.Contains("chain port-prerouting {\n\t\ttype nat hook prerouting priority dstnat; policy accept;\n"
            + "\t\tfib daddr type local tcp dport 8080 dnat to 172.17.0.2:80\n\t\tip daddr 127.0.0.1 udp dport 5353 dnat to 172.17.0.2:53\n", text);
        Assert.Contains("type nat hook output priority -100; policy accept;\n\t\tfib daddr type local tcp dport 8080 dnat to 172.17.0.2:80", text);
        Assert.Contains("ip saddr 127.0.0.0/8 oifname \"berth0\" masquerade", text);
        Assert.Contains("ip saddr 172.17.0.0/16 oifname \"berth0\" ct status dnat masquerade", text);
        n.Endpoints["e"].Ports = [];
        Assert.DoesNotContain("port-", NftRules.Render("berth", [n]));
    }
}
