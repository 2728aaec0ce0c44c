using System.Runtime.InteropServices;

namespace Berth.Interop;

/// <summary>openat2(2) with RESOLVE_IN_ROOT (Linux 5.6): a path resolved as if <c>dirfd</c> were "/" (every
/// symlink, absolute or with "..", stays under it), what `docker cp` needs to never leave a container's root.
/// The native piece does the same in C (src/native/path.c).</summary>
public static unsafe partial class Libc
{
    public const ulong RESOLVE_NO_XDEV = 0x01, RESOLVE_NO_MAGICLINKS = 0x02, RESOLVE_NO_SYMLINKS = 0x04,
        RESOLVE_BENEATH = 0x08, RESOLVE_IN_ROOT = 0x10;
    public const int SYS_openat2 = 437; // the same number on every architecture (asm-generic)

    [StructLayout(LayoutKind.Sequential)]
    private struct OpenHow
    {
        public ulong Flags, Mode, Resolve;
    }

    [LibraryImport(L, EntryPoint = "syscall", SetLastError = true)]
    private static partial long syscall5(long number, long arg1, byte* arg2, void* arg3, long arg4);

    /// <summary>openat2(dirfd, path, {flags, mode, RESOLVE_IN_ROOT | RESOLVE_NO_MAGICLINKS}): the fd, or -1 with
    /// errno set (EAGAIN retried: a rename elsewhere raced the lookup).</summary>
    public static int OpenInRoot(int rootFd, string path, int flags, int mode = 0)
    {
        var how = new OpenHow { Flags = (ulong)(uint)flags, Mode = (ulong)mode, Resolve = RESOLVE_IN_ROOT | RESOLVE_NO_MAGICLINKS };
        int n = System.Text.Encoding.UTF8.GetByteCount(path);
        byte* buf = stackalloc byte[n + 1];
        System.Text.Encoding.UTF8.GetBytes(path, new Span<byte>(buf, n));
        buf[n] = 0;
        for (int i = 0; ; i++)
        {
            long r = syscall5(SYS_openat2, rootFd, buf, &how, sizeof(OpenHow));
            if (r >= 0) return (int)r;
            if (Errno != EAGAIN || i > 100) return -1;
        }
    }
}
