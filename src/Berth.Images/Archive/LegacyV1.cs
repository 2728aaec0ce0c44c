using System.Text.Encodings.Web;
using System.Text.Json;
using System.Text.Json.Nodes;

namespace Berth.Images.Archive;

/// <summary>
/// The v1 layer ids and "json" files Docker 20.10 writes into a `docker save` archive (moby image/v1.CreateID and
/// image/tarexport/save.go): per layer a V1Image (the whole image's fields for the top layer, only a 1970 "created"
/// below), marshalled as Go does (struct field order, container.Config with all its non-omitempty fields), and
/// the id = sha256 of that object's fields plus "layer_id" (ChainID) and "parent" with sorted keys.
/// </summary>
internal static class LegacyV1
{
    private static readonly JsonSerializerOptions Relaxed = new() { Encoder = JavaScriptEncoder.UnsafeRelaxedJsonEscaping };
    public static readonly DateTimeOffset Epoch = DateTimeOffset.UnixEpoch;

    /// <summary>The V1Image fields of a layer, in Go's struct order, without id and parent.</summary>
    public static List<(string Key, JsonNode? Value)> Fields(JsonObject? imageConfig)
    {
        if (imageConfig is null)
            return [("created", JsonValue.Create("1970-01-01T00:00:00Z")), ("container_config", GoContainerConfig(null))];
        var f = new List<(string, JsonNode?)>();
        void Str(string key)
        {
            if (imageConfig[key] is JsonValue v && v.TryGetValue<string>(out var s) && s.Length > 0) f.Add((key, JsonValue.Create(s)));
        }
        Str("comment");
        f.Add(("created", imageConfig["created"]?.DeepClone() ?? JsonValue.Create("0001-01-01T00:00:00Z")));
        Str("container");
        f.Add(("container_config", GoContainerConfig(imageConfig["container_config"] as JsonObject)));
        Str("docker_version");
        Str("author");
        if (imageConfig["config"] is JsonObject c) f.Add(("config", GoContainerConfig(c)));
        Str("architecture");
        Str("variant");
        Str("os");
        return f;
    }

    /// <summary>v1.CreateID: sha256 of the fields plus layer_id and parent, keys sorted (a Go map).</summary>
    public static Digest CreateId(List<(string Key, JsonNode? Value)> fields, Digest chainId, Digest? parent)
    {
        var all = fields.Select(f => (f.Key, Value: f.Value?.DeepClone())).ToList();
        all.Add(("layer_id", JsonValue.Create(chainId.ToString())));
        if (parent is { } p) all.Add(("parent", JsonValue.Create(p.ToString())));
        var o = new JsonObject();
        foreach (var (k, v) in all.OrderBy(x => x.Key, StringComparer.Ordinal)) o[k] = v;
        return Digest.Of(GoJson(o));
    }

    /// <summary>The layer's "json" file: id, parent, then the fields (Go's struct order).</summary>
    public static byte[] Json(List<(string Key, JsonNode? Value)> fields, Digest id, Digest? parent)
    {
        var o = new JsonObject { ["id"] = id.Hex };
        if (parent is { } p) o["parent"] = p.Hex;
        foreach (var (k, v) in fields) o[k] = v?.DeepClone();
        return System.Text.Encoding.UTF8.GetBytes(GoJson(o));
    }

    /// <summary>JSON as Go's encoding/json writes it: '&lt;', '&gt;', '&amp;', U+2028 and U+2029 escaped, nothing else
    /// (they only occur inside strings, so replacing them in the text is exact).</summary>
    private static string GoJson(JsonNode o) => o.ToJsonString(Relaxed)
        .Replace("<", "\\u003c", StringComparison.Ordinal).Replace(">", "\\u003e", StringComparison.Ordinal)
        .Replace("&", "\\u0026", StringComparison.Ordinal).Replace("\u2028", "\\u2028", StringComparison.Ordinal)
        .Replace("\u2029", "\\u2029", StringComparison.Ordinal);

    /// <summary>A container.Config as Go marshals it (api/types/container, Docker 20.10): every field, omitempty ones only when set.</summary>
    private static JsonObject GoContainerConfig(JsonObject? c)
    {
        JsonNode? Get(string k) => c?[k]?.DeepClone();
        var o = new JsonObject();
        void Always(string k, JsonNode? dflt) => o[k] = Get(k) ?? dflt;
        void Omit(string k)
        {
            var v = Get(k);
            if (v is null) return;
            if (v is JsonValue jv && (jv.TryGetValue<string>(out var s) && s.Length == 0 || jv.TryGetValue<bool>(out var b) && !b
                || jv.TryGetValue<long>(out var n) && n == 0)) return;
            if (v is JsonObject { Count: 0 } || v is JsonArray { Count: 0 }) return;
            o[k] = v;
        }
        Always("Hostname", "");
        Always("Domainname", "");
        Always("User", "");
        Always("AttachStdin", false);
        Always("AttachStdout", false);
        Always("AttachStderr", false);
        Omit("ExposedPorts");
        Always("Tty", false);
        Always("OpenStdin", false);
        Always("StdinOnce", false);
        Always("Env", null);
        Always("Cmd", null);
        Omit("Healthcheck");
        Omit("ArgsEscaped");
        Always("Image", "");
        Always("Volumes", null);
        Always("WorkingDir", "");
        Always("Entrypoint", null);
        Omit("NetworkDisabled");
        Omit("MacAddress");
        Always("OnBuild", null);
        Always("Labels", null);
        Omit("StopSignal");
        Omit("StopTimeout");
        Omit("Shell");
        foreach (var k in new[] { "ExposedPorts", "Volumes", "Labels" })
            if (o[k] is JsonObject m) o[k] = Sorted(m); // Go marshals maps with sorted keys
        return o;
    }

    private static JsonObject Sorted(JsonObject m)
    {
        var r = new JsonObject();
        foreach (var (k, v) in m.OrderBy(kv => kv.Key, StringComparer.Ordinal).ToList()) r[k] = v?.DeepClone();
        return r;
    }
}
