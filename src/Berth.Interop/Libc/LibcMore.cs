using System.Runtime.InteropServices;

namespace Berth.Interop;

public static unsafe partial class Libc
{
    [LibraryImport(L, SetLastError = true)]
    public static partial int pipe2(int* fds, int flags);

    [LibraryImport(L, SetLastError = true)]
    public static partial int isatty(int fd);

    [LibraryImport(L, SetLastError = true)]
    public static partial int poll(PollFd* fds, nuint nfds, int timeout);

    [StructLayout(LayoutKind.Sequential)]
    public struct PollFd
    {
        public int Fd;
        public short Events;
        public short REvents;
    }

    public const short POLLIN = 1, POLLHUP = 0x10;

    /// <summary>Writes all of <paramref name="data"/> to fd, retrying on EINTR and short writes.</summary>
    public static void WriteAll(int fd, ReadOnlySpan<byte> data, string what)
    {
        fixed (byte* p = data)
        {
            int off = 0;
            while (off < data.Length)
            {
                nint n = write(fd, p + off, data.Length - off);
                if (n < 0)
                {
                    if (Errno == EINTR) continue;
                    throw new ErrnoException(Errno, "write", what);
                }
                off += (int)n;
            }
        }
    }

    public static (int Read, int Write) Pipe()
    {
        int* fds = stackalloc int[2];
        Check(pipe2(fds, O_CLOEXEC), "pipe2");
        return (fds[0], fds[1]);
    }

    /// <summary>waitpid retrying EINTR; returns the raw status.</summary>
    public static int WaitPid(int pid, bool noHang, out int reaped)
    {
        int status = 0;
        while (true)
        {
            int r = waitpid(pid, &status, noHang ? WNOHANG : 0);
            if (r < 0 && Errno == EINTR) continue;
            if (r < 0) throw new ErrnoException(Errno, "waitpid", pid.ToString());
            reaped = r;
            return status;
        }
    }
}

public static unsafe partial class Libc
{
    /// <summary>read(2) of up to buf.Length bytes; returns the count or -errno.</summary>
    public static int Read(int fd, Span<byte> buf)
    {
        fixed (byte* p = buf)
        {
            nint n = read(fd, p, buf.Length);
            return n < 0 ? -Errno : (int)n;
        }
    }

    /// <summary>poll(2) one fd for input; returns poll's result.</summary>
    public static int PollIn(int fd, int timeoutMs)
    {
        var pfd = new PollFd { Fd = fd, Events = POLLIN };
        return poll(&pfd, 1, timeoutMs);
    }
}

public static unsafe partial class Libc
{
    public const int AF_UNIX = 1, SOCK_STREAM = 1, SOCK_CLOEXEC = 0x80000;

    [LibraryImport(L, SetLastError = true)]
    public static partial int socketpair(int domain, int type, int protocol, int* sv);

    public static (int A, int B) SocketPair()
    {
        int* sv = stackalloc int[2];
        Check(socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv), "socketpair");
        return (sv[0], sv[1]);
    }
}
