using System.Runtime.InteropServices;

namespace Berth.Cli;

/// <summary>The local terminal for `run -t`: raw mode (restored on exit) and its size.</summary>
internal static unsafe partial class Terminal
{
    private const int TCGETS = 0x5401, TCSETS = 0x5402, TIOCGWINSZ = 0x5413;

    [StructLayout(LayoutKind.Sequential)]
    private struct Termios
    {
        public uint c_iflag, c_oflag, c_cflag, c_lflag;
        public byte c_line;
        public fixed byte c_cc[32];
        public uint c_ispeed, c_ospeed;
    }

    [StructLayout(LayoutKind.Sequential)]
    private struct WinSize
    {
        public ushort Rows, Cols, X, Y;
    }

    [LibraryImport("libc", SetLastError = true)]
    private static partial int ioctl(int fd, nuint request, void* arg);

    [LibraryImport("libc")]
    private static partial int isatty(int fd);

    public static bool IsTerminal(int fd) => isatty(fd) == 1;

    public static (int Rows, int Cols) Size(int fd)
    {
        WinSize ws;
        return ioctl(fd, TIOCGWINSZ, &ws) == 0 ? (ws.Rows, ws.Cols) : (0, 0);
    }

    private static void Restore(int fd, Termios t) => ioctl(fd, TCSETS, &t);

    /// <summary>cfmakeraw on <paramref name="fd"/>; the returned action restores the previous mode.</summary>
    public static Action MakeRaw(int fd)
    {
        Termios old;
        if (ioctl(fd, TCGETS, &old) != 0) return () => { };
        Termios raw = old;
        raw.c_iflag &= ~(uint)(0x1 | 0x2 | 0x8 | 0x20 | 0x40 | 0x80 | 0x100 | 0x400); // IGNBRK BRKINT PARMRK ISTRIP INLCR IGNCR ICRNL IXON
        raw.c_oflag &= ~(uint)0x1; // OPOST
        raw.c_lflag &= ~(uint)(0x8 | 0x40 | 0x2 | 0x1 | 0x8000); // ECHO ECHONL ICANON ISIG IEXTEN
        raw.c_cflag &= ~(uint)(0x30 | 0x100); // CSIZE PARENB
        raw.c_cflag |= 0x30; // CS8
        raw.c_cc[6] = 1; // VMIN
        raw.c_cc[5] = 0; // VTIME
        ioctl(fd, TCSETS, &raw);
        Termios saved = old;
        return () => Restore(fd, saved);
    }
}

/// <summary>Plain reads and writes on a file descriptor (stdin, stdout, stderr), bypassing System.Console: its
/// terminal line editor echoes input itself and reconfigures the terminal (so raw mode would not hold).</summary>
internal static unsafe partial class Fd
{
    [LibraryImport("libc", SetLastError = true)]
    private static partial nint read(int fd, byte* buf, nint count);

    [LibraryImport("libc", SetLastError = true)]
    private static partial nint write(int fd, byte* buf, nint count);

    private const int EINTR = 4, EAGAIN = 11;

    /// <summary>read(2), retried on EINTR: the bytes read, 0 at end of file, -1 on an error.</summary>
    public static int Read(int fd, Span<byte> buffer)
    {
        fixed (byte* p = buffer)
        {
            while (true)
            {
                var n = read(fd, p, buffer.Length);
                if (n >= 0) return (int)n;
                int errno = Marshal.GetLastPInvokeError();
                if (errno == EINTR) continue;
                if (errno == EAGAIN) { Thread.Sleep(10); continue; } // a non-blocking stdin someone else set up
                return -1;
            }
        }
    }

    /// <summary>write(2) of the whole span; false when the reader is gone (EPIPE) or another error.</summary>
    public static bool WriteAll(int fd, ReadOnlySpan<byte> data)
    {
        fixed (byte* p = data)
        {
            int off = 0;
            while (off < data.Length)
            {
                var n = write(fd, p + off, data.Length - off);
                if (n < 0)
                {
                    int errno = Marshal.GetLastPInvokeError();
                    if (errno == EINTR) continue;
                    if (errno == EAGAIN) { Thread.Sleep(1); continue; }
                    return false;
                }
                off += (int)n;
            }
            return true;
        }
    }
}

/// <summary>A stream over a file descriptor through <see cref="Fd"/> (not System.Console's: on a terminal that
/// loads terminfo and writes the keypad-transmit sequence, ESC [?1h ESC =, which docker's CLI never sends).</summary>
internal sealed class FdStream(int fd) : Stream
{
    /// <summary>Console.Out/Error for berth: UTF-8, flushed at every write, straight to the descriptor.</summary>
    public static TextWriter Writer(int fd) => new StreamWriter(new FdStream(fd), new System.Text.UTF8Encoding(false), 4096) { AutoFlush = true };

    public override int Read(byte[] buffer, int offset, int count) => Math.Max(0, Fd.Read(fd, buffer.AsSpan(offset, count)));
    public override int Read(Span<byte> buffer) => Math.Max(0, Fd.Read(fd, buffer));
    public override void Write(byte[] buffer, int offset, int count) => Write(buffer.AsSpan(offset, count));
    public override void Write(ReadOnlySpan<byte> buffer)
    {
        Fd.WriteAll(fd, buffer); // a reader gone (EPIPE) is not an error, as with Console's streams
    }
    public override bool CanRead => true;
    public override bool CanSeek => false;
    public override bool CanWrite => true;
    public override long Length => throw new NotSupportedException();
    public override long Position { get => throw new NotSupportedException(); set => throw new NotSupportedException(); }
    public override void Flush() { }
    public override long Seek(long offset, SeekOrigin origin) => throw new NotSupportedException();
    public override void SetLength(long value) => throw new NotSupportedException();
}
