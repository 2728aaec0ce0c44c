using System.Text;
using Berth.Core;
using Berth.Interop;

namespace Berth.Images;

/// <summary>Performs <see cref="Mount"/> descriptions with mount(2) and tears them down with umount2(2).</summary>
public static class MountHelper
{
    /// <summary>Kernel limit on the mount data string (one page).</summary>
    public const int MaxMountData = 4095;

    public static void Mount(Mount mount)
    {
        ulong flags = 0;
        var data = new List<string>();
        foreach (var o in mount.Options)
        {
            switch (o)
            {
                case "ro": flags |= Libc.MS_RDONLY; break;
                case "rw": break;
                case "bind": flags |= Libc.MS_BIND; break;
                case "rbind": flags |= Libc.MS_BIND | Libc.MS_REC; break;
                case "nosuid": flags |= Libc.MS_NOSUID; break;
                case "nodev": flags |= Libc.MS_NODEV; break;
                case "noexec": flags |= Libc.MS_NOEXEC; break;
                default: data.Add(o); break;
            }
        }
        var dataString = data.Count == 0 ? null : string.Join(',', data);
        if (dataString is not null && Encoding.UTF8.GetByteCount(dataString) > MaxMountData)
            throw BerthException.Invalid($"mount options for {mount.Target} exceed {MaxMountData} bytes (too many layers)");
        Directory.CreateDirectory(mount.Target);
        bool bind = (flags & Libc.MS_BIND) != 0;
        Libc.Check(Libc.mount(mount.Source, mount.Target, bind ? null : mount.Type, flags & ~Libc.MS_RDONLY, dataString),
            "mount", mount.Target);
        if (bind && (flags & Libc.MS_RDONLY) != 0) // a bind mount only becomes read-only on remount
            Libc.Check(Libc.mount("", mount.Target, null, Libc.MS_BIND | Libc.MS_RDONLY | Libc.MS_REMOUNT, null), "remount", mount.Target);
        if (!bind && (flags & Libc.MS_RDONLY) != 0)
            Libc.Check(Libc.mount("", mount.Target, null, Libc.MS_RDONLY | Libc.MS_REMOUNT, dataString), "remount", mount.Target);
    }

    /// <summary>Unmounts everything stacked on <paramref name="target"/>; not mounted is success.</summary>
    public static void Unmount(string target)
    {
        for (int i = 0; i < 16 && IsMounted(target); i++)
        {
            if (Libc.umount2(target, 0) == 0) continue;
            int e = Libc.Errno;
            if (e is Libc.EINVAL or Libc.ENOENT) return;
            if (e == Libc.EBUSY)
            {
                Libc.Check(Libc.umount2(target, Libc.MNT_DETACH), "umount2", target);
                continue;
            }
            throw new ErrnoException(e, "umount2", target);
        }
    }

    /// <summary>Whether some mount in this mount namespace has <paramref name="target"/> as its mount point.</summary>
    public static bool IsMounted(string target)
    {
        var full = Path.GetFullPath(target).TrimEnd('/');
        if (full.Length == 0) full = "/";
        foreach (var line in File.ReadLines("/proc/self/mountinfo"))
        {
            var fields = line.Split(' ');
            if (fields.Length > 4 && Unescape(fields[4]) == full) return true;
        }
        return false;
    }

    /// <summary>mountinfo escapes space, tab, newline and backslash as \ooo.</summary>
    internal static string Unescape(string s)
    {
        if (!s.Contains('\\')) return s;
        var sb = new StringBuilder(s.Length);
        for (int i = 0; i < s.Length; i++)
        {
            if (s[i] == '\\' && i + 3 < s.Length &&
                s[i + 1] is >= '0' and <= '7' && s[i + 2] is >= '0' and <= '7' && s[i + 3] is >= '0' and <= '7')
            {
                sb.Append((char)((s[i + 1] - '0') * 64 + (s[i + 2] - '0') * 8 + (s[i + 3] - '0')));
                i += 3;
            }
            else sb.Append(s[i]);
        }
        return sb.ToString();
    }
}
