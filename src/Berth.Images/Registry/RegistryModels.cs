using System.Text.Json.Serialization;

namespace Berth.Images.Registry;

/// <summary>Media types of the Docker Registry HTTP API v2 / OCI distribution manifests and layers.</summary>
public static class MediaTypes
{
    public const string DockerManifest = "application/vnd.docker.distribution.manifest.v2+json";
    public const string DockerManifestList = "application/vnd.docker.distribution.manifest.list.v2+json";
    public const string DockerConfig = "application/vnd.docker.container.image.v1+json";
    public const string DockerLayerGzip = "application/vnd.docker.image.rootfs.diff.tar.gzip";
    public const string DockerLayerForeign = "application/vnd.docker.image.rootfs.foreign.diff.tar.gzip";
    public const string DockerSchema1Signed = "application/vnd.docker.distribution.manifest.v1+prettyjws";
    public const string DockerSchema1 = "application/vnd.docker.distribution.manifest.v1+json";
    public const string OciManifest = "application/vnd.oci.image.manifest.v1+json";
    public const string OciIndex = "application/vnd.oci.image.index.v1+json";
    public const string OciConfig = "application/vnd.oci.image.config.v1+json";
    public const string OciLayer = "application/vnd.oci.image.layer.v1.tar";
    public const string OciLayerGzip = "application/vnd.oci.image.layer.v1.tar+gzip";
    public const string OciLayerZstd = "application/vnd.oci.image.layer.v1.tar+zstd";

    /// <summary>What a pull asks for (the Accept header), most specific first.</summary>
    public static readonly string[] Accept = [DockerManifest, DockerManifestList, OciManifest, OciIndex];

    public static bool IsIndex(string? t) => t is DockerManifestList or OciIndex;
    public static bool IsManifest(string? t) => t is DockerManifest or OciManifest;
}

/// <summary>A content descriptor (mediaType, digest, size, platform for index entries).</summary>
public sealed class Descriptor
{
    [JsonPropertyName("mediaType")] public string? MediaType { get; set; }
    [JsonPropertyName("digest")] public string Digest { get; set; } = "";
    [JsonPropertyName("size")] public long Size { get; set; }
    [JsonPropertyName("urls")] public List<string>? Urls { get; set; }
    [JsonPropertyName("platform")] public Platform? Platform { get; set; }
}

public sealed class Platform
{
    [JsonPropertyName("architecture")] public string Architecture { get; set; } = "";
    [JsonPropertyName("os")] public string Os { get; set; } = "";
    [JsonPropertyName("variant")] public string? Variant { get; set; }

    public override string ToString() => Os + "/" + Architecture + (string.IsNullOrEmpty(Variant) ? "" : "/" + Variant);
}

/// <summary>A Docker schema2 manifest, an OCI manifest, a Docker manifest list or an OCI index (one shape for all).</summary>
public sealed class ManifestDocument
{
    [JsonPropertyName("schemaVersion")] public int SchemaVersion { get; set; }
    [JsonPropertyName("mediaType")] public string? MediaType { get; set; }
    [JsonPropertyName("config")] public Descriptor? Config { get; set; }
    [JsonPropertyName("layers")] public List<Descriptor>? Layers { get; set; }
    [JsonPropertyName("manifests")] public List<Descriptor>? Manifests { get; set; }
}

/// <summary>The registry's error body: {"errors":[{"code","message","detail"}]}.</summary>
public sealed class RegistryErrors
{
    [JsonPropertyName("errors")] public List<RegistryError>? Errors { get; set; }
}

public sealed class RegistryError
{
    [JsonPropertyName("code")] public string? Code { get; set; }
    [JsonPropertyName("message")] public string? Message { get; set; }
}

/// <summary>A token server's answer (Docker's token auth: "token", or OAuth2's "access_token").</summary>
public sealed class TokenResponse
{
    [JsonPropertyName("token")] public string? Token { get; set; }
    [JsonPropertyName("access_token")] public string? AccessToken { get; set; }
}

/// <summary>X-Registry-Auth: base64url of this JSON ({} when anonymous).</summary>
public sealed class RegistryAuthConfig
{
    [JsonPropertyName("username")] public string? Username { get; set; }
    [JsonPropertyName("password")] public string? Password { get; set; }
    [JsonPropertyName("auth")] public string? Auth { get; set; }
    [JsonPropertyName("identitytoken")] public string? IdentityToken { get; set; }
    [JsonPropertyName("registrytoken")] public string? RegistryToken { get; set; }
    [JsonPropertyName("serveraddress")] public string? ServerAddress { get; set; }

    /// <summary>Decodes the X-Registry-Auth header (base64url or base64; empty or invalid → anonymous).</summary>
    public static RegistryAuthConfig FromHeader(string? header)
    {
        if (string.IsNullOrWhiteSpace(header)) return new RegistryAuthConfig();
        try
        {
            var s = header.Trim().Replace('-', '+').Replace('_', '/');
            s = s.PadRight(s.Length + (4 - s.Length % 4) % 4, '=');
            var json = Convert.FromBase64String(s);
            var cfg = System.Text.Json.JsonSerializer.Deserialize(json, RegistryJsonContext.Default.RegistryAuthConfig) ?? new RegistryAuthConfig();
            if (string.IsNullOrEmpty(cfg.Username) && !string.IsNullOrEmpty(cfg.Auth))
            {
                var pair = System.Text.Encoding.UTF8.GetString(Convert.FromBase64String(cfg.Auth));
                int colon = pair.IndexOf(':');
                if (colon > 0) { cfg.Username = pair[..colon]; cfg.Password = pair[(colon + 1)..]; }
            }
            return cfg;
        }
        catch (Exception e) when (e is FormatException or System.Text.Json.JsonException)
        {
            throw Core.BerthException.Invalid("invalid X-Registry-Auth header: " + e.Message);
        }
    }

    public bool HasCredentials => !string.IsNullOrEmpty(Username);
}

[JsonSourceGenerationOptions(DefaultIgnoreCondition = JsonIgnoreCondition.WhenWritingNull)]
[JsonSerializable(typeof(ManifestDocument))]
[JsonSerializable(typeof(RegistryErrors))]
[JsonSerializable(typeof(TokenResponse))]
[JsonSerializable(typeof(RegistryAuthConfig))]
[JsonSerializable(typeof(Dictionary<string, string>))]
public sealed partial class RegistryJsonContext : JsonSerializerContext;
