using System.Text.Json.Serialization;

namespace Berth.Engine.Volumes;

/// <summary>What &lt;data-root&gt;/volumes/&lt;name&gt;/volume.json holds. Labels and Options stay null when the volume
/// was made without them (dockerd answers null then, {} for an empty map given).</summary>
internal sealed class VolumeMeta
{
    public string Name { get; set; } = "";
    public string Driver { get; set; } = LocalVolumeDriver.DriverName;
    public DateTime CreatedAt { get; set; }
    public Dictionary<string, string>? Labels { get; set; }
    public Dictionary<string, string>? Options { get; set; }
    public bool Anonymous { get; set; }
}

[JsonSourceGenerationOptions(WriteIndented = false)]
[JsonSerializable(typeof(VolumeMeta))]
[JsonSerializable(typeof(string))]
internal sealed partial class VolumeJsonContext : JsonSerializerContext;
