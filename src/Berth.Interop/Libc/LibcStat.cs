using System.Runtime.InteropServices;

namespace Berth.Interop;

/// <summary>
/// statx(2): one struct layout on every architecture (struct stat differs between x86-64 and arm64), so
/// callers get file metadata without per-architecture structs.
/// </summary>
public static unsafe partial class Libc
{
    public const uint STATX_BASIC_STATS = 0x7ff;

    public struct StatxTimestamp
    {
        public long Sec;
        public uint Nsec;
        public int Reserved;
    }

    /// <summary>struct statx (uapi linux/stat.h), 256 bytes.</summary>
    [StructLayout(LayoutKind.Sequential, Size = 256)]
    public struct Statx
    {
        public uint Mask, Blksize;
        public ulong Attributes;
        public uint Nlink, Uid, Gid;
        public ushort Mode, Spare0;
        public ulong Ino, Size, Blocks, AttributesMask;
        public StatxTimestamp Atime, Btime, Ctime, Mtime;
        public uint RdevMajor, RdevMinor, DevMajor, DevMinor;
    }

    [LibraryImport(L, EntryPoint = "statx", SetLastError = true, StringMarshalling = StringMarshalling.Utf8)]
    public static partial int statx(int dirfd, string path, int flags, uint mask, Statx* buf);

    /// <summary>File metadata as stat(2) reports it.</summary>
    public readonly record struct FileStat(ulong Dev, ulong Ino, ulong Nlink, uint Mode, uint Uid, uint Gid, ulong Rdev,
        long Size, long Mtime, long MtimeNs);

    /// <summary>lstat(2) through statx: does not follow a final symlink; throws <see cref="ErrnoException"/>.</summary>
    public static FileStat Lstat(string path)
    {
        Statx st;
        Check(statx(AT_FDCWD, path, AT_SYMLINK_NOFOLLOW, STATX_BASIC_STATS, &st), "lstat", path);
        return new FileStat(MakeDev(st.DevMajor, st.DevMinor), st.Ino, st.Nlink, st.Mode, st.Uid, st.Gid,
            MakeDev(st.RdevMajor, st.RdevMinor), (long)st.Size, st.Mtime.Sec, st.Mtime.Nsec);
    }

    /// <summary>stat(2) through statx: follows symlinks; throws <see cref="ErrnoException"/>.</summary>
    public static FileStat Stat(string path)
    {
        Statx st;
        Check(statx(AT_FDCWD, path, 0, STATX_BASIC_STATS, &st), "stat", path);
        return new FileStat(MakeDev(st.DevMajor, st.DevMinor), st.Ino, st.Nlink, st.Mode, st.Uid, st.Gid,
            MakeDev(st.RdevMajor, st.RdevMinor), (long)st.Size, st.Mtime.Sec, st.Mtime.Nsec);
    }

    /// <summary>glibc's major(3) and minor(3) of a device number made by <see cref="MakeDev"/>.</summary>
    public static long DevMajor(ulong dev) => (long)(((dev >> 8) & 0xfff) | ((dev >> 32) & ~0xfffUL));

    public static long DevMinor(ulong dev) => (long)((dev & 0xff) | ((dev >> 12) & ~0xffUL));

    [LibraryImport(L, SetLastError = true, StringMarshalling = StringMarshalling.Utf8)]
    public static partial nint lgetxattr(string path, string name, byte* value, nuint size);

    /// <summary>Reads an xattr (up to 4 KiB) without following a final symlink; null when absent.</summary>
    public static string? GetXattr(string path, string name)
    {
        byte* buf = stackalloc byte[4096];
        nint n = lgetxattr(path, name, buf, 4096);
        return n < 0 ? null : System.Text.Encoding.UTF8.GetString(buf, (int)n);
    }
}
