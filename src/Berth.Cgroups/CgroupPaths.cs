using Berth.Core;

namespace Berth.Cgroups;

/// <summary>
/// cgroupsPath semantics of runc's cgroupfs driver:
/// <list type="bullet">
/// <item>"/foo/bar" (absolute): relative to each hierarchy's root (the runtime's own cgroup is NOT prepended);</item>
/// <item>"foo/bar" (relative): relative to the current process's cgroup in each hierarchy;</item>
/// <item>"" (empty): "/berth/&lt;containerId&gt;" (Berth's default; runc would use the id under its own cgroup);</item>
/// <item>"slice:prefix:name" (systemd style, no D-Bus): "/&lt;expanded slice&gt;/prefix-name.scope", e.g.
/// "system.slice:docker:abc" → "/system.slice/docker-abc.scope", "user-1000.slice::x" →
/// "/user.slice/user-1000.slice/x.scope". An empty slice means "system.slice"; a name ending in ".slice" is used as is.</item>
/// </list>
/// </summary>
public static class CgroupPaths
{
    /// <summary>Normalizes a cgroupsPath: absolute results start with "/", relative ones do not.</summary>
    public static string Normalize(string? cgroupsPath, string containerId)
    {
        if (string.IsNullOrEmpty(cgroupsPath))
        {
            if (string.IsNullOrEmpty(containerId))
            {
                throw BerthException.Invalid("cgroups: empty cgroups path and container id");
            }

            return Clean("/berth/" + containerId, true);
        }

        if (IsSystemdStyle(cgroupsPath))
        {
            return FromSystemd(cgroupsPath);
        }

        return Clean(cgroupsPath, cgroupsPath.StartsWith('/'));
    }

    /// <summary>Whether the path looks like systemd's "slice:prefix:name".</summary>
    /// <remarks>Never with a '/': a slice, prefix or unit name has none, so "a:b:c/ID" (a cgroupfs parent with colons,
    /// as dockerd allows) is a cgroupfs path.</remarks>
    public static bool IsSystemdStyle(string cgroupsPath) =>
        !cgroupsPath.Contains('/') && cgroupsPath.Count(c => c == ':') == 2;

    /// <summary>Maps "slice:prefix:name" onto the cgroupfs path systemd would use.</summary>
    public static string FromSystemd(string cgroupsPath)
    {
        var parts = cgroupsPath.Split(':');
        if (parts.Length != 3 || parts[2].Length == 0)
        {
            throw BerthException.Invalid($"cgroups: invalid systemd cgroups path \"{cgroupsPath}\" (want slice:prefix:name)");
        }

        var slice = parts[0].Length == 0 ? "system.slice" : parts[0];
        var name = parts[2];
        var unit = name.EndsWith(".slice", StringComparison.Ordinal) ? name
            : parts[1].Length == 0 ? name + ".scope" : $"{parts[1]}-{name}.scope";
        if (unit.Contains('/'))
        {
            throw BerthException.Invalid($"cgroups: invalid systemd unit name \"{unit}\"");
        }

        return Clean(ExpandSlice(slice) + "/" + unit, true);
    }

    /// <summary>systemd slice expansion: "a-b-c.slice" → "/a.slice/a-b.slice/a-b-c.slice"; "-.slice" → "/".</summary>
    public static string ExpandSlice(string slice)
    {
        if (!slice.EndsWith(".slice", StringComparison.Ordinal) || slice.Contains('/'))
        {
            throw BerthException.Invalid($"cgroups: invalid slice name \"{slice}\"");
        }

        if (slice == "-.slice")
        {
            return "/";
        }

        var stem = slice[..^".slice".Length];
        if (stem.Length == 0 || stem.StartsWith('-') || stem.EndsWith('-') || stem.Contains("--", StringComparison.Ordinal))
        {
            throw BerthException.Invalid($"cgroups: invalid slice name \"{slice}\"");
        }

        var path = "";
        var prefix = "";
        foreach (var component in stem.Split('-'))
        {
            prefix = prefix.Length == 0 ? component : prefix + "-" + component;
            path += "/" + prefix + ".slice";
        }

        return path;
    }

    /// <summary>
    /// The directory of <paramref name="normalizedPath"/> within a hierarchy mounted at <paramref name="mount"/>;
    /// <paramref name="ownCgroup"/> is this process's cgroup in that hierarchy (for relative paths).
    /// </summary>
    public static string Resolve(CgroupMount mount, string normalizedPath, string? ownCgroup)
    {
        if (normalizedPath.StartsWith('/'))
        {
            return Join(mount.Mountpoint, normalizedPath);
        }

        // Relative: below our own cgroup, expressed relative to the mount's root.
        var own = ownCgroup ?? "/";
        var root = mount.Root;
        if (root != "/" && (own == root || own.StartsWith(root + "/", StringComparison.Ordinal)))
        {
            own = own[root.Length..];
        }

        return Join(Join(mount.Mountpoint, own), normalizedPath);
    }

    private static string Join(string a, string b)
    {
        var baseDir = a.Length > 1 ? a.TrimEnd('/') : a;
        var rel = b.Trim('/');
        if (rel.Length == 0)
        {
            return baseDir;
        }

        return baseDir == "/" ? "/" + rel : baseDir + "/" + rel;
    }

    private static string Clean(string path, bool absolute)
    {
        var stack = new List<string>();
        foreach (var part in path.Split('/', StringSplitOptions.RemoveEmptyEntries))
        {
            if (part == ".")
            {
                continue;
            }

            if (part == "..")
            {
                if (stack.Count > 0)
                {
                    stack.RemoveAt(stack.Count - 1);
                }
                else if (!absolute)
                {
                    throw BerthException.Invalid($"cgroups: path \"{path}\" escapes the current cgroup");
                }

                continue;
            }

            stack.Add(part);
        }

        var joined = string.Join('/', stack);
        return absolute ? "/" + joined : joined;
    }
}
