using Berth.Core;

namespace Berth.Interop;

/// <summary>A failed system call: names the call and, where there is one, the path.</summary>
public sealed class ErrnoException : BerthException
{
    public ErrnoException(int errno, string syscall, string? path = null)
        : base(KindOf(errno), Format(errno, syscall, path))
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

    private static ErrorKind KindOf(int errno) => errno switch
    {
        Libc.ENOENT or Libc.ESRCH => ErrorKind.NotFound,
        Libc.EINVAL => ErrorKind.InvalidParameter,
        Libc.EEXIST or Libc.EBUSY => ErrorKind.Conflict,
        Libc.EPERM or Libc.EACCES => ErrorKind.Forbidden,
        _ => ErrorKind.System,
    };
}
