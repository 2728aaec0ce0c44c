using Berth.Core;
using Berth.Runtime.Spec;

namespace Berth.Engine.Specs;

/// <summary>
/// Docker's `--user` (`name`, `uid`, `name:group`, `uid:gid`) resolved against the container's /etc/passwd and
/// /etc/group, with the user's supplementary groups (moby's user lookup).
/// </summary>
public static class UserSpec
{
    /// <param name="groupAdd">--group-add: each a group name of the container's /etc/group or a number (runc's
    /// GetAdditionalGroups: a name or gid in the file first, then any number in range).</param>
    public static User Resolve(string? user, string rootfs, IReadOnlyList<string>? groupAdd = null)
    {
        if (string.IsNullOrEmpty(user)) user = "0";
        var parts = user.Split(':', 2);
        var passwd = ReadDb(rootfs, "passwd");
        var groups = ReadDb(rootfs, "group");

        uint uid;
        uint gid = 0;
        string? userName = null;
        if (uint.TryParse(parts[0], out uid))
        {
            var entry = passwd.FirstOrDefault(p => p.Length >= 4 && p[2] == parts[0]);
            if (entry is not null)
            {
                userName = entry[0];
                gid = uint.TryParse(entry[3], out var g) ? g : 0;
            }
        }
        else
        {
            var entry = passwd.FirstOrDefault(p => p.Length >= 4 && p[0] == parts[0])
                ?? throw BerthException.Invalid($"unable to find user {parts[0]}: no matching entries in passwd file");
            userName = entry[0];
            uid = uint.Parse(entry[2]);
            gid = uint.TryParse(entry[3], out var g) ? g : 0;
        }

        if (parts.Length > 1)
        {
            if (!uint.TryParse(parts[1], out gid))
            {
                var entry = groups.FirstOrDefault(g => g.Length >= 3 && g[0] == parts[1])
                    ?? throw BerthException.Invalid($"unable to find group {parts[1]}: no matching entries in group file");
                gid = uint.Parse(entry[2]);
            }
        }

        var additional = new SortedSet<uint>();
        if (userName is not null)
        {
            foreach (var g in groups)
            {
                if (g.Length >= 4 && g[3].Split(',').Contains(userName) && uint.TryParse(g[2], out var id) && id != gid)
                    additional.Add(id);
            }
        }
        foreach (var ag in groupAdd ?? [])
        {
            var entry = groups.FirstOrDefault(g => g.Length >= 3 && (g[0] == ag || g[2] == ag) && uint.TryParse(g[2], out _));
            if (entry is not null) additional.Add(uint.Parse(entry[2]));
            else if (long.TryParse(ag, System.Globalization.NumberStyles.AllowLeadingSign, null, out long n))
                additional.Add(n is >= 0 and <= int.MaxValue ? (uint)n : throw BerthException.Invalid("user: uid or gid out of range"));
            else throw BerthException.Invalid($"Unable to find group {ag}");
        }
        return new User { Uid = uid, Gid = gid, AdditionalGids = additional.Count > 0 ? [.. additional] : null };
    }

    /// <summary>Lines of /etc/NAME in the rootfs split on ':'; a symlinked file (which could point outside) is not read.</summary>
    private static List<string[]> ReadDb(string rootfs, string name)
    {
        var etc = Path.Combine(rootfs, "etc");
        var path = Path.Combine(etc, name);
        try
        {
            if (new DirectoryInfo(etc).LinkTarget is not null || new FileInfo(path).LinkTarget is not null || !File.Exists(path))
                return [];
            return File.ReadLines(path).Where(l => l.Length > 0 && l[0] != '#').Select(l => l.Split(':')).ToList();
        }
        catch (IOException)
        {
            return [];
        }
    }
}
