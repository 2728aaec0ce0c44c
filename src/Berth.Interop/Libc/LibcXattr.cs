using System.Runtime.InteropServices;

namespace Berth.Interop;

/// <summary>Reading a tree without following symlinks (volume export): statx/readlink relative to a directory fd,
/// and xattrs as raw bytes through the l* calls.</summary>
public static unsafe partial class Libc
{
    [LibraryImport(L, SetLastError = true, StringMarshalling = StringMarshalling.Utf8)]
    public static partial nint readlinkat(int dirfd, string path, byte* buf, nuint size);

    [LibraryImport(L, SetLastError = true, StringMarshalling = StringMarshalling.Utf8)]
    public static partial nint llistxattr(string path, byte* list, nuint size);

    [LibraryImport(L, SetLastError = true, StringMarshalling = StringMarshalling.Utf8)]
    public static partial int lsetxattr(string path, string name, byte* value, nuint size, int flags);

    public const int ENOTSUP = 95;

    /// <summary>fstatat(dirfd, name, AT_SYMLINK_NOFOLLOW) through statx; throws <see cref="ErrnoException"/>.</summary>
    public static FileStat LstatAt(int dirfd, string name)
    {
        Statx st;
        Check(statx(dirfd, name, AT_SYMLINK_NOFOLLOW, STATX_BASIC_STATS, &st), "lstat", name);
        return new FileStat(MakeDev(st.DevMajor, st.DevMinor), st.Ino, st.Nlink, st.Mode, st.Uid, st.Gid,
            MakeDev(st.RdevMajor, st.RdevMinor), (long)st.Size, st.Mtime.Sec, st.Mtime.Nsec);
    }

    /// <summary>The target of the symlink dirfd/name.</summary>
    public static string ReadLinkAt(int dirfd, string name)
    {
        for (int size = 256; ; size *= 4)
        {
            var buf = new byte[size];
            nint n;
            fixed (byte* p = buf) n = readlinkat(dirfd, name, p, (nuint)size);
            if (n < 0) throw new ErrnoException(Errno, "readlink", name);
            if (n < size) return System.Text.Encoding.UTF8.GetString(buf, 0, (int)n);
        }
    }

    /// <summary>Every xattr of <paramref name="path"/> (final symlink not followed) as name → raw value; empty when the
    /// filesystem has none or does not support them.</summary>
    public static List<(string Name, byte[] Value)> ListXattrs(string path)
    {
        var result = new List<(string, byte[])>();
        nint n = llistxattr(path, null, 0);
        if (n < 0)
        {
            if (Errno is ENOTSUP) return result;
            throw new ErrnoException(Errno, "llistxattr", path);
        }
        if (n == 0) return result;
        var list = new byte[n + 256];
        fixed (byte* p = list) n = llistxattr(path, p, (nuint)list.Length);
        if (n < 0) throw new ErrnoException(Errno, "llistxattr", path);
        int start = 0;
        for (int i = 0; i < n; i++)
        {
            if (list[i] != 0) continue;
            var name = System.Text.Encoding.UTF8.GetString(list, start, i - start);
            start = i + 1;
            if (name.Length == 0) continue;
            nint vn = lgetxattr(path, name, null, 0);
            if (vn < 0)
            {
                if (Errno == ENODATA) continue; // removed meanwhile
                throw new ErrnoException(Errno, "lgetxattr", path + " " + name);
            }
            var value = new byte[vn];
            fixed (byte* v = value) vn = lgetxattr(path, name, v, (nuint)value.Length);
            if (vn < 0) throw new ErrnoException(Errno, "lgetxattr", path + " " + name);
            result.Add((name, value.AsSpan(0, (int)vn).ToArray()));
        }
        return result;
    }

    /// <summary>lsetxattr with raw bytes; returns 0 or -errno.</summary>
    public static int SetXattr(string path, string name, ReadOnlySpan<byte> value)
    {
        fixed (byte* p = value)
            return lsetxattr(path, name, p, (nuint)value.Length, 0) == 0 ? 0 : -Errno;
    }

    /// <summary>Sets atime and mtime of dirfd/name (a final symlink itself) to sec.nsec; throws <see cref="ErrnoException"/>.</summary>
    public static void SetTimesAt(int dirfd, string name, long sec, long nsec)
    {
        var ts = stackalloc Timespec[2];
        ts[0].Sec = ts[1].Sec = sec;
        ts[0].Nsec = ts[1].Nsec = nsec;
        Check(utimensat(dirfd, name, ts, AT_SYMLINK_NOFOLLOW), "utimensat", name);
    }
}
