using System.Net;
using System.Net.Sockets;
using System.Text;
using Berth.Interop;

namespace Berth.Daemon.Tests;

/// <summary>
/// Published ports (-p, -P) end to end with the real docker CLI: reachable through the kernel's NAT from
/// 127.0.0.1, from the host's own address on the daemon's bridge, from other containers and from the container
/// itself (hairpin), and from a network namespace the test makes (standing in for a remote client); UDP too;
/// Docker's shapes (docker port, ps, inspect) and errors; the rules go with the container and stay for running
/// containers across a berthd restart. Traffic only to loopback, the test daemon's bridge and the test's namespace.
/// </summary>
public sealed class PortTests(DaemonFixture fx) : IClassFixture<DaemonFixture>
{
    private (int Code, string Stdout, string Stderr) Docker(params string[] args) => DockerCli.Run(fx.Dir.Socket, fx.Dir.Path, args);

    private string Ok(params string[] args)
    {
        var (code, stdout, stderr) = Docker(args);
        Assert.True(code == 0, $"docker {string.Join(' ', args)} exited {code}: {stdout}{stderr}\n{fx.LogTail}");
        return stdout;
    }

    private static string Unique(string prefix) => prefix + Guid.NewGuid().ToString("N")[..6];

    private const string Httpd = "mkdir /www && echo hello > /www/index.html && exec httpd -f -p 80 -h /www";

    private string Gateway() => Ok("network", "inspect", "-f", "{{range .IPAM.Config}}{{.Gateway}}{{end}}", "bridge").Trim();

    private string Table()
    {
        // The daemon's bridge exists once a container has joined it.
        var bridge = Ok("network", "inspect", "-f", "{{index .Options \"com.docker.network.bridge.name\"}}", "bridge").Trim();
        return "berth-" + bridge;
    }

    private string Rules() => Run.Command("nft", ["list", "table", "ip", Table()]).Stdout;

    /// <summary>A port free for tcp and udp on every address (bound and released).</summary>
    private static int FreePort()
    {
        for (int i = 0; i < 50; i++)
        {
            using var t = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
            t.Bind(new IPEndPoint(IPAddress.Any, 0));
            int port = ((IPEndPoint)t.LocalEndPoint!).Port;
            try
            {
                using var u = new Socket(AddressFamily.InterNetwork, SocketType.Dgram, ProtocolType.Udp);
                u.Bind(new IPEndPoint(IPAddress.Any, port));
                return port;
            }
            catch (SocketException) { }
        }
        throw new InvalidOperationException("no free port");
    }

    /// <summary>GET / over TCP (raw HTTP/1.0), retried while the server starts; the body or null.</summary>
    private static string? Get(string ip, int port, int attempts = 30)
    {
        for (int i = 0; i < attempts; i++)
        {
            try
            {
                using var c = new TcpClient();
                if (!c.ConnectAsync(IPAddress.Parse(ip), port).Wait(2000)) throw new SocketException();
                var s = c.GetStream();
                s.ReadTimeout = 3000;
                s.Write("GET / HTTP/1.0\r\n\r\n"u8);
                var body = new StreamReader(s).ReadToEnd();
                if (body.Contains("200 OK")) return body[(body.IndexOf("\r\n\r\n", StringComparison.Ordinal) + 4)..];
            }
            catch (Exception e) when (e is SocketException or IOException or AggregateException) { }
            Thread.Sleep(200);
        }
        return null;
    }

    /// <summary>From a container's network namespace (another container, or the container itself), with busybox nc.</summary>
    private string GetFrom(string network, string ip, int port) =>
        Docker("run", "--rm", "--network", network, "busybox", "sh", "-c",
            $"for i in 1 2 3 4 5; do printf 'GET / HTTP/1.0\\r\\n\\r\\n' | nc -w 3 {ip} {port} | tail -1 | grep . && exit 0; sleep 0.3; done; exit 1").Stdout.Trim();

    /// <summary>A namespace standing in for a remote client: a veth to the host (10.231.x.1 on the host side,
    /// .2 inside) with a default route to the host. Disposed: gone.</summary>
    private sealed class Outside : IDisposable
    {
        public string Ns { get; } = Unique("bpo");
        private readonly string _veth = Unique("bpv");
        public string HostSide { get; }

        public Outside(int net)
        {
            HostSide = $"10.231.{net}.1";
            Run.Command("ip", ["netns", "add", Ns]);
            Assert.Equal(0, Run.Command("ip", ["link", "add", _veth, "type", "veth", "peer", "name", "o0", "netns", Ns]).Code);
            Run.Command("ip", ["addr", "add", HostSide + "/24", "dev", _veth]);
            Run.Command("ip", ["link", "set", _veth, "up"]);
            Run.Command("ip", ["-n", Ns, "addr", "add", $"10.231.{net}.2/24", "dev", "o0"]);
            Run.Command("ip", ["-n", Ns, "link", "set", "o0", "up"]);
            Run.Command("ip", ["-n", Ns, "link", "set", "lo", "up"]);
            Run.Command("ip", ["-n", Ns, "route", "add", "default", "via", HostSide]);
        }

        /// <summary>bash's /dev/tcp and /dev/udp inside the namespace.</summary>
        public (int Code, string Stdout, string Stderr) Bash(string script) => Run.Command("ip", ["netns", "exec", Ns, "bash", "-c", script]);

        public void Dispose()
        {
            Run.Command("ip", ["link", "del", _veth]);
            Run.Command("ip", ["netns", "del", Ns]);
        }
    }

    [Fact]
    public void Tcp_ReachableFromLoopback_TheHostsAddress_Containers_Hairpin_AndANamespace_HostIpMatchesOnlyItsAddress()
    {
        var name = Unique("pw");
        int any = FreePort(), local = FreePort();
        Ok("run", "-d", "--name", name, "-p", $"{any}:80", "-p", $"127.0.0.1:{local}:80", "busybox", "sh", "-c", Httpd);
        try
        {
            var gw = Gateway();
            Assert.Equal("hello\n", Get("127.0.0.1", any));
            Assert.Equal("hello\n", Get(gw, any));
            Assert.Equal("hello\n", Get("127.0.0.1", local));
            Assert.Null(Get(gw, local, attempts: 1)); // bound to 127.0.0.1 only
            // Another container, and the container itself (hairpin), through the host's address.
            Assert.Equal("hello", GetFrom("bridge", gw, any));
            Assert.Equal("hello", GetFrom("container:" + name, gw, any));
            // A remote client: another namespace, to the host's address on its link.
            using var o = new Outside(81);
            var (code, stdout, stderr) = o.Bash($"exec 3<>/dev/tcp/{o.HostSide}/{any} && printf 'GET / HTTP/1.0\\r\\n\\r\\n' >&3 && timeout 5 cat <&3");
            Assert.True(code == 0 && stdout.EndsWith("hello\n", StringComparison.Ordinal), $"{code} {stdout} {stderr}\n{Rules()}");
            Assert.NotEqual(0, o.Bash($"timeout 3 bash -c 'exec 3<>/dev/tcp/{o.HostSide}/{local}'").Code);
            // Docker's shapes.
            Assert.Equal($"80/tcp -> 0.0.0.0:{any}\n80/tcp -> 127.0.0.1:{local}\n", Ok("port", name));
            Assert.Equal($"0.0.0.0:{any}\n127.0.0.1:{local}\n", Ok("port", name, "80/tcp"));
            Assert.Equal($"{{\"80/tcp\":[{{\"HostIp\":\"0.0.0.0\",\"HostPort\":\"{any}\"}},{{\"HostIp\":\"127.0.0.1\",\"HostPort\":\"{local}\"}}]}}\n",
                Ok("inspect", "-f", "{{json .NetworkSettings.Ports}}", name));
            Assert.Equal($"{{\"80/tcp\":[{{\"HostIp\":\"\",\"HostPort\":\"{any}\"}},{{\"HostIp\":\"127.0.0.1\",\"HostPort\":\"{local}\"}}]}}\n",
                Ok("inspect", "-f", "{{json .HostConfig.PortBindings}}", name));
            // (the CLI orders the column itself)
            Assert.Equal([$"0.0.0.0:{any}->80/tcp", $"127.0.0.1:{local}->80/tcp"],
                Ok("ps", "--filter", "name=" + name, "--format", "{{.Ports}}").Trim().Split(", ").Order(StringComparer.Ordinal));
        }
        finally { Docker("rm", "-f", name); }
        Assert.DoesNotContain($"dport {any} ", Rules());
        Assert.DoesNotContain($"dport {local} ", Rules());
        // Stopped: nothing published.
    }

    /// <summary>A UDP socket bound inside a container's network namespace (the image's busybox has no UDP
    /// server): made on a thread of its own that enters the namespace and comes back.</summary>
    private static Socket UdpIn(string nsPath, int port)
    {
        Socket? sock = null;
        Exception? failure = null;
        var t = new Thread(() =>
        {
            int orig = Libc.open("/proc/thread-self/ns/net", Libc.O_RDONLY | Libc.O_CLOEXEC, 0);
            int target = Libc.open(nsPath, Libc.O_RDONLY | Libc.O_CLOEXEC, 0);
            try
            {
                if (Libc.setns(target, Libc.CLONE_NEWNET) != 0) throw new IOException("setns " + nsPath);
                try
                {
                    sock = new Socket(AddressFamily.InterNetwork, SocketType.Dgram, ProtocolType.Udp);
                    sock.Bind(new IPEndPoint(IPAddress.Any, port));
                }
                finally { Libc.setns(orig, Libc.CLONE_NEWNET); }
            }
            catch (Exception e) { failure = e; }
            finally
            {
                Libc.close(target);
                Libc.close(orig);
            }
        });
        t.Start();
        t.Join();
        if (failure is not null) throw failure;
        sock!.ReceiveTimeout = 1000;
        return sock;
    }

    private static string? Receive(Socket s)
    {
        var buf = new byte[256];
        try { return Encoding.ASCII.GetString(buf, 0, s.Receive(buf)); }
        catch (SocketException) { return null; }
    }

    [Fact]
    public void Udp_ReachableFromLoopbackTheHostsAddressAndANamespace()
    {
        var name = Unique("pu");
        int port = FreePort();
        Ok("run", "-d", "--name", name, "-p", $"{port}:5353/udp", "busybox", "sleep", "120");
        try
        {
            Assert.Equal($"5353/udp -> 0.0.0.0:{port}\n", Ok("port", name));
            using var server = UdpIn(Ok("inspect", "-f", "{{.NetworkSettings.SandboxKey}}", name).Trim(), 5353);
            using var udp = new UdpClient(AddressFamily.InterNetwork);
            udp.Send("from-loopback"u8.ToArray(), new IPEndPoint(IPAddress.Loopback, port));
            Assert.Equal("from-loopback", Receive(server));
            udp.Send("from-gateway"u8.ToArray(), new IPEndPoint(IPAddress.Parse(Gateway()), port));
            Assert.Equal("from-gateway", Receive(server));
            using var o = new Outside(82);
            o.Bash($"printf from-outside >/dev/udp/{o.HostSide}/{port}");
            Assert.Equal("from-outside", Receive(server));
        }
        finally { Docker("rm", "-f", name); }
        Assert.DoesNotContain($"dport {port} ", Rules());
    }

    [Fact]
    public void PublishAll_TakesEphemeralPorts_ExposedOnlyIsNull()
    {
        var (name, quiet) = (Unique("pp"), Unique("pq"));
        Ok("run", "-d", "--name", name, "-P", "--expose", "80", "--expose", "53/udp", "busybox", "sh", "-c", Httpd);
        Ok("run", "-d", "--name", quiet, "--expose", "81", "busybox", "sleep", "60");
        try
        {
            var eph = File.ReadAllText("/proc/sys/net/ipv4/ip_local_port_range").Split((char[])['\t', ' ', '\n'], StringSplitOptions.RemoveEmptyEntries).Select(int.Parse).ToArray();
            var lines = Ok("port", name).Split('\n', StringSplitOptions.RemoveEmptyEntries);
            Assert.Equal(2, lines.Length);
            Assert.StartsWith("53/udp -> 0.0.0.0:", lines[0]);
            Assert.StartsWith("80/tcp -> 0.0.0.0:", lines[1]);
            int tcp = int.Parse(Ok("port", name, "80/tcp").Trim().Split(':')[1]);
            int udp = int.Parse(lines[0].Split(':')[1]);
            Assert.InRange(tcp, eph[0], eph[1]);
            Assert.InRange(udp, eph[0], eph[1]);
            Assert.Equal("hello\n", Get("127.0.0.1", tcp));
            Assert.Contains($"tcp dport {tcp} dnat", Rules());
            Assert.Contains($"udp dport {udp} dnat", Rules());
            Assert.Equal("{\"81/tcp\":null}\n", Ok("inspect", "-f", "{{json .NetworkSettings.Ports}}", quiet));
            Assert.Equal("81/tcp\n", Ok("ps", "--filter", "name=" + quiet, "--format", "{{.Ports}}"));
            Assert.Equal("", Ok("port", quiet));
            Ok("stop", "-t", "0", quiet);
            Assert.Equal("{}\n", Ok("inspect", "-f", "{{json .NetworkSettings.Ports}}", quiet));
        }
        finally { Docker("rm", "-f", name, quiet); }
    }

    [Fact]
    public void PortInUse_RefusedWithDockersErrors_NothingLeftBehind()
    {
        // A program on the host holds the port.
        using var listener = new TcpListener(IPAddress.Any, 0);
        listener.Start();
        int held = ((IPEndPoint)listener.LocalEndpoint).Port;
        var name = Unique("pi");
        var (code, _, err) = Docker("run", "-d", "--name", name, "-p", $"{held}:80", "busybox", "sleep", "60");
        Assert.Equal(125, code);
        Assert.Contains($"driver failed programming external connectivity on endpoint {name} (", err);
        Assert.Contains($"Error starting userland proxy: listen tcp4 0.0.0.0:{held}: bind: address already in use", err);
        Assert.Equal("created", Ok("inspect", "-f", "{{.State.Status}}", name).Trim());
        Assert.DoesNotContain($"dport {held} ", Rules());
        Docker("rm", "-f", name);

        // Another container holds it.
        int port = FreePort();
        var (a, b) = (Unique("pa"), Unique("pb"));
        Ok("run", "-d", "--name", a, "-p", $"{port}:80", "busybox", "sleep", "60");
        try
        {
            (code, _, err) = Docker("run", "-d", "--name", b, "-p", $"127.0.0.1:{port}:81", "busybox", "sleep", "60");
            Assert.Equal(125, code);
            Assert.Contains($"Bind for 127.0.0.1:{port} failed: port is already allocated", err);
            // Only a's rules (one in prerouting, one in output).
            Assert.Equal(2, Rules().Split('\n').Count(l => l.Contains($"dport {port} dnat to")));
            Assert.DoesNotContain($"127.0.0.1 tcp dport {port}", Rules());
            // The port is held: nothing else on the host can take it while the container publishes it.
            var nc = Run.Command("timeout", ["2", "busybox", "nc", "-l", "-p", port.ToString()]);
            Assert.Contains("Address already in use", nc.Stderr);
        }
        finally { Docker("rm", "-f", a, b); }
        Assert.DoesNotContain($"dport {port} ", Rules());
        // Released: the port is free again.
        using (var s = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp)) s.Bind(new IPEndPoint(IPAddress.Any, port));
    }

    [Fact]
    public void RunningContainersKeepTheirRulesAcrossARestart_StaleOnesGo()
    {
        var (keep, gone) = (Unique("pk"), Unique("pg"));
        var (kp, gp) = (FreePort(), FreePort());
        Ok("run", "-d", "--name", keep, "-p", $"{kp}:80", "busybox", "sh", "-c", Httpd);
        Ok("run", "-d", "--name", gone, "-p", $"{gp}:80", "busybox", "sleep", "300");
        try
        {
            Assert.Equal("hello\n", Get("127.0.0.1", kp));
            int gonePid = int.Parse(Ok("inspect", "-f", "{{.State.Pid}}", gone).Trim());
            // berthd dies; meanwhile one container's process goes too; a new berthd finds one running.
            fx.Crash(whileDown: () => Run.Command("kill", ["-9", gonePid.ToString()]));
            var rules = Rules();
            Assert.Contains($"dport {kp} dnat", rules);
            Assert.DoesNotContain($"dport {gp} ", rules);
            Assert.Equal("hello\n", Get("127.0.0.1", kp));
            Assert.Equal($"80/tcp -> 0.0.0.0:{kp}\n", Ok("port", keep));
            fx.Restart();
            Assert.Equal("hello\n", Get("127.0.0.1", kp));
        }
        finally { Docker("rm", "-f", keep, gone); }
        Assert.DoesNotContain($"dport {kp} ", Rules());
    }

    [Fact]
    public async Task BadInput_HostAndContainerModes()
    {
        using var http = UnixHttp.Client(fx.Dir.Socket);
        async Task<(HttpStatusCode, string)> Create(string body)
        {
            var r = await http.PostAsync("/v1.41/containers/create", new StringContent(body, Encoding.UTF8, "application/json"));
            return (r.StatusCode, await r.Content.ReadAsStringAsync());
        }
        var (status, text) = await Create("""{"Image":"busybox","HostConfig":{"PortBindings":{"80/icmp":[{"HostIp":"","HostPort":"8080"}]}}}""");
        Assert.Equal(HttpStatusCode.BadRequest, status);
        Assert.Contains("invalid proto: icmp", text);
        (status, text) = await Create("""{"Image":"busybox","HostConfig":{"PortBindings":{"80/tcp":[{"HostIp":"","HostPort":"80a"}]}}}""");
        Assert.Equal(HttpStatusCode.BadRequest, status);
        Assert.Contains("invalid port specification: \\\"80a\\\"", text);
        // SCTP: published where the kernel has it, refused by name where it does not.
        bool sctp = File.ReadAllLines("/proc/net/protocols").Any(l => l.StartsWith("SCTP "));
        (status, text) = await Create("""{"Image":"busybox","Cmd":["true"],"HostConfig":{"PortBindings":{"9/sctp":[{"HostIp":"","HostPort":""}]}}}""");
        if (sctp) Assert.Equal(HttpStatusCode.Created, status);
        else Assert.Contains("no SCTP support", text);
        if (status == HttpStatusCode.Created) Docker("rm", "-f", text.Split('"')[3]);

        var name = Unique("ph");
        var (code, _, err) = Docker("run", "--rm", "--name", name, "--network", "host", "-p", "18089:80", "busybox", "true");
        Assert.Equal(0, code);
        Assert.Contains("WARNING: Published ports are discarded when using host network mode", err);
        var owner = Unique("po");
        Ok("run", "-d", "--name", owner, "busybox", "sleep", "60");
        try
        {
            (code, _, err) = Docker("run", "--rm", "--network", "container:" + owner, "-p", "18090:80", "busybox", "true");
            Assert.Equal(125, code);
            Assert.Contains("conflicting options: port exposing and the container type network mode", err);
        }
        finally { Docker("rm", "-f", owner); }
    }
}
