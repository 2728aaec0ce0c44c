using System.Diagnostics;
using System.Net;
using Berth.Interop;
using Berth.Interop.Netlink;

namespace Berth.Privileged.Tests;

/// <summary>rtnetlink from C# against the kernel: a persistent namespace, a veth pair into it, addresses and a
/// route, a bridge; checked with iproute2 through nsenter, and nothing left behind.</summary>
public sealed class NetlinkTests : IDisposable
{
    private readonly string _dir = Directory.CreateTempSubdirectory("berth-netlink-").FullName;
    private readonly string _suffix = Guid.NewGuid().ToString("N")[..6];

    public void Dispose()
    {
        foreach (var f in Directory.GetFiles(_dir)) { try { NetNamespace.Remove(f); } catch (ErrnoException) { } }
        Directory.Delete(_dir, recursive: true);
    }

    private static string Sh(string file, params string[] args)
    {
        var p = Process.Start(new ProcessStartInfo(file, args) { RedirectStandardOutput = true, RedirectStandardError = true })!;
        var o = p.StandardOutput.ReadToEnd() + p.StandardError.ReadToEnd();
        p.WaitForExit();
        return o;
    }

    [Fact]
    public void SandboxWithVethAddressAndRoute()
    {
        var ns = Path.Combine(_dir, "ns1");
        string bridge = "tbr" + _suffix, veth = "tve" + _suffix;
        using var host = RtNetlink.Open();
        try
        {
            using (var inside = NetNamespace.Create(ns))
            {
                Assert.Contains("LOOPBACK,UP", Sh("nsenter", "--net=" + ns, "ip", "-o", "link", "show", "lo"));
                host.AddBridge(bridge, 0);
                int br = host.LinkIndex(bridge);
                Assert.True(br > 0);
                host.AddAddress(br, IPAddress.Parse("10.211.0.1"), 24);
                host.SetUp(br);
                int fd = NetNamespace.OpenFd(ns);
                try { host.AddVeth(veth, "eth0", fd, [0x02, 0x42, 10, 211, 0, 2], 1400); }
                finally { Libc.close(fd); }
                int hv = host.LinkIndex(veth);
                host.SetUp(hv, br);
                host.SetBridgePort(hv, isolated: true, hairpin: false);
                int eth0 = inside.LinkIndex("eth0");
                Assert.True(eth0 > 0);
                Assert.Equal(0, host.LinkIndex("eth0" + _suffix));
                inside.AddAddress(eth0, IPAddress.Parse("10.211.0.2"), 24);
                inside.SetUp(eth0);
                inside.AddDefaultRoute(IPAddress.Parse("10.211.0.1"), eth0);
                var addr = Sh("nsenter", "--net=" + ns, "ip", "-o", "addr", "show", "eth0");
                Assert.Contains("inet 10.211.0.2/24 brd 10.211.0.255", addr);
                Assert.Contains("link/ether 02:42:0a:d3:00:02", Sh("nsenter", "--net=" + ns, "ip", "link", "show", "eth0"));
                Assert.Contains("mtu 1400", Sh("nsenter", "--net=" + ns, "ip", "link", "show", "eth0"));
                Assert.Contains("default via 10.211.0.1 dev eth0", Sh("nsenter", "--net=" + ns, "ip", "route"));
                Assert.Contains($"master {bridge}", Sh("ip", "link", "show", veth));
                Assert.Contains("isolated on", Sh("ip", "-d", "link", "show", veth));
                Assert.Contains(host.Links(), l => l.Name == veth);
                Assert.Contains(" 0% packet loss", Sh("nsenter", "--net=" + ns, "busybox", "ping", "-c", "1", "-W", "2", "10.211.0.1"));
                Assert.True(host.DeleteLink(veth));
                Assert.False(host.DeleteLink(veth));
                Assert.True(host.DeleteLink(bridge));
            }
        }
        finally
        {
            host.DeleteLink(veth);
            host.DeleteLink(bridge);
        }
        NetNamespace.Remove(ns);
        Assert.False(File.Exists(ns));
        Assert.DoesNotContain(File.ReadAllLines("/proc/self/mountinfo"), l => l.Contains(ns));
    }

    [Fact]
    public void OpenNetlinkInAnExistingNamespace()
    {
        var ns = Path.Combine(_dir, "ns2");
        NetNamespace.Create(ns).Dispose();
        using var again = NetNamespace.OpenNetlink(ns);
        Assert.Equal(["lo"], again.Links().Select(l => l.Name));
        NetNamespace.Remove(ns);
    }

    [Fact]
    public void ErrorsCarryTheErrno()
    {
        using var host = RtNetlink.Open();
        var e = Assert.Throws<ErrnoException>(() => host.AddBridge("lo", 0));
        Assert.Equal(Libc.EEXIST, e.Errno);
        Assert.Equal(0, host.LinkIndex("nosuch" + Guid.NewGuid().ToString("N")[..6]));
    }
}
