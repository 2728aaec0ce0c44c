using System.Runtime.InteropServices;
using Berth.Interop;

namespace Berth.Runtime.Lifecycle;

/// <summary>
/// runc's foreground terminal: the container sends its pty master over an internal console socket;
/// this process puts its own terminal in raw mode and copies bytes both ways until the pty closes.
/// </summary>
public sealed class TerminalProxy : IDisposable
{
    private int _ours = -1;
    private int _master = -1;
    private byte[]? _savedTty;
    private PosixSignalRegistration? _winch;

    private TerminalProxy(int ours, int theirs)
    {
        _ours = ours;
        ChildEnd = theirs;
    }

    /// <summary>The socket end handed to the container (CONSOLE op) — closed once the master arrived.</summary>
    public int ChildEnd { get; private set; }

    public static TerminalProxy Create()
    {
        var (a, b) = Libc.SocketPair();
        return new TerminalProxy(a, b);
    }

    /// <summary>Receives the master (after the child reported READY) and starts copying.</summary>
    public void Start()
    {
        _master = Native.ReceiveFd(_ours);
        Libc.close(ChildEnd);
        ChildEnd = -1;
        if (Libc.isatty(0) == 1)
        {
            Native.berth_tty_copy_size(0, _master);
            _savedTty = Native.MakeRaw(0);
            _winch = PosixSignalRegistration.Create(PosixSignal.SIGWINCH, c =>
            {
                c.Cancel = true;
                Native.berth_tty_copy_size(0, _master);
            });
        }
        var input = new Thread(() => Copy(0, _master, closeOnEof: false)) { IsBackground = true, Name = "tty-in" };
        input.Start();
        _output = new Thread(() => Copy(_master, 1, closeOnEof: false)) { IsBackground = true, Name = "tty-out" };
        _output.Start();
    }

    private Thread? _output;

    /// <summary>Waits (bounded) for the output copy to drain after the process exited.</summary>
    public void Drain() => _output?.Join(TimeSpan.FromSeconds(2));

    private static void Copy(int from, int to, bool closeOnEof)
    {
        var buf = new byte[32 * 1024];
        while (true)
        {
            int n = Libc.Read(from, buf);
            if (n == -Libc.EINTR) continue;
            if (n <= 0) break;
            try { Libc.WriteAll(to, buf.AsSpan(0, n), "terminal"); }
            catch (ErrnoException) { break; }
        }
        if (closeOnEof) Libc.close(to);
    }

    public void Dispose()
    {
        _winch?.Dispose();
        if (_savedTty is not null) Native.RestoreTty(0, _savedTty);
        if (_ours >= 0) Libc.close(_ours);
        if (ChildEnd >= 0) Libc.close(ChildEnd);
        _ours = ChildEnd = -1;
    }
}
