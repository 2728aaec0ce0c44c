using Berth.Api.Containers;
using Berth.Core;
using Berth.Engine.Containers.Restart;

namespace Berth.Engine.Tests;

/// <summary>dockerd's restart manager: the policies, the delay that doubles from 100 ms to a minute, its reset
/// after a run of 10 s, and the validation messages.</summary>
public sealed class RestartBackoffTests
{
    private static RestartPolicy P(string name, int max = 0) => new() { Name = name, MaximumRetryCount = max };
    private static readonly TimeSpan Short = TimeSpan.FromSeconds(1);

    [Fact]
    public void Delay_DoublesUpToAMinute_AndResetsAfterTenSecondsOfRunning()
    {
        var b = new RestartBackoff();
        var delays = Enumerable.Range(0, 12).Select(i => b.Decide(P("always"), 1, false, i, Short)!.Value.TotalMilliseconds).ToList();
        Assert.Equal([100, 200, 400, 800, 1600, 3200, 6400, 12800, 25600, 51200, 60000, 60000], delays);
        Assert.Equal(TimeSpan.FromMilliseconds(100), b.Decide(P("always"), 1, false, 12, TimeSpan.FromSeconds(10)));
        Assert.Equal(TimeSpan.FromMilliseconds(200), b.Decide(P("always"), 1, false, 13, Short));
    }

    [Fact]
    public void Policies()
    {
        Assert.Null(new RestartBackoff().Decide(P("no"), 1, false, 0, Short));
        Assert.Null(new RestartBackoff().Decide(P(""), 1, false, 0, Short));
        Assert.NotNull(new RestartBackoff().Decide(P("always"), 0, true, 0, Short)); // dockerd: always, even after a stop (at daemon start)
        Assert.NotNull(new RestartBackoff().Decide(P("unless-stopped"), 0, false, 0, Short));
        Assert.Null(new RestartBackoff().Decide(P("unless-stopped"), 0, true, 0, Short));
        Assert.Null(new RestartBackoff().Decide(P("on-failure"), 0, false, 0, Short));
        Assert.NotNull(new RestartBackoff().Decide(P("on-failure"), 1, false, 100, Short)); // 0: no maximum
        Assert.NotNull(new RestartBackoff().Decide(P("on-failure", 3), 1, false, 2, Short));
        Assert.Null(new RestartBackoff().Decide(P("on-failure", 3), 1, false, 3, Short));
    }

    [Fact]
    public void Validation()
    {
        RestartPolicies.Validate(P("on-failure", 5));
        RestartPolicies.Validate(P("unless-stopped"));
        Assert.Equal("invalid restart policy 'sometimes'", Assert.Throws<BerthException>(() => RestartPolicies.Validate(P("sometimes"))).Message);
        Assert.Equal("maximum retry count cannot be used with restart policy 'always'",
            Assert.Throws<BerthException>(() => RestartPolicies.Validate(P("always", 2))).Message);
        Assert.Equal("maximum retry count cannot be negative", Assert.Throws<BerthException>(() => RestartPolicies.Validate(P("on-failure", -1))).Message);
    }
}
