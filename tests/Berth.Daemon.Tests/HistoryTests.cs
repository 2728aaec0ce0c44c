namespace Berth.Daemon.Tests;

/// <summary>docker history against berthd with the real docker CLI.</summary>
public sealed class HistoryTests(DaemonFixture fx) : IClassFixture<DaemonFixture>
{
    [Fact]
    public void History_OfImportedImage_ShowsItsEntry()
    {
        var id = fx.Inspect("busybox", "{{.Id}}");
        var lines = fx.Ok("history", "--no-trunc", "--format", "{{.ID}}|{{.CreatedBy}}|{{.Comment}}", "busybox")
            .Split('\n', StringSplitOptions.RemoveEmptyEntries);
        Assert.Equal([$"{id}||Imported from -"], lines);
        var table = fx.Ok("history", "busybox").Split('\n', StringSplitOptions.RemoveEmptyEntries);
        Assert.StartsWith("IMAGE", table[0]);
        Assert.StartsWith(id[7..19], table[1]);
        Assert.Equal(id + "\n", fx.Ok("history", "-q", "--no-trunc", "busybox"));
    }

    [Fact]
    public void History_UnknownImage_IsNotFound()
    {
        var (code, _, err) = fx.Docker("history", "no-such-image:1");
        Assert.NotEqual(0, code);
        Assert.Contains("No such image: no-such-image:1", err);
    }
}
