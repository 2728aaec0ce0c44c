using System.Diagnostics;
using System.Text.Json;
using System.Text.RegularExpressions;
using Berth.Engine.Networking;
using Berth.Interop.Netlink;
using Xunit.Abstractions;

namespace Berth.Daemon.Tests;

/// <summary>
/// No leaks (issue 10): a daemon's plumbing counted by owner (NetworkOwnership: the bridges with its alias, the
/// veths on them, its sandboxes, its table, the endpoints of its records) after berthd is killed with -9 in the
/// middle of a burst of starts on two networks and started again, and after many create/start/rm cycles.
/// </summary>
public sealed class NetworkLeakTests(ITestOutputHelper output)
{
    /// <summary>What one daemon has in the host and in its records.</summary>
    private sealed record Census(int Bridges, int Veths, int Sandboxes, int Mounts, int Endpoints, string Table)
    {
        public static Census Of(TempDir dir)
        {
            using var nl = RtNetlink.Open();
            var links = nl.LinkDetails();
            var owner = NetworkOwnership.OwnerOf(dir.ExecRoot);
            var bridges = links.Where(l => l.Alias == owner && l.Kind == "bridge").Select(l => l.Index).ToHashSet();
            var netns = Path.Combine(dir.ExecRoot, "netns");
            int endpoints = Directory.Exists(Path.Combine(dir.DataRoot, "network"))
                ? Directory.GetFiles(Path.Combine(dir.DataRoot, "network"), "*.json").Sum(f => Regex.Matches(File.ReadAllText(f), "\"HostIfName\"").Count)
                : 0;
            var table = Run.Command("nft", ["list", "table", "ip", NetworkOwnership.TableFor(dir.ExecRoot)]);
            return new Census(
                bridges.Count,
                links.Count(l => l.Kind == "veth" && bridges.Contains(l.Master)),
                Directory.Exists(netns) ? Directory.GetFiles(netns).Length : 0,
                File.ReadAllLines("/proc/self/mountinfo").Count(l => l.Contains(netns + "/", StringComparison.Ordinal)),
                endpoints,
                table.Code == 0 ? table.Stdout : "");
        }
    }

    /// <summary>Polls until the census matches (veths go asynchronously with their namespaces).</summary>
    private static Census WaitFor(TempDir dir, Func<Census, bool> ok, int seconds = 15)
    {
        var sw = Stopwatch.StartNew();
        Census c;
        while (!ok(c = Census.Of(dir)) && sw.Elapsed < TimeSpan.FromSeconds(seconds)) Thread.Sleep(100);
        return c;
    }

    private static (int Code, string Stdout, string Stderr) D(TempDir dir, params string[] a) => DockerCli.Run(dir.Socket, dir.Path, a);

    private static string Ok(TempDir dir, params string[] a)
    {
        var (code, stdout, stderr) = D(dir, a);
        Assert.True(code == 0, $"docker {string.Join(' ', a)}: {code} {stdout}{stderr}");
        return stdout;
    }

    private static string Id(string body) => JsonDocument.Parse(body).RootElement.GetProperty("Id").GetString()!;

    /// <summary>The host's connection tracking entries (conntrack -L, Debian's conntrack: scripts/deps.sh) with a
    /// container address of <paramref name="subnets"/> in either direction: flows and NAT state of containers. The
    /// gateways are the host's own addresses on the bridges (their IGMP reports stay while the bridge does).</summary>
    private static List<string> Flows(IEnumerable<string> subnets, IEnumerable<string> gateways)
    {
        var cidrs = subnets.Select(s => Cidr.TryParse(s) ?? throw new ArgumentException(s)).ToList();
        var gws = gateways.Select(Ipam.Parse).ToHashSet();
        var (code, stdout, stderr) = Run.Command("conntrack", ["-L", "-f", "ipv4"]);
        Assert.True(code == 0, $"conntrack -L (scripts/deps.sh installs conntrack): {code} {stderr}");
        return stdout.Split('\n').Where(l => Regex.Matches(l, @"(?:src|dst)=(\d+\.\d+\.\d+\.\d+)")
            .Any(m => Ipam.TryParse(m.Groups[1].Value) is uint ip && !gws.Contains(ip) && cidrs.Any(c => c.Contains(ip)))).ToList();
    }

    private static string Subnet(TempDir dir, string net) => Ok(dir, "network", "inspect", "-f", "{{range .IPAM.Config}}{{.Subnet}}{{end}}", net).Trim();

    private static string Gateway(TempDir dir, string net) => Ok(dir, "network", "inspect", "-f", "{{range .IPAM.Config}}{{.Gateway}}{{end}}", net).Trim();

    /// <summary>
    /// A container's flows in the host's conntrack table (ICMP to its gateway, a UDP datagram DNATed to its
    /// published port) go with its endpoint, before its address can be given again (dockerd's
    /// clearEndpointConnections): the ICMP entry would stay 30 s and the UDP one, with its NAT mapping, as long
    /// as datagrams keep coming.
    /// </summary>
    [Fact]
    public void ARemovedContainersFlowsAndNatStateAreGoneFromConntrack()
    {
        using var dir = new TempDir();
        using var d = BerthdProcess.StartIn(dir);
        Ok(dir, "network", "create", "ct-a");
        var (subnet, gw) = (Subnet(dir, "ct-a"), Gateway(dir, "ct-a"));
        var port = 20000 + Random.Shared.Next(0, 9000);
        var c = Ok(dir, "run", "-d", "--network", "ct-a", "-p", $"127.0.0.1:{port}:53/udp", "busybox", "sleep", "300").Trim();
        var ip = Ok(dir, "inspect", "-f", "{{(index .NetworkSettings.Networks \"ct-a\").IPAddress}}", c).Trim();
        Ok(dir, "exec", c, "ping", "-c", "1", "-W", "2", gw);
        using (var u = new System.Net.Sockets.UdpClient())
            u.Send([1, 2, 3], 3, "127.0.0.1", port);
        var seen = Flows([subnet], [gw]);
        output.WriteLine(string.Join('\n', seen));
        Assert.Contains(seen, l => l.StartsWith("icmp", StringComparison.Ordinal) && l.Contains($"src={ip} "));
        Assert.Contains(seen, l => l.StartsWith("udp", StringComparison.Ordinal) && l.Contains($"dport={port} ") && l.Contains($"src={ip} "));
        Ok(dir, "rm", "-f", c);
        Assert.Empty(Flows([subnet], [gw])); // at once: removed with the endpoint, not timed out
        Ok(dir, "network", "rm", "ct-a");
    }

    [Fact]
    public async Task KillMinus9InABurstOfStartsOnTwoNetworks_RestartBringsEveryCountBack()
    {
        using var dir = new TempDir();
        BerthdProcess? d = BerthdProcess.StartIn(dir);
        try
        {
            Ok(dir, "network", "create", "leak-a");
            Ok(dir, "network", "create", "leak-b");
            var bridgeA = "br-" + Ok(dir, "network", "inspect", "-f", "{{.Id}}", "leak-a").Trim()[..12];
            var baseline = Census.Of(dir);
            Assert.Equal(2, baseline.Bridges);
            Assert.Equal(0, baseline.Veths);
            Assert.Contains(NetworkOwnership.OwnerOf(dir.ExecRoot), baseline.Table);

            // Two clients starting containers (sleep) on the two networks as fast as they can; berthd killed with
            // -9 once a few run, in the middle of the others' starts.
            var api = EngineCalls.Client(dir.Socket);
            using var stop = new CancellationTokenSource();
            var burst = new[] { "leak-a", "leak-b" }.Select(net => Task.Run(async () =>
            {
                while (!stop.IsCancellationRequested)
                {
                    try
                    {
                        var (s, body) = await api.CallAsync("POST", "/v1.41/containers/create",
                            $$$"""{"Image":"busybox","Cmd":["sleep","300"],"HostConfig":{"NetworkMode":"{{{net}}}"}}""");
                        if ((int)s != 201) return;
                        await api.CallAsync("POST", $"/v1.41/containers/{Id(body)}/start");
                    }
                    catch (Exception) { return; }
                }
            })).ToArray();
            WaitFor(dir, c => c.Sandboxes >= 6, 30);
            d.Signal(9);
            Assert.True(d.WaitForExit(TimeSpan.FromSeconds(10)));
            stop.Cancel();
            await Task.WhenAll(burst).WaitAsync(TimeSpan.FromSeconds(30));
            d.Dispose();
            d = null;

            // What a crash can also leave: a veth on one of its bridges that no endpoint names, a link of its own
            // that no network names.
            var owner = NetworkOwnership.OwnerOf(dir.ExecRoot);
            Assert.Equal(0, Run.Command("ip", ["link", "add", "vethleak0", "type", "veth", "peer", "name", "vethleak1"]).Code);
            Run.Command("ip", ["link", "set", "vethleak0", "master", bridgeA]);
            Assert.Equal(0, Run.Command("ip", ["link", "add", "bbleak0", "type", "bridge"]).Code);
            Run.Command("ip", ["link", "set", "bbleak0", "alias", owner]);

            File.Delete(dir.Socket);
            d = BerthdProcess.StartIn(dir);
            int running = Ok(dir, "ps", "-q").Split('\n', StringSplitOptions.RemoveEmptyEntries).Length;
            int all = Ok(dir, "ps", "-aq").Split('\n', StringSplitOptions.RemoveEmptyEntries).Length;
            output.WriteLine($"after the crash: {running} running of {all} containers");
            Assert.True(running >= 2, $"{running} running"); // some of the sandboxes seen may have been starts cut short
            var after = WaitFor(dir, c => c.Veths == running);
            Assert.Equal(new Census(2, running, running, running, running, baseline.Table), after);
            var links = Run.Command("ip", ["-o", "link"]).Stdout;
            Assert.DoesNotContain("vethleak", links);
            Assert.DoesNotContain("bbleak0", links);

            // The running ones still reach each other across the restart (their endpoints kept).
            var ids = Ok(dir, "ps", "-q", "--filter", "network=leak-a").Split('\n', StringSplitOptions.RemoveEmptyEntries);
            if (ids.Length >= 2)
            {
                var ip = Ok(dir, "inspect", "-f", "{{(index .NetworkSettings.Networks \"leak-a\").IPAddress}}", ids[1]).Trim();
                Ok(dir, "run", "--rm", "--network", "container:" + ids[0], "busybox", "ping", "-c", "1", "-W", "2", ip);
            }

            Ok(dir, ["rm", "-f", .. Ok(dir, "ps", "-aq").Split('\n', StringSplitOptions.RemoveEmptyEntries)]);
            Assert.Equal(baseline, WaitFor(dir, c => c.Veths == 0));
            Ok(dir, "network", "rm", "leak-a", "leak-b");
            d.Signal(BerthdProcess.SIGTERM);
            Assert.True(d.WaitForExit(TimeSpan.FromSeconds(15)));
            Assert.Equal(new Census(0, 0, 0, 0, 0, ""), Census.Of(dir));
        }
        finally
        {
            d?.Dispose();
            Run.Command("ip", ["link", "del", "vethleak0"]);
            Run.Command("ip", ["link", "del", "bbleak0"]);
        }
    }

    /// <summary>
    /// create/start/rm cycles across three networks (and the default bridge), four clients at once: every count
    /// back where it started. The cycle count: 500 as the issue asks when it fits in about a minute here
    /// (BERTH_LEAK_CYCLES overrides).
    /// </summary>
    [Fact]
    public async Task ManyCreateStartRmCyclesAcrossNetworks_LeaveNothing()
    {
        int cycles = int.TryParse(Environment.GetEnvironmentVariable("BERTH_LEAK_CYCLES"), out var n) ? n : 500;
        using var dir = new TempDir();
        using var d = BerthdProcess.StartIn(dir);
        string[] nets = ["cyc-a", "cyc-b", "cyc-c", "bridge"];
        foreach (var net in nets[..3]) Ok(dir, "network", "create", net);
        Ok(dir, "run", "--rm", "busybox", "true"); // the default bridge made
        var baseline = Census.Of(dir);
        Assert.Equal(4, baseline.Bridges);
        var subnets = nets.Select(net => Subnet(dir, net)).ToList();
        var gateways = nets.Select(net => Gateway(dir, net)).ToList();

        var api = EngineCalls.Client(dir.Socket);
        var sw = Stopwatch.StartNew();
        int next = 0;
        var workers = Enumerable.Range(0, 4).Select(_ => Task.Run(async () =>
        {
            int i;
            while ((i = Interlocked.Increment(ref next)) <= cycles)
            {
                var net = nets[i % nets.Length];
                // A flow in the host's conntrack table per container (ICMP to its gateway), gone with it.
                var (s, body) = await api.CallAsync("POST", "/v1.41/containers/create",
                    $$$"""{"Image":"busybox","Cmd":["ping","-c","1","-W","1","{{{gateways[i % nets.Length]}}}"],"HostConfig":{"NetworkMode":"{{{net}}}"}}""");
                Assert.True((int)s == 201, body);
                var id = Id(body);
                (s, body) = await api.CallAsync("POST", $"/v1.41/containers/{id}/start");
                Assert.True((int)s == 204, body);
                (s, body) = await api.CallAsync("POST", $"/v1.41/containers/{id}/wait");
                Assert.True((int)s == 200, body);
                (s, body) = await api.CallAsync("DELETE", $"/v1.41/containers/{id}?force=1");
                Assert.True((int)s == 204, body);
            }
        })).ToArray();
        await Task.WhenAll(workers);
        output.WriteLine($"{cycles} cycles in {sw.Elapsed.TotalSeconds:F1} s");
        Assert.Equal(baseline, WaitFor(dir, c => c.Veths == 0 && c.Sandboxes == 0));
        Assert.Empty(Ok(dir, "ps", "-aq"));
        Assert.Empty(Flows(subnets, gateways)); // the ICMP entries (30 s timeout) of the last cycles included
    }

    [Fact]
    public void OrphansOfADaemonWhoseExecRootIsGone_AreRemovedAtAnotherDaemonsStart()
    {
        var gone = "/tmp/berth-gone-" + Guid.NewGuid().ToString("N")[..8];
        var owner = NetworkOwnership.OwnerOf(gone);
        var table = NetworkOwnership.TableFor(gone);
        var bridge = "bbo" + Guid.NewGuid().ToString("N")[..8];
        try
        {
            Assert.Equal(0, Run.Command("ip", ["link", "add", bridge, "type", "bridge"]).Code);
            Run.Command("ip", ["link", "set", bridge, "alias", owner]);
            Assert.Equal(0, Run.Command("nft", ["-f", "-"], stdin: $"table ip {table} {{\n comment \"{owner}\"\n}}\n").Code);
            using var dir = new TempDir();
            using (var d = BerthdProcess.StartIn(dir)) { }
            Assert.DoesNotContain(bridge, Run.Command("ip", ["-o", "link"]).Stdout);
            Assert.NotEqual(0, Run.Command("nft", ["list", "table", "ip", table]).Code);
        }
        finally
        {
            Run.Command("ip", ["link", "del", bridge]);
            Run.Command("nft", ["delete", "table", "ip", table]);
        }
    }

    [Fact]
    public void TheFixtureRemovesWhatAKilledDaemonLeft()
    {
        var dir = new TempDir();
        string bridge = NetworkManager.BridgeNameFor(dir.ExecRoot);
        using (var d = BerthdProcess.StartIn(dir))
        {
            Ok(dir, "network", "create", "left");
            Ok(dir, "run", "--rm", "busybox", "true");
            Ok(dir, "run", "--rm", "--network", "left", "busybox", "true");
            // Dispose kills the daemon (SIGKILL): its plumbing stays.
        }
        // And a sandbox mount as a container killed with it would leave.
        var fake = Path.Combine(dir.ExecRoot, "netns", "fake");
        File.WriteAllText(fake, "");
        Assert.Equal(0, Run.Command("unshare", ["--net=" + fake, "true"]).Code);
        var left = Census.Of(dir);
        Assert.Equal(2, left.Bridges);
        Assert.Equal(1, left.Mounts);
        Assert.NotEqual("", left.Table);
        dir.Dispose();
        Assert.Equal(new Census(0, 0, 0, 0, 0, ""), Census.Of(dir));
        Assert.DoesNotContain(bridge, Run.Command("ip", ["-o", "link"]).Stdout);
    }
}
