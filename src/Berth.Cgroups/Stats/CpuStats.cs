using System.Text.Json.Serialization;

namespace Berth.Cgroups;

public sealed class CpuStats
{
    [JsonPropertyName("usage")]
    public CpuUsage Usage { get; set; } = new();

    [JsonPropertyName("throttling")]
    public ThrottlingData Throttling { get; set; } = new();
}
