using System.Runtime.InteropServices;

namespace Berth.Interop;

/// <summary>The *at family, xattrs, mount(2) and bpf(2): what layer unpacking, overlay mounts and cgroups need.</summary>
public static unsafe partial class Libc
{
    // The same on x86-64 and arm64 (linux/fcntl.h, linux/stat.h, linux/mount.h).
    public const int AT_FDCWD = -100, AT_SYMLINK_NOFOLLOW = 0x100, AT_REMOVEDIR = 0x200, AT_SYMLINK_FOLLOW = 0x400,
        AT_EMPTY_PATH = 0x1000;
    public const int S_IFIFO = 0x1000, S_IFCHR = 0x2000, S_IFDIR = 0x4000, S_IFBLK = 0x6000, S_IFREG = 0x8000;
    public const ulong MS_RDONLY = 1, MS_NOSUID = 2, MS_NODEV = 4, MS_NOEXEC = 8, MS_REMOUNT = 32, MS_BIND = 4096,
        MS_REC = 16384;
    public const int MNT_DETACH = 2;
    // The rest of mount(8)'s option words (linux/mount.h), for the local volume driver's `-o o=...`.
    public const ulong MS_SYNCHRONOUS = 16, MS_MANDLOCK = 64, MS_DIRSYNC = 128, MS_NOATIME = 1024,
        MS_NODIRATIME = 2048, MS_UNBINDABLE = 1 << 17, MS_PRIVATE = 1 << 18, MS_SLAVE = 1 << 19, MS_SHARED = 1 << 20,
        MS_RELATIME = 1 << 21, MS_STRICTATIME = 1 << 24;

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

    [LibraryImport(L, SetLastError = true, StringMarshalling = StringMarshalling.Utf8)]
    public static partial int utimensat(int dirfd, string path, Timespec* times, int flags);

    [LibraryImport(L, SetLastError = true, StringMarshalling = StringMarshalling.Utf8)]
    public static partial int fsetxattr(int fd, string name, byte* value, nuint size, int flags);

    [LibraryImport(L, SetLastError = true)]
    public static partial int syncfs(int fd);

    public const int LOCK_EX = 2, LOCK_NB = 4, EWOULDBLOCK = 11;

    [LibraryImport(L, SetLastError = true)]
    public static partial int flock(int fd, int operation);

    [LibraryImport(L, SetLastError = true, StringMarshalling = StringMarshalling.Utf8)]
    public static partial int mount(string source, string target, string? fstype, ulong flags, string? data);

    [LibraryImport(L, SetLastError = true, StringMarshalling = StringMarshalling.Utf8)]
    public static partial int umount2(string target, int flags);

    [LibraryImport(L, EntryPoint = "syscall", SetLastError = true)]
    private static partial long syscall3(long number, long arg1, void* arg2, long arg3);

    /// <summary>bpf(2) through syscall(2) (glibc has no wrapper), with this architecture's __NR_bpf.</summary>
    public static long bpf(int cmd, void* attr, uint size) => syscall3(LinuxArch.Current.SYS_bpf, cmd, attr, size);

    /// <summary>write(2) of a span: the count written, or -1 with errno set (no retry).</summary>
    public static nint Write(int fd, ReadOnlySpan<byte> data)
    {
        fixed (byte* p = data) return write(fd, p, data.Length);
    }

    /// <summary>glibc's makedev.</summary>
    public static ulong MakeDev(uint major, uint minor) =>
        ((ulong)(major & 0xfffff000) << 32) | ((ulong)(major & 0xfff) << 8) |
        ((ulong)(minor & 0xffffff00) << 12) | (minor & 0xff);
}
