using System.Runtime.InteropServices;

namespace Berth.Interop;

/// <summary>realpath(3) and the l*xattr calls: what container mounts need (bind sources resolved on the host, a
/// volume filled with an image's content, extended attributes included).</summary>
public static unsafe partial class Libc
{
    [LibraryImport(L, EntryPoint = "realpath", SetLastError = true, StringMarshalling = StringMarshalling.Utf8)]
    private static partial byte* realpath_(string path, byte* resolved);

    [LibraryImport(L, SetLastError = true, StringMarshalling = StringMarshalling.Utf8)]
    public static partial nint llistxattr(string path, byte* list, nuint size);

    [LibraryImport(L, SetLastError = true, StringMarshalling = StringMarshalling.Utf8)]
    public static partial int lsetxattr(string path, string name, byte* value, nuint size, int flags);

    /// <summary>The path with every symlink, "." and ".." resolved (the file must exist); throws <see cref="ErrnoException"/>.</summary>
    public static string RealPath(string path)
    {
        byte* buf = stackalloc byte[4097];
        if (realpath_(path, buf) == null) Check(-1, "realpath", path);
        return Marshal.PtrToStringUTF8((nint)buf)!;
    }

    /// <summary>Every extended attribute of a file (not following a final symlink), values as bytes.</summary>
    public static List<(string Name, byte[] Value)> ListXattrs(string path)
    {
        var result = new List<(string, byte[])>();
        nint n = llistxattr(path, null, 0);
        if (n <= 0) return result;
        var names = new byte[n + 1];
        fixed (byte* p = names) n = llistxattr(path, p, (nuint)names.Length);
        if (n <= 0) return result;
        foreach (var name in System.Text.Encoding.UTF8.GetString(names, 0, (int)n).Split('\0', StringSplitOptions.RemoveEmptyEntries))
        {
            nint size = lgetxattr(path, name, null, 0);
            if (size < 0) continue;
            var value = new byte[size];
            fixed (byte* v = value) size = size == 0 ? 0 : lgetxattr(path, name, v, (nuint)value.Length);
            if (size >= 0) result.Add((name, value[..(int)size]));
        }
        return result;
    }

    /// <summary>Sets an extended attribute without following a final symlink; false when the filesystem refuses it.</summary>
    public static bool SetXattr(string path, string name, byte[] value)
    {
        fixed (byte* v = value) return lsetxattr(path, name, v, (nuint)value.Length, 0) == 0;
    }

    /// <summary>Sets a file's access and modification times (not following a final symlink); false on failure.</summary>
    public static bool SetTimes(string path, long sec, long nsec)
    {
        Timespec* times = stackalloc Timespec[2];
        times[0] = times[1] = new Timespec { Sec = sec, Nsec = nsec };
        return utimensat(AT_FDCWD, path, times, AT_SYMLINK_NOFOLLOW) == 0;
    }
}
