using System.Net;
using System.Text;

namespace Berth.Daemon.Tests;

/// <summary>
/// Berth never pretends: every create field is honoured or refused with a message naming it, bad values are
/// 400s at create naming the field, unimplemented endpoints are 501s. Through the real docker CLI and the API.
/// </summary>
public sealed class HonestCreateTests(DaemonFixture fx) : IClassFixture<DaemonFixture>
{
    private (int Code, string Stdout, string Stderr) Docker(params string[] args) => DockerCli.Run(fx.Dir.Socket, fx.Dir.Path, args);

    private string Ok(params string[] args)
    {
        var (code, stdout, stderr) = Docker(args);
        Assert.True(code == 0, $"docker {string.Join(' ', args)} exited {code}: {stdout}{stderr}");
        return stdout;
    }

    private int ContainerCount() => Ok("ps", "-aq").Split('\n', StringSplitOptions.RemoveEmptyEntries).Length;

    [Theory]
    [InlineData("--storage-opt", "size=1G", "HostConfig.StorageOpt")]
    [InlineData("--log-driver", "syslog", "HostConfig.LogConfig.Type")]
    [InlineData("--log-opt", "compress=true", "HostConfig.LogConfig.Config")]
    public void UnhonouredFlagsAreRefusedByName(string flag, string value, string field)
    {
        int before = ContainerCount();
        string[] args = value.Length == 0 ? ["run", flag, "busybox", "true"] : ["run", flag, value, "busybox", "true"];
        var (code, _, stderr) = Docker(args);
        Assert.Equal(125, code);
        Assert.Contains(field, stderr);
        Assert.Contains("not implemented in Berth yet", stderr);
        Assert.Equal(before, ContainerCount());
    }

    [Fact]
    public void UlimitAddHostAndDnsAreApplied()
    {
        Assert.Equal("512\n", Ok("run", "--rm", "--ulimit", "nofile=512:512", "busybox", "sh", "-c", "ulimit -n"));
        var etc = Ok("run", "--rm", "--add-host", "acc-h:127.0.0.9", "--dns", "127.0.0.53", "--dns-search", "example.test",
            "--dns-option", "ndots:2", "busybox", "cat", "/etc/hosts", "/etc/resolv.conf");
        Assert.Contains("127.0.0.9\tacc-h\n", etc);
        Assert.Contains("nameserver 127.0.0.53\n", etc);
        Assert.Contains("search example.test\n", etc);
        Assert.Contains("options ndots:2\n", etc);
    }

    [Fact]
    public void InspectShowsTheMergedConfigAndAppliedDefaults()
    {
        var id = Ok("create", "--name", "merged", "--ulimit", "nofile=100:200", "busybox").Trim();
        try
        {
            // The image's Cmd is in the container's config, as dockerd shows it.
            Assert.Equal("[sh]", Ok("inspect", "-f", "{{.Config.Cmd}}", id).Trim());
            Assert.Equal("json-file no 67108864 private", Ok("inspect", "-f",
                "{{.HostConfig.LogConfig.Type}} {{.HostConfig.RestartPolicy.Name}} {{.HostConfig.ShmSize}} {{.HostConfig.IpcMode}}", id).Trim());
            Assert.Equal("[nofile=100:200]", Ok("inspect", "-f", "{{.HostConfig.Ulimits}}", id).Trim());
        }
        finally
        {
            Docker("rm", "-f", id);
        }
    }

    [Fact]
    public void PrivilegedGetsTheHostsBoundingSet()
    {
        var bounding = File.ReadLines("/proc/self/status").First(l => l.StartsWith("CapBnd:", StringComparison.Ordinal))[7..].Trim();
        var (code, stdout, stderr) = Docker("run", "--rm", "--privileged", "busybox", "grep", "CapEff", "/proc/self/status");
        Assert.True(code == 0, stderr);
        Assert.Equal(bounding, stdout.Split(':')[1].Trim());
        if (bounding != "000001ffffffffff") Assert.Contains("capability bounding set lacks", stderr);
    }

    [Fact]
    public void LoopbackIsUpWithNetworkNone()
    {
        Assert.Contains(",UP", Ok("run", "--rm", "--network", "none", "busybox", "ip", "link", "show", "lo"));
        Assert.Equal("hi\n", Ok("run", "--rm", "--network", "none", "busybox", "sh", "-c",
            "nc -l -p 7 -e cat & for i in 1 2 3 4 5 6 7 8 9 10; do out=$(echo hi | nc -w 1 127.0.0.1 7) && [ -n \"$out\" ] && break; usleep 100000; done; echo \"$out\""));
    }

    [Fact]
    public void PlatformMismatchIsRefused()
    {
        var (code, _, stderr) = Docker("run", "--rm", "--platform", "linux/arm64", "busybox", "true");
        Assert.Equal(125, code);
        Assert.Contains("does not match the specified platform", stderr);
        Ok("run", "--rm", "--platform", "linux/amd64", "busybox", "true");
    }

    private Task<(HttpStatusCode Status, string Body)> Post(string path, string json) =>
        EngineCalls.Client(fx.Dir.Socket).CallAsync("POST", path, json);

    [Theory]
    [InlineData("""{"Image":"busybox","Cmd":["true"],"HostConfig":{"Memory":"64m"}}""", "HostConfig.Memory")]
    [InlineData("""{"Image":"busybox","Cmd":["true"],"Env":"A=1"}""", "Env")]
    [InlineData("""{"Image":"busybox","Cmd":["true"],"Labels":{"a":1}}""", "Labels")]
    [InlineData("""{"Image":"busybox","Cmd":["true"],"HostConfig":{"OomScoreAdj":99999999999}}""", "HostConfig.OomScoreAdj")]
    [InlineData("""{"Image":"busybox","Cmd":["true"],"HostConfig":{"OomScoreAdj":5000}}""", "oom score adj")]
    [InlineData("""{"Image":"busybox","Cmd":["true"],"HostConfig":{"Memory":-1}}""", "HostConfig.Memory")]
    [InlineData("""{"Image":"busybox","Cmd":["true"],"HostConfig":{"Memory":67108864,"MemorySwap":33554432}}""", "memoryswap")]
    [InlineData("""{"Image":"busybox","Cmd":["true"],"HostConfig":{"CpusetCpus":"0-63"}}""", "not available")]
    [InlineData("""{"Image":"busybox","Cmd":["true"],"HostConfig":{"CpusetCpus":"x"}}""", "cpuset.cpus")]
    [InlineData("""{"Image":"busybox","Cmd":["env"],"Env":["FOO=a\u0000INJ=evil"]}""", "Config.Env")]
    [InlineData("""{"Image":"busybox","Cmd":["tr\u0000ue"]}""", "Config.Cmd")]
    [InlineData("""{"Image":"busybox","Cmd":["true"],"WorkingDir":"/a\u0000b"}""", "Config.WorkingDir")]
    [InlineData("""{"Image":"busybox","Cmd":["true"],"Hostname":"a\u0000b"}""", "Config.Hostname")]
    [InlineData("""{"Image":"busybox","Cmd":["true"],"MacAddress":"02:42:ac:11:00:0x"}""", "MAC address")]
    [InlineData("""{"Image":"busybox","Cmd":["true"],"Volumes":{"data":{}}}""", "mount path must be absolute")]
    [InlineData("""{"Image":"busybox","Cmd":["true"],"HostConfig":{"Runtime":"runc"}}""", "HostConfig.Runtime")]
    [InlineData("""{"Image":"busybox","Cmd":["true"],"HostConfig":{"ExtraHosts":["bad"]}}""", "extra host")]
    [InlineData("""[]""", "invalid JSON")]
    [InlineData("""null""", "config cannot be empty")]
    public async Task BadBodiesAre400sNamingTheField(string json, string named)
    {
        int before = ContainerCount();
        var (status, body) = await Post("/v1.41/containers/create", json);
        Assert.Equal(HttpStatusCode.BadRequest, status);
        Assert.Contains(named, body, StringComparison.OrdinalIgnoreCase);
        Assert.StartsWith("{\"message\":", body);
        Assert.Equal(before, ContainerCount());
    }

    [Fact]
    public async Task InvalidUtf8Is400()
    {
        var bytes = Encoding.UTF8.GetBytes("""{"Image":"busybox","Cmd":["echo","X"]}""");
        bytes[Array.IndexOf(bytes, (byte)'X')] = 0xff;
        var (status, _) = await EngineCalls.Client(fx.Dir.Socket).CallAsync("POST", "/v1.41/containers/create", bytes, "application/json");
        Assert.Equal(HttpStatusCode.BadRequest, status);
    }

    [Fact]
    public async Task OversizeCreateBodyIs413()
    {
        var big = "{\"Image\":\"busybox\",\"Env\":[\"A=" + new string('x', 5 << 20) + "\"]}";
        var (status, body) = await Post("/v1.41/containers/create", big);
        Assert.Equal(HttpStatusCode.RequestEntityTooLarge, status);
        Assert.Contains("too large", body);
    }

    [Fact]
    public async Task WaitWithABogusConditionAndStopWithABadTimeoutAre400s()
    {
        var id = Ok("create", "busybox", "true").Trim();
        try
        {
            var (status, body) = await Post($"/v1.41/containers/{id}/wait?condition=bogus", "");
            Assert.Equal((HttpStatusCode.BadRequest, true), (status, body.Contains("invalid condition")));
            (status, body) = await Post($"/v1.41/containers/{id}/stop?t=abc", "");
            Assert.Equal((HttpStatusCode.BadRequest, true), (status, body.Contains("invalid syntax")));
            (status, body) = await Post($"/v1.41/containers/{id}/kill?signal=NOPE", "");
            Assert.Equal(HttpStatusCode.BadRequest, status);
        }
        finally
        {
            Docker("rm", "-f", id);
        }
    }

    [Fact]
    public void UnimplementedEndpointsAre501sThatTheCliShows()
    {
        // push is not implemented yet: the daemon answers 501 before any registry is contacted (a loopback name all
        // the same: tests never send traffic beyond the machine).
        var (code, _, stderr) = Docker("push", "127.0.0.1:9/nope:1");
        Assert.NotEqual(0, code);
        Assert.Contains("not implemented in Berth yet", stderr);
        Assert.DoesNotContain("docker login", stderr);
    }

    [Fact]
    public async Task UnknownPathsStay404()
    {
        var client = EngineCalls.Client(fx.Dir.Socket);
        var (status, _) = await client.CallAsync("GET", "/v1.41/no/such/thing");
        Assert.Equal(HttpStatusCode.NotFound, status);
        (status, _) = await client.CallAsync("POST", "/v1.41/images/localhost:5000/ns/app:1/push");
        Assert.Equal(HttpStatusCode.NotImplemented, status);
    }
}
