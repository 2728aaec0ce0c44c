using Berth.Core;
using Berth.Engine.Networking;

namespace Berth.Daemon.Tests;

/// <summary>bip and default-address-pools: daemon.json and dockerd's flags, and their effect on the networks.</summary>
public sealed class AddressPoolTests
{
    private static string MissingConfig => "/nonexistent/berth/daemon.json";

    [Fact]
    public void Flags_AndDaemonJson_AreParsedAsDockerdNamesThem()
    {
        var o = DaemonOptions.Parse(["--config-file", MissingConfig, "--bip", "10.250.3.1/24",
            "--default-address-pool", "base=10.251.0.0/16,size=24", "--default-address-pool=base=10.252.0.0/20,size=28"], out _);
        Assert.Equal("10.250.3.1/24", o.Bip);
        Assert.Equal(["10.251.0.0/16:24", "10.252.0.0/20:28"], o.DefaultAddressPools.Select(p => $"{p.Base}:{p.Size}"));

        using var dir = new TempDir();
        var cfg = Path.Combine(dir.Path, "daemon.json");
        File.WriteAllText(cfg, """{ "bip": "192.168.77.1/24", "default-address-pools": [ {"base": "10.253.0.0/16", "size": 24} ] }""");
        o = DaemonOptions.Parse(["--config-file", cfg], out _);
        Assert.Equal("192.168.77.1/24", o.Bip);
        Assert.Equal(["10.253.0.0/16:24"], o.DefaultAddressPools.Select(p => $"{p.Base}:{p.Size}"));

        foreach (var bad in new[] { "10.250.3.0/24", "10.250.3.1", "nope/8", "10.250.3.255/24" })
            Assert.Equal(ErrorKind.InvalidParameter, Assert.Throws<BerthException>(() => DaemonOptions.Parse(["--config-file", MissingConfig, "--bip", bad], out _)).Kind);
        foreach (var bad in new[] { "base=10.0.0.0/16", "base=10.0.0.0/16,size=8", "base=10.0.0.0/16,size=31", "base=x,size=24", "size=24,foo=1" })
            Assert.Throws<BerthException>(() => DaemonOptions.Parse(["--config-file", MissingConfig, "--default-address-pool", bad], out _));
    }

    [Fact]
    public void Pools_AreCarvedInOrder_AndSkipRoutesAndTakenSubnets()
    {
        var pools = new[] { AddressPool.Create("10.99.0.0/22", 24), AddressPool.Create("10.98.0.0/16", 16) };
        Assert.Equal(["10.99.0.0/24", "10.99.1.0/24", "10.99.2.0/24", "10.99.3.0/24", "10.98.0.0/16"],
            AddressPools.Candidates(pools).Select(c => c.ToString()));
        var taken = new[] { Cidr.TryParse("10.99.0.0/23")!.Value };
        Assert.Equal("10.99.2.0/24", AddressPools.FirstFree(taken, pools).ToString());
        Assert.Null(AddressPools.FirstFree([Cidr.TryParse("10.0.0.0/8")!.Value], pools));
        Assert.Equal("172.17.0.0/16", AddressPools.Candidates(AddressPools.DockerDefaults).First().ToString());
    }

    [Fact]
    public void TheDefaultBridgeUsesBip_AndNetworksDrawFromThePools_AroundAnExistingRoute()
    {
        using var dir = new TempDir();
        File.WriteAllText(Path.Combine(dir.Path, "pools.json"), """{ "default-address-pools": [ {"base": "10.251.0.0/16", "size": 24} ] }""");
        // Something of the host's already routes 10.251.1.0/24 (as a docker0 would): no network may take it.
        var other = "bbr" + Guid.NewGuid().ToString("N")[..8];
        Assert.Equal(0, Run.Command("ip", ["link", "add", other, "type", "bridge"]).Code);
        try
        {
            Run.Command("ip", ["addr", "add", "10.251.1.1/24", "dev", other]);
            Run.Command("ip", ["link", "set", other, "up"]);
            using var d = BerthdProcess.StartWithEnv(null, "-H", "unix://" + dir.Socket, "--data-root", dir.DataRoot, "--exec-root", dir.ExecRoot,
                "--pidfile", dir.PidFile, "--config-file", Path.Combine(dir.Path, "pools.json"), "--bip", "10.250.3.1/24");
            d.WaitForSocket(dir.Socket);
            string Ok(params string[] a)
            {
                var (code, stdout, stderr) = DockerCli.Run(dir.Socket, dir.Path, a);
                Assert.True(code == 0, $"docker {string.Join(' ', a)}: {stdout}{stderr}");
                return stdout;
            }
            Assert.Equal("10.250.3.0/24 10.250.3.1\n", Ok("network", "inspect", "-f", "{{range .IPAM.Config}}{{.Subnet}} {{.Gateway}}{{end}}", "bridge"));
            Assert.Contains("inet 10.250.3.2/24", Ok("run", "--rm", "busybox", "ip", "-4", "-o", "addr", "show", "eth0"));
            var bridge = NetworkManager.BridgeNameFor(dir.ExecRoot);
            Assert.Contains("inet 10.250.3.1/24", Run.Command("ip", ["-4", "-o", "addr", "show", bridge]).Stdout);

            Ok("network", "create", "p1");
            Ok("network", "create", "p2");
            Assert.Equal("10.251.0.0/24 10.251.0.1\n", Ok("network", "inspect", "-f", "{{range .IPAM.Config}}{{.Subnet}} {{.Gateway}}{{end}}", "p1"));
            Assert.Equal("10.251.2.0/24 10.251.2.1\n", Ok("network", "inspect", "-f", "{{range .IPAM.Config}}{{.Subnet}} {{.Gateway}}{{end}}", "p2"));
            Assert.Contains("inet 10.251.2.2/24", Ok("run", "--rm", "--network", "p2", "busybox", "ip", "-4", "-o", "addr", "show", "eth0"));
            Ok("network", "rm", "p1", "p2");
            d.Signal(BerthdProcess.SIGTERM);
            Assert.True(d.WaitForExit(TimeSpan.FromSeconds(15)));
        }
        finally
        {
            Run.Command("ip", ["link", "del", other]);
        }
    }

    [Fact]
    public void ABipChangedBetweenRuns_ReaddressesTheIdleDefaultBridge()
    {
        using var dir = new TempDir();
        string[] Args(string bip) => ["-H", "unix://" + dir.Socket, "--data-root", dir.DataRoot, "--exec-root", dir.ExecRoot,
            "--pidfile", dir.PidFile, "--config-file", Path.Combine(dir.Path, "none.json"), "--bip", bip];
        string Gateway() => DockerCli.Run(dir.Socket, dir.Path, "network", "inspect", "-f", "{{range .IPAM.Config}}{{.Gateway}}{{end}}", "bridge").Stdout.Trim();
        using (var d = BerthdProcess.StartWithEnv(null, Args("10.249.1.1/24")))
        {
            d.WaitForSocket(dir.Socket);
            Assert.Equal(0, DockerCli.Run(dir.Socket, dir.Path, "run", "--rm", "busybox", "true").Code);
            Assert.Equal("10.249.1.1", Gateway());
            d.Signal(BerthdProcess.SIGTERM);
            Assert.True(d.WaitForExit(TimeSpan.FromSeconds(15)));
        }
        File.Delete(dir.Socket);
        using (var d = BerthdProcess.StartWithEnv(null, Args("10.249.2.1/24")))
        {
            d.WaitForSocket(dir.Socket);
            Assert.Equal("10.249.2.1", Gateway());
            var r = DockerCli.Run(dir.Socket, dir.Path, "run", "--rm", "busybox", "ip", "route");
            Assert.Contains("default via 10.249.2.1", r.Stdout);
            Assert.DoesNotContain("10.249.1.", Run.Command("ip", ["-4", "-o", "addr", "show", NetworkManager.BridgeNameFor(dir.ExecRoot)]).Stdout);
            d.Signal(BerthdProcess.SIGTERM);
            Assert.True(d.WaitForExit(TimeSpan.FromSeconds(15)));
        }
    }
}
