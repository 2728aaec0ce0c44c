using Berth.Api.Images;
using Berth.Engine.Containers;
using Berth.Engine.Events;
using Berth.Engine.Specs;
using Berth.Images;

namespace Berth.Engine.Images;

/// <summary>
/// The image store seen by the container lifecycle: image references resolve to an id and the defaults a
/// container inherits; a container's rootfs is an overlay snapshot over its image's layers.
/// </summary>
public sealed partial class ImageBackend(ImageStore store, OverlaySnapshotter snapshots) : Backends.IImageBackend, IRootfsProvider
{
    public ImageStore Store { get; } = store;

    /// <summary>The id of a container that uses an image (by image id), or null: set once the containers exist
    /// (the image remove's conflict check).</summary>
    public Func<string, string?> ContainerUsing { get; set; } = _ => null;

    /// <summary>Where image events (import, tag, untag, delete) are published (the engine's one stream once set up).</summary>
    public EngineEvents Events { get; set; } = new();

    public IReadOnlyList<ImageSummary> List() => Store.List();
    public ImageInspect Inspect(string nameOrId) => Store.Inspect(nameOrId);

    public string Import(Stream tar, string? repoTag, ImageConfigChanges? changes)
    {
        var id = Store.Import(tar, repoTag, changes);
        if (!string.IsNullOrEmpty(repoTag)) Publish(id, "tag", ImageReference.ParseNormalized(repoTag).FamiliarString);
        Publish(id, "import", id);
        return id;
    }

    public void Tag(string source, string repo, string? tag)
    {
        Store.Tag(source, repo, tag);
        var target = string.IsNullOrEmpty(tag) ? repo : repo + ":" + tag;
        Publish(Store.Resolve(target).ToString(), "tag", ImageReference.ParseNormalized(target).FamiliarString);
    }

    public IReadOnlyList<ImageDeleteItem> Remove(string nameOrId, bool force)
    {
        var id = Store.Resolve(nameOrId).ToString();
        var items = Store.Remove(nameOrId, force, ContainerUsing);
        // As dockerd: an untag event per reference removed, a delete event when the image itself went.
        foreach (var item in items)
        {
            if (item.Untagged is not null) Publish(id, "untag", id);
            else if (item.Deleted == id) Publish(id, "delete", id);
        }
        return items;
    }

    /// <summary>Docker's image event: the image's labels and its name (the reference, or the id).</summary>
    private void Publish(string id, string action, string name)
    {
        var attrs = new Dictionary<string, string>(StringComparer.Ordinal);
        try
        {
            foreach (var (k, v) in Store.GetConfig(Berth.Images.Digest.Parse(id)).Config?.Labels ?? []) attrs[k] = v;
        }
        catch (Exception e) when (e is Core.BerthException or IOException) { }
        attrs["name"] = name;
        Events.Publish(new EngineEvent(EngineEvent.Image, action, id, attrs, EngineEvent.NowNano()));
    }

    // An image's config never changes (its id is the config's digest): read and parsed once.
    private readonly System.Collections.Concurrent.ConcurrentDictionary<string, ImageDefaults> _defaults = new();

    public (string ImageId, ImageDefaults Defaults) Resolve(string reference)
    {
        Berth.Images.Digest id;
        try
        {
            id = Store.Resolve(reference);
        }
        catch (Core.BerthException e) when (e.Kind == Core.ErrorKind.NotFound && !reference.Contains('@') && !reference.StartsWith("sha256:", StringComparison.Ordinal))
        {
            // As dockerd's create: the reference with its tag ("No such image: nope:latest"), which the CLI
            // answers by pulling that reference.
            string familiar = reference;
            try { familiar = ImageReference.ParseNormalized(reference).FamiliarString; }
            catch (Core.BerthException) { }
            throw Core.BerthException.NotFound($"No such image: {familiar}");
        }
        return (id.ToString(), _defaults.GetOrAdd(id.ToString(), _ =>
        {
            var image = Store.GetConfig(id);
            var cfg = image.Config;
            return new ImageDefaults
            {
                Entrypoint = cfg?.Entrypoint, Cmd = cfg?.Cmd, Env = cfg?.Env, WorkingDir = cfg?.WorkingDir, User = cfg?.User,
                Labels = cfg?.Labels, ExposedPorts = cfg?.ExposedPorts?.Keys.ToList(), Volumes = cfg?.Volumes?.Keys.ToList(),
                StopSignal = cfg?.StopSignal, Healthcheck = cfg?.Healthcheck, Os = image.Os, Architecture = image.Architecture,
            };
        }));
    }

    public void Prepare(string containerId, string imageId) => snapshots.Prepare(containerId, Store.TopLayer(imageId));

    /// <summary>inspect's GraphDriver.Data: the overlay's lower, upper, work and merged directories.</summary>
    public IReadOnlyList<KeyValuePair<string, string>> GraphDriverData(string containerId)
    {
        if (!snapshots.Exists(containerId)) return [];
        var m = snapshots.Mounts(containerId);
        string Opt(string name) => m.Options.FirstOrDefault(o => o.StartsWith(name + "=", StringComparison.Ordinal))?[(name.Length + 1)..] ?? "";
        return
        [
            new("LowerDir", Opt("lowerdir")), new("MergedDir", m.Target),
            new("UpperDir", snapshots.UpperDir(containerId)), new("WorkDir", Opt("workdir")),
        ];
    }

    /// <summary>Looks in each layer directory (the upper and the lowers) without mounting: the path is absent when no
    /// layer has an entry at it or at a symlink along it (a symlink could lead anywhere: then it may exist).</summary>
    public bool MayHavePath(string containerId, string path)
    {
        if (!snapshots.Exists(containerId)) return true;
        var m = snapshots.Mounts(containerId);
        var dirs = new List<string> { snapshots.UpperDir(containerId) };
        var lower = m.Options.FirstOrDefault(o => o.StartsWith("lowerdir=", StringComparison.Ordinal));
        if (lower is not null) dirs.AddRange(lower["lowerdir=".Length..].Split(':'));
        var parts = path.Split('/', StringSplitOptions.RemoveEmptyEntries);
        if (parts.Length == 0 || parts.Any(p => p is "." or "..")) return true;
        foreach (var dir in dirs)
        {
            var at = dir;
            for (int i = 0; i < parts.Length; i++)
            {
                at = Path.Combine(at, parts[i]);
                var info = new FileInfo(at);
                if (info.LinkTarget is not null) return true; // a symlink along the path
                if (!info.Exists && !Directory.Exists(at)) break;
                if (i == parts.Length - 1) return true; // the path itself (or a whiteout of it: then the mount decides)
            }
        }
        return false;
    }

    public string Mount(string containerId)
    {
        var mount = snapshots.Mounts(containerId);
        if (!MountHelper.IsMounted(mount.Target)) MountHelper.Mount(mount);
        return mount.Target;
    }

    public void Unmount(string containerId)
    {
        if (!snapshots.Exists(containerId)) return;
        var target = snapshots.MergedDir(containerId);
        if (MountHelper.IsMounted(target)) MountHelper.Unmount(target);
    }

    public void Remove(string containerId) => snapshots.Remove(containerId);
}
