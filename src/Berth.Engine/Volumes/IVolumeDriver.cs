namespace Berth.Engine.Volumes;

/// <summary>What a driver says about one of its volumes (Docker's volume plugin protocol answers
/// VolumeDriver.Get / VolumeDriver.List: {"Name", "Mountpoint", "CreatedAt", "Status"}). Mountpoint may be empty for a
/// plugin's volume that is not mounted; Status is the driver's free-form map shown by `docker volume inspect` (null
/// when the driver gave none), kept as JSON so that it is written back as the plugin sent it.</summary>
public sealed record DriverVolume(string Name, string Mountpoint,
    IReadOnlyDictionary<string, System.Text.Json.JsonElement>? Status = null, string? CreatedAt = null);

/// <summary>
/// A volume driver, shaped as Docker's volume plugin protocol (/VolumeDriver.Create, .Remove, .Mount, .Unmount,
/// .Path, .Get, .List, .Capabilities). The store (<see cref="VolumeStore"/>) keeps the metadata of every volume
/// (name, driver, labels, options, created time) itself; a driver only makes, mounts and removes the data.
/// Errors are BerthException: the store adds the volume's name the way dockerd does.
/// <para>Built in: <c>local</c> (<see cref="LocalVolumeDriver"/>). Others (plugins) are added to the
/// <see cref="VolumeDriverRegistry"/>.</para>
/// </summary>
public interface IVolumeDriver
{
    /// <summary>The name users give with <c>--driver</c> ("local", a plugin's name).</summary>
    string Name { get; }

    /// <summary>"local" or "global" (VolumeDriver.Capabilities → Capabilities.Scope).</summary>
    string Scope { get; }

    /// <summary>Validates the options and makes the volume. <paramref name="volumeDir"/> is the store's directory
    /// of the volume, still under its temporary name while the store creates it (the local driver puts _data in it;
    /// a plugin may ignore it). Called once per volume, before the store commits the volume's metadata.</summary>
    void Create(string name, string volumeDir, IReadOnlyDictionary<string, string> options);

    /// <summary>Removes the volume's data (the store removes its own directory afterwards).</summary>
    void Remove(string name, string volumeDir);

    /// <summary>Makes the volume available for a container and answers the host path to bind (VolumeDriver.Mount,
    /// with the container id as the protocol's ID).</summary>
    string Mount(string name, string volumeDir, string containerId);

    /// <summary>VolumeDriver.Unmount for that container. Idempotent.</summary>
    void Unmount(string name, string volumeDir, string containerId);

    /// <summary>Where the data is on the host (VolumeDriver.Path); may be empty while a plugin's volume is not mounted.</summary>
    string Path(string name, string volumeDir);

    /// <summary>The driver's view of one volume (VolumeDriver.Get), or null when the driver does not know it.</summary>
    DriverVolume? Get(string name, string volumeDir);

    /// <summary>The volumes the driver knows (VolumeDriver.List). The local driver answers the store's own.</summary>
    IReadOnlyList<DriverVolume> List();
}
