using Berth.Core;

namespace Berth.Interop;

/// <summary>
/// A failed system call: the errno, the call and, where there is one, the path; nothing more. Interop does not
/// know what a failure means to the caller (ENOENT of a layer file is not "no such container"), so its
/// <see cref="BerthException.Kind"/> is always <see cref="ErrorKind.System"/>. A caller that knows the meaning
/// catches it and throws a classified <see cref="BerthException"/> (as PendingCreate does for EEXIST); what no
/// caller classified is mapped once, by errno, in the daemon's ErrorMapping.
/// </summary>
public sealed class ErrnoException : BerthException
{
    public ErrnoException(int errno, string syscall, string? path = null)
        : base(ErrorKind.System, Format(errno, syscall, path))
    {
        Errno = errno;
        Syscall = syscall;
        Path = path;
    }

    public int Errno { get; }
    public string Syscall { get; }
    public string? Path { get; }

    private static string Format(int errno, string syscall, string? path) =>
        path is null ? $"{syscall}: {Libc.StrError(errno)}" : $"{syscall} {path}: {Libc.StrError(errno)}";
}
