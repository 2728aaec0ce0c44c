using System.Text.Json;
using Berth.Engine.Containers.Health;

namespace Berth.Engine.Tests;

/// <summary>Config.Healthcheck merged with the image's HEALTHCHECK (moby's daemon.merge), getProbe, Go durations.</summary>
public sealed class HealthConfigTests
{
    private static JsonElement J(string json) => JsonDocument.Parse(json).RootElement.Clone();

    [Fact]
    public void TheImagesCheck_IsInherited_FieldByField()
    {
        var image = J("""{"Test":["CMD-SHELL","curl -f localhost"],"Interval":5000000000,"Retries":4}""");
        Assert.Equal(image.GetRawText(), HealthConfig.Merge(null, image)!.Value.GetRawText());
        var merged = HealthConfig.From(HealthConfig.Merge(J("""{"Interval":1000000000}"""), image))!;
        Assert.Equal(["CMD-SHELL", "curl -f localhost"], merged.Test);
        Assert.Equal(1_000_000_000, merged.Interval);
        Assert.Equal(4, merged.Retries);
        Assert.Equal(["/bin/sh", "-c", "curl -f localhost"], merged.ProbeCommand());
    }

    [Fact]
    public void None_DisablesTheImagesCheck()
    {
        var image = J("""{"Test":["CMD","true"]}""");
        var merged = HealthConfig.From(HealthConfig.Merge(J("""{"Test":["NONE"]}"""), image))!;
        Assert.Equal(["NONE"], merged.Test);
        Assert.Null(merged.ProbeCommand());
        Assert.Equal(["true"], HealthConfig.From(image)!.ProbeCommand());
    }

    [Theory]
    [InlineData(300, "300ms")]
    [InlineData(1500, "1.5s")]
    [InlineData(30000, "30s")]
    [InlineData(90000, "1m30s")]
    public void Durations_AreWrittenAsGo(int ms, string text) => Assert.Equal(text, HealthConfig.GoDuration(TimeSpan.FromMilliseconds(ms)));

    [Fact]
    public void Defaults_AreDockers()
    {
        var h = HealthConfig.From(J("""{"Test":["CMD","true"]}"""))!;
        Assert.Equal(TimeSpan.FromSeconds(30), h.IntervalOrDefault);
        Assert.Equal(TimeSpan.FromSeconds(30), h.TimeoutOrDefault);
        Assert.Equal(3, h.RetriesOrDefault);
    }
}
