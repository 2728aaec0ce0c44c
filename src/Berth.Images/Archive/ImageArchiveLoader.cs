using System.Text.Json;
using Berth.Core;

namespace Berth.Images.Archive;

/// <summary>What a load reports: layer progress (ChainID, bytes read, total) and the "Loaded image…" lines.</summary>
public interface ILoadProgress
{
    void Layer(Digest chainId, long current, long total);
    void Message(string line);
}

/// <summary>
/// `docker load`: a docker-archive (manifest.json) or an OCI image layout (index.json) tar, plain or gzip. Each
/// layer is unpacked on top of its parent and must have the diff id the config lists (else nothing of that image
/// is kept); the config is stored as it is, so the image ID is the one it had where it was saved.
/// </summary>
public sealed class ImageArchiveLoader(ImageStore store)
{
    private static readonly System.Collections.Concurrent.ConcurrentDictionary<string, bool> Cleaned = new(StringComparer.Ordinal);

    /// <summary>Loads every image of the archive; returns the IDs loaded.</summary>
    public List<Digest> Load(Stream archive, ILoadProgress progress)
    {
        var root = ArchiveStage.StagingRoot(store.DataRoot);
        // The first load of this process deletes what an interrupted one (a crash) left; later ones run beside each other.
        if (Cleaned.TryAdd(root, true)) ArchiveStage.CleanLeftovers(root);
        using var stage = ArchiveStage.Read(archive, root);
        var loaded = new List<Digest>();
        if (stage.Has("manifest.json"))
        {
            List<ArchiveManifestEntry>? manifest;
            try { manifest = JsonSerializer.Deserialize(stage.ReadAll("manifest.json"), ArchiveJsonContext.Default.ListArchiveManifestEntry); }
            catch (JsonException e) { throw BerthException.Invalid($"invalid archive: manifest.json: {e.Message}"); }
            foreach (var m in manifest ?? [])
            {
                var config = stage.ReadAll(m.Config);
                loaded.Add(LoadImage(config, m.Layers.Select(l => (Func<Stream>)(() => stage.Open(l))).ToList(),
                    m.Layers.Select(stage.Length).ToList(), m.RepoTags ?? [], progress));
            }
        }
        else if (stage.Has("index.json"))
        {
            var index = ReadOci(stage, "index.json", null);
            foreach (var d in index.Manifests ?? []) LoadOci(stage, d, null, loaded, progress);
        }
        else throw BerthException.Invalid("invalid archive: neither manifest.json (docker-archive) nor index.json (OCI image layout) found");
        return loaded;
    }

    private static string BlobName(string digest)
    {
        var d = ParseDigest(digest);
        return $"blobs/{d.Algorithm}/{d.Hex}";
    }

    private static Digest ParseDigest(string s) =>
        Digest.TryParse(s, out var d) ? d : throw BerthException.Invalid($"invalid archive: unsupported or invalid digest \"{s}\"");

    private static OciDocument ReadOci(ArchiveStage stage, string name, string? digest)
    {
        var bytes = stage.ReadAll(name);
        if (digest is not null && Digest.Of(bytes) != ParseDigest(digest))
            throw BerthException.Invalid($"invalid archive: {name} does not match its digest {digest}");
        try { return JsonSerializer.Deserialize(bytes, ArchiveJsonContext.Default.OciDocument) ?? new OciDocument(); }
        catch (JsonException e) { throw BerthException.Invalid($"invalid archive: {name}: {e.Message}"); }
    }

    private void LoadOci(ArchiveStage stage, OciDescriptor d, string? name, List<Digest> loaded, ILoadProgress progress)
    {
        name = d.Annotations?.GetValueOrDefault("io.containerd.image.name") ?? name ?? RefName(d);
        var doc = ReadOci(stage, BlobName(d.Digest), d.Digest);
        if (doc.Manifests is { } children) // a nested index: its manifests (the host's platform only is not checked: an archive is what the user asked for)
        {
            foreach (var c in children) LoadOci(stage, c, name, loaded, progress);
            return;
        }
        if (doc.Config is null) throw BerthException.Invalid($"invalid archive: manifest {d.Digest} has no config");
        var configName = BlobName(doc.Config.Digest);
        var config = stage.ReadAll(configName);
        if (Digest.Of(config) != ParseDigest(doc.Config.Digest))
            throw BerthException.Invalid($"invalid archive: config {doc.Config.Digest} does not match its digest");
        var layers = doc.Layers ?? [];
        foreach (var l in layers)
            if (l.MediaType is { } mt && mt.Contains("zstd", StringComparison.Ordinal))
                throw BerthException.Invalid($"invalid archive: layer {l.Digest}: zstd layers are not supported by load");
        loaded.Add(LoadImage(config, layers.Select(l => (Func<Stream>)(() => stage.Open(BlobName(l.Digest)))).ToList(),
            layers.Select(l => l.Size).ToList(), name is null ? [] : [name], progress));
    }

    /// <summary>org.opencontainers.image.ref.name when it is a full reference (not just a tag).</summary>
    private static string? RefName(OciDescriptor d)
    {
        var n = d.Annotations?.GetValueOrDefault("org.opencontainers.image.ref.name");
        if (n is null || !(n.Contains('/') || n.Contains(':'))) return null;
        try { ImageReference.ParseNormalized(n); return n; }
        catch (BerthException) { return null; }
    }

    private Digest LoadImage(byte[] configBytes, List<Func<Stream>> layers, List<long> sizes, List<string> repoTags, ILoadProgress progress)
    {
        ImageConfig config;
        try { config = JsonSerializer.Deserialize(configBytes, ImagesJsonContext.Default.ImageConfig) ?? throw new JsonException("empty"); }
        catch (JsonException e) { throw BerthException.Invalid($"invalid archive: image config: {e.Message}"); }
        if (config.RootFs.Type != "layers") throw BerthException.Invalid($"invalid archive: rootfs type {config.RootFs.Type} is not supported");
        var diffIds = config.RootFs.DiffIds.Select(ParseDigest).ToList();
        if (diffIds.Count != layers.Count)
            throw BerthException.Invalid($"invalid manifest, layers length mismatch: expected {diffIds.Count}, got {layers.Count}");
        var references = repoTags.Select(t =>
        {
            var r = ImageReference.ParseNormalized(t);
            if (r.Digest is not null) throw BerthException.Invalid($"invalid tag {t}: a digest is not a tag");
            return r;
        }).ToList(); // a bad name fails before any work

        Digest? held = null; // our reference on the layer below
        try
        {
            for (int i = 0; i < diffIds.Count; i++)
            {
                var chain = LayerStore.ChainId(held, diffIds[i]);
                if (store.Layers.Exists(chain)) store.Layers.Acquire(chain);
                else
                {
                    long size = sizes[i];
                    // The pull's counting stream, without a limit (a layer's size here is the archive's, only shown).
                    using var s = new Pull.ProgressStream(layers[i](), long.MaxValue, cur => progress.Layer(chain, cur, Math.Max(size, cur)), "");
                    try { store.Layers.Register(s, held, diffIds[i]); }
                    catch (BerthException e) when (e.Kind == ErrorKind.InvalidParameter && e.Message.StartsWith("layer content does not match", StringComparison.Ordinal))
                    {
                        throw BerthException.Invalid($"invalid archive: layer {i + 1} of the image: {e.Message} (listed in the config's rootfs.diff_ids)");
                    }
                    progress.Layer(chain, sizes[i], sizes[i]);
                }
                if (held is { } below) store.Layers.Release(below);
                held = chain;
            }
        }
        catch
        {
            if (held is { } h) store.Layers.Release(h);
            throw;
        }

        var top = held;
        held = null;
        var id = store.CommitConfigBytes(configBytes, top);
        foreach (var r in references)
        {
            if (store.Retag(r, id) is { } old)
                progress.Message($"The image {r.FamiliarString} already exists, renaming the old one with ID {old} to empty string");
            progress.Message($"Loaded image: {r.FamiliarString}");
        }
        if (references.Count == 0) progress.Message($"Loaded image ID: {id}");
        return id;
    }
}
