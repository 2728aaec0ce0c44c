namespace Berth.Engine.Volumes;

/// <summary>
/// One volume as the engine keeps it in &lt;data-root&gt;/volumes/&lt;name&gt;/ (Docker's Volume object:
/// name, driver, mountpoint, created time, labels, the driver options it was created with, scope).
/// </summary>
public sealed class VolumeRecord
{
    public string Name { get; set; } = "";
    public string Driver { get; set; } = "local";

    /// <summary>Where the data lives on the host: &lt;data-root&gt;/volumes/&lt;name&gt;/_data for the local driver,
    /// what the plugin's Mount/Path answered for a plugin volume.</summary>
    public string Mountpoint { get; set; } = "";
    public DateTime CreatedAt { get; set; }
    public Dictionary<string, string> Labels { get; set; } = [];
    public Dictionary<string, string> Options { get; set; } = [];
    public string Scope { get; set; } = "local";

    /// <summary>True for a volume made for a container's `-v /path` or an image VOLUME (64-hex name): it goes with
    /// `rm -v` and `--rm`. Named volumes never do.</summary>
    public bool Anonymous { get; set; }
}

/// <summary>
/// What the container side needs from the volume store (ContainerManager, at create, start, stop and remove).
/// Users of a volume are the containers whose records mount it (running or not): the store asks
/// <see cref="ContainersUsing"/> rather than keeping a second count that a crash could skew.
/// </summary>
public interface IVolumes
{
    /// <summary>Returns the named volume, creating it with the driver (default "local"), options and labels when it
    /// does not exist (as `-v name:/path` and `--mount type=volume` do). A null name makes an anonymous volume.
    /// An existing volume with a different driver is an error (Docker's "volume ... already exists with driver ...").</summary>
    VolumeRecord GetOrCreate(string? name, string? driver, IReadOnlyDictionary<string, string>? options,
        IReadOnlyDictionary<string, string>? labels, bool anonymous);

    /// <summary>The volume or a NotFound BerthException ("get NAME: no such volume").</summary>
    VolumeRecord Get(string name);

    /// <summary>Mounts the volume for a container (the driver's Mount: a `local` volume with options is mounted on
    /// first use) and returns the host path to bind into the container.</summary>
    string Mount(string name, string containerId);

    /// <summary>The driver's Unmount (the last user unmounts a `local` volume with options). Idempotent.</summary>
    void Unmount(string name, string containerId);

    /// <summary>Removes a volume as `rm -v` does for a container's anonymous volumes (no error when it is gone or
    /// still used by another container: it is then kept).</summary>
    void RemoveIfUnused(string name);

    /// <summary>True when a copy-up into the volume was cut short by a crash (its content is half a copy).</summary>
    bool CopyUpPending(string name) => false;

    /// <summary>Fills the volume with the content of <paramref name="from"/> (the image's directory at the mount's
    /// destination) when it is empty; mounted for <paramref name="containerId"/> meanwhile. False when nothing was
    /// copied. The store's version makes it crash-safe (<see cref="VolumeStore.CopyUp"/>).</summary>
    bool CopyUp(string name, string containerId, string from)
    {
        var into = Mount(name, containerId);
        try { return !Directory.EnumerateFileSystemEntries(into).Any() && global::Berth.Engine.Volumes.CopyUp.Copy(from, into); }
        finally { Unmount(name, containerId); }
    }
}
