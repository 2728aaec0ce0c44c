using Berth.Core;
using Berth.Engine.Volumes.Drivers;

namespace Berth.Engine.Volumes;

/// <summary>
/// Docker's <c>local</c> driver. Without options the data is the directory &lt;data-root&gt;/volumes/&lt;name&gt;/_data
/// (mode 0755, owned by root), which mount and unmount leave as it is. With options (<c>-o type= device= o=</c>,
/// <see cref="LocalMountOptions"/>) the volume is mount(2)ed on that directory when its first user mounts it and
/// unmounted after the last (<see cref="LocalVolumeMounts"/>); a volume with active mounts is not removed.
/// The options of each volume are known from its create, or from the store at start-up (<see cref="Known"/>).
/// </summary>
public class LocalVolumeDriver : IVolumeDriver
{
    public const string DriverName = "local";
    public const string DataDirName = "_data";

    private readonly string _volumesRoot;
    private readonly Dictionary<string, LocalMountOptions> _options = new(StringComparer.Ordinal);
    private readonly Lock _lock = new();

    /// <param name="volumesRoot">&lt;data-root&gt;/volumes (for <see cref="List"/>).</param>
    public LocalVolumeDriver(string volumesRoot) => _volumesRoot = volumesRoot;

    public virtual string Name => DriverName;
    public string Scope => "local";

    /// <summary>Who has each volume with options mounted.</summary>
    public LocalVolumeMounts Mounts { get; } = new();

    /// <summary>The parsed options of a volume with options, or null (a plain directory).</summary>
    public LocalMountOptions? OptionsOf(string name)
    {
        lock (_lock) return _options.GetValueOrDefault(name);
    }

    /// <summary>Start-up: the store tells the driver the options an existing volume was created with.</summary>
    public void Known(string name, IReadOnlyDictionary<string, string>? options)
    {
        var parsed = LocalMountOptions.Parse(options);
        lock (_lock)
        {
            if (parsed is null) _options.Remove(name);
            else _options[name] = parsed;
        }
    }

    public virtual void Create(string name, string volumeDir, IReadOnlyDictionary<string, string> options)
    {
        var parsed = LocalMountOptions.Parse(options); // dockerd's "invalid option key: ..." (400)
        Directory.CreateDirectory(DataDir(volumeDir), UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute
            | UnixFileMode.GroupRead | UnixFileMode.GroupExecute | UnixFileMode.OtherRead | UnixFileMode.OtherExecute);
        lock (_lock)
        {
            if (parsed is null) _options.Remove(name);
            else _options[name] = parsed;
        }
    }

    /// <summary>Refuses a volume with active mounts and unmounts what is left mounted; the data itself is not deleted
    /// here: <paramref name="volumeDir"/> is the store's trash directory, which it deletes after the answer
    /// (VolumeBackgroundIo), so a remove does not wait for a large volume's data to go.</summary>
    public virtual void Remove(string name, string volumeDir)
    {
        var data = DataDir(volumeDir);
        if (OptionsOf(name) is not null) Mounts.PrepareRemove(name, data); // "volume has active mounts"; unmounts leftovers
        lock (_lock) _options.Remove(name);
    }

    public virtual string Mount(string name, string volumeDir, string containerId)
    {
        var data = DataDir(volumeDir);
        if (!Directory.Exists(data)) throw BerthException.NotFound($"the data directory {data} of volume {name} is missing");
        return OptionsOf(name) is { } o ? Mounts.Mount(name, data, o, containerId) : data;
    }

    public virtual void Unmount(string name, string volumeDir, string containerId)
    {
        if (OptionsOf(name) is not null) Mounts.Unmount(name, DataDir(volumeDir), containerId);
    }

    /// <summary>Start-up: the running containers that use a volume with options are its users again; the kernel's
    /// mounts are made to agree (see <see cref="LocalVolumeMounts.Recover"/>).</summary>
    public void Recover(string name, string volumeDir, IEnumerable<string> runningUsers)
    {
        if (OptionsOf(name) is { } o) Mounts.Recover(name, DataDir(volumeDir), o, runningUsers);
    }

    public string Path(string name, string volumeDir) => DataDir(volumeDir);

    public DriverVolume? Get(string name, string volumeDir) =>
        Directory.Exists(DataDir(volumeDir)) ? new DriverVolume(name, DataDir(volumeDir)) : null;

    public IReadOnlyList<DriverVolume> List()
    {
        if (!Directory.Exists(_volumesRoot)) return [];
        var list = new List<DriverVolume>();
        foreach (var dir in Directory.EnumerateDirectories(_volumesRoot))
        {
            var name = System.IO.Path.GetFileName(dir);
            if (VolumeNames.IsValid(name) && Directory.Exists(DataDir(dir))) list.Add(new DriverVolume(name, DataDir(dir)));
        }
        return list;
    }

    public static string DataDir(string volumeDir) => System.IO.Path.Combine(volumeDir, DataDirName);
}
