using Berth.Api.Images;
using Berth.Core;

namespace Berth.Images;

/// <summary>`docker history` (daemon/images/image_history.go of Docker 20.10).</summary>
public sealed partial class ImageStore
{
    /// <summary>
    /// The config's history, newest first: each entry that made a layer has that layer's size, the others 0; the
    /// newest entry carries the image's ID and tags, the older ones "&lt;missing&gt;" (Berth keeps no parent images,
    /// which is what Docker shows for any pulled or loaded image).
    /// </summary>
    public List<HistoryResponseItem> History(string nameOrId)
    {
        var id = Resolve(nameOrId);
        var config = GetConfig(id);
        var history = new List<HistoryResponseItem>();
        var diffIds = config.RootFs.DiffIds.Select(Digest.Parse).ToList();
        var chainIds = LayerStore.ChainIds(diffIds);
        int layer = 0;
        foreach (var h in config.History ?? [])
        {
            long size = 0;
            if (h.EmptyLayer != true)
            {
                if (layer >= chainIds.Count) throw new BerthException(ErrorKind.DataLoss, "too many non-empty layers in History section");
                size = Layers.Get(chainIds[layer])?.Size ?? 0;
                layer++;
            }
            history.Insert(0, new HistoryResponseItem
            {
                Created = h.Created is { } c ? new DateTimeOffset(c.ToUniversalTime()).ToUnixTimeSeconds() : DateTimeOffset.MinValue.ToUnixTimeSeconds(),
                CreatedBy = h.CreatedBy ?? "",
                Comment = h.Comment ?? "",
                Size = size,
            });
        }
        if (history.Count > 0)
        {
            history[0].Id = id.ToString();
            var tags = ReferencesOf(id).Select(r => r.FamiliarString).Order(StringComparer.Ordinal).ToList();
            history[0].Tags = tags.Count > 0 ? tags : null;
        }
        return history;
    }
}
