using Berth.Core;

namespace Berth.Engine.Volumes;

/// <summary>
/// A bind with shared or slave propagation needs its source's mount on the host to be shared (or, for slave,
/// shared or slave): dockerd checks /proc/self/mountinfo and refuses otherwise, with these messages.
/// </summary>
public static class MountPropagation
{
    public static void Check(string source, string propagation)
    {
        if (propagation is "shared" or "rshared")
        {
            var (mountPoint, optional) = MountOf(source);
            if (!optional.Any(o => o.StartsWith("shared:", StringComparison.Ordinal)))
                throw BerthException.Invalid($"path {source} is mounted on {mountPoint} but it is not a shared mount");
        }
        else if (propagation is "slave" or "rslave")
        {
            var (mountPoint, optional) = MountOf(source);
            if (!optional.Any(o => o.StartsWith("shared:", StringComparison.Ordinal) || o.StartsWith("master:", StringComparison.Ordinal)))
                throw BerthException.Invalid($"path {source} is mounted on {mountPoint} but it is not a shared or slave mount");
        }
    }

    /// <summary>The mount point holding <paramref name="path"/> (the longest, latest match) and its optional fields.</summary>
    public static (string MountPoint, string[] Optional) MountOf(string path)
    {
        string best = "";
        string[] bestOptional = [];
        foreach (var line in File.ReadLines("/proc/self/mountinfo"))
        {
            var f = line.Split(' ');
            if (f.Length < 7) continue;
            var mp = Unescape(f[4]);
            bool under = path == mp || mp == "/" || path.StartsWith(mp + "/", StringComparison.Ordinal);
            if (!under || mp.Length < best.Length) continue;
            best = mp;
            int dash = Array.IndexOf(f, "-");
            bestOptional = dash > 6 ? f[6..dash] : [];
        }
        return (best, bestOptional);
    }

    private static string Unescape(string s) => s.Replace("\\040", " ").Replace("\\011", "\t").Replace("\\012", "\n").Replace("\\134", "\\");
}
