using System.Text.Json;
using System.Text.RegularExpressions;
using Berth.Core;
using Berth.Interop;

namespace Berth.Images;

/// <summary>containers/&lt;key&gt;/snapshot.json: what a container's writable layer sits on.</summary>
public sealed class SnapshotRecord
{
    public required string Key { get; init; }
    public string? Parent { get; init; }
}

/// <summary>
/// Writable container layers on overlayfs: &lt;root&gt;/&lt;key&gt;/{upper,work,merged} over the read-only
/// diff directories of an image's layer chain. <see cref="Prepare"/> only creates directories and returns
/// the <see cref="Mount"/> to perform; <see cref="MountHelper"/> performs it. A snapshot holds a
/// reference on its parent layer until <see cref="Remove"/>.
/// </summary>
public sealed partial class OverlaySnapshotter
{
    private readonly LayerStore _layers;
    private readonly Lock _lock = new();

    public OverlaySnapshotter(LayerStore layers, string root)
    {
        _layers = layers;
        Root = root;
        DataRootPermissions.CreateDirectory(root); // 0700: containers' files (upper, merged) are root's only
    }

    /// <summary>Snapshots at &lt;layer root&gt;/containers (i.e. &lt;data root&gt;/overlay/containers).</summary>
    public OverlaySnapshotter(LayerStore layers) : this(layers, Path.Combine(layers.Root, "containers")) { }

    public string Root { get; }

    [GeneratedRegex("^[a-zA-Z0-9][a-zA-Z0-9_.-]{0,127}$")]
    private static partial Regex KeyRx();

    public string SnapshotDir(string key) => Path.Combine(Root, ValidKey(key));

    public string MergedDir(string key) => Path.Combine(SnapshotDir(key), "merged");

    public string UpperDir(string key) => Path.Combine(SnapshotDir(key), "upper");

    /// <summary>
    /// Creates the writable layer for <paramref name="containerKey"/> on top of <paramref name="parentChainId"/>
    /// (null: an empty root) and returns the mount that assembles it at &lt;key&gt;/merged. Conflict if it exists.
    /// </summary>
    public Mount Prepare(string containerKey, Digest? parentChainId)
    {
        var dir = SnapshotDir(containerKey);
        lock (_lock)
        {
            if (Directory.Exists(dir))
                throw BerthException.Conflict($"snapshot {containerKey} already exists");
            if (parentChainId is { } p) _layers.Acquire(p); // NotFound when the layer does not exist
            try
            {
                Directory.CreateDirectory(dir);
                foreach (var sub in new[] { "upper", "work", "merged" })
                    Directory.CreateDirectory(Path.Combine(dir, sub));
                AtomicFile.WriteAllBytes(Path.Combine(dir, "snapshot.json"), JsonSerializer.SerializeToUtf8Bytes(
                    new SnapshotRecord { Key = containerKey, Parent = parentChainId?.ToString() },
                    ImagesJsonContext.Default.SnapshotRecord));
            }
            catch
            {
                LayerStore.TryDeleteTree(dir);
                if (parentChainId is { } pp) _layers.Release(pp);
                throw;
            }
        }
        return Mounts(containerKey);
    }

    /// <summary>The mount description of an existing snapshot (e.g. after a daemon restart).</summary>
    public Mount Mounts(string containerKey)
    {
        var dir = SnapshotDir(containerKey);
        var rec = ReadRecord(containerKey) ?? throw BerthException.NotFound($"snapshot {containerKey} does not exist");
        var merged = Path.Combine(dir, "merged");
        var upper = Path.Combine(dir, "upper");
        if (rec.Parent is null)
            return new Mount("bind", upper, merged, ["rbind", "rw"]);
        var lowers = _layers.LowerDirs(Digest.Parse(rec.Parent));
        var options = new List<string>
        {
            "lowerdir=" + string.Join(':', lowers),
            "upperdir=" + upper,
            "workdir=" + Path.Combine(dir, "work"),
        };
        // Layers are shared between mounts; the overlay index would tie a lower dir to one upper.
        if (File.Exists("/sys/module/overlay/parameters/index")) options.Add("index=off");
        return new Mount("overlay", "overlay", merged, options);
    }

    public bool Exists(string containerKey) => File.Exists(Path.Combine(SnapshotDir(containerKey), "snapshot.json"));

    public IReadOnlyList<string> List() =>
        Directory.EnumerateDirectories(Root).Select(Path.GetFileName).Where(k => k is not null && KeyRx().IsMatch(k)).ToList()!;

    /// <summary>Unmounts (if mounted) and deletes the snapshot, releasing its parent layer. Missing is success.</summary>
    public void Remove(string containerKey)
    {
        var dir = SnapshotDir(containerKey);
        lock (_lock)
        {
            var merged = Path.Combine(dir, "merged");
            MountHelper.Unmount(merged);
            var rec = ReadRecord(containerKey);
            var recPath = Path.Combine(dir, "snapshot.json");
            if (File.Exists(recPath)) File.Delete(recPath); // from here on the snapshot no longer exists
            LayerStore.TryDeleteTree(dir);
            if (rec?.Parent is { } p && _layers.Exists(Digest.Parse(p))) _layers.Release(Digest.Parse(p));
        }
    }

    private SnapshotRecord? ReadRecord(string key)
    {
        var p = Path.Combine(SnapshotDir(key), "snapshot.json");
        return File.Exists(p) ? JsonSerializer.Deserialize(File.ReadAllBytes(p), ImagesJsonContext.Default.SnapshotRecord) : null;
    }

    private static string ValidKey(string key) =>
        KeyRx().IsMatch(key) ? key : throw BerthException.Invalid($"invalid snapshot key \"{key}\"");
}
