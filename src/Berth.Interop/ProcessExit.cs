using System.Runtime.InteropServices;

namespace Berth.Interop;

/// <summary>Waits for a process that is not our child to end, through a pidfd (pidfd_open(2), Linux 5.3+):
/// readable once the process has exited. No polling of /proc.</summary>
public static unsafe partial class ProcessExit
{
    private const long SYS_pidfd_open = 434; // the same number on x86-64 and arm64 (asm-generic)

    [LibraryImport("libc", EntryPoint = "syscall", SetLastError = true)]
    private static partial long syscall2(long number, long a, long b);

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
