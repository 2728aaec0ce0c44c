using System.Runtime.InteropServices;
using Berth.Interop;

namespace Berth.Images.Native;

/// <summary>The *at family, xattrs and mount(2): what layer unpacking and overlay mounts need beyond Berth.Interop.Libc.</summary>
internal static unsafe partial class Sys
{
    private const string L = "libc";

    public const int AT_FDCWD = -100, AT_SYMLINK_NOFOLLOW = 0x100, AT_REMOVEDIR = 0x200, AT_EMPTY_PATH = 0x1000;
    public const int S_IFCHR = 0x2000, S_IFBLK = 0x6000, S_IFIFO = 0x1000;
    public const ulong MS_RDONLY = 1, MS_NOSUID = 2, MS_NODEV = 4, MS_NOEXEC = 8, MS_BIND = 4096, MS_REC = 16384;
    public const int MNT_DETACH = 2;
    public const int ENOTDIR = 20, ELOOP = 40, EEXIST = 17, ENOENT = 2, EISDIR = 21, EINVAL = 22, EBUSY = 16,
        ENOTEMPTY = 39, EPERM = 1, ENODATA = 61;

    [StructLayout(LayoutKind.Sequential)]
    public struct Timespec
    {
        public long Sec;
        public long Nsec;
    }

    [LibraryImport(L, SetLastError = true, StringMarshalling = StringMarshalling.Utf8)]
    public static partial int openat(int dirfd, string path, int flags, int mode);

    [LibraryImport(L, SetLastError = true, StringMarshalling = StringMarshalling.Utf8)]
    public static partial int mkdirat(int dirfd, string path, int mode);

    [LibraryImport(L, SetLastError = true, StringMarshalling = StringMarshalling.Utf8)]
    public static partial int mknodat(int dirfd, string path, int mode, ulong dev);

    [LibraryImport(L, SetLastError = true, StringMarshalling = StringMarshalling.Utf8)]
    public static partial int symlinkat(string target, int newdirfd, string linkpath);

    [LibraryImport(L, SetLastError = true, StringMarshalling = StringMarshalling.Utf8)]
    public static partial int linkat(int olddirfd, string oldpath, int newdirfd, string newpath, int flags);

    [LibraryImport(L, SetLastError = true, StringMarshalling = StringMarshalling.Utf8)]
    public static partial int unlinkat(int dirfd, string path, int flags);

    [LibraryImport(L, SetLastError = true, StringMarshalling = StringMarshalling.Utf8)]
    public static partial int fchownat(int dirfd, string path, int uid, int gid, int flags);

    [LibraryImport(L, SetLastError = true, StringMarshalling = StringMarshalling.Utf8)]
    public static partial int fchmodat(int dirfd, string path, int mode, int flags);

    [LibraryImport(L, SetLastError = true)]
    public static partial int fchmod(int fd, int mode);

    [LibraryImport(L, SetLastError = true)]
    public static partial int fchown(int fd, int uid, int gid);

    [LibraryImport(L, SetLastError = true, StringMarshalling = StringMarshalling.Utf8)]
    public static partial int utimensat(int dirfd, string path, Timespec* times, int flags);

    [LibraryImport(L, SetLastError = true, StringMarshalling = StringMarshalling.Utf8)]
    public static partial int fsetxattr(int fd, string name, byte* value, nuint size, int flags);

    [LibraryImport(L, SetLastError = true, StringMarshalling = StringMarshalling.Utf8)]
    public static partial nint lgetxattr(string path, string name, byte* value, nuint size);

    [LibraryImport(L, SetLastError = true)]
    public static partial int syncfs(int fd);

    public const int LOCK_EX = 2, LOCK_NB = 4, EWOULDBLOCK = 11;

    [LibraryImport(L, SetLastError = true)]
    public static partial int flock(int fd, int operation);

    [LibraryImport(L, SetLastError = true, StringMarshalling = StringMarshalling.Utf8)]
    public static partial int mount(string source, string target, string? fstype, ulong flags, string? data);

    [LibraryImport(L, SetLastError = true, StringMarshalling = StringMarshalling.Utf8)]
    public static partial int umount2(string target, int flags);

    public static ulong MakeDev(uint major, uint minor) =>
        ((ulong)(major & 0xfffff000) << 32) | ((ulong)(major & 0xfff) << 8) |
        ((ulong)(minor & 0xffffff00) << 12) | (minor & 0xff);

    public static int Errno => Marshal.GetLastPInvokeError();

    public static int Check(int r, string call, string? path = null) =>
        r == -1 ? throw new ErrnoException(Errno, call, path) : r;

    /// <summary>Reads an xattr without following a final symlink; null when absent.</summary>
    public static string? GetXattr(string path, string name)
    {
        byte* buf = stackalloc byte[256];
        nint n = lgetxattr(path, name, buf, 256);
        return n < 0 ? null : System.Text.Encoding.UTF8.GetString(buf, (int)n);
    }
}
