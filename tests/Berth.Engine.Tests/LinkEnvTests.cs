using Berth.Engine.Networking;

namespace Berth.Engine.Tests;

/// <summary>The link variables as dockerd 20.10.24 wrote them for the same target (see LinkTests in the daemon tests).</summary>
public sealed class LinkEnvTests
{
    [Fact]
    public void NoPorts_NameAndEnv_HomeAndPathLeftOut_DashBecomesUnderscore()
    {
        var env = LinkEnv.ToEnv("/client/my-db", "10.0.0.2", ["HOME=/x", "PATH=/bin", "A=b=c", "NOVALUE"], null);
        Assert.Equal(["MY_DB_NAME=/client/my-db", "MY_DB_ENV_A=b=c"], env);
    }

    [Fact]
    public void TwoContiguousPorts_AreNoRange()
    {
        var env = LinkEnv.ToEnv("/c/w", "1.2.3.4", null, ["81/tcp", "80/tcp"]);
        Assert.Equal("W_PORT=tcp://1.2.3.4:80", env[0]);
        Assert.DoesNotContain(env, e => e.Contains("_START"));
        Assert.Equal("W_PORT_80_TCP=tcp://1.2.3.4:80", env[1]);
        Assert.Equal("W_PORT_81_TCP=tcp://1.2.3.4:81", env[5]);
    }

    [Fact]
    public void SameNumber_TcpFirst_AndCountsTowardsARange_AsDockerdsNextContiguous()
    {
        var env = LinkEnv.ToEnv("/c/w", "1.2.3.4", null, ["81/tcp", "80/udp", "80/tcp"]);
        Assert.Equal("W_PORT=tcp://1.2.3.4:80", env[0]);
        Assert.Equal("W_PORT_80_TCP_START=tcp://1.2.3.4:80", env[1]);
        Assert.Equal("W_PORT_80_TCP_END=tcp://1.2.3.4:81", env[5]);
        Assert.Equal("W_PORT_80_TCP=tcp://1.2.3.4:80", env[7]);
        Assert.Equal("W_PORT_80_UDP=udp://1.2.3.4:80", env[11]);
    }

    [Fact]
    public void Merge_AfterPathHostnameTerm_OwnEnvWins()
    {
        var env = new List<string> { "PATH=/bin", "HOSTNAME=h", "TERM=xterm", "W_NAME=mine", "X=1" };
        LinkEnv.Merge(env, ["W_NAME=/c/w", "W_ENV_A=1"]);
        Assert.Equal(["PATH=/bin", "HOSTNAME=h", "TERM=xterm", "W_ENV_A=1", "W_NAME=mine", "X=1"], env);
    }
}
