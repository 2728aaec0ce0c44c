using System.Text.Json;
using System.Text.Json.Nodes;
using Berth.Core;

namespace Berth.Images.Archive;

/// <summary>
/// `docker save`: images as a docker-archive tar, laid out as Docker 20.10 writes it (entries in lexical order):
/// &lt;v1id&gt;/{VERSION,json,layer.tar} per layer, &lt;config-hex&gt;.json, manifest.json and, when an image is
/// named by a tag, repositories. layer.tar is the layer's original uncompressed tar rebuilt from its tar-split, so
/// the diff ids and the image ID are the same wherever the archive is loaded. Streamed: nothing is staged.
/// </summary>
public sealed class DockerArchiveWriter(ImageStore store)
{
    /// <summary>An image to save and the references it is saved under.</summary>
    public sealed record Item(Digest Id, List<ImageReference> References);

    /// <summary>
    /// Docker's name rules: an ID (or ID prefix) saves the image without names; "repo" without a tag saves every
    /// tag of the repository; "repo:tag" that tag. Images named twice are saved once with all their names.
    /// </summary>
    public List<Item> Plan(IEnumerable<string> names)
    {
        var items = new List<Item>();
        Item ItemFor(Digest id)
        {
            var it = items.FirstOrDefault(i => i.Id == id);
            if (it is null) items.Add(it = new Item(id, []));
            return it;
        }
        foreach (var name in names)
        {
            ImageReference? named = null;
            try { named = ImageReference.ParseNamed(name); } catch (BerthException) { }
            if (named is { Tag: null, Digest: null } && !LooksLikeId(name))
            {
                var tags = store.TagsOfRepository(named.Name);
                if (tags.Count == 0) throw BerthException.NotFound($"No such image: {name}");
                foreach (var (r, id) in tags) Add(ItemFor(id), r);
                continue;
            }
            var resolved = store.Resolve(name);
            var item = ItemFor(resolved);
            if (named is { Tag: not null } && !IsIdPrefix(name, resolved)) Add(item, ImageReference.ParseNormalized(name));
        }
        return items;
    }

    private static void Add(Item item, ImageReference r)
    {
        if (!item.References.Contains(r)) item.References.Add(r);
    }

    private static bool LooksLikeId(string s) =>
        s.Length >= 12 && (s.StartsWith("sha256:", StringComparison.Ordinal) ? s[7..] : s).All(c => c is >= '0' and <= '9' or >= 'a' and <= 'f');

    private static bool IsIdPrefix(string s, Digest id)
    {
        var hex = s.StartsWith("sha256:", StringComparison.Ordinal) ? s[7..] : s;
        return hex.Length > 0 && id.Hex.StartsWith(hex, StringComparison.Ordinal);
    }

    private sealed record LayerEntry(Digest V1Id, Digest ChainId, byte[] Json, DateTimeOffset Mtime);

    /// <summary>
    /// Reads every config and opens every layer's tar-split, so that whatever can fail (a missing layer, a layer
    /// stored before tar-split) fails here, before the caller starts its response; the returned action writes the
    /// archive.
    /// </summary>
    public Action<Stream> Prepare(IReadOnlyList<Item> items)
    {
        var layers = new SortedDictionary<string, LayerEntry>(StringComparer.Ordinal);
        var configs = new SortedDictionary<string, (byte[] Bytes, DateTimeOffset Mtime)>(StringComparer.Ordinal);
        var manifest = new List<ArchiveManifestEntry>();
        var repositories = new Dictionary<string, Dictionary<string, string>>(StringComparer.Ordinal);
        var tars = new Dictionary<string, (long Length, Action<Stream> WriteTo)>(StringComparer.Ordinal);

        foreach (var item in items)
        {
            var configBytes = store.ConfigBytes(item.Id);
            var config = JsonNode.Parse(configBytes) as JsonObject ?? throw new BerthException(ErrorKind.DataLoss, $"image config {item.Id} is not an object");
            var diffIds = (config["rootfs"]?["diff_ids"] as JsonArray ?? []).Select(n => Digest.Parse(n!.GetValue<string>())).ToList();
            var chainIds = LayerStore.ChainIds(diffIds);
            var created = config["created"] is JsonValue cv && cv.TryGetValue<string>(out var cs) && DateTimeOffset.TryParse(cs, out var ct) ? ct : LegacyV1.Epoch;
            var entry = new ArchiveManifestEntry { Config = item.Id.Hex + ".json" };
            Digest? parent = null;
            for (int i = 0; i < chainIds.Count; i++)
            {
                bool top = i == chainIds.Count - 1;
                var fields = LegacyV1.Fields(top ? config : null);
                var v1 = LegacyV1.CreateId(fields, chainIds[i], parent);
                if (!layers.ContainsKey(v1.Hex))
                {
                    layers[v1.Hex] = new LayerEntry(v1, chainIds[i], LegacyV1.Json(fields, v1, parent), top ? created : LegacyV1.Epoch);
                    if (!tars.ContainsKey(v1.Hex)) tars[v1.Hex] = store.Layers.LayerTar(chainIds[i]);
                }
                entry.Layers.Add(v1.Hex + "/layer.tar");
                parent = v1;
            }
            configs[item.Id.Hex + ".json"] = (configBytes, created);
            if (item.References.Count > 0)
            {
                entry.RepoTags = item.References.Select(r => r.FamiliarString).ToList();
                foreach (var r in item.References)
                {
                    if (!repositories.TryGetValue(r.FamiliarName, out var tags)) repositories[r.FamiliarName] = tags = new(StringComparer.Ordinal);
                    if (parent is { } topId) tags[r.Tag!] = topId.Hex;
                }
            }
            manifest.Add(entry);
        }

        return output => WriteArchive(output, layers, configs, tars, manifest, repositories);
    }

    private static void WriteArchive(Stream output, SortedDictionary<string, LayerEntry> layers,
        SortedDictionary<string, (byte[] Bytes, DateTimeOffset Mtime)> configs, Dictionary<string, (long Length, Action<Stream> WriteTo)> tars,
        List<ArchiveManifestEntry> manifest, Dictionary<string, Dictionary<string, string>> repositories)
    {
        var tar = new ArchiveTar(output);
        var now = DateTimeOffset.UtcNow;
        // Lexical order as Docker's directory walk: hex names (layers and configs), then manifest.json, repositories.
        var order = layers.Keys.Select(k => (Name: k, Layer: true)).Concat(configs.Keys.Select(k => (Name: k, Layer: false)))
            .OrderBy(e => e.Name, StringComparer.Ordinal);
        foreach (var (name, isLayer) in order)
        {
            if (isLayer)
            {
                var l = layers[name];
                tar.Directory(name, l.Mtime);
                tar.File(name + "/VERSION", "1.0"u8.ToArray(), l.Mtime);
                tar.File(name + "/json", l.Json, l.Mtime);
                var (len, write) = tars[name];
                tar.File(name + "/layer.tar", len, l.Mtime, write);
            }
            else
            {
                var c = configs[name];
                tar.File(name, c.Bytes, c.Mtime);
            }
        }
        tar.File("manifest.json", JsonSerializer.SerializeToUtf8Bytes(manifest, ArchiveJsonContext.Default.ListArchiveManifestEntry), now);
        if (repositories.Count > 0)
            tar.File("repositories", JsonSerializer.SerializeToUtf8Bytes(repositories, ArchiveJsonContext.Default.DictionaryStringDictionaryStringString), now);
        tar.Finish();
    }
}
