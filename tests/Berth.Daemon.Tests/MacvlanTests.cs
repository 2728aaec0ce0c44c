namespace Berth.Daemon.Tests;

/// <summary>
/// The macvlan driver end to end with the docker CLI, on a veth parent whose peer lives in a namespace the test
/// makes (the "segment" outside): never the machine's real NIC.
/// </summary>
public sealed class MacvlanTests(DaemonFixture fx) : IClassFixture<DaemonFixture>
{
    private (int Code, string Stdout, string Stderr) Docker(params string[] args) => DockerCli.Run(fx.Dir.Socket, fx.Dir.Path, args);

    private string Ok(params string[] args)
    {
        var (code, stdout, stderr) = Docker(args);
        Assert.True(code == 0, $"docker {string.Join(' ', args)} exited {code}: {stdout}{stderr}\n{fx.LogTail}");
        return stdout;
    }

    private string Fails(params string[] args)
    {
        var (code, stdout, stderr) = Docker(args);
        Assert.True(code != 0, $"docker {string.Join(' ', args)} succeeded: {stdout}");
        return stderr;
    }

    private static string Unique(string prefix) => prefix + Guid.NewGuid().ToString("N")[..6];

    private static string Sh(params string[] args)
    {
        var (code, stdout, stderr) = Run.Command(args[0], args[1..]);
        Assert.True(code == 0, $"{string.Join(' ', args)}: {stdout}{stderr}");
        return stdout;
    }

    /// <summary>A veth pair: <c>parent</c> in the host (up, no address), its peer "seg0" in a new namespace with <paramref name="peerCidr"/>.</summary>
    private static (string Parent, string Ns) Segment(string peerCidr)
    {
        var ns = Unique("bmvn");
        var parent = Unique("bmvp");
        Sh("ip", "netns", "add", ns);
        Sh("ip", "link", "add", parent, "type", "veth", "peer", "name", "seg0", "netns", ns);
        Sh("ip", "link", "set", parent, "up");
        Sh("ip", "-n", ns, "addr", "add", peerCidr, "dev", "seg0");
        Sh("ip", "-n", ns, "link", "set", "seg0", "up");
        Sh("ip", "-n", ns, "link", "set", "lo", "up");
        return (parent, ns);
    }

    private static void Drop((string Parent, string Ns) s)
    {
        Run.Command("ip", ["link", "del", s.Parent]);
        Run.Command("ip", ["netns", "del", s.Ns]);
    }

    private static string MacvlansOn(string parent) =>
        string.Join('\n', Run.Command("ip", ["-o", "link", "show", "type", "macvlan"]).Stdout.Split('\n').Where(l => l.Contains("@" + parent)));

    [Fact]
    public void TwoContainersOnAVethParent_ReachEachOtherAndThePeerNamespace_RmCleansEverything()
    {
        var seg = Segment("10.77.5.1/24");
        var net = Unique("mv");
        string c1 = Unique("mva"), c2 = Unique("mvb");
        try
        {
            Ok("network", "create", "-d", "macvlan", "-o", "parent=" + seg.Parent, "--subnet", "10.77.5.0/24", "--gateway", "10.77.5.1", net);
            Assert.Equal("macvlan " + seg.Parent + "\n", Ok("network", "inspect", "-f", "{{.Driver}} {{.Options.parent}}", net));
            Ok("run", "-d", "--name", c1, "--network", net, "busybox", "sleep", "60");
            Ok("run", "-d", "--name", c2, "--network", net, "busybox", "sleep", "60");
            Assert.Equal("10.77.5.2\n", Ok("inspect", "-f", $"{{{{(index .NetworkSettings.Networks \"{net}\").IPAddress}}}}", c1));
            Assert.Equal("10.77.5.3\n", Ok("inspect", "-f", $"{{{{(index .NetworkSettings.Networks \"{net}\").IPAddress}}}}", c2));
            // eth0 is a macvlan (bridge mode) with Docker's MAC and the gateway as default route.
            var sandbox = Ok("inspect", "-f", "{{.NetworkSettings.SandboxKey}}", c1).Trim();
            var link = Sh("nsenter", "--net=" + sandbox, "ip", "-d", "link", "show", "eth0");
            Assert.Contains("macvlan mode bridge", link);
            Assert.Contains("link/ether 02:42:0a:4d:05:02", link);
            Assert.Contains("default via 10.77.5.1", Ok("run", "--rm", "--network", "container:" + c1, "busybox", "ip", "route"));
            // c1 → c2 (bridge mode on one parent), c1 → the segment's address, the segment → c2.
            Ok("run", "--rm", "--network", "container:" + c1, "busybox", "ping", "-c", "1", "-W", "2", "10.77.5.3");
            Ok("run", "--rm", "--network", "container:" + c1, "busybox", "ping", "-c", "1", "-W", "2", "10.77.5.1");
            Sh("ip", "netns", "exec", seg.Ns, "busybox", "ping", "-c", "1", "-W", "2", "10.77.5.3");
            Ok("rm", "-f", c1, c2);
            Ok("network", "rm", net);
            Assert.Equal("", MacvlansOn(seg.Parent));
            Assert.DoesNotContain(net, Ok("network", "ls"));
        }
        finally
        {
            Docker("rm", "-f", c1, c2);
            Docker("network", "rm", net);
            Drop(seg);
        }
    }

    [Fact]
    public void WhatTheKernelOrDockerRefuses_IsRefusedByName_AndLeavesNothing()
    {
        var seg = Segment("10.77.6.1/24");
        var net = Unique("mvr");
        try
        {
            Assert.Contains("requested macvlan mode 'bogus' is not valid, 'bridge' mode is the macvlan driver default",
                Fails("network", "create", "-d", "macvlan", "-o", "parent=" + seg.Parent, "-o", "macvlan_mode=bogus", net));
            Assert.Contains("loopback interface is not a valid macvlan parent link",
                Fails("network", "create", "-d", "macvlan", "-o", "parent=lo", net));
            Assert.Contains("-o parent interface was not found on the host: nosuchif0",
                Fails("network", "create", "-d", "macvlan", "-o", "parent=nosuchif0.10", net));
            Assert.Contains("invalid subinterface vlan name nosuchif0, example formatting is eth0.10",
                Fails("network", "create", "-d", "macvlan", "-o", "parent=nosuchif0", net));
            Assert.Contains("vlan id must be between 1-4094, received: 5000",
                Fails("network", "create", "-d", "macvlan", "-o", "parent=" + seg.Parent + ".5000", net));
            Assert.Contains("network option \"foo\" is not implemented",
                Fails("network", "create", "-d", "macvlan", "-o", "parent=" + seg.Parent, "-o", "foo=1", net));

            // 802.1q: made on demand and removed with the network where the kernel has it; refused by name here.
            var vlan = seg.Parent + ".10";
            var (code, _, err) = Docker("network", "create", "-d", "macvlan", "-o", "parent=" + vlan, "--subnet", "10.77.7.0/24", net);
            if (code == 0)
            {
                Assert.Contains(vlan, Run.Command("ip", ["-o", "link"]).Stdout);
                Ok("network", "rm", net);
            }
            else Assert.Contains($"failed to create the {vlan} subinterface: the kernel has no 802.1q VLAN support", err);
            Assert.DoesNotContain(vlan, Run.Command("ip", ["-o", "link"]).Stdout);

            // --internal (and no parent): a dummy parent as Docker, refused where the kernel has no dummy links.
            (code, _, err) = Docker("network", "create", "-d", "macvlan", "--internal", "--subnet", "10.77.8.0/24", net);
            if (code == 0) Ok("network", "rm", net);
            else Assert.Contains("the kernel has no dummy link support", err);
            Assert.DoesNotContain("dm-", Run.Command("ip", ["-o", "link"]).Stdout);

            // One macvlan network per parent (Docker's words); the first one works.
            Ok("network", "create", "-d", "macvlan", "-o", "parent=" + seg.Parent, "--subnet", "10.77.6.0/24", net);
            var id = Ok("network", "inspect", "-f", "{{.Id}}", net).Trim();
            Assert.Contains($"network dm-{id[..12]} is already using parent interface {seg.Parent}",
                Fails("network", "create", "-d", "macvlan", "-o", "parent=" + seg.Parent, "--subnet", "10.77.9.0/24", net + "x"));
            Ok("network", "rm", net);
            Assert.DoesNotContain(net, Ok("network", "ls"));
            Assert.Equal("", MacvlansOn(seg.Parent));
        }
        finally
        {
            Docker("network", "rm", net);
            Drop(seg);
        }
    }
}
