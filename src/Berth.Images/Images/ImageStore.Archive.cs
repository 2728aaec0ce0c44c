using System.Text.Json;
using Berth.Core;
using Berth.Interop;

namespace Berth.Images;

/// <summary>What save, load, commit and history need of the image index (kept apart from the core store).</summary>
public sealed partial class ImageStore
{
    /// <summary>The config blob exactly as stored (the image ID is its digest).</summary>
    public byte[] ConfigBytes(Digest id) => Content.ReadAllBytes(id);

    /// <summary>
    /// Stores raw config bytes as an image over <paramref name="topLayer"/>, consuming the caller's reference on
    /// that layer (released when the image already existed or on failure). Returns the image ID.
    /// </summary>
    public Digest CommitConfigBytes(byte[] configJson, Digest? topLayer)
    {
        bool consumed = false;
        try
        {
            var id = Content.Ingest(configJson);
            lock (_lock)
            {
                var recPath = Path.Combine(_imagedb, id.Hex);
                if (!File.Exists(recPath))
                {
                    AtomicFile.WriteAllBytes(recPath, JsonSerializer.SerializeToUtf8Bytes(
                        new ImageRecord { Id = id.ToString(), TopLayer = topLayer?.ToString() }, ImagesJsonContext.Default.ImageRecord));
                    consumed = true;
                }
            }
            return id;
        }
        finally
        {
            if (!consumed && topLayer is { } t) Layers.Release(t);
        }
    }

    /// <summary>Stores a config object as an image (see <see cref="CommitConfigBytes"/>), tagged when <paramref name="reference"/> is given.</summary>
    public string CommitConfig(ImageConfig config, Digest? topLayer, ImageReference? reference) => Commit(config, topLayer, reference);

    /// <summary>Points <paramref name="reference"/> at <paramref name="id"/>; returns the image it named before when that was another one.</summary>
    public Digest? Retag(ImageReference reference, Digest id)
    {
        lock (_lock)
        {
            Digest? old = null;
            if (ReadRepositories().Repositories.TryGetValue(reference.Name, out var repo) && repo.TryGetValue(reference.Tag!, out var prev)
                && Digest.TryParse(prev, out var p) && p != id)
                old = p;
            SetTag(reference, id);
            return old;
        }
    }

    /// <summary>The references (fully qualified, with tags) that name <paramref name="id"/>.</summary>
    public IReadOnlyList<ImageReference> ReferencesOf(Digest id)
    {
        lock (_lock) return TagsOf(ReadRepositories(), id.ToString());
    }

    /// <summary>Every tag of a repository (fully qualified name) with its image.</summary>
    public IReadOnlyList<(ImageReference Reference, Digest Id)> TagsOfRepository(string name)
    {
        lock (_lock)
        {
            var list = new List<(ImageReference, Digest)>();
            if (ReadRepositories().Repositories.TryGetValue(name, out var repo))
            {
                int slash = name.IndexOf('/');
                foreach (var (tag, target) in repo)
                    if (Digest.TryParse(target, out var d) && ImageExists(d))
                        list.Add((new ImageReference(name[..slash], name[(slash + 1)..], tag, null), d));
            }
            return list;
        }
    }

    /// <summary>The ChainID of the image's top layer, null without layers.</summary>
    public Digest? TopLayerOf(Digest id) => ReadRecord(id)?.TopLayer is { } t ? Digest.Parse(t) : null;
}
