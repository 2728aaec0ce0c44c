using System.Text.Json.Serialization;

namespace Berth.Images.Archive;

/// <summary>One entry of a docker-archive's manifest.json.</summary>
public sealed class ArchiveManifestEntry
{
    public string Config { get; set; } = "";
    public List<string>? RepoTags { get; set; }
    public List<string> Layers { get; set; } = [];
}

/// <summary>An OCI descriptor (index.json entries, manifest config and layers).</summary>
public sealed class OciDescriptor
{
    [JsonPropertyName("mediaType")] public string? MediaType { get; set; }
    [JsonPropertyName("digest")] public string Digest { get; set; } = "";
    [JsonPropertyName("size")] public long Size { get; set; }
    [JsonPropertyName("annotations")] public Dictionary<string, string>? Annotations { get; set; }
}

/// <summary>An OCI image index (index.json) or image manifest: whichever fields the document has.</summary>
public sealed class OciDocument
{
    [JsonPropertyName("schemaVersion")] public int SchemaVersion { get; set; }
    [JsonPropertyName("mediaType")] public string? MediaType { get; set; }
    [JsonPropertyName("manifests")] public List<OciDescriptor>? Manifests { get; set; }
    [JsonPropertyName("config")] public OciDescriptor? Config { get; set; }
    [JsonPropertyName("layers")] public List<OciDescriptor>? Layers { get; set; }
}

[JsonSourceGenerationOptions(DefaultIgnoreCondition = JsonIgnoreCondition.Never)]
[JsonSerializable(typeof(List<ArchiveManifestEntry>))]
[JsonSerializable(typeof(Dictionary<string, Dictionary<string, string>>))]
[JsonSerializable(typeof(OciDocument))]
public sealed partial class ArchiveJsonContext : JsonSerializerContext;
