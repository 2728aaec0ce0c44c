namespace Berth.Daemon.Tests;

/// <summary>
/// Docker's legacy links (<c>docker run --link</c>) on the default bridge, through the real docker CLI. The expected
/// /etc/hosts lines, environment, inspect output and errors are those Debian's dockerd 20.10.24 gave for the same
/// commands (recorded by hand beside a private dockerd; see docs/design/networking.md, "Legacy links").
/// </summary>
public sealed class LinkTests(DaemonFixture fx) : IClassFixture<DaemonFixture>
{
    private static string Unique(string prefix) => prefix + Guid.NewGuid().ToString("N")[..6];

    [Fact]
    public void Link_GivesHostsLine_DockersEnvironment_AndReachesTheTargetByAlias()
    {
        var (web, client) = (Unique("web"), Unique("client"));
        fx.Ok("run", "-d", "--name", web, "--expose", "80", "--expose", "8080/udp", "--expose", "81", "--expose", "82",
            "-e", "FOO=bar", "-e", "HOME=/x", "busybox", "sleep", "120");
        try
        {
            var ip = fx.Inspect(web, "{{.NetworkSettings.IPAddress}}");
            var hostname = fx.Inspect(web, "{{.Config.Hostname}}");
            var output = fx.Ok("run", "--rm", "--name", client, "--link", web + ":my-alias", "busybox", "sh", "-c",
                "cat /etc/hosts; echo ---; env | grep ^MY_ALIAS | sort; echo ---; ping -c 1 -W 5 my-alias >/dev/null && echo reached");
            var parts = output.Split("---\n");
            var hosts = parts[0].Split('\n', StringSplitOptions.RemoveEmptyEntries);
            // dockerd: the link's line after the fixed ones (and --add-host's), before the container's own.
            Assert.Equal($"{ip}\tmy-alias {hostname} {web}", hosts[6]);
            Assert.Matches(@"^\d+\.\d+\.\d+\.\d+\t[0-9a-f]{12}$", hosts[7]);
            string[] expected =
            [
                "MY_ALIAS_ENV_FOO=bar", $"MY_ALIAS_NAME=/{client}/my-alias", $"MY_ALIAS_PORT=tcp://{ip}:80",
                $"MY_ALIAS_PORT_8080_UDP=udp://{ip}:8080", $"MY_ALIAS_PORT_8080_UDP_ADDR={ip}", "MY_ALIAS_PORT_8080_UDP_PORT=8080",
                "MY_ALIAS_PORT_8080_UDP_PROTO=udp", $"MY_ALIAS_PORT_80_TCP=tcp://{ip}:80", $"MY_ALIAS_PORT_80_TCP_ADDR={ip}",
                $"MY_ALIAS_PORT_80_TCP_END=tcp://{ip}:82", "MY_ALIAS_PORT_80_TCP_PORT=80", "MY_ALIAS_PORT_80_TCP_PORT_END=82",
                "MY_ALIAS_PORT_80_TCP_PORT_START=80", "MY_ALIAS_PORT_80_TCP_PROTO=tcp", $"MY_ALIAS_PORT_80_TCP_START=tcp://{ip}:80",
                $"MY_ALIAS_PORT_81_TCP=tcp://{ip}:81", $"MY_ALIAS_PORT_81_TCP_ADDR={ip}", "MY_ALIAS_PORT_81_TCP_PORT=81",
                "MY_ALIAS_PORT_81_TCP_PROTO=tcp", $"MY_ALIAS_PORT_82_TCP=tcp://{ip}:82", $"MY_ALIAS_PORT_82_TCP_ADDR={ip}",
                "MY_ALIAS_PORT_82_TCP_PORT=82", "MY_ALIAS_PORT_82_TCP_PROTO=tcp",
            ];
            Assert.Equal(expected, parts[1].Split('\n', StringSplitOptions.RemoveEmptyEntries));
            Assert.Equal("reached\n", parts[2]);

            // Without an alias the name is the alias, and is not repeated.
            var plain = fx.Ok("run", "--rm", "--link", web, "busybox", "cat", "/etc/hosts");
            Assert.Contains($"{ip}\t{web} {hostname}\n", plain);
        }
        finally { fx.Docker("rm", "-f", web, client); }
    }

    [Fact]
    public void Link_Errors_AreDockers()
    {
        var (stopped, other, net) = (Unique("st"), Unique("ot"), Unique("ln"));
        var (code, _, err) = fx.Docker("run", "--rm", "--link", "nope-link:a", "busybox", "true");
        Assert.Equal(125, code);
        Assert.Contains("could not get container for nope-link: No such container: nope-link", err);

        fx.Ok("create", "--name", stopped, "busybox", "true");
        fx.Ok("network", "create", net);
        fx.Ok("run", "-d", "--name", other, "--network", net, "busybox", "sleep", "120");
        var client = Unique("cl");
        try
        {
            (code, _, err) = fx.Docker("run", "--name", client, "--link", stopped + ":s", "busybox", "true");
            Assert.Equal(125, code);
            Assert.Contains($"Cannot link to a non running container: /{stopped} AS /{client}/s", err);
            (code, _, err) = fx.Docker("run", "--rm", "--link", other, "busybox", "true");
            Assert.Equal(125, code);
            Assert.Contains($"Cannot link to /{other}, as it does not belong to the default network", err);
            (code, _, err) = fx.Docker("run", "--rm", "--network", "host", "--link", other, "busybox", "true");
            Assert.Equal(125, code);
            Assert.Contains("conflicting options: host type networking can't be used with links", err);
        }
        finally
        {
            fx.Docker("rm", "-f", stopped, other, client);
            fx.Docker("network", "rm", net);
        }
    }

    [Fact]
    public void Link_InInspect_SurvivesRestarts_AndRmLinkRemovesIt()
    {
        var (web, client) = (Unique("web"), Unique("cl"));
        fx.Ok("run", "-d", "--name", web, "busybox", "sleep", "300");
        try
        {
            fx.Ok("run", "-d", "--name", client, "--link", web + ":w", "busybox", "sleep", "300");
            Assert.Equal($"[\"/{web}:/{client}/w\"]", fx.Inspect(client, "{{json .HostConfig.Links}}"));
            fx.Restart();
            Assert.Equal($"[\"/{web}:/{client}/w\"]", fx.Inspect(client, "{{json .HostConfig.Links}}"));
            fx.Ok("restart", "-t", "0", web);
            fx.Ok("restart", "-t", "0", client);
            var ip = fx.Inspect(web, "{{.NetworkSettings.IPAddress}}");
            Assert.Contains($"{ip}\tw ", fx.Ok("exec", client, "cat", "/etc/hosts"));
            Assert.Equal(0, fx.Docker("exec", client, "ping", "-c", "1", "-W", "5", "w").Code);

            var (code, _, err) = fx.Docker("rm", "--link", $"/{client}/zz");
            Assert.Equal(1, code);
            Assert.Contains($"No such container: {client}/zz", err);
            (code, _, err) = fx.Docker("rm", "--link", web);
            Assert.Equal(1, code);
            Assert.Contains("Conflict, cannot remove the default link name of the container", err);

            Assert.Equal($"/{client}/w\n", fx.Ok("rm", "--link", $"/{client}/w"));
            Assert.Equal("null", fx.Inspect(client, "{{json .HostConfig.Links}}"));
            Assert.Equal("true", fx.Inspect(web, "{{.State.Running}}"));
            fx.Ok("restart", "-t", "0", client);
            Assert.DoesNotContain("\tw ", fx.Ok("exec", client, "cat", "/etc/hosts"));
        }
        finally { fx.Docker("rm", "-f", web, client); }
    }

    [Fact]
    public void RemovedTarget_StaysInTheLink_AndTheParentCannotStart_AsDockerd()
    {
        var (web, client) = (Unique("web"), Unique("cl"));
        fx.Ok("run", "-d", "--name", web, "busybox", "sleep", "300");
        try
        {
            fx.Ok("create", "--name", client, "--link", web + ":w", "busybox", "sleep", "300");
            fx.Ok("rm", "-f", web);
            Assert.Equal($"[\"/{web}:/{client}/w\"]", fx.Inspect(client, "{{json .HostConfig.Links}}"));
            var (code, _, err) = fx.Docker("start", client);
            Assert.NotEqual(0, code);
            Assert.Contains($"Cannot link to a non running container: /{web} AS /{client}/w", err);
            (code, _, err) = fx.Docker("rm", "--link", $"/{client}/w");
            Assert.Equal(1, code);
            Assert.Contains($"No such container: {client}/w", err);
        }
        finally { fx.Docker("rm", "-f", web, client); }
    }
}
