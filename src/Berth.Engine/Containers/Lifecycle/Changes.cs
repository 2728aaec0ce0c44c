using Berth.Core;
using Berth.Engine.Volumes;
using Berth.Interop;

namespace Berth.Engine.Containers;

/// <summary>A change of docker diff: Kind 0 modified, 1 added, 2 deleted.</summary>
public sealed record ContainerChange(string Path, int Kind);

public sealed partial class ContainerManager
{
    /// <summary>
    /// docker diff (GET /containers/{id}/changes, dockerd's overlay changes): every entry of the writable (upper)
    /// layer: a whiteout (a 0/0 character device) is a deletion, an entry that also exists in a lower layer is a
    /// modification, any other an addition; an opaque directory (trusted.overlay.opaque=y) hides the lower
    /// content, so the lower entries under it that the upper lacks are deletions. Sorted by path, as dockerd.
    /// </summary>
    public IReadOnlyList<ContainerChange> Changes(string idOrName)
    {
        var c = Store.Get(idOrName);
        var data = _rootfs.GraphDriverData(c.Id).ToDictionary(kv => kv.Key, kv => kv.Value);
        if (!data.TryGetValue("UpperDir", out var upper) || !Directory.Exists(upper))
            throw new BerthException(ErrorKind.System, $"container {c.Id}: no writable layer to compare");
        var lowers = data.TryGetValue("LowerDir", out var l) && l.Length > 0 ? l.Split(':') : [];
        var changes = new List<ContainerChange>();
        Walk(upper, "", lowers, changes);
        changes.Sort((a, b) => string.CompareOrdinal(a.Path, b.Path));
        return changes;
    }

    private static void Walk(string upper, string rel, string[] lowers, List<ContainerChange> changes)
    {
        var dir = upper + rel;
        var names = Directory.EnumerateFileSystemEntries(dir).Select(Path.GetFileName).OfType<string>().ToList();
        foreach (var name in names)
        {
            string path = rel + "/" + name;
            Libc.FileStat st;
            try { st = Libc.Lstat(upper + path); }
            catch (ErrnoException) { continue; }
            uint type = st.Mode & 0xf000;
            if (type == Libc.S_IFCHR && st.Rdev == 0)
            {
                changes.Add(new(path, 2));
                continue;
            }
            bool inLower = lowers.Any(lo => Exists(lo + path));
            changes.Add(new(path, inLower ? 0 : 1));
            if (type != Libc.S_IFDIR) continue;
            if (inLower && Libc.GetXattr(upper + path, "trusted.overlay.opaque") == "y")
            {
                var kept = new HashSet<string>(Directory.EnumerateFileSystemEntries(upper + path).Select(Path.GetFileName).OfType<string>(), StringComparer.Ordinal);
                foreach (var lo in lowers)
                    if (Directory.Exists(lo + path))
                        foreach (var n in Directory.EnumerateFileSystemEntries(lo + path).Select(Path.GetFileName).OfType<string>())
                            if (kept.Add(n)) changes.Add(new(path + "/" + n, 2));
            }
            Walk(upper, path, lowers, changes);
        }
    }

    private static bool Exists(string path)
    {
        try { Libc.Lstat(path); return true; }
        catch (ErrnoException) { return false; }
    }
}
