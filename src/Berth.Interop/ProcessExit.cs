using System.Runtime.InteropServices;

namespace Berth.Interop;

/// <summary>Waits for a process that is not our child to end, through a pidfd (pidfd_open(2), Linux 5.3+):
/// readable once the process has exited. No polling of /proc.</summary>
public static unsafe partial class ProcessExit
{
    private const long SYS_pidfd_open = 434; // the same number on x86-64 and arm64 (asm-generic)

    [LibraryImport("libc", EntryPoint = "syscall", SetLastError = true)]
    private static partial long syscall2(long number, long a, long b);

    /// <summary>A pidfd for <paramref name="pid"/> (close it), or -1 when there is no such process.</summary>
    public static int Open(int pid)
    {
        int fd = (int)syscall2(SYS_pidfd_open, pid, 0);
        if (fd >= 0) return fd;
        int errno = Marshal.GetLastPInvokeError();
        if (errno == Libc.ESRCH) return -1;
        throw new ErrnoException(errno, "pidfd_open", pid.ToString(System.Globalization.CultureInfo.InvariantCulture));
    }

    /// <summary>Polls <paramref name="fd"/> (readable) and a pidfd (readable once the process ended) together.
    /// Returns 1 when fd is readable, 2 when the process ended (and fd is not readable), 0 on time-out.</summary>
    public static int PollWithProcess(int fd, int pidfd, int timeoutMs)
    {
        var fds = stackalloc Libc.PollFd[2];
        fds[0] = new Libc.PollFd { Fd = fd, Events = Libc.POLLIN };
        fds[1] = new Libc.PollFd { Fd = pidfd, Events = Libc.POLLIN };
        while (true)
        {
            int r = Libc.poll(fds, pidfd >= 0 ? 2u : 1u, timeoutMs);
            if (r < 0 && Marshal.GetLastPInvokeError() == Libc.EINTR) continue;
            if (r < 0) throw new ErrnoException(Marshal.GetLastPInvokeError(), "poll", "");
            if (r == 0) return 0;
            if ((fds[0].REvents & Libc.POLLIN) != 0) return 1;
            return pidfd >= 0 && fds[1].REvents != 0 ? 2 : 1;
        }
    }

    /// <summary>Waits (blocking) until the process behind <paramref name="pidfd"/> has ended; false on time-out.</summary>
    public static bool Wait(int pidfd, TimeSpan limit)
    {
        var p = new Libc.PollFd { Fd = pidfd, Events = Libc.POLLIN };
        var deadline = Environment.TickCount64 + (long)limit.TotalMilliseconds;
        while (true)
        {
            int ms = (int)Math.Max(0, deadline - Environment.TickCount64);
            int r = Libc.poll(&p, 1, ms);
            if (r > 0) return true;
            if (r < 0 && Marshal.GetLastPInvokeError() == Libc.EINTR) continue;
            if (r < 0) throw new ErrnoException(Marshal.GetLastPInvokeError(), "poll", "pidfd");
            return false;
        }
    }

    /// <summary>Completes when <paramref name="pid"/> has ended (at once if it is gone), or after <paramref name="limit"/>.
    /// Returns whether it ended.</summary>
    public static Task<bool> WaitAsync(int pid, TimeSpan limit, CancellationToken ct = default)
    {
        int fd = (int)syscall2(SYS_pidfd_open, pid, 0);
        if (fd < 0) return Task.FromResult(Marshal.GetLastPInvokeError() == Libc.ESRCH);
        // A blocking poll on a pool thread: this is a fallback path (a monitor that is not reachable), rare.
        return Task.Run(() =>
        {
            try
            {
                var deadline = DateTime.UtcNow + limit;
                while (!ct.IsCancellationRequested)
                {
                    int ms = (int)Math.Clamp((deadline - DateTime.UtcNow).TotalMilliseconds, 0, 200);
                    var p = new Libc.PollFd { Fd = fd, Events = Libc.POLLIN };
                    int r = Libc.poll(&p, 1, ms);
                    if (r > 0) return true;
                    if (r < 0 && Marshal.GetLastPInvokeError() != Libc.EINTR) return false;
                    if (ms == 0) return false;
                }
                return false;
            }
            finally
            {
                Libc.close(fd);
            }
        }, CancellationToken.None);
    }
}
