using System.Text.Json;
using System.Text.Json.Serialization;

namespace Berth.Engine.Volumes.Drivers;

// Docker's volume plugin protocol (moby volume/drivers/proxy.go, pkg/plugins): request and answer bodies.
// Property names are the protocol's; reading is case-insensitive as Go's encoding/json is.

public sealed class PluginSpecJson
{
    public string? Name { get; set; }
    public string? Addr { get; set; }
    public JsonElement? TLSConfig { get; set; }
}

public sealed class PluginManifestJson
{
    public List<string>? Implements { get; set; }
}

public sealed class PluginErrJson
{
    public string? Err { get; set; }
}

public sealed class VolumeNameRequest
{
    public string Name { get; set; } = "";
}

public sealed class VolumeCreateRequest
{
    public string Name { get; set; } = "";
    public Dictionary<string, string>? Opts { get; set; }
}

public sealed class VolumeMountRequest
{
    public string Name { get; set; } = "";
    public string ID { get; set; } = "";
}

public sealed class EmptyRequest;

public sealed class VolumeMountpointResponse
{
    public string? Mountpoint { get; set; }
    public string? Err { get; set; }
}

public sealed class PluginVolumeJson
{
    public string? Name { get; set; }
    public string? Mountpoint { get; set; }
    public string? CreatedAt { get; set; }
    public Dictionary<string, JsonElement>? Status { get; set; }
}

public sealed class VolumeGetResponse
{
    public PluginVolumeJson? Volume { get; set; }
    public string? Err { get; set; }
}

public sealed class VolumeListResponse
{
    public List<PluginVolumeJson>? Volumes { get; set; }
    public string? Err { get; set; }
}

public sealed class VolumeCapabilitiesJson
{
    public string? Scope { get; set; }
}

public sealed class VolumeCapabilitiesResponse
{
    public VolumeCapabilitiesJson? Capabilities { get; set; }
    public string? Err { get; set; }
}

[JsonSourceGenerationOptions(PropertyNameCaseInsensitive = true, DefaultIgnoreCondition = JsonIgnoreCondition.WhenWritingNull)]
[JsonSerializable(typeof(PluginSpecJson))]
[JsonSerializable(typeof(PluginManifestJson))]
[JsonSerializable(typeof(PluginErrJson))]
[JsonSerializable(typeof(VolumeNameRequest))]
[JsonSerializable(typeof(VolumeCreateRequest))]
[JsonSerializable(typeof(VolumeMountRequest))]
[JsonSerializable(typeof(EmptyRequest))]
[JsonSerializable(typeof(VolumeMountpointResponse))]
[JsonSerializable(typeof(VolumeGetResponse))]
[JsonSerializable(typeof(VolumeListResponse))]
[JsonSerializable(typeof(VolumeCapabilitiesResponse))]
public sealed partial class PluginJsonContext : JsonSerializerContext;
