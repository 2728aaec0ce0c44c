namespace Berth.Api.Volumes;

// The volume payloads of the Engine API (moby api/types/volume, API v1.41), keys in dockerd's order (alphabetical:
// generated types). Labels and Options are null when the volume was made without them, as dockerd writes them.

/// <summary>One volume (GET /volumes/{name}, the rows of GET /volumes, POST /volumes/create's answer).</summary>
public sealed class Volume
{
    /// <summary>RFC 3339, seconds, the daemon's time zone (Go's time.RFC3339).</summary>
    [JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)]
    public string? CreatedAt { get; init; }
    public string Driver { get; init; } = "local";
    public Dictionary<string, string>? Labels { get; init; }
    public string Mountpoint { get; init; } = "";
    public string Name { get; init; } = "";
    public Dictionary<string, string>? Options { get; init; }
    public string Scope { get; init; } = "local";

    /// <summary>What the driver reports (plugins); omitted when it reports nothing (the local driver).</summary>
    [JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)]
    public Dictionary<string, JsonElement>? Status { get; init; }

    /// <summary>Only where usage is computed (GET /system/df).</summary>
    [JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)]
    public VolumeUsageData? UsageData { get; init; }
}

/// <summary>Size in bytes and the number of containers referring to the volume; -1 when not computed.</summary>
public sealed class VolumeUsageData
{
    public long RefCount { get; init; } = -1;
    public long Size { get; init; } = -1;
}

/// <summary>POST /volumes/create's body (VolumeCreateBody).</summary>
public sealed class VolumeCreateBody
{
    public string? Driver { get; init; }
    public Dictionary<string, string>? DriverOpts { get; init; }
    public Dictionary<string, string>? Labels { get; init; }
    public string? Name { get; init; }
}

/// <summary>GET /volumes' answer (VolumeListOKBody).</summary>
public sealed class VolumeListResponse
{
    public List<Volume> Volumes { get; init; } = [];
    public List<string>? Warnings { get; init; }
}

/// <summary>POST /volumes/prune's answer.</summary>
public sealed class VolumesPruneReport
{
    public List<string>? VolumesDeleted { get; init; }
    public ulong SpaceReclaimed { get; init; }
}

[JsonSerializable(typeof(Volume))]
[JsonSerializable(typeof(VolumeCreateBody))]
[JsonSerializable(typeof(VolumeListResponse))]
[JsonSerializable(typeof(VolumesPruneReport))]
public sealed partial class VolumesApiJsonContext : JsonSerializerContext
{
    /// <summary>As <see cref="ApiJsonContext.Api"/>: Go's escaping ('+', '&lt;', non-ASCII left as they are).</summary>
    public static VolumesApiJsonContext Api { get; } = new(new JsonSerializerOptions
    {
        Encoder = JavaScriptEncoder.UnsafeRelaxedJsonEscaping,
        DefaultIgnoreCondition = JsonIgnoreCondition.Never,
        UnmappedMemberHandling = JsonUnmappedMemberHandling.Skip,
    });
}
