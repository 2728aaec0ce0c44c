using System.Runtime.InteropServices;

namespace Berth.Interop;

/// <summary>realpath(3) and utimensat by path: what container mounts need (bind sources resolved on the host, a
/// volume filled with an image's content; its xattrs through LibcXattr.cs).</summary>
public static unsafe partial class Libc
{
    [LibraryImport(L, EntryPoint = "realpath", SetLastError = true, StringMarshalling = StringMarshalling.Utf8)]
    private static partial byte* realpath_(string path, byte* resolved);

    /// <summary>The path with every symlink, "." and ".." resolved (the file must exist); throws <see cref="ErrnoException"/>.</summary>
    public static string RealPath(string path)
    {
        byte* buf = stackalloc byte[4097];
        if (realpath_(path, buf) == null) Check(-1, "realpath", path);
        return Marshal.PtrToStringUTF8((nint)buf)!;
    }

    /// <summary>Sets a file's access and modification times (not following a final symlink); false on failure.</summary>
    public static bool SetTimes(string path, long sec, long nsec)
    {
        Timespec* times = stackalloc Timespec[2];
        times[0] = times[1] = new Timespec { Sec = sec, Nsec = nsec };
        return utimensat(AT_FDCWD, path, times, AT_SYMLINK_NOFOLLOW) == 0;
    }
}
