using Berth.Core;
using Berth.Engine.Volumes;
using Berth.Interop;

namespace Berth.Engine.Containers;

/// <summary>What container prune removed: the ids and the bytes of their writable layers.</summary>
public sealed record PruneResult(IReadOnlyList<string> Deleted, long SpaceReclaimed);

public sealed partial class ContainerManager
{
    /// <summary>docker export (GET /containers/{id}/export): a tar of the container's merged root filesystem
    /// (its image and writable layer, without its volumes, as dockerd), read through directory fds with O_NOFOLLOW.
    /// A stopped container's rootfs is mounted for the time of the export, under its gate.</summary>
    public async Task ExportAsync(string idOrName, Func<Stream> begin, CancellationToken ct)
    {
        var c = Store.Get(idOrName);
        var entry = EntryOf(c.Id);
        await entry.Gate.WaitAsync(ct);
        bool mountedHere = false;
        string rootfs;
        try
        {
            c = Store.Get(c.Id);
            mountedHere = !c.State.Running;
            rootfs = _rootfs.Mount(c.Id);
        }
        catch { entry.Gate.Release(); throw; }
        try
        {
            var output = begin();
            Publish(c, "export");
            await VolumeArchive.ExportAsync(rootfs, output, ct);
        }
        finally
        {
            if (mountedHere && !Store.Get(c.Id).State.Running) TryCleanup(() => _rootfs.Unmount(c.Id));
            entry.Gate.Release();
        }
    }

    /// <summary>The size of a container's writable layer (SizeRw), 0 when unknown.</summary>
    public long SizeRw(string id)
    {
        var upper = _rootfs.GraphDriverData(id).FirstOrDefault(kv => kv.Key == "UpperDir").Value;
        return string.IsNullOrEmpty(upper) ? 0 : DirSize(upper);
    }

    private static long DirSize(string dir)
    {
        long total = 0;
        try
        {
            foreach (var f in new DirectoryInfo(dir).EnumerateFiles("*", new EnumerationOptions
                     { RecurseSubdirectories = true, AttributesToSkip = 0, IgnoreInaccessible = true }))
            {
                if (f.LinkTarget is null) total += f.Length;
            }
        }
        catch (IOException) { }
        return total;
    }

    private static readonly HashSet<string> ContainerPruneFilters = new(StringComparer.Ordinal) { "until", "label", "label!" };

    /// <summary>docker container prune (dockerd's ContainersPrune): removes every container that is not running
    /// (nor paused, nor restarting) and matches the filters: until (created before), label, label!.
    /// SpaceReclaimed sums their writable layers.</summary>
    public async Task<PruneResult> PruneAsync(Berth.Api.FilterArgs filters, CancellationToken ct)
    {
        filters.Validate(ContainerPruneFilters);
        DateTime? until = null;
        foreach (var u in filters.Get("until"))
            until = Berth.Api.DockerTime.ParseTimestamp(u);
        var deleted = new List<string>();
        long space = 0;
        foreach (var c in Store.List())
        {
            if (c.State.Running || c.State.Restarting) continue;
            if (until is { } t && c.Created >= t) continue;
            if (!filters.MatchKeyValues("label", c.Labels)) continue;
            if (filters.Contains("label!") && filters.MatchKeyValues("label!", c.Labels)) continue;
            long size = SizeRw(c.Id);
            try { await RemoveAsync(c.Id, force: false, removeVolumes: false, ct); }
            catch (BerthException) { continue; } // started or removed meanwhile
            deleted.Add(c.Id);
            space += size;
        }
        Events.Publish(new Berth.Engine.Events.EngineEvent(Berth.Engine.Events.EngineEvent.Container, "prune", "",
            new Dictionary<string, string>(StringComparer.Ordinal) { ["reclaimed"] = space.ToString(System.Globalization.CultureInfo.InvariantCulture) },
            Berth.Engine.Events.EngineEvent.NowNano()));
        return new PruneResult(deleted, space);
    }
}
