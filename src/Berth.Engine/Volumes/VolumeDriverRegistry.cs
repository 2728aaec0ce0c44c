using Berth.Core;

namespace Berth.Engine.Volumes;

/// <summary>
/// The volume drivers by name: <c>local</c> always, plugins as they are registered (the plugin driver adds itself
/// here). Thread-safe.
/// </summary>
public sealed class VolumeDriverRegistry
{
    private readonly Dictionary<string, IVolumeDriver> _drivers = new(StringComparer.Ordinal);
    private readonly Lock _lock = new();

    public VolumeDriverRegistry(IVolumeDriver local) => Register(local);

    public void Register(IVolumeDriver driver)
    {
        lock (_lock) _drivers[driver.Name] = driver;
    }

    public void Unregister(string name)
    {
        lock (_lock) if (name != LocalVolumeDriver.DriverName) _drivers.Remove(name);
    }

    public IReadOnlyList<IVolumeDriver> All()
    {
        lock (_lock) return [.. _drivers.Values];
    }

    public IVolumeDriver? Find(string name)
    {
        lock (_lock) return _drivers.GetValueOrDefault(name);
    }

    /// <summary>The driver or NotFound as dockerd: "error looking up volume plugin NAME: plugin \"NAME\" not found".</summary>
    public IVolumeDriver Get(string name) =>
        Find(name) ?? throw BerthException.NotFound($"error looking up volume plugin {name}: plugin \"{name}\" not found");
}
