using System.Diagnostics;
using Berth.Engine.Networking;
using Xunit.Abstractions;

namespace Berth.Daemon.Tests;

/// <summary>
/// Berth beside Debian's dockerd 20.10 with its iptables on (issue 10: "our rules must not break Docker's"):
/// dockerd turns ip_forward on and sets the FORWARD policy to DROP, which with br_netfilter drops even traffic
/// between two containers of one Berth bridge. Berth lets its bridges through Docker's DOCKER-USER chain
/// (DockerUserRules). The whole scene runs in a network namespace the test makes (a private dockerd on its own
/// socket, data root, exec root and bridge; berthd through nsenter), so the DROP policy never touches the
/// machine's other daemons; both daemons and the namespace are removed at the end.
/// </summary>
public sealed class DockerCoexistenceTests(ITestOutputHelper output)
{
    private static (int Code, string Stdout, string Stderr) Sh(params string[] cmd) => Run.Command(cmd[0], cmd[1..]);

    private static string ShOk(params string[] cmd)
    {
        var (code, o, e) = Sh(cmd);
        Assert.True(code == 0, $"{string.Join(' ', cmd)}: {code} {o}{e}");
        return o;
    }

    [Fact]
    public void WithDockersForwardDrop_BerthContainersReachEachOther_AndPublishedPortsWork()
    {
        var ns = "bcx" + Guid.NewGuid().ToString("N")[..6];
        var nsPath = "/run/netns/" + ns;
        using var dir = new TempDir();
        var dsock = Path.Combine(dir.Path, "docker.sock");
        var dlog = Path.Combine(dir.Path, "dockerd.log");
        Process? dockerd = null;
        BerthdProcess? berthd = null;
        string In(params string[] cmd) => ShOk(["nsenter", "--net=" + nsPath, .. cmd]);
        (int Code, string Stdout, string Stderr) B(params string[] a) => DockerCli.Run(dir.Socket, dir.Path, a);
        string Bok(params string[] a)
        {
            var (code, o, e) = B(a);
            Assert.True(code == 0, $"docker {string.Join(' ', a)}: {code} {o}{e}\n{berthd?.Output[^Math.Min(3000, berthd.Output.Length)..]}");
            return o;
        }
        try
        {
            ShOk("ip", "netns", "add", ns);
            ShOk("ip", "-n", ns, "link", "set", "lo", "up");
            ShOk("ip", "-n", ns, "link", "add", "bdcx0", "type", "bridge");
            ShOk("ip", "-n", ns, "addr", "add", "10.231.0.1/24", "dev", "bdcx0");
            ShOk("ip", "-n", ns, "link", "set", "bdcx0", "up");
            // As on a host where Docker came first: forwarding off until dockerd turns it on (and then sets DROP).
            In("sh", "-c", "echo 0 > /proc/sys/net/ipv4/ip_forward");

            var dockerdPath = new[] { "/usr/sbin/dockerd", "/usr/bin/dockerd" }.FirstOrDefault(File.Exists);
            Assert.True(dockerdPath is not null, "dockerd is not installed (Debian's docker.io: scripts/deps.sh installs it)");
            var psi = new ProcessStartInfo("sh")
            {
                ArgumentList =
                {
                    "-c", $"exec nsenter --net={nsPath} {dockerdPath} -H unix://{dsock} --data-root {dir.Path}/docker-data " +
                          $"--exec-root {dir.Path}/docker-exec -p {dir.Path}/docker.pid --bridge bdcx0 >{dlog} 2>&1",
                },
                UseShellExecute = false,
            };
            dockerd = Process.Start(psi)!;
            var sw = Stopwatch.StartNew();
            while (DockerCli.Run(dsock, dir.Path, "version", "--format", "{{.Server.Version}}").Code != 0)
            {
                string Log() => File.Exists(dlog) ? File.ReadAllText(dlog)[^Math.Min(3000, (int)new FileInfo(dlog).Length)..] : "(no log)";
                Assert.False(dockerd.HasExited, $"dockerd could not start (exit {(dockerd.HasExited ? dockerd.ExitCode : 0)}):\n{Log()}");
                Assert.True(sw.Elapsed < TimeSpan.FromSeconds(90), $"dockerd did not answer on {dsock} in 90 s:\n{Log()}");
                Thread.Sleep(200);
            }
            output.WriteLine("dockerd " + DockerCli.Run(dsock, dir.Path, "version", "--format", "{{.Server.Version}}").Stdout.Trim());
            var forward = In("iptables", "-S", "FORWARD");
            Assert.Contains("-P FORWARD DROP", forward); // what Berth has to live with
            Assert.Contains("-A FORWARD -j DOCKER-USER", forward);

            berthd = BerthdProcess.StartInNetns(dir, nsPath);
            Bok("network", "create", "cx");
            Bok("run", "-d", "--name", "srv", "--network", "cx", "busybox", "sh", "-c", "while true; do echo hello | nc -l -p 8080; done");
            Bok("run", "-d", "--name", "pub", "-p", "8081:8080", "busybox", "sh", "-c", "while true; do echo published | nc -l -p 8080; done");
            Bok("run", "-d", "--name", "cli", "--network", "cx", "busybox", "sleep", "300");
            var srvIp = Bok("inspect", "-f", "{{(index .NetworkSettings.Networks \"cx\").IPAddress}}", "srv").Trim();
            var gw = Bok("network", "inspect", "-f", "{{range .IPAM.Config}}{{.Gateway}}{{end}}", "cx").Trim();
            var du = In("iptables", "-S", DockerUserRules.Chain);
            output.WriteLine(du);
            Assert.Contains(NetworkOwnership.OwnerOf(dir.ExecRoot), du);
            Assert.EndsWith("-A DOCKER-USER -j RETURN\n", du); // Berth's accepts before Docker's RETURN

            // Two containers on one Berth bridge (bridged, through FORWARD by br_netfilter).
            Assert.Equal("hello\n", Bok("exec", "cli", "sh", "-c", $"nc -w 3 {srvIp} 8080 </dev/null"));
            // A published port reached from another bridge: DNATed, then forwarded into the default bridge.
            Assert.Equal("published\n", Bok("exec", "cli", "sh", "-c", $"nc -w 3 {gw} 8081 </dev/null"));
            // And from the namespace's own loopback (output path, no FORWARD).
            Assert.Equal("published\n", In("busybox", "nc", "-w", "3", "127.0.0.1", "8081"));

            // Docker's rules are Docker's: still there. Berth's go with its bridges.
            Bok("rm", "-f", "srv", "pub", "cli");
            Bok("network", "rm", "cx");
            berthd.Signal(BerthdProcess.SIGTERM);
            Assert.True(berthd.WaitForExit(TimeSpan.FromSeconds(20)), "berthd did not stop");
            du = In("iptables", "-S", DockerUserRules.Chain);
            Assert.DoesNotContain("berth:", du);
            Assert.Contains("-A DOCKER-USER -j RETURN", du);
            Assert.Contains("-A FORWARD -j DOCKER-USER", In("iptables", "-S", "FORWARD"));
        }
        finally
        {
            berthd?.Dispose();
            if (dockerd is not null)
            {
                if (File.Exists(Path.Combine(dir.Path, "docker.pid")) && int.TryParse(File.ReadAllText(Path.Combine(dir.Path, "docker.pid")).Trim(), out var dpid))
                    Sh("kill", "-TERM", dpid.ToString());
                if (!dockerd.WaitForExit(30_000)) { dockerd.Kill(entireProcessTree: true); dockerd.WaitForExit(10_000); }
                dockerd.Dispose();
            }
            Sh("ip", "netns", "del", ns);
            // dir.Dispose (using): the daemons' mounts under it detached, the directory removed.
        }
    }
}
