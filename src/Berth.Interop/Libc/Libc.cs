using System.Runtime.InteropServices;

namespace Berth.Interop;

/// <summary>libc functions, C names kept so man pages map 1:1. Managed wrappers check errno.</summary>
public static unsafe partial class Libc
{
    private const string L = "libc";

    // The same on x86-64 and arm64 (asm-generic/errno-base.h, asm-generic/errno.h).
    public const int EPERM = 1, ENOENT = 2, ESRCH = 3, EINTR = 4, EIO = 5, EBADF = 9, ECHILD = 10, EAGAIN = 11,
        ENOMEM = 12, EACCES = 13, EBUSY = 16, EEXIST = 17, ENOTDIR = 20, EISDIR = 21, EINVAL = 22, ENOSPC = 28,
        EPIPE = 32, ERANGE = 34, ENOSYS = 38, ENOTEMPTY = 39, ELOOP = 40, ENXIO = 6, ENODATA = 61, EOVERFLOW = 75;

    // The same on x86-64 and arm64.
    public const int O_RDONLY = 0, O_WRONLY = 1, O_RDWR = 2, O_CREAT = 0x40, O_EXCL = 0x80, O_NOCTTY = 0x100,
        O_TRUNC = 0x200, O_APPEND = 0x400, O_NONBLOCK = 0x800, O_CLOEXEC = 0x80000, O_PATH = 0x200000;

    /// <summary>libc's O_LARGEFILE: 0 on 64-bit ABIs (see <see cref="LinuxArch.O_LARGEFILE_KERNEL"/>).</summary>
    public const int O_LARGEFILE = 0;

    // Per architecture (LinuxArch): x86-64 and arm64 differ.
    public static readonly int O_DIRECTORY = LinuxArch.Current.O_DIRECTORY;
    public static readonly int O_NOFOLLOW = LinuxArch.Current.O_NOFOLLOW;
    public static readonly int O_DIRECT = LinuxArch.Current.O_DIRECT;
    public static readonly int O_TMPFILE = LinuxArch.Current.O_TMPFILE;

    public const int CLONE_NEWNS = 0x00020000, CLONE_NEWCGROUP = 0x02000000, CLONE_NEWUTS = 0x04000000,
        CLONE_NEWIPC = 0x08000000, CLONE_NEWUSER = 0x10000000, CLONE_NEWPID = 0x20000000, CLONE_NEWNET = 0x40000000,
        CLONE_NEWTIME = 0x00000080;

    public const int SIGHUP = 1, SIGINT = 2, SIGQUIT = 3, SIGKILL = 9, SIGUSR1 = 10, SIGTERM = 15, SIGCHLD = 17,
        SIGCONT = 18, SIGSTOP = 19, SIGWINCH = 28;

    public const int WNOHANG = 1;
    public const int PR_SET_CHILD_SUBREAPER = 36;

    [LibraryImport(L, EntryPoint = "strerror")]
    private static partial byte* strerror(int errnum);

    public static string StrError(int errno) => Marshal.PtrToStringUTF8((nint)strerror(errno)) ?? $"errno {errno}";

    [LibraryImport(L, SetLastError = true)]
    public static partial int kill(int pid, int sig);

    [LibraryImport(L, SetLastError = true)]
    public static partial int waitpid(int pid, int* status, int options);

    [LibraryImport(L, SetLastError = true)]
    public static partial int close(int fd);

    [LibraryImport(L, SetLastError = true, StringMarshalling = StringMarshalling.Utf8)]
    public static partial int open(string path, int flags, int mode);

    [LibraryImport(L, SetLastError = true)]
    public static partial nint read(int fd, byte* buf, nint count);

    [LibraryImport(L, SetLastError = true)]
    public static partial nint write(int fd, byte* buf, nint count);

    [LibraryImport(L, SetLastError = true)]
    public static partial int fsync(int fd);

    [LibraryImport(L, SetLastError = true, StringMarshalling = StringMarshalling.Utf8)]
    public static partial int mkfifo(string path, int mode);

    [LibraryImport(L, SetLastError = true, StringMarshalling = StringMarshalling.Utf8)]
    public static partial int mkdir(string path, int mode);

    [LibraryImport(L, SetLastError = true, StringMarshalling = StringMarshalling.Utf8)]
    public static partial int rmdir(string path);

    [LibraryImport(L, SetLastError = true)]
    public static partial int prctl(int option, nuint arg2, nuint arg3, nuint arg4, nuint arg5);

    [LibraryImport(L)]
    public static partial int getpid();

    [LibraryImport(L)]
    public static partial uint geteuid();

    public static int Errno => Marshal.GetLastPInvokeError();

    /// <summary>Throws <see cref="ErrnoException"/> when <paramref name="result"/> is -1.</summary>
    public static int Check(int result, string syscall, string? path = null) =>
        result == -1 ? throw new ErrnoException(Errno, syscall, path) : result;

    /// <summary>Decodes a wait status the way a shell does: exit code, or 128 + signal.</summary>
    public static int ExitCodeOf(int status) => (status & 0x7f) == 0 ? (status >> 8) & 0xff : 128 + (status & 0x7f);
}
