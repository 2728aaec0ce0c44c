using Berth.Api;
using Berth.Api.Volumes;

namespace Berth.Engine.Backends;

/// <summary>What the daemon's volumes router needs from the engine (moby's router/volume Backend). Implemented by
/// <see cref="Volumes.VolumeStore"/>.</summary>
public interface IVolumeBackend
{
    /// <summary>POST /volumes/create: a null or empty name makes an anonymous volume (64 hex); an existing volume of
    /// the same driver is answered as it is.</summary>
    Volume Create(string? name, string? driver, IReadOnlyDictionary<string, string>? driverOpts, IReadOnlyDictionary<string, string>? labels);

    /// <summary>NotFound: "get NAME: no such volume".</summary>
    Volume Inspect(string name);

    /// <summary>Filters: dangling, driver, label, name (as dockerd 20.10).</summary>
    IReadOnlyList<Volume> List(FilterArgs filters);

    /// <summary>Conflict while containers refer to it ("remove NAME: volume is in use - [ids]"); force makes a missing
    /// volume and a driver's failure not an error (the metadata is purged), never an in-use one.</summary>
    void Remove(string name, bool force);

    /// <summary>Removes the unused volumes of the local driver that have no driver options (filters label, label!).</summary>
    VolumesPruneReport Prune(FilterArgs filters);
}
