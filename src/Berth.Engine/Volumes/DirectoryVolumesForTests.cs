using System.Collections.Concurrent;
using System.Security.Cryptography;
using Berth.Core;

namespace Berth.Engine.Volumes;

/// <summary>
/// INTERIM: a minimal <see cref="IVolumes"/> (local driver only, no options, no metadata beyond the directory) so
/// that the container side of volumes runs and is tested before the real volume store lands; the lead swaps it for
/// VolumeStore at the merge. Volumes are plain directories &lt;root&gt;/&lt;name&gt;/_data.
/// </summary>
public sealed class DirectoryVolumesForTests(string root, Func<string, bool> inUse) : IVolumes
{
    private readonly ConcurrentDictionary<string, VolumeRecord> _known = new(StringComparer.Ordinal);

    public VolumeRecord GetOrCreate(string? name, string? driver, IReadOnlyDictionary<string, string>? options,
        IReadOnlyDictionary<string, string>? labels, bool anonymous)
    {
        if (driver is not (null or "" or "local"))
            throw BerthException.Invalid($"volume driver \"{driver}\": volume plugins are not implemented in Berth yet");
        if (options is { Count: > 0 })
            throw BerthException.Invalid("volume driver options (volume-opt) are not implemented in Berth yet");
        name ??= Convert.ToHexStringLower(RandomNumberGenerator.GetBytes(32));
        MountSpecParser.ValidateLocalVolumeName(name);
        var data = Path.Combine(root, name, "_data");
        Directory.CreateDirectory(data);
        return _known.GetOrAdd(name, n => new VolumeRecord
        {
            Name = n, Mountpoint = data, CreatedAt = DateTime.UtcNow, Anonymous = anonymous,
            Labels = labels?.ToDictionary(kv => kv.Key, kv => kv.Value) ?? [],
        });
    }

    public VolumeRecord Get(string name)
    {
        var data = Path.Combine(root, name, "_data");
        if (!Directory.Exists(data)) throw BerthException.NotFound($"get {name}: no such volume");
        return _known.GetOrAdd(name, n => new VolumeRecord { Name = n, Mountpoint = data });
    }

    public string Mount(string name, string containerId) => Get(name).Mountpoint;

    public void Unmount(string name, string containerId) { }

    public void RemoveIfUnused(string name)
    {
        if (inUse(name)) return;
        var dir = Path.Combine(root, name);
        if (Directory.Exists(dir)) Directory.Delete(dir, recursive: true);
        _known.TryRemove(name, out _);
    }
}
