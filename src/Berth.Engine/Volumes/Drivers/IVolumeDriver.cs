namespace Berth.Engine.Volumes.Drivers;

/// <summary>
/// One volume as a driver reports it (Docker's volume plugin protocol: /VolumeDriver.Get and .List answer
/// {"Name", "Mountpoint", "CreatedAt", "Status"}). Mountpoint may be empty for a volume that is not mounted;
/// Status is the driver's free-form map shown by `docker volume inspect` (null when the driver gave none).
/// </summary>
public sealed record DriverVolume(string Name, string Mountpoint, string? CreatedAt = null,
    IReadOnlyDictionary<string, System.Text.Json.JsonElement>? Status = null);

/// <summary>
/// A volume driver, shaped as Docker's volume driver protocol (moby volume/drivers/extpoint.go and the
/// /VolumeDriver.* plugin calls): the built-in `local` driver and every plugin (<see cref="PluginDriver"/>) answer
/// the same calls. Errors are <see cref="Berth.Core.BerthException"/>s: a plugin's {"Err": "..."} becomes
/// "VolumeDriver.Create: ..." as dockerd words it.
/// Calls are synchronous: the store calls them under its per-volume lock, as dockerd does.
/// </summary>
public interface IVolumeDriver
{
    /// <summary>The driver's name ("local", or the plugin's name).</summary>
    string Name { get; }

    /// <summary>/VolumeDriver.Create: makes the volume with the driver options (`-o key=value`).</summary>
    void Create(string name, IReadOnlyDictionary<string, string> options);

    /// <summary>/VolumeDriver.Remove.</summary>
    void Remove(string name);

    /// <summary>/VolumeDriver.Mount with the caller's unique id (a container id): returns the host path of the data.</summary>
    string Mount(string name, string id);

    /// <summary>/VolumeDriver.Unmount of the id's earlier Mount.</summary>
    void Unmount(string name, string id);

    /// <summary>/VolumeDriver.Path: the host path (may be "" when the driver has not mounted it).</summary>
    string Path(string name);

    /// <summary>/VolumeDriver.Get: the volume, or null when the driver does not know it.</summary>
    DriverVolume? Get(string name);

    /// <summary>/VolumeDriver.List.</summary>
    IReadOnlyList<DriverVolume> List();

    /// <summary>/VolumeDriver.Capabilities: the scope, "local" or "global" (a plugin that does not implement the
    /// call is "local", as dockerd assumes).</summary>
    string Scope();
}
