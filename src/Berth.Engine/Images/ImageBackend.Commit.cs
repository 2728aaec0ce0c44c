using System.Security.Cryptography;
using Berth.Engine.Containers;
using Berth.Images;
using Berth.Images.Commit;

namespace Berth.Engine.Images;

/// <summary>docker commit: a container's writable layer becomes a new image on top of the container's image.</summary>
public sealed partial class ImageBackend
{
    /// <summary>
    /// Writes the container's upper directory as a layer on the image's top layer and stores an image whose config is
    /// the container's (Cmd, Entrypoint, Env, …) with <paramref name="changes"/> applied, and whose history gains an
    /// entry (created_by: the container's Cmd, as dockerd). The caller pauses the container around this.
    /// </summary>
    public string Commit(ContainerRecord c, string? repoTag, string? comment, string? author, IReadOnlyList<string> changes)
    {
        var reference = string.IsNullOrEmpty(repoTag) ? null : ImageReference.ParseNormalized(repoTag);
        if (reference?.Digest is not null) throw Core.BerthException.Invalid("refusing to create a tag with a digest reference");
        var parsed = changes.Count > 0 ? ImageConfigChangesParser.Parse(changes) : null;
        var upper = GraphDriverData(c.Id).FirstOrDefault(kv => kv.Key == "UpperDir").Value;
        if (upper is null || !Directory.Exists(upper)) throw new Core.BerthException(Core.ErrorKind.System, $"container {c.Id}: no writable layer to commit");
        var imageId = Berth.Images.Digest.Parse(c.Image);
        var baseConfig = Store.GetConfig(imageId);
        var parentLayer = baseConfig.RootFs.DiffIds.Count > 0 ? LayerStore.ChainIds(baseConfig.RootFs.DiffIds.Select(Berth.Images.Digest.Parse)).Last() : (Berth.Images.Digest?)null;

        var tmp = Path.Combine(Store.DataRoot, "images", "commit-" + Convert.ToHexStringLower(RandomNumberGenerator.GetBytes(8)) + ".tar");
        LayerInfo layer;
        try
        {
            using (var fs = new FileStream(tmp, FileMode.CreateNew, FileAccess.Write))
                UpperLayerTar.Write(upper, fs);
            using var read = File.OpenRead(tmp);
            layer = Store.Layers.Register(read, parentLayer);
        }
        finally
        {
            File.Delete(tmp);
        }

        var now = DateTime.UtcNow;
        var config = new ImageConfig
        {
            Architecture = baseConfig.Architecture,
            Os = baseConfig.Os,
            Variant = baseConfig.Variant,
            Created = now,
            Author = string.IsNullOrEmpty(author) ? null : author,
            Comment = string.IsNullOrEmpty(comment) ? null : comment,
            Config = MergeConfig(c.Config, parsed),
            RootFs = new RootFs { DiffIds = [.. baseConfig.RootFs.DiffIds, layer.DiffID] },
            History =
            [
                .. (baseConfig.History ?? []),
                new HistoryEntry
                {
                    Created = now, CreatedBy = string.Join(' ', c.Config.Cmd ?? []),
                    Author = string.IsNullOrEmpty(author) ? null : author, Comment = string.IsNullOrEmpty(comment) ? null : comment,
                },
            ],
        };
        var id = Store.CommitConfig(config, Berth.Images.Digest.Parse(layer.ChainID), reference);
        Publish(id, "commit", reference?.FamiliarString ?? id);
        return id;
    }

    /// <summary>The container's config as an image config, --change lines on top (ENV and LABEL merge by key).</summary>
    private static Berth.Images.ContainerConfig MergeConfig(Berth.Api.Containers.ContainerConfig c, ImageConfigChanges? ch)
    {
        var env = (c.Env ?? []).ToList();
        foreach (var e in ch?.Env ?? [])
        {
            var key = e.Split('=', 2)[0];
            env.RemoveAll(x => x.Split('=', 2)[0] == key);
            env.Add(e);
        }
        var labels = c.Labels is null ? null : new Dictionary<string, string>(c.Labels);
        if (ch?.Labels is { } l)
        {
            labels ??= [];
            foreach (var (k, v) in l) labels[k] = v;
        }
        var ports = c.ExposedPorts?.Keys.ToList();
        if (ch?.ExposedPorts is { } p) ports = [.. ports ?? [], .. p.Select(x => x.Contains('/') ? x : x + "/tcp")];
        var volumes = c.Volumes?.Keys.ToList();
        if (ch?.Volumes is { } vols) volumes = [.. volumes ?? [], .. vols];
        return new Berth.Images.ContainerConfig
        {
            User = ch?.User ?? (string.IsNullOrEmpty(c.User) ? null : c.User),
            Env = env.Count > 0 ? env : null,
            Cmd = ch?.Cmd?.ToList() ?? c.Cmd,
            Entrypoint = ch?.Entrypoint?.ToList() ?? c.Entrypoint,
            WorkingDir = ch?.WorkingDir ?? (string.IsNullOrEmpty(c.WorkingDir) ? null : c.WorkingDir),
            StopSignal = ch?.StopSignal ?? c.StopSignal,
            Healthcheck = c.Healthcheck,
            Labels = labels is { Count: > 0 } ? labels.OrderBy(kv => kv.Key, StringComparer.Ordinal).ToDictionary() : null,
            ExposedPorts = ports is { Count: > 0 } ? ports.Distinct().Order(StringComparer.Ordinal).ToDictionary(x => x, _ => new Berth.Images.EmptyObject()) : null,
            Volumes = volumes is { Count: > 0 } ? volumes.Distinct().Order(StringComparer.Ordinal).ToDictionary(x => x, _ => new Berth.Images.EmptyObject()) : null,
        };
    }
}
