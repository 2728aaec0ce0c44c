using Berth.Core;

namespace Berth.Engine.Volumes;

/// <summary>
/// Docker's <c>local</c> driver without options: the data is the directory &lt;data-root&gt;/volumes/&lt;name&gt;/_data
/// (mode 0755, owned by root), which mount and unmount leave as it is.
/// Options (<c>-o type= device= o=</c>: a mount made on first use) are refused here; the options-aware local driver
/// replaces this one in the registry when it lands.
/// </summary>
public class LocalVolumeDriver : IVolumeDriver
{
    public const string DriverName = "local";
    public const string DataDirName = "_data";

    private readonly string _volumesRoot;

    /// <param name="volumesRoot">&lt;data-root&gt;/volumes (for <see cref="List"/>).</param>
    public LocalVolumeDriver(string volumesRoot) => _volumesRoot = volumesRoot;

    public virtual string Name => DriverName;
    public string Scope => "local";

    public virtual void Create(string name, string volumeDir, IReadOnlyDictionary<string, string> options)
    {
        if (options.Count > 0)
            throw BerthException.Invalid($"volume options ({string.Join(", ", options.Keys.Order(StringComparer.Ordinal))}) of the local driver are not implemented in Berth yet");
        Directory.CreateDirectory(DataDir(volumeDir), UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute
            | UnixFileMode.GroupRead | UnixFileMode.GroupExecute | UnixFileMode.OtherRead | UnixFileMode.OtherExecute);
    }

    public virtual void Remove(string name, string volumeDir)
    {
        var data = DataDir(volumeDir);
        if (Directory.Exists(data)) Directory.Delete(data, recursive: true);
    }

    public virtual string Mount(string name, string volumeDir, string containerId)
    {
        var data = DataDir(volumeDir);
        if (!Directory.Exists(data)) throw BerthException.NotFound($"the data directory {data} of volume {name} is missing");
        return data;
    }

    public virtual void Unmount(string name, string volumeDir, string containerId) { }

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
