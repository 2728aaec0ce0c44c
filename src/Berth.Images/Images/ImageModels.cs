using System.Text.Json.Serialization;

namespace Berth.Images;

/// <summary>The OCI image configuration (application/vnd.oci.image.config.v1+json), as stored in the content store.</summary>
public sealed class ImageConfig
{
    [JsonPropertyName("architecture")] public string Architecture { get; set; } = "amd64";
    [JsonPropertyName("author")] public string? Author { get; set; }
    [JsonPropertyName("comment")] public string? Comment { get; set; }
    [JsonPropertyName("config")] public ContainerConfig? Config { get; set; }
    [JsonPropertyName("created")] public DateTime? Created { get; set; }
    [JsonPropertyName("history")] public List<HistoryEntry>? History { get; set; }
    [JsonPropertyName("os")] public string Os { get; set; } = "linux";
    [JsonPropertyName("rootfs")] public RootFs RootFs { get; set; } = new();
    [JsonPropertyName("variant")] public string? Variant { get; set; }
}

/// <summary>The execution parameters of an image (OCI "config" object; Docker's field names).</summary>
public sealed class ContainerConfig
{
    public string? User { get; set; }
    public Dictionary<string, EmptyObject>? ExposedPorts { get; set; }
    public List<string>? Env { get; set; }
    public List<string>? Entrypoint { get; set; }
    public List<string>? Cmd { get; set; }
    public Dictionary<string, EmptyObject>? Volumes { get; set; }
    public string? WorkingDir { get; set; }
    public Dictionary<string, string>? Labels { get; set; }
    public string? StopSignal { get; set; }
    public System.Text.Json.JsonElement? Healthcheck { get; set; }
}

/// <summary>"{}" in ExposedPorts / Volumes maps.</summary>
public sealed class EmptyObject;

public sealed class RootFs
{
    [JsonPropertyName("type")] public string Type { get; set; } = "layers";
    [JsonPropertyName("diff_ids")] public List<string> DiffIds { get; set; } = [];
}

public sealed class HistoryEntry
{
    [JsonPropertyName("created")] public DateTime? Created { get; set; }
    [JsonPropertyName("created_by")] public string? CreatedBy { get; set; }
    [JsonPropertyName("author")] public string? Author { get; set; }
    [JsonPropertyName("comment")] public string? Comment { get; set; }
    [JsonPropertyName("empty_layer")] public bool? EmptyLayer { get; set; }
}

/// <summary>What `docker import --change`/`--message` may set on the new image's config.</summary>
public sealed record ImageConfigChanges
{
    public IReadOnlyList<string>? Cmd { get; init; }
    public IReadOnlyList<string>? Entrypoint { get; init; }
    public IReadOnlyList<string>? Env { get; init; }
    public string? WorkingDir { get; init; }
    public string? User { get; init; }
    public IReadOnlyDictionary<string, string>? Labels { get; init; }
    public IReadOnlyList<string>? ExposedPorts { get; init; }
    public IReadOnlyList<string>? Volumes { get; init; }
    public string? StopSignal { get; init; }
    public string? Comment { get; init; }
}

/// <summary>images/repositories.json: fully qualified repository name → tag → image id.</summary>
public sealed class RepositoriesFile
{
    public SortedDictionary<string, SortedDictionary<string, string>> Repositories { get; set; } = new(StringComparer.Ordinal);
}

/// <summary>images/imagedb/sha256/&lt;hex&gt;: Berth's per-image record (the config itself is a content blob).</summary>
public sealed class ImageRecord
{
    public required string Id { get; init; }
    /// <summary>ChainID of the top layer, null for an image without layers.</summary>
    public string? TopLayer { get; init; }
    public string? LastTagTime { get; set; }
}

[JsonSourceGenerationOptions(DefaultIgnoreCondition = JsonIgnoreCondition.WhenWritingNull)]
[JsonSerializable(typeof(ImageConfig))]
[JsonSerializable(typeof(LayerInfo))]
[JsonSerializable(typeof(RepositoriesFile))]
[JsonSerializable(typeof(ImageRecord))]
[JsonSerializable(typeof(SnapshotRecord))]
public sealed partial class ImagesJsonContext : JsonSerializerContext;
