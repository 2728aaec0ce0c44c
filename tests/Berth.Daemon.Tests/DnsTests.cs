using System.Text.RegularExpressions;
using Berth.Engine.Networking.Dns;

namespace Berth.Daemon.Tests;

/// <summary>
/// The embedded DNS at 127.0.0.11 with the real docker CLI and busybox nslookup/nc: names only within a
/// network (the seeds' api/catalog/db example), alias round robin, forwarding to an upstream the test runs on
/// loopback (the container's --dns; nothing goes to the host's real resolvers), UDP and TCP, names following
/// rename/disconnect/connect/stop, and resolvers back after a daemon restart.
/// </summary>
public sealed class DnsTests(DaemonFixture fx) : IClassFixture<DaemonFixture>
{
    private (int Code, string Stdout, string Stderr) Docker(params string[] args) => DockerCli.Run(fx.Dir.Socket, fx.Dir.Path, args);

    private string Ok(params string[] args)
    {
        var (code, stdout, stderr) = Docker(args);
        Assert.True(code == 0, $"docker {string.Join(' ', args)} exited {code}: {stdout}{stderr}\n{fx.LogTail}");
        return stdout;
    }

    private static string Unique(string prefix) => prefix + Guid.NewGuid().ToString("N")[..6];

    private string Ip(string container, string network) =>
        Ok("inspect", "-f", $"{{{{(index .NetworkSettings.Networks \"{network}\").IPAddress}}}}", container).Trim();

    /// <summary>The addresses busybox nslookup printed for the name (the server's own line has a port and a tab).</summary>
    private static List<string> Addresses(string nslookup) =>
        Regex.Matches(nslookup, @"^Address: (\d+\.\d+\.\d+\.\d+)\s*$", RegexOptions.Multiline).Select(m => m.Groups[1].Value).ToList();

    private (int Code, List<string> Addrs, string Out) Lookup(string from, string name)
    {
        var (code, o, e) = Docker("exec", from, "nslookup", "-type=a", name);
        return (code, Addresses(o), o + e);
    }

    /// <summary>A busybox container on the networks that forwards to the test's upstream (never to the host's).</summary>
    private void Run(string name, string upstream, params string[] more) =>
        Ok(["run", "-d", "--name", name, "--dns", upstream, .. more, "busybox", "sleep", "300"]);

    [Fact]
    public void SeedsExample_NamesResolveOnlyWithinANetwork()
    {
        using var up = new TestUpstreamDns([]);
        var (a, b) = (Unique("dna"), Unique("dnb"));
        var (api, catalog, db) = (Unique("api"), Unique("catalog"), Unique("db"));
        Ok("network", "create", a);
        Ok("network", "create", b);
        try
        {
            Run(api, up.Address, "--network", a);
            Ok("run", "-d", "--name", catalog, "--dns", up.Address, "--network", a, "busybox", "sh", "-c", "while true; do echo catalog | nc -l -p 8080; done");
            Ok("network", "connect", b, catalog);
            Ok("run", "-d", "--name", db, "--dns", up.Address, "--network", b, "busybox", "sh", "-c", "while true; do echo db | nc -l -p 5432; done");
            // resolv.conf: the embedded DNS, as Docker writes it, even with --dns.
            var resolv = Ok("exec", api, "cat", "/etc/resolv.conf");
            Assert.Contains("nameserver 127.0.0.11\n", resolv);
            Assert.Contains("options ndots:0", resolv);
            Assert.DoesNotContain(up.Address, resolv);

            var (code, addrs, text) = Lookup(api, catalog);
            Assert.True(code == 0, text);
            Assert.Equal([Ip(catalog, a)], addrs);
            (code, addrs, text) = Lookup(catalog, db);
            Assert.True(code == 0, text);
            Assert.Equal([Ip(db, b)], addrs);
            Assert.Equal("catalog\n", Ok("exec", api, "sh", "-c", $"nc -w 2 {catalog} 8080 </dev/null"));
            Assert.Equal("db\n", Ok("exec", catalog, "sh", "-c", $"nc -w 2 {db} 5432 </dev/null"));
            // api is not on b: db is not a name there; the query went on to the upstream, which said NXDOMAIN.
            int before = up.Queries;
            (code, addrs, text) = Lookup(api, db);
            Assert.True(code != 0 && addrs.Count == 0, text);
            Assert.True(up.Queries > before);
            // name.network, the short id and the hostname resolve too.
            Assert.Equal([Ip(catalog, a)], Lookup(api, $"{catalog}.{a}").Addrs);
            Assert.Equal([Ip(catalog, a)], Lookup(api, Ok("inspect", "-f", "{{.Id}}", catalog).Trim()[..12]).Addrs);
            Assert.Empty(Lookup(api, $"{db}.{b}").Addrs);
            // AAAA of a container name: no record, no error (IPv6 is off).
            var (c6, o6, e6) = Docker("exec", api, "nslookup", "-type=aaaa", catalog);
            Assert.DoesNotContain("NXDOMAIN", o6 + e6);
        }
        finally
        {
            Docker("rm", "-f", api, catalog, db);
            Docker("network", "rm", a, b);
        }
    }

    [Fact]
    public void AliasRoundRobin_AllAddressesInATurningOrder()
    {
        using var up = new TestUpstreamDns([]);
        var net = Unique("dnr");
        var client = Unique("cl");
        var webs = Enumerable.Range(0, 3).Select(_ => Unique("web")).ToList();
        Ok("network", "create", net);
        try
        {
            Run(client, up.Address, "--network", net);
            foreach (var w in webs) Run(w, up.Address, "--network", net, "--network-alias", "webs", "--net-alias", "pool");
            Assert.Contains("webs", Ok("inspect", "-f", $"{{{{(index .NetworkSettings.Networks \"{net}\").Aliases}}}}", webs[0]));
            var want = webs.Select(w => Ip(w, net)).OrderBy(x => x).ToList();
            var firsts = new HashSet<string>();
            for (int i = 0; i < 6; i++)
            {
                var (code, addrs, text) = Lookup(client, "webs");
                Assert.True(code == 0, text);
                Assert.Equal(want, addrs.OrderBy(x => x).ToList());
                firsts.Add(addrs[0]);
            }
            Assert.Equal(3, firsts.Count);
            Assert.Equal(want, Lookup(client, "pool").Addrs.OrderBy(x => x).ToList());
            // The default bridge has no aliases (dockerd's error).
            var (c, _, err) = Docker("run", "--rm", "--network-alias", "x", "busybox", "true");
            Assert.NotEqual(0, c);
            Assert.Contains("network-scoped alias", err); // the CLI refuses it before the daemon does (same rule)
        }
        finally
        {
            Docker(["rm", "-f", client, .. webs]);
            Docker("network", "rm", net);
        }
    }

    [Fact]
    public void Forwarding_ToTheUpstream_OverUdpAndTcp()
    {
        using var up = new TestUpstreamDns(new() { ["outside.test"] = "192.0.2.7" });
        var net = Unique("dnf");
        var c = Unique("fw");
        Ok("network", "create", net);
        try
        {
            Run(c, up.Address, "--network", net, "--dns-search", "example.test", "--dns-option", "timeout:3");
            var resolv = Ok("exec", c, "cat", "/etc/resolv.conf");
            Assert.Contains("search example.test\n", resolv);
            Assert.Contains("options timeout:3 ndots:0\n", resolv);
            var (code, addrs, text) = Lookup(c, "outside.test");
            Assert.True(code == 0, text);
            Assert.Equal(["192.0.2.7"], addrs);
            Assert.NotEqual(0, Lookup(c, "nowhere.test").Code);
            // Over TCP: a length-prefixed query sent with nc, the answer read back as hex.
            Assert.Contains("c0 00 02 07", TcpQuery(c, "outside.test"));
            Assert.Contains(string.Join(' ', Ip(c, net).Split('.').Select(x => int.Parse(x).ToString("x2"))), TcpQuery(c, c));
        }
        finally
        {
            Docker("rm", "-f", c);
            Docker("network", "rm", net);
        }
    }

    /// <summary>An A query over TCP to 127.0.0.11 from inside the container; the answer as od's hex.</summary>
    private string TcpQuery(string container, string name)
    {
        var q = DnsMessage.BuildQuery(0x4242, name, DnsMessage.TypeA);
        var framed = new byte[q.Length + 2];
        framed[0] = (byte)(q.Length >> 8);
        framed[1] = (byte)q.Length;
        q.CopyTo(framed, 2);
        var printf = string.Concat(framed.Select(b => $"\\{Convert.ToString(b, 8).PadLeft(3, '0')}"));
        var hex = Ok("exec", container, "sh", "-c", $"printf '{printf}' | nc -w 3 127.0.0.11 53 | od -An -tx1");
        return Regex.Replace(hex, @"\s+", " ");
    }

    [Fact]
    public void Names_FollowRenameDisconnectConnectAndStop()
    {
        using var up = new TestUpstreamDns([]);
        var net = Unique("dnl");
        var (client, t) = (Unique("cl"), Unique("old"));
        var renamed = Unique("new");
        Ok("network", "create", net);
        try
        {
            Run(client, up.Address, "--network", net);
            Run(t, up.Address, "--network", net, "--hostname", "box.example.test");
            var ip = Ip(t, net);
            Assert.Equal([ip], Lookup(client, t).Addrs);
            Assert.Equal([ip], Lookup(client, "box").Addrs);
            Assert.Equal([ip], Lookup(client, "box.example.test").Addrs);
            Ok("rename", t, renamed);
            Assert.Equal([ip], Lookup(client, renamed).Addrs);
            Assert.Empty(Lookup(client, t).Addrs);
            Ok("network", "disconnect", net, renamed);
            Assert.Empty(Lookup(client, renamed).Addrs);
            Ok("network", "connect", "--alias", "again", net, renamed);
            var ip2 = Ip(renamed, net);
            Assert.Equal([ip2], Lookup(client, "again").Addrs);
            Assert.Equal([ip2], Lookup(client, renamed).Addrs);
            Ok("stop", "-t", "0", renamed);
            Assert.Empty(Lookup(client, renamed).Addrs);
            Assert.Empty(Lookup(client, "again").Addrs);
            Ok("start", renamed);
            Assert.Equal([Ip(renamed, net)], Lookup(client, "again").Addrs);
        }
        finally
        {
            Docker("rm", "-f", client, t, renamed);
            Docker("network", "rm", net);
        }
    }

    [Fact]
    public void Resolvers_ComeBackAfterADaemonRestart_AndGoWithTheSandbox()
    {
        using var up = new TestUpstreamDns(new() { ["outside.test"] = "192.0.2.9" });
        var net = Unique("dnd");
        var (c1, c2) = (Unique("r1"), Unique("r2"));
        Ok("network", "create", net);
        try
        {
            Run(c1, up.Address, "--network", net);
            Run(c2, up.Address, "--network", net);
            Assert.Equal([Ip(c2, net)], Lookup(c1, c2).Addrs);
            fx.Restart();
            Assert.Equal([Ip(c2, net)], Lookup(c1, c2).Addrs);
            Assert.Equal(["192.0.2.9"], Lookup(c1, "outside.test").Addrs);
            // The default bridge: no embedded DNS, the --dns servers in resolv.conf.
            var plain = Ok("run", "--rm", "--dns", up.Address, "busybox", "cat", "/etc/resolv.conf");
            Assert.Contains($"nameserver {up.Address}", plain);
            Assert.DoesNotContain("127.0.0.11", plain);
        }
        finally
        {
            Docker("rm", "-f", c1, c2);
            Docker("network", "rm", net);
        }
    }

    [Fact]
    public void ConnectToAFirstUserNetwork_RewritesResolvConfAndHosts_DisconnectGivesTheHostsBack()
    {
        using var up = new TestUpstreamDns(new() { ["outside.test"] = "192.0.2.11" });
        var net = Unique("dnc");
        var (srv, c) = (Unique("srv"), Unique("late"));
        Ok("network", "create", net);
        try
        {
            Ok("run", "-d", "--name", srv, "--dns", up.Address, "--network", net, "busybox", "sh", "-c", "while true; do echo srv | nc -l -p 8080; done");
            // On the default bridge: the host-derived resolv.conf (its --dns server), no embedded DNS.
            Run(c, up.Address, "--hostname", "lateh");
            var inode = Ok("exec", c, "stat", "-c", "%i", "/etc/hosts").Trim();
            Assert.Contains($"nameserver {up.Address}\n", Ok("exec", c, "cat", "/etc/resolv.conf"));

            Ok("network", "connect", net, c);
            var ip = Ip(c, net);
            var resolv = Ok("exec", c, "cat", "/etc/resolv.conf");
            Assert.Contains("nameserver 127.0.0.11\n", resolv);
            Assert.Contains("ndots:0", resolv);
            Assert.DoesNotContain(up.Address, resolv);
            var hosts = Ok("exec", c, "cat", "/etc/hosts");
            Assert.Contains($"{ip}\tlateh\n", hosts);
            Assert.Contains($"{Ok("inspect", "-f", "{{.NetworkSettings.IPAddress}}", c).Trim()}\tlateh\n", hosts); // the bridge's line stays
            Assert.Equal(inode, Ok("exec", c, "stat", "-c", "%i", "/etc/hosts").Trim()); // written in place, as the bind mount needs
            // The names of the network resolve, through busybox's resolver (nslookup and nc), and the rest is forwarded.
            var (code, addrs, text) = Lookup(c, srv);
            Assert.True(code == 0, text);
            Assert.Equal([Ip(srv, net)], addrs);
            Assert.Equal("srv\n", Ok("exec", c, "sh", "-c", $"nc -w 2 {srv} 8080 </dev/null"));
            Assert.Equal(["192.0.2.11"], Lookup(c, "outside.test").Addrs);

            // A second user network: nothing to rewrite in resolv.conf; its address in hosts.
            var net2 = Unique("dnc");
            Ok("network", "create", net2);
            try
            {
                Ok("network", "connect", net2, c);
                Assert.Contains($"{Ip(c, net2)}\tlateh\n", Ok("exec", c, "cat", "/etc/hosts"));
                Ok("network", "disconnect", net2, c);
            }
            finally { Docker("network", "rm", net2); }
            Assert.Contains("nameserver 127.0.0.11\n", Ok("exec", c, "cat", "/etc/resolv.conf"));

            // Back to the default bridge only: the host-derived resolv.conf again, the address's line gone.
            Ok("network", "disconnect", net, c);
            resolv = Ok("exec", c, "cat", "/etc/resolv.conf");
            Assert.Contains($"nameserver {up.Address}\n", resolv);
            Assert.DoesNotContain("127.0.0.11", resolv);
            Assert.DoesNotContain($"{ip}\t", Ok("exec", c, "cat", "/etc/hosts"));
            Assert.NotEqual(0, Lookup(c, srv).Code);
        }
        finally
        {
            Docker("rm", "-f", srv, c);
            Docker("network", "rm", net);
        }
    }

    [Fact]
    public void EtcFiles_HostGatewayHostnameAndDomainname()
    {
        var gw = Ok("network", "inspect", "-f", "{{range .IPAM.Config}}{{.Gateway}}{{end}}", "bridge").Trim();
        var o = Ok("run", "--rm", "--add-host", "hg:host-gateway", "--add-host", "fixed:10.1.2.3", "--hostname", "h1", "--domainname", "example.test",
            "busybox", "sh", "-c", "cat /etc/hosts; hostname; cat /proc/sys/kernel/domainname /etc/hostname");
        Assert.Contains($"{gw}\thg\n", o);
        Assert.Contains("10.1.2.3\tfixed\n", o);
        Assert.Matches(@"\d+\.\d+\.\d+\.\d+\th1\.example\.test h1\n", o);
        Assert.EndsWith("h1\nexample.test\nh1\n", o);
        // Inspect keeps what was asked.
        var id = Ok("create", "--add-host", "hg:host-gateway", "busybox").Trim();
        try { Assert.Equal("[hg:host-gateway]", Ok("inspect", "-f", "{{.HostConfig.ExtraHosts}}", id).Trim()); }
        finally { Docker("rm", "-f", id); }
    }
}
