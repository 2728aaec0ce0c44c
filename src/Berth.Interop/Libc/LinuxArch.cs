using System.Runtime.InteropServices;

namespace Berth.Interop;

/// <summary>
/// The ABI values that differ between Berth's two architectures, x86-64 and arm64. Everything else Berth uses
/// (errno, signals, CLONE_*, AT_*, MS_*, O_CREAT..O_CLOEXEC, O_PATH, the terminal ioctls, struct layouts) is the
/// same on both: both are LP64 and arm64 takes the asm-generic headers where x86-64 has its own.
/// </summary>
/// <remarks>
/// Sources (checked by tests/Berth.Interop.Tests against the host's C headers, and against these tables for the
/// other architecture): the kernel's uapi asm-generic/fcntl.h (x86-64 uses it unchanged) and
/// arch/arm64/include/uapi/asm/fcntl.h (O_DIRECTORY 040000, O_NOFOLLOW 0100000, O_DIRECT 0200000,
/// O_LARGEFILE 0400000); glibc's bits/fcntl.h, where O_LARGEFILE is 0 on every 64-bit ABI (the kernel forces it
/// for 64-bit processes); arch/x86/entry/syscalls/syscall_64.tbl and include/uapi/asm-generic/unistd.h.
/// </remarks>
public sealed record LinuxArch
{
    public required Architecture Architecture { get; init; }

    /// <summary>O_DIRECTORY, as libc and the kernel take it.</summary>
    public required int O_DIRECTORY { get; init; }

    /// <summary>O_NOFOLLOW: on arm64 the x86-64 value (0400000) is O_LARGEFILE, which does nothing.</summary>
    public required int O_NOFOLLOW { get; init; }

    public required int O_DIRECT { get; init; }

    /// <summary>O_LARGEFILE as the kernel reports it (e.g. in /proc/PID/fdinfo flags); libc's O_LARGEFILE is 0.</summary>
    public required int O_LARGEFILE_KERNEL { get; init; }

    /// <summary>O_TMPFILE as libc defines it: __O_TMPFILE (020000000) | O_DIRECTORY.</summary>
    public int O_TMPFILE => 0x400000 | O_DIRECTORY;

    /// <summary>__NR_bpf, for syscall(2) (glibc has no bpf wrapper).</summary>
    public required long SYS_bpf { get; init; }

    public static readonly LinuxArch X64 = new()
    {
        Architecture = Architecture.X64,
        O_DIRECTORY = 0x10000,   // 0200000
        O_NOFOLLOW = 0x20000,    // 0400000
        O_DIRECT = 0x4000,       // 040000
        O_LARGEFILE_KERNEL = 0x8000, // 0100000
        SYS_bpf = 321,
    };

    public static readonly LinuxArch Arm64 = new()
    {
        Architecture = Architecture.Arm64,
        O_DIRECTORY = 0x4000,    // 040000
        O_NOFOLLOW = 0x8000,     // 0100000
        O_DIRECT = 0x10000,      // 0200000
        O_LARGEFILE_KERNEL = 0x20000, // 0400000
        SYS_bpf = 280,
    };

    /// <summary>The table for <paramref name="architecture"/>; anything but x86-64 and arm64 is refused.</summary>
    public static LinuxArch For(Architecture architecture) => architecture switch
    {
        Architecture.X64 => X64,
        Architecture.Arm64 => Arm64,
        _ => throw new PlatformNotSupportedException(
            $"Berth supports x86-64 and arm64 Linux; this process runs on {architecture}"),
    };

    /// <summary>The table of the running process (<see cref="RuntimeInformation.ProcessArchitecture"/>).</summary>
    public static readonly LinuxArch Current = For(RuntimeInformation.ProcessArchitecture);
}
