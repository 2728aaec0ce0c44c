using System.Text.Json;
using Berth.Core;
using Berth.Images.Registry;
using Berth.Interop;

namespace Berth.Images;

/// <summary>
/// Images that came from a registry: the config stored byte for byte as the registry sent it (the image ID is
/// its digest), and RepoDigests ("name@sha256:&lt;manifest digest&gt;") kept in images/repodigests.json.
/// </summary>
public sealed partial class ImageStore
{
    private string RepoDigestsPath => Path.Combine(DataRoot, "images", "repodigests.json");

    public bool HasImage(Digest id)
    {
        lock (_lock) return ImageExists(id);
    }

    /// <summary>
    /// Registers a pulled image: <paramref name="config"/> must hash to <paramref name="configDigest"/>; the
    /// caller's reference on <paramref name="topLayer"/> is consumed (released when the image already existed).
    /// </summary>
    public string AddPulledImage(byte[] config, Digest configDigest, Digest? topLayer)
    {
        bool consumed = false;
        try
        {
            Content.Ingest(config, configDigest);
            lock (_lock)
            {
                var recPath = Path.Combine(_imagedb, configDigest.Hex);
                if (!File.Exists(recPath))
                {
                    AtomicFile.WriteAllBytes(recPath, JsonSerializer.SerializeToUtf8Bytes(
                        new ImageRecord { Id = configDigest.ToString(), TopLayer = topLayer?.ToString() }, ImagesJsonContext.Default.ImageRecord));
                    consumed = true;
                }
            }
        }
        finally
        {
            if (!consumed && topLayer is { } t) Layers.Release(t);
        }
        return configDigest.ToString();
    }

    /// <summary>
    /// Points the pulled reference's tag (if any) at <paramref name="id"/> and records the repo digest.
    /// True when something changed ("Downloaded newer image"), false when all was already so ("Image is up to date").
    /// </summary>
    public bool RecordPull(Digest id, ImageReference reference, Digest manifestDigest)
    {
        lock (_lock)
        {
            bool updated = false;
            if (reference.Tag is { } tag)
            {
                var repos = ReadRepositories();
                updated = !(repos.Repositories.TryGetValue(reference.Name, out var repo) && repo.TryGetValue(tag, out var old) && old == id.ToString());
                if (updated) SetTag(reference with { Digest = null }, id);
            }
            var digests = ReadRepoDigests();
            var key = reference.Name + "@" + manifestDigest;
            if (!digests.TryGetValue(key, out var prev) || prev != id.ToString())
            {
                digests[key] = id.ToString();
                WriteRepoDigests(digests);
                if (reference.Tag is null) updated = true;
            }
            return updated;
        }
    }

    /// <summary>The image a "name@sha256:…" reference was pulled as, or null.</summary>
    private Digest? ResolveRepoDigest(ImageReference reference, Digest manifestDigest) =>
        ReadRepoDigests().TryGetValue(reference.Name + "@" + manifestDigest, out var id) && Digest.TryParse(id, out var d) && ImageExists(d) ? d : null;

    /// <summary>RepoDigests of an image in the familiar form ("127.0.0.1:5000/test/busybox@sha256:…"), sorted.</summary>
    private List<string> RepoDigestsOf(Digest id)
    {
        var list = new List<string>();
        foreach (var (key, target) in ReadRepoDigests())
        {
            if (target != id.ToString()) continue;
            int at = key.IndexOf('@');
            int slash = key.IndexOf('/');
            if (at < 0 || slash < 0 || slash > at) continue;
            list.Add(new ImageReference(key[..slash], key[(slash + 1)..at], null, Digest.Parse(key[(at + 1)..])).FamiliarString);
        }
        list.Sort(StringComparer.Ordinal);
        return list;
    }

    /// <summary>Forgets the repo digests of a deleted image.</summary>
    private void RemoveRepoDigests(Digest id)
    {
        var digests = ReadRepoDigests();
        var keys = digests.Where(kv => kv.Value == id.ToString()).Select(kv => kv.Key).ToList();
        if (keys.Count == 0) return;
        foreach (var k in keys) digests.Remove(k);
        WriteRepoDigests(digests);
    }

    private Dictionary<string, string> ReadRepoDigests()
    {
        if (!File.Exists(RepoDigestsPath)) return new Dictionary<string, string>(StringComparer.Ordinal);
        return JsonSerializer.Deserialize(File.ReadAllBytes(RepoDigestsPath), RegistryJsonContext.Default.DictionaryStringString)
            ?? new Dictionary<string, string>(StringComparer.Ordinal);
    }

    private void WriteRepoDigests(Dictionary<string, string> digests) =>
        AtomicFile.WriteAllBytes(RepoDigestsPath, JsonSerializer.SerializeToUtf8Bytes(
            new Dictionary<string, string>(digests.OrderBy(kv => kv.Key, StringComparer.Ordinal)), RegistryJsonContext.Default.DictionaryStringString));
}
