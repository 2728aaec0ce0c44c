using Berth.Api.Containers;

namespace Berth.Api.Images;

// The image payloads of the Engine API (moby api/types, API v1.41), property for property in dockerd's key order.
// (Berth.Images keeps the on-disk OCI image config; these are what the API answers.)

/// <summary>One row of GET /images/json (Docker's ImageSummary: a generated type, keys in alphabetical order).
/// Labels and RepoDigests are null when empty, as dockerd writes them.</summary>
public sealed class ImageSummary
{
    public long Containers { get; init; } = -1;
    public long Created { get; init; }
    public required string Id { get; init; }
    public Dictionary<string, string>? Labels { get; init; }
    public string ParentId { get; init; } = "";
    public List<string>? RepoDigests { get; init; }
    public List<string> RepoTags { get; init; } = [];
    public long SharedSize { get; init; } = -1;
    public long Size { get; init; }
    public long VirtualSize { get; init; }
}

/// <summary>GET /images/{name}/json (Docker's ImageInspect).</summary>
public sealed class ImageInspect
{
    public required string Id { get; init; }
    public List<string> RepoTags { get; init; } = [];
    public List<string> RepoDigests { get; init; } = [];
    public string Parent { get; init; } = "";
    public string Comment { get; init; } = "";
    public string Created { get; init; } = "";
    /// <summary>The container an image was committed from ("" for an imported image).</summary>
    public string Container { get; init; } = "";
    public ContainerConfig ContainerConfig { get; init; } = new();
    /// <summary>The engine version that built the image ("" when not recorded: Berth imports, it does not build).</summary>
    public string DockerVersion { get; init; } = "";
    public string Author { get; init; } = "";
    public ContainerConfig? Config { get; init; }
    public string Architecture { get; init; } = "";
    [JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)]
    public string? Variant { get; init; }
    public string Os { get; init; } = "";
    [JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)]
    public string? OsVersion { get; init; }
    public long Size { get; init; }
    public long VirtualSize { get; init; }
    public GraphDriverData GraphDriver { get; init; } = new();
    public RootFsInspect RootFS { get; init; } = new();
    public InspectMetadata Metadata { get; init; } = new();
}

/// <summary>The storage driver's data (a Go map: keys sorted when written).</summary>
public sealed class GraphDriverData
{
    public SortedDictionary<string, string> Data { get; init; } = new(StringComparer.Ordinal);
    public string Name { get; init; } = "overlay2";
}

public sealed class RootFsInspect
{
    public string Type { get; init; } = "layers";
    public List<string> Layers { get; init; } = [];
}

public sealed class InspectMetadata
{
    /// <summary>RFC 3339 (nanoseconds); Go's zero time when the image was never tagged.</summary>
    public string LastTagTime { get; init; } = ZeroTime;

    public const string ZeroTime = "0001-01-01T00:00:00Z";
}

/// <summary>One line of DELETE /images/{name}: exactly one of Untagged / Deleted is set.</summary>
public sealed record ImageDeleteItem(
    [property: JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)] string? Untagged,
    [property: JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)] string? Deleted);

/// <summary>POST /images/prune's answer (ImagesPruneReport): null when nothing was deleted, as dockerd.</summary>
public sealed class ImagesPruneReport
{
    public List<ImageDeleteItem>? ImagesDeleted { get; init; }
    public ulong SpaceReclaimed { get; init; }
}

/// <summary>POST /build/prune's answer (BuildCachePruneReport).</summary>
public sealed class BuildCachePruneReport
{
    public List<string>? CachesDeleted { get; init; }
    public ulong SpaceReclaimed { get; init; }
}

/// <summary>The image payloads' serializer context (source-generated: NativeAOT-clean).</summary>
[JsonSourceGenerationOptions(
    DefaultIgnoreCondition = JsonIgnoreCondition.Never,
    UnmappedMemberHandling = JsonUnmappedMemberHandling.Skip)]
[JsonSerializable(typeof(ImageSummary))]
[JsonSerializable(typeof(List<ImageSummary>))]
[JsonSerializable(typeof(ImageInspect))]
[JsonSerializable(typeof(List<ImageDeleteItem>))]
[JsonSerializable(typeof(ImagesPruneReport))]
[JsonSerializable(typeof(BuildCachePruneReport))]
[JsonSerializable(typeof(List<HistoryResponseItem>))]
public sealed partial class ImagesApiJsonContext : JsonSerializerContext
{
    /// <summary>As <see cref="ApiJsonContext.Api"/>: Go's escaping ('+', '&lt;', non-ASCII left as they are).</summary>
    public static ImagesApiJsonContext Api { get; } = new(new JsonSerializerOptions
    {
        Encoder = JavaScriptEncoder.UnsafeRelaxedJsonEscaping,
        DefaultIgnoreCondition = JsonIgnoreCondition.Never,
        UnmappedMemberHandling = JsonUnmappedMemberHandling.Skip,
    });
}
