using System.Text.Json;
using Berth.Api;
using Berth.Core;
using Berth.Engine.Events;

namespace Berth.Engine.Tests;

/// <summary>The event bus (history, order), Docker's events filter and Docker's since/until timestamps.</summary>
public sealed class EventsUnitTests
{
    private static EngineEvent Ev(string type, string action, string id, params (string, string)[] attrs) =>
        new(type, action, id, attrs.ToDictionary(a => a.Item1, a => a.Item2), EngineEvent.NowNano());

    [Fact]
    public void ContainerEvent_HasDockersShapeWithLegacyFields()
    {
        var e = new EngineEvent("container", "die", "abc", new Dictionary<string, string> { ["name"] = "x", ["image"] = "busybox", ["exitCode"] = "3" },
            1795326784310990208);
        var ms = new MemoryStream();
        using (var w = new Utf8JsonWriter(ms)) e.Write(w);
        Assert.Equal("""{"status":"die","id":"abc","from":"busybox","Type":"container","Action":"die","Actor":{"ID":"abc","Attributes":{"exitCode":"3","image":"busybox","name":"x"}},"scope":"local","time":1795326784,"timeNano":1795326784310990208}""",
            System.Text.Encoding.UTF8.GetString(ms.ToArray()));
    }

    [Fact]
    public void VolumeEvent_HasNoLegacyFields()
    {
        var e = new EngineEvent("volume", "create", "v1", new Dictionary<string, string> { ["driver"] = "local" }, 1795326783535053620);
        var ms = new MemoryStream();
        using (var w = new Utf8JsonWriter(ms)) e.Write(w);
        Assert.Equal("""{"Type":"volume","Action":"create","Actor":{"ID":"v1","Attributes":{"driver":"local"}},"scope":"local","time":1795326783,"timeNano":1795326783535053620}""",
            System.Text.Encoding.UTF8.GetString(ms.ToArray()));
    }

    [Fact]
    public void Bus_KeepsTheLast256InOrder_AndSubscribersGetWhatFollows()
    {
        var bus = new EngineEvents();
        for (int i = 0; i < 300; i++) bus.Publish("volume", "create", "v" + i, new Dictionary<string, string>());
        using var sub = bus.Subscribe(out var history);
        Assert.Equal(256, history.Count);
        Assert.Equal("v44", history[0].Id);
        Assert.Equal("v299", history[^1].Id);
        Assert.True(history.Zip(history.Skip(1)).All(p => p.First.TimeNano < p.Second.TimeNano));
        bus.Publish("network", "create", "n1", new Dictionary<string, string> { ["name"] = "net" });
        Assert.True(sub.Reader.TryRead(out var next));
        Assert.Equal(("network", "n1", "net"), (next.Type, next.Id, next.Name));
    }

    [Fact]
    public void Filter_TypeEventContainerImageLabel()
    {
        var create = Ev("container", "create", "0123abcd", ("name", "web"), ("image", "busybox:latest"), ("tier", "front"));
        var tag = Ev("image", "tag", "sha256:feed", ("name", "busybox:v2"));
        var vol = Ev("volume", "create", "data", ("driver", "local"));
        bool Inc(string json, EngineEvent e) => EventFilter.Parse(json).Include(e);

        Assert.True(Inc("""{"type":{"container":true}}""", create));
        Assert.False(Inc("""{"type":{"container":true}}""", tag));
        Assert.True(Inc("""{"type":{"container":true,"volume":true}}""", vol));
        Assert.True(Inc("""{"event":{"create":true}}""", create));
        Assert.False(Inc("""{"event":{"start":true}}""", create));
        Assert.True(Inc("""{"container":{"web":true}}""", create));
        Assert.True(Inc("""{"container":{"0123":true}}""", create)); // an ID prefix
        Assert.False(Inc("""{"container":{"db":true}}""", create));
        Assert.False(Inc("""{"container":{"web":true}}""", vol));
        Assert.True(Inc("""{"image":{"busybox":true}}""", create)); // the tag stripped
        Assert.True(Inc("""{"image":{"busybox:v2":true}}""", tag));
        Assert.True(Inc("""{"label":{"tier=front":true}}""", create));
        Assert.False(Inc("""{"label":{"tier=back":true}}""", create));
        Assert.True(Inc("""{"volume":{"data":true}}""", vol));
        Assert.True(Inc("""{"scope":{"local":true}}""", vol));
        Assert.False(Inc("""{"scope":{"swarm":true}}""", vol));
        Assert.True(Inc("""{"event":{"exec_start":true}}""", Ev("container", "exec_start: sh -c true", "0123")));
        var e = Assert.Throws<BerthException>(() => EventFilter.Parse("""{"nope":{"x":true}}"""));
        Assert.Equal("invalid filter 'nope'", e.Message);
    }

    [Fact]
    public void Timestamps_UnixSecondsWithFraction()
    {
        Assert.Equal(DateTime.UnixEpoch.AddSeconds(1795326756), DockerTime.ParseTimestamp("1795326756"));
        Assert.Equal(DateTime.UnixEpoch.AddSeconds(1795326756).AddTicks(5_000_000), DockerTime.ParseTimestamp("1795326756.5"));
        Assert.Equal(DateTime.UnixEpoch.AddSeconds(10).AddTicks(1), DockerTime.ParseTimestamp("10.000000100"));
        Assert.Null(DockerTime.ParseTimestamp(""));
    }

    [Fact]
    public void Timestamps_DurationsAreRelativeToNow()
    {
        var now = new DateTimeOffset(2026, 12, 3, 12, 0, 0, TimeSpan.Zero);
        Assert.Equal(now.AddMinutes(-10).UtcDateTime, DockerTime.ParseTimestamp("10m", now));
        Assert.Equal(now.AddSeconds(-90).UtcDateTime, DockerTime.ParseTimestamp("1m30s", now));
        Assert.Equal(now.AddHours(1).UtcDateTime, DockerTime.ParseTimestamp("-1h", now));
        Assert.True(DockerTime.TryParseGoDuration("1.5h", out var d) && d == TimeSpan.FromMinutes(90));
        Assert.True(DockerTime.TryParseGoDuration("300ms", out d) && d == TimeSpan.FromMilliseconds(300));
        Assert.False(DockerTime.TryParseGoDuration("10", out _));
        Assert.False(DockerTime.TryParseGoDuration("10x", out _));
    }

    [Fact]
    public void Timestamps_Rfc3339AndDates()
    {
        Assert.Equal(new DateTime(2026, 11, 22, 5, 53, 4, DateTimeKind.Utc), DockerTime.ParseTimestamp("2026-11-22T05:53:04Z"));
        Assert.Equal(new DateTime(2026, 11, 22, 4, 53, 4, DateTimeKind.Utc), DockerTime.ParseTimestamp("2026-11-22T05:53:04+01:00"));
        Assert.Equal(new DateTime(2026, 11, 22, 5, 53, 4, DateTimeKind.Utc).AddTicks(3_109_902),
            DockerTime.ParseTimestamp("2026-11-22T05:53:04.3109902Z"));
        Assert.Equal("1795326784.310990200", DockerTime.GetTimestamp("2026-11-22T05:53:04.3109902Z", DateTimeOffset.UnixEpoch));
        Assert.Equal(new DateTime(2026, 11, 22, 0, 0, 0, DateTimeKind.Utc), DockerTime.ParseTimestamp("2026-11-22Z"));
        // Without a zone: local time, as Docker's CLI.
        var local = new DateTimeOffset(new DateTime(2026, 11, 22, 5, 53, 0, DateTimeKind.Local)).UtcDateTime;
        Assert.Equal(local, DockerTime.ParseTimestamp("2026-11-22T05:53"));
        Assert.Equal("1795326756", DockerTime.GetTimestamp("1795326756", DateTimeOffset.UnixEpoch));
        Assert.Throws<BerthException>(() => DockerTime.ParseTimestamp("yesterday"));
        Assert.Throws<BerthException>(() => DockerTime.ParseTimestamp("2026-13-45T00:00:00Z"));
    }
}
