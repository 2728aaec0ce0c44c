using Berth.Core;
using Berth.Interop;

namespace Berth.Runtime.Lifecycle;

/// <summary>The start signal of a process waiting on an exec fifo (a created init, or berthd's exec processes).</summary>
public static class ExecFifo
{
    /// <summary>
    /// Lets the process waiting on <paramref name="fifoPath"/> exec: reads its byte. The byte, or the process's end
    /// (through a pidfd), are waited for together, no polling; a process that ended first is an error.
    /// </summary>
    public static void Release(string fifoPath, int pid, ulong pidStartTime, int timeoutMs = 60_000) =>
        Release(Open(fifoPath), fifoPath, pid, pidStartTime, timeoutMs);

    /// <summary>Opens the fifo's reading end (non-blocking). The process waiting in its open for writing goes on at
    /// once (it writes its byte and execs), so a caller that waits for the byte elsewhere opens here, first, without
    /// that hop (<see cref="Release(int, string, int, ulong, int)"/> takes the descriptor and closes it).</summary>
    public static int Open(string fifoPath)
    {
        int fd = Libc.open(fifoPath, Libc.O_RDONLY | Libc.O_NONBLOCK | Libc.O_CLOEXEC, 0);
        if (fd < 0) throw new ErrnoException(Libc.Errno, "open exec fifo", fifoPath);
        return fd;
    }

    /// <summary><see cref="Release(string, int, ulong, int)"/> on a descriptor from <see cref="Open"/> (closed here).</summary>
    public static void Release(int fd, string fifoPath, int pid, ulong pidStartTime, int timeoutMs = 60_000)
    {
        int pidfd = ProcessExit.Open(pid);
        try
        {
            if (pidfd >= 0 && pidStartTime != 0 && !ProcInfo.IsAlive(pid, pidStartTime))
            {
                Libc.close(pidfd); // the pid was reused: the process is gone
                pidfd = -1;
            }
            var deadline = Environment.TickCount64 + timeoutMs;
            Span<byte> b = stackalloc byte[1];
            while (true)
            {
                int n = Libc.Read(fd, b);
                if (n == 1) return;
                if (n < 0 && -n != Libc.EAGAIN && -n != Libc.EINTR)
                    throw new ErrnoException(-n, "read exec fifo", fifoPath);
                int left = (int)(deadline - Environment.TickCount64);
                if (left <= 0)
                    throw new BerthException(ErrorKind.Unavailable, "timed out waiting for the container process to open exec.fifo");
                if (pidfd < 0 || ProcessExit.PollWithProcess(fd, pidfd, left) == 2)
                {
                    // It may have opened the fifo, written its byte, exec'd and exited since the read above.
                    if (Libc.Read(fd, b) == 1) return;
                    throw new BerthException(ErrorKind.System, "container process is already dead");
                }
            }
        }
        finally
        {
            Libc.close(fd);
            if (pidfd >= 0) Libc.close(pidfd);
        }
    }
}
