using System.Runtime.InteropServices;

namespace Berth.Cgroups.Internal;

internal static partial class NativeMethods
{
    public const int ENOENT = 2, ESRCH = 3, EINTR = 4, EBUSY = 16, EINVAL = 22, ERANGE = 34, EOVERFLOW = 75, ENOTEMPTY = 39;
    public const int O_WRONLY = 1, O_TRUNC = 0x200, O_CLOEXEC = 0x80000;
    public const int SIGKILL = 9;

    [LibraryImport("libc", EntryPoint = "open", SetLastError = true, StringMarshalling = StringMarshalling.Utf8)]
    public static partial int Open(string path, int flags);

    [LibraryImport("libc", EntryPoint = "write", SetLastError = true)]
    public static partial nint Write(int fd, byte[] buf, nint count);

    [LibraryImport("libc", EntryPoint = "close", SetLastError = true)]
    public static partial int Close(int fd);

    [LibraryImport("libc", EntryPoint = "rmdir", SetLastError = true, StringMarshalling = StringMarshalling.Utf8)]
    public static partial int Rmdir(string path);

    [LibraryImport("libc", EntryPoint = "kill", SetLastError = true)]
    public static partial int Kill(int pid, int sig);

    public static string StrError(int errno) => Marshal.GetPInvokeErrorMessage(errno);
}

/// <summary>bpf(2) and the few other calls the eBPF device filter needs.</summary>
internal static unsafe partial class BpfNative
{
    public const int O_RDONLY = 0, O_DIRECTORY = 0x10000, O_CLOEXEC = 0x80000;

    // x86_64 / arm64 __NR_bpf.
    public static long SysBpf => System.Runtime.InteropServices.RuntimeInformation.ProcessArchitecture switch
    {
        System.Runtime.InteropServices.Architecture.X64 => 321,
        System.Runtime.InteropServices.Architecture.Arm64 => 280,
        var a => throw new PlatformNotSupportedException($"bpf(2): unsupported architecture {a}"),
    };

    [LibraryImport("libc", EntryPoint = "syscall", SetLastError = true)]
    public static partial long Syscall(long number, long cmd, void* attr, long size);

    [LibraryImport("libc", EntryPoint = "open", SetLastError = true, StringMarshalling = StringMarshalling.Utf8)]
    public static partial int Open(string path, int flags);

    [LibraryImport("libc", EntryPoint = "close", SetLastError = true)]
    public static partial int Close(int fd);
}
