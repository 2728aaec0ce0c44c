using Berth.Api;
using Berth.Core;
using Berth.Daemon.Routers.Containers;
using Berth.Engine.Containers;

namespace Berth.Daemon.Tests;

/// <summary>The list filters over records in memory (the docker CLI end of it is in DockerContainerTests).</summary>
public sealed class ContainerListFilterTests
{
    private static ContainerRecord Record(string id, string name, string status, int exitCode = 0, int minutesAgo = 0, string image = "sha256:aa") => new()
    {
        Id = id, Name = name, Image = image, Created = DateTime.UtcNow.AddMinutes(-minutesAgo), Config = new Berth.Api.Containers.ContainerConfig { Labels = Labels[id] },
        State = new ContainerStateRecord
        {
            Status = status, ExitCode = exitCode, StartedAt = status == "created" ? default : DateTime.UtcNow.AddMinutes(-minutesAgo),
        },
    };

    private static readonly Dictionary<string, Dictionary<string, string>> Labels = new()
    {
        ["c3"] = new() { ["tier"] = "web", ["env"] = "prod" },
        ["c2"] = new() { ["tier"] = "batch" },
        ["c1"] = new(),
    };

    // Newest first, as the store lists them.
    private static readonly ContainerRecord[] All =
    [
        Record("c3", "web", "running", minutesAgo: 1),
        Record("c2", "job", "exited", exitCode: 2, minutesAgo: 2, image: "sha256:bb"),
        Record("c1", "new", "created", minutesAgo: 3),
    ];

    private static string Select(bool all, string? filters, int limit = -1)
    {
        var f = new ContainerListFilter(all, limit, FilterArgs.Parse(filters),
            name => All.FirstOrDefault(c => c.Id == name || c.Name == name)?.Id ?? throw BerthException.NotFound($"No such container: {name}"),
            image => image switch { "busybox" => "sha256:aa", "other" => "sha256:bb", _ => null });
        return string.Join(",", f.Apply(All).Select(c => c.Name));
    }

    [Theory]
    [InlineData(false, null, "web")]
    [InlineData(true, null, "web,job,new")]
    [InlineData(false, """{"status":{"exited":true}}""", "job")]
    [InlineData(false, """{"status":["exited","created"]}""", "job,new")] // the legacy array form
    [InlineData(true, """{"exited":{"2":true}}""", "job")]
    [InlineData(true, """{"exited":{"0":true}}""", "")] // created containers never exited
    [InlineData(true, """{"name":{"^/w":true}}""", "web")]
    [InlineData(true, """{"name":{"o":true}}""", "job")] // an unanchored expression, as Docker's
    [InlineData(true, """{"id":{"c2":true}}""", "job")]
    [InlineData(true, """{"label":{"tier":true}}""", "web,job")]
    [InlineData(true, """{"label":{"tier=web":true,"env=prod":true}}""", "web")]
    [InlineData(true, """{"label":{"tier=web":true,"env=dev":true}}""", "")]
    [InlineData(true, """{"before":{"web":true}}""", "job,new")]
    [InlineData(true, """{"since":{"new":true}}""", "web,job")]
    [InlineData(true, """{"ancestor":{"other":true}}""", "job")]
    [InlineData(true, """{"ancestor":{"missing":true}}""", "")]
    [InlineData(true, """{"health":{"none":true}}""", "web,job,new")]
    [InlineData(true, """{"health":{"healthy":true}}""", "")]
    [InlineData(true, """{"is-task":{"true":true}}""", "")]
    [InlineData(true, """{"publish":{"80":true}}""", "")]
    [InlineData(true, """{"name":{"web":true},"status":{"exited":true}}""", "")] // keys AND
    public void Selects(bool all, string? filters, string expected) => Assert.Equal(expected, Select(all, filters));

    [Fact]
    public void Limit_CountsMatches_AndIncludesStopped() => Assert.Equal("web,job", Select(false, null, limit: 2));

    [Theory]
    [InlineData("""{"foo":{"x":true}}""", "invalid filter 'foo'")]
    [InlineData("""{"status":{"sleepy":true}}""", "Invalid filter 'status=sleepy'")]
    [InlineData("""{"exited":{"x":true}}""", "invalid filter 'exited=x'")]
    [InlineData("""{"health":{"x":true}}""", "Unrecognised filter value for health: x")]
    [InlineData("""{"status":"running"}""", "invalid filter 'status'")]
    [InlineData("""[1]""", "invalid filter")]
    [InlineData("""{not json""", "invalid filter")]
    public void BadFilters_AreInvalidParameters(string filters, string message)
    {
        var e = Assert.Throws<BerthException>(() => Select(true, filters));
        Assert.Equal(ErrorKind.InvalidParameter, e.Kind);
        Assert.StartsWith(message, e.Message);
    }

    [Fact]
    public void UnknownBeforeContainer_IsNotFound() =>
        Assert.Equal(ErrorKind.NotFound, Assert.Throws<BerthException>(() => Select(true, """{"before":{"nosuch":true}}""")).Kind);
}
