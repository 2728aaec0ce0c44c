using Berth.Api;
using Berth.Api.Images;
using Berth.Core;
using Berth.Images;

namespace Berth.Engine.Images;

/// <summary>The image side of `docker system df` (layer sizes, each image's shared and unique bytes) and
/// `docker image prune` (dockerd 20.10's ImagesPrune).</summary>
public sealed partial class ImageBackend
{
    private static readonly HashSet<string> PruneFilters = new(StringComparer.Ordinal) { "dangling", "until", "label", "label!" };

    /// <summary>The bytes of every layer in the store, and each image with SharedSize (its layers that other images
    /// also have) and Containers (from <paramref name="containersOf"/>), as dockerd's system df.</summary>
    public (long LayersSize, IReadOnlyList<ImageSummary> Images) DiskUsage(Func<string, int> containersOf)
    {
        var layers = Store.Layers.List().ToDictionary(l => l.ChainID, StringComparer.Ordinal);
        long layersSize = layers.Values.Sum(l => l.Size);
        var images = Store.List();
        var chains = new Dictionary<string, List<LayerInfo>>(StringComparer.Ordinal);
        var imagesOfLayer = new Dictionary<string, int>(StringComparer.Ordinal);
        foreach (var img in images)
        {
            var chain = new List<LayerInfo>();
            Digest? top = null;
            try { top = Store.TopLayer(img.Id); }
            catch (BerthException) { } // removed meanwhile
            for (var at = top?.ToString(); at is not null && layers.TryGetValue(at, out var l); at = l.Parent)
                chain.Add(l);
            chains[img.Id] = chain;
            foreach (var l in chain) imagesOfLayer[l.ChainID] = imagesOfLayer.GetValueOrDefault(l.ChainID) + 1;
        }
        var list = images.Select(img => new ImageSummary
        {
            Containers = containersOf(img.Id), Created = img.Created, Id = img.Id, Labels = img.Labels, ParentId = img.ParentId,
            RepoDigests = img.RepoDigests, RepoTags = img.RepoTags, Size = img.Size, VirtualSize = img.VirtualSize,
            SharedSize = chains[img.Id].Where(l => imagesOfLayer[l.ChainID] > 1).Sum(l => l.Size),
        }).ToList();
        return (layersSize, list);
    }

    /// <summary>
    /// docker image prune: the dangling images (no tag), or with dangling=false (`-a`) every image, that no container
    /// uses and that match until (created before) and label / label!; SpaceReclaimed is the bytes of the layers that
    /// went (a layer another image keeps is not counted).
    /// </summary>
    public ImagesPruneReport Prune(FilterArgs filters)
    {
        filters.Validate(PruneFilters);
        bool danglingOnly = true;
        if (filters.Contains("dangling"))
        {
            if (filters.ExactMatch("dangling", "false") || filters.ExactMatch("dangling", "0")) danglingOnly = false;
            else if (!filters.ExactMatch("dangling", "true") && !filters.ExactMatch("dangling", "1"))
                throw BerthException.Invalid($"Invalid filter 'dangling=[{string.Join(" ", filters.Get("dangling"))}]'");
        }
        DateTime? until = null;
        foreach (var u in filters.Get("until")) until = DockerTime.ParseTimestamp(u);
        var layerSizes = Store.Layers.List().ToDictionary(l => l.ChainID, l => l.Size, StringComparer.Ordinal);
        List<ImageDeleteItem>? deleted = null;
        ulong reclaimed = 0;
        foreach (var img in Store.List())
        {
            if (danglingOnly && img.RepoTags.Count > 0) continue;
            if (until is { } t && DateTimeOffset.FromUnixTimeSeconds(img.Created).UtcDateTime >= t) continue;
            var labels = (IReadOnlyDictionary<string, string>?)img.Labels ?? new Dictionary<string, string>();
            if (!filters.MatchKeyValues("label", labels)) continue;
            if (filters.Contains("label!") && filters.MatchKeyValues("label!", labels)) continue;
            if (ContainerUsing(img.Id) is not null) continue;
            var items = new List<ImageDeleteItem>();
            try
            {
                // A tagged image goes reference by reference (an untag each, the last one deletes), as dockerd.
                if (img.RepoTags.Count > 0) foreach (var tag in img.RepoTags) items.AddRange(Remove(tag, force: false));
                else items.AddRange(Remove(img.Id, force: false));
            }
            catch (BerthException e) when (e.Kind is ErrorKind.Conflict or ErrorKind.NotFound)
            {
                // Used or removed meanwhile: skipped, as dockerd's imageDeleteFailed.
            }
            if (items.Count == 0) continue;
            (deleted ??= []).AddRange(items);
            foreach (var d in items)
                if (d.Deleted is { } id && layerSizes.TryGetValue(id, out var size)) reclaimed += (ulong)size;
        }
        return new ImagesPruneReport { ImagesDeleted = deleted, SpaceReclaimed = reclaimed };
    }
}
