using System.Text.RegularExpressions;

namespace Berth.Daemon.Tests;

/// <summary>
/// Networking end to end with the real docker CLI: the default bridge, user-defined bridges (subnet, range,
/// gateway, order of addresses, isolation, --internal), host, none and container: modes, connect and
/// disconnect, persistence across a daemon restart, and nothing left behind. Traffic goes only between the
/// test's containers and to a namespace the test makes ("outside").
/// </summary>
public sealed class NetworkTests(DaemonFixture fx) : IClassFixture<DaemonFixture>
{
    private (int Code, string Stdout, string Stderr) Docker(params string[] args) => DockerCli.Run(fx.Dir.Socket, fx.Dir.Path, args);

    private string Ok(params string[] args)
    {
        var (code, stdout, stderr) = Docker(args);
        Assert.True(code == 0, $"docker {string.Join(' ', args)} exited {code}: {stdout}{stderr}\n{fx.LogTail}");
        return stdout;
    }

    private string Ip(string container, string network) =>
        Ok("inspect", "-f", $"{{{{(index .NetworkSettings.Networks \"{network}\").IPAddress}}}}", container).Trim();

    /// <summary>Runs a command in the network namespace of a running container (Berth has no exec yet).</summary>
    private string In(string container, params string[] cmd) => Ok(["run", "--rm", "--network", "container:" + container, "busybox", .. cmd]);

    private static string Unique(string prefix) => prefix + Guid.NewGuid().ToString("N")[..6];

    [Fact]
    public void DefaultBridge_GivesEth0_AnAddress_ARouteAndInspect()
    {
        var name = Unique("nb");
        Ok("run", "-d", "--name", name, "busybox", "sleep", "60");
        try
        {
            var inside = In(name, "sh", "-c", "ip -4 -o addr show eth0; ip route");
            var ip = Ok("inspect", "-f", "{{.NetworkSettings.IPAddress}}", name).Trim();
            var (gw, mac, prefix) = (Ok("inspect", "-f", "{{.NetworkSettings.Gateway}}", name).Trim(),
                Ok("inspect", "-f", "{{.NetworkSettings.MacAddress}}", name).Trim(), Ok("inspect", "-f", "{{.NetworkSettings.IPPrefixLen}}", name).Trim());
            Assert.Matches(@"^\d+\.\d+\.\d+\.2$", ip);
            Assert.Contains($"inet {ip}/{prefix}", inside);
            Assert.Contains($"default via {gw} dev eth0", inside);
            var b = ip.Split('.').Select(int.Parse).ToArray();
            Assert.Equal($"02:42:{b[0]:x2}:{b[1]:x2}:{b[2]:x2}:{b[3]:x2}", mac);
            Assert.Contains($"{ip}\t", File.ReadAllText(Ok("inspect", "-f", "{{.HostsPath}}", name).Trim()));
            Assert.Equal(Ok("inspect", "-f", "{{.NetworkSettings.Networks.bridge.NetworkID}}", name).Trim(), Ok("network", "inspect", "-f", "{{.Id}}", "bridge").Trim());
            Assert.Equal("default", Ok("inspect", "-f", "{{.HostConfig.NetworkMode}}", name).Trim());
            Assert.StartsWith(fx.Dir.ExecRoot + "/netns/", Ok("inspect", "-f", "{{.NetworkSettings.SandboxKey}}", name).Trim());
            var net = Ok("network", "inspect", "bridge");
            Assert.Contains($"\"IPv4Address\": \"{ip}/{prefix}\"", net);
        }
        finally { Docker("rm", "-f", name); }
        // Stopped: the address is released.
        Assert.DoesNotContain("IPv4Address", Ok("network", "inspect", "-f", "{{json .Containers}}", "bridge"));
    }

    [Fact]
    public void UserNetwork_SubnetRangeGateway_AddressesInOrder_ReleasedAndReused()
    {
        var net = Unique("nu");
        Ok("network", "create", "--subnet", "10.123.0.0/16", "--ip-range", "10.123.5.0/24", "--gateway", "10.123.5.254",
            "--aux-address", "r=10.123.5.2", "--label", "k=v", net);
        var names = new List<string>();
        try
        {
            Assert.Equal("10.123.0.0/16 10.123.5.0/24 10.123.5.254 map[r:10.123.5.2]",
                Ok("network", "inspect", "-f", "{{range .IPAM.Config}}{{.Subnet}} {{.IPRange}} {{.Gateway}} {{.AuxiliaryAddresses}}{{end}}", net).Trim());
            Assert.Equal("v", Ok("network", "inspect", "-f", "{{index .Labels \"k\"}}", net).Trim());
            for (int i = 0; i < 3; i++)
            {
                var n = Unique("nc");
                names.Add(n);
                Ok("run", "-d", "--name", n, "--network", net, "busybox", "sleep", "60");
            }
            // .1, then .3 (.2 is an aux address), .4.
            Assert.Equal(["10.123.5.1", "10.123.5.3", "10.123.5.4"], names.Select(n => Ip(n, net)));
            Assert.Contains("default via 10.123.5.254", In(names[0], "ip", "route"));
            Ok("rm", "-f", names[1]);
            var again = Unique("nc");
            names.Add(again);
            Ok("run", "-d", "--name", again, "--network", net, "busybox", "sleep", "60");
            Assert.Equal("10.123.5.3", Ip(again, net));
            // --ip and --mac-address.
            var fixedIp = Unique("nc");
            names.Add(fixedIp);
            // (The CLI sends --mac-address with a network only to API 1.44 daemons: Config.MacAddress is tested
            // through the API in MacAddressFromTheApi.)
            Ok("run", "-d", "--name", fixedIp, "--network", net, "--ip", "10.123.7.7", "busybox", "sleep", "60");
            Assert.Contains("inet 10.123.7.7/16", In(fixedIp, "ip", "-4", "-o", "addr", "show", "eth0"));
            var (code, _, err) = Docker("run", "--rm", "--network", net, "--ip", "10.123.7.7", "busybox", "true");
            Assert.NotEqual(0, code);
            Assert.Contains("Address already in use", err);
            // In use: refused with dockerd's words.
            (code, _, err) = Docker("network", "rm", net);
            Assert.NotEqual(0, code);
            Assert.Contains($"error while removing network: network {net} id", err);
            Assert.Contains("has active endpoints", err);
        }
        finally
        {
            if (names.Count > 0) Docker(["rm", "-f", .. names]);
            Ok("network", "rm", net);
        }
    }

    [Fact]
    public void ContainersOnOneNetworkReachEachOther_OnDifferentNetworksCannot()
    {
        var (a, b) = (Unique("na"), Unique("nb"));
        Ok("network", "create", a);
        Ok("network", "create", b);
        var (a1, a2, b1) = (Unique("c"), Unique("c"), Unique("c"));
        try
        {
            Ok("run", "-d", "--name", a1, "--network", a, "busybox", "sleep", "60");
            Ok("run", "-d", "--name", a2, "--network", a, "busybox", "sleep", "60");
            Ok("run", "-d", "--name", b1, "--network", b, "busybox", "sleep", "60");
            var ip1 = Ip(a1, a);
            Assert.Equal(0, Docker("run", "--rm", "--network", "container:" + a2, "busybox", "ping", "-c", "1", "-W", "2", ip1).Code);
            Assert.NotEqual(0, Docker("run", "--rm", "--network", "container:" + b1, "busybox", "ping", "-c", "1", "-W", "1", ip1).Code);
            // Connect b1 to a: a second interface, and now it reaches a1; disconnect: gone again.
            Ok("network", "connect", a, b1);
            Assert.Contains("eth1", In(b1, "ls", "/sys/class/net"));
            Assert.Equal(0, Docker("run", "--rm", "--network", "container:" + b1, "busybox", "ping", "-c", "1", "-W", "2", ip1).Code);
            Ok("network", "disconnect", a, b1);
            Assert.DoesNotContain("eth1", In(b1, "ls", "/sys/class/net"));
        }
        finally
        {
            Docker("rm", "-f", a1, a2, b1);
            Docker("network", "rm", a, b);
        }
    }

    [Fact]
    public void InternalNetwork_HasNoRouteOut()
    {
        var n = Unique("ni");
        Ok("network", "create", "--internal", n);
        try
        {
            var routes = Ok("run", "--rm", "--network", n, "busybox", "ip", "route");
            Assert.DoesNotContain("default", routes);
            Assert.Contains("dev eth0", routes);
            Assert.Equal("true", Ok("network", "inspect", "-f", "{{.Internal}}", n).Trim());
        }
        finally { Ok("network", "rm", n); }
    }

    [Fact]
    public void OutboundNat_ReachesANamespaceStandingForTheOutside()
    {
        // An "outside" host: a namespace with 10.231.77.2/24 behind a veth; it has no route to the containers,
        // so a reply comes back only when the container's traffic was masqueraded.
        var ns = Unique("bnt");
        var veth = Unique("bno");
        Run.Command("ip", ["netns", "add", ns]);
        try
        {
            Assert.Equal(0, Run.Command("ip", ["link", "add", veth, "type", "veth", "peer", "name", "o0", "netns", ns]).Code);
            Run.Command("ip", ["addr", "add", "10.231.77.1/24", "dev", veth]);
            Run.Command("ip", ["link", "set", veth, "up"]);
            Run.Command("ip", ["-n", ns, "addr", "add", "10.231.77.2/24", "dev", "o0"]);
            Run.Command("ip", ["-n", ns, "link", "set", "o0", "up"]);
            Run.Command("ip", ["-n", ns, "link", "set", "lo", "up"]);
            Assert.Equal("ok\n", Ok("run", "--rm", "busybox", "sh", "-c", "ping -c 1 -W 2 10.231.77.2 >/dev/null && echo ok"));
        }
        finally
        {
            Run.Command("ip", ["link", "del", veth]);
            Run.Command("ip", ["netns", "del", ns]);
        }
    }

    [Fact]
    public void HostNoneAndContainerModes()
    {
        // The host's own network namespace (its interfaces come and go while other tests run: compared by identity).
        var hostNetNs = new FileInfo("/proc/self/ns/net").LinkTarget;
        Assert.Equal(hostNetNs, Ok("run", "--rm", "--network", "host", "busybox", "readlink", "/proc/self/ns/net").Trim());
        Assert.Equal(File.ReadAllText("/proc/sys/kernel/hostname").Trim(), Ok("run", "--rm", "--network", "host", "busybox", "hostname").Trim());
        Assert.Equal("lo\n", Ok("run", "--rm", "--network", "none", "busybox", "ls", "/sys/class/net"));
        var owner = Unique("no");
        Ok("create", "--name", owner, "busybox", "sleep", "60");
        try
        {
            var (code, _, err) = Docker("run", "--rm", "--network", "container:" + owner, "busybox", "true");
            Assert.NotEqual(0, code);
            Assert.Contains($"cannot join network of a non running container: {owner}", err);
            Ok("start", owner);
            var mac = Ok("inspect", "-f", "{{.NetworkSettings.MacAddress}}", owner);
            Assert.Equal(mac, Ok("run", "--rm", "--network", "container:" + owner, "busybox", "cat", "/sys/class/net/eth0/address"));
        }
        finally { Docker("rm", "-f", owner); }
    }

    [Fact]
    public void ContainerMode_SeesTheOthersHostsResolvConfAndHostname()
    {
        var (net, owner) = (Unique("nc"), Unique("own"));
        Ok("network", "create", net);
        try
        {
            Ok("run", "-d", "--name", owner, "--network", net, "--hostname", "ownerh", "--domainname", "example.test",
                "--add-host", "extra.test:10.9.8.7", "--dns-search", "search.test", "busybox", "sleep", "120");
            const string show = "cat /etc/hosts; echo ---; cat /etc/resolv.conf; echo ---; hostname; cat /etc/hostname";
            var mine = Ok("exec", owner, "sh", "-c", show);
            Assert.Contains("10.9.8.7\textra.test\n", mine);
            Assert.Contains("nameserver 127.0.0.11\n", mine);
            Assert.EndsWith("---\nownerh\nownerh\n", mine);
            // The joiner sees the owner's files and name, not its own (Docker's initializeNetworkingPaths).
            Assert.Equal(mine, In(owner, "sh", "-c", show));
            Assert.Equal("ownerh example.test\n", In(owner, "sh", "-c", "echo $HOSTNAME $(cat /proc/sys/kernel/domainname)"));
            var joiner = Unique("jn");
            Ok("run", "-d", "--name", joiner, "--network", "container:" + owner, "busybox", "sleep", "120");
            try
            {
                Assert.Equal("ownerh", Ok("inspect", "-f", "{{.Config.Hostname}}", joiner).Trim());
                Assert.Equal("example.test", Ok("inspect", "-f", "{{.Config.Domainname}}", joiner).Trim());
                // The same files: a change to the owner's (a network connect adds its address) shows in the joiner.
                var net2 = Unique("nc");
                Ok("network", "create", net2);
                try
                {
                    Ok("network", "connect", net2, owner);
                    Assert.Contains($"{Ip(owner, net2)}\townerh.example.test ownerh\n", Ok("exec", joiner, "cat", "/etc/hosts"));
                    Ok("network", "disconnect", net2, owner);
                }
                finally { Docker("network", "rm", net2); }
                Assert.Equal(mine, Ok("exec", joiner, "sh", "-c", show));
            }
            finally { Docker("rm", "-f", joiner); }
        }
        finally
        {
            Docker("rm", "-f", owner);
            Docker("network", "rm", net);
        }
    }

    [Fact]
    public void NetworkApi_ListFiltersErrorsAndPrune()
    {
        var ls = Ok("network", "ls", "--format", "{{.Name}} {{.Driver}} {{.Scope}}");
        Assert.Contains("bridge bridge local", ls);
        Assert.Contains("host host local", ls);
        Assert.Contains("none null local", ls);
        var (code, _, err) = Docker("network", "rm", "bridge");
        Assert.NotEqual(0, code);
        Assert.Contains("bridge is a pre-defined network and cannot be removed", err);
        (code, _, err) = Docker("network", "inspect", "nosuchnet");
        Assert.NotEqual(0, code);
        Assert.Contains("network nosuchnet not found", err);
        var n = Unique("np");
        Ok("network", "create", "--subnet", "10.124.0.0/24", "--label", "prune=me", n);
        (code, _, err) = Docker("network", "create", n);
        Assert.NotEqual(0, code);
        Assert.Contains($"network with name {n} already exists", err);
        (code, _, err) = Docker("network", "create", "--subnet", "10.124.0.128/25", n + "x");
        Assert.NotEqual(0, code);
        Assert.Contains("Pool overlaps with other one on this address space", err);
        Assert.Equal(n + "\n", Ok("network", "ls", "--filter", "label=prune=me", "--format", "{{.Name}}"));
        Assert.Contains(n, Ok("network", "prune", "-f", "--filter", "label=prune=me"));
        Assert.Equal("", Ok("network", "ls", "--filter", "label=prune=me", "-q"));
        // The create answers 404 "network nosuchnet not found"; the CLI takes any 404 of create for a missing
        // image and tries a pull first, as it does with dockerd.
        int before = Ok("ps", "-aq").Length;
        (code, _, _) = Docker("run", "--rm", "--network", "nosuchnet", "busybox", "true");
        Assert.Equal(125, code);
        Assert.Equal(before, Ok("ps", "-aq").Length);
    }

    [Fact]
    public async Task MacAddressFromTheApi()
    {
        var n = Unique("nm");
        using var http = UnixHttp.Client(fx.Dir.Socket);
        var body = """{"Image":"busybox","Cmd":["sleep","60"],"MacAddress":"02:42:0a:7b:07:99","HostConfig":{"NetworkMode":"bridge"}}""";
        var r = await http.PostAsync($"/v1.41/containers/create?name={n}", new StringContent(body, System.Text.Encoding.UTF8, "application/json"));
        Assert.Equal(System.Net.HttpStatusCode.Created, r.StatusCode);
        try
        {
            Ok("start", n);
            Assert.Equal("02:42:0a:7b:07:99\n", In(n, "cat", "/sys/class/net/eth0/address"));
            Assert.Equal("02:42:0a:7b:07:99\n", Ok("inspect", "-f", "{{.NetworkSettings.MacAddress}}", n));
        }
        finally { Docker("rm", "-f", n); }
    }

    [Fact]
    public void RunningContainersKeepTheirAddressesAcrossARestart()
    {
        var n = Unique("nr");
        Ok("network", "create", "--subnet", "10.125.0.0/24", n);
        var (c1, c2) = (Unique("c"), Unique("c"));
        try
        {
            Ok("run", "-d", "--name", c1, "--network", n, "busybox", "sleep", "120");
            Assert.Equal("10.125.0.2", Ip(c1, n));
            fx.Restart();
            Assert.Equal("10.125.0.2", Ip(c1, n));
            Assert.Contains("inet 10.125.0.2/24", In(c1, "ip", "-4", "-o", "addr", "show", "eth0"));
            Ok("run", "-d", "--name", c2, "--network", n, "busybox", "sleep", "120");
            Assert.Equal("10.125.0.3", Ip(c2, n));
            Assert.Equal(0, Docker("run", "--rm", "--network", "container:" + c2, "busybox", "ping", "-c", "1", "-W", "2", "10.125.0.2").Code);
        }
        finally
        {
            Docker("rm", "-f", c1, c2);
            Docker("network", "rm", n);
        }
    }
}

/// <summary>After everything is removed and berthd stopped: no veth, bridge, netns mount or nft table is left.</summary>
public sealed class NetworkCleanupTests
{
    private static HashSet<string> Links() =>
        Run.Command("ip", ["-o", "link"]).Stdout.Split('\n', StringSplitOptions.RemoveEmptyEntries)
            .Select(l => Regex.Match(l, @"^\d+: ([^:@]+)").Groups[1].Value).ToHashSet();

    /// <summary>The host-side veths the daemon's network records name.</summary>
    private static List<string> Veths(string dataRoot) =>
        Directory.GetFiles(Path.Combine(dataRoot, "network"), "*.json")
            .SelectMany(f => Regex.Matches(File.ReadAllText(f), "\"HostIfName\": \"([^\"]+)\"").Select(m => m.Groups[1].Value)).ToList();

    [Fact]
    public void NothingIsLeftBehind()
    {
        using var dir = new TempDir();
        string bridge, table, userBridge;
        List<string> veths;
        using (var d = BerthdProcess.StartIn(dir))
        {
            (int, string, string) D(params string[] a) => DockerCli.Run(dir.Socket, dir.Path, a);
            Assert.Equal(0, D("network", "create", "cleanme").Item1);
            Assert.Equal(0, D("run", "-d", "--name", "x1", "busybox", "sleep", "60").Item1);
            Assert.Equal(0, D("run", "-d", "--name", "x2", "--network", "cleanme", "busybox", "sleep", "60").Item1);
            bridge = D("network", "inspect", "-f", "{{index .Options \"com.docker.network.bridge.name\"}}", "bridge").Item2.Trim();
            userBridge = "br-" + D("network", "inspect", "-f", "{{.Id}}", "cleanme").Item2.Trim()[..12];
            table = "berth-" + bridge;
            veths = Veths(dir.DataRoot);
            Assert.Equal(2, veths.Count);
            var links = Links();
            Assert.Subset(links, new HashSet<string>([bridge, userBridge, .. veths]));
            Assert.Contains("masquerade", Run.Command("nft", ["list", "table", "ip", table]).Stdout);
            Assert.Contains(File.ReadAllLines("/proc/self/mountinfo"), l => l.Contains(dir.ExecRoot + "/netns/"));
            Assert.Equal(0, D("rm", "-f", "x1", "x2").Item1);
            Assert.Equal(0, D("network", "rm", "cleanme").Item1);
            Assert.DoesNotContain(File.ReadAllLines("/proc/self/mountinfo"), l => l.Contains(dir.ExecRoot + "/netns/"));
            Assert.Empty(Veths(dir.DataRoot));
            // The pairs go with their namespaces (the kernel removes them asynchronously).
            for (int i = 0; i < 50 && Links().Overlaps(veths); i++) Thread.Sleep(100);
            Assert.False(Links().Overlaps(veths));
            Assert.DoesNotContain(userBridge, Links());
            d.Signal(BerthdProcess.SIGTERM);
            Assert.True(d.WaitForExit(TimeSpan.FromSeconds(15)));
        }
        Assert.DoesNotContain(bridge, Links());
        Assert.NotEqual(0, Run.Command("nft", ["list", "table", "ip", table]).Code);
    }
}
