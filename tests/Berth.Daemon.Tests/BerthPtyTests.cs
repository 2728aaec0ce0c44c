using System.Diagnostics;
using System.Runtime.InteropServices;
using System.Text;

namespace Berth.Daemon.Tests;

/// <summary>
/// `berth` at a real terminal: a pseudo-terminal the test holds the master of, berth on its slave as the session
/// leader with it as controlling terminal (setsid -c), keys typed into the master as a person would.
/// </summary>
public sealed class BerthPtyTests(DaemonFixture fx) : IClassFixture<DaemonFixture>
{
    private static string BerthPath()
    {
        string? dir = AppContext.BaseDirectory;
        while (dir is not null && !File.Exists(Path.Combine(dir, "Berth.slnx"))) dir = Path.GetDirectoryName(dir);
        var path = Path.Combine(dir ?? "/", "out", "bin", "berth");
        Assert.True(File.Exists(path), $"{path} missing: scripts/build.sh publishes it");
        return path;
    }

    private PtyProcess Start(params string[] args) => PtyProcess.Start(BerthPath(), ["-H", "unix://" + fx.Dir.Socket, .. args]);

    private string Ok(params string[] args)
    {
        var (code, stdout, stderr) = Run.Command(BerthPath(), ["-H", "unix://" + fx.Dir.Socket, .. args]);
        Assert.True(code == 0, $"berth {string.Join(' ', args)} exited {code}: {stdout}{stderr}");
        return stdout;
    }

    private const int ECHO = 0x8, ICANON = 0x2, ISIG = 0x1;

    [Fact]
    public void RunIt_TypedLinesEchoOnce_CtrlCGoesToTheContainer_TerminalRestored()
    {
        using var pty = Start("run", "-it", "--rm", "busybox", "sh");
        uint before = pty.LocalFlags;
        Assert.Equal((uint)(ECHO | ICANON | ISIG), before & (ECHO | ICANON | ISIG));
        pty.WaitFor("# ");
        // The container's tty echoes; berth's terminal is raw (no second, local echo).
        pty.Type("echo ab$((40+2))cd\r");
        int at = pty.WaitFor("ab42cd\r\n");
        pty.WaitFor("# ", at);
        Assert.Equal(1, Count(pty.Output, "echo ab$((40+2))cd"));
        Assert.Equal(0u, pty.LocalFlags & (ECHO | ICANON | ISIG));

        // ctrl-c is a byte for the container's tty: it interrupts the sleep there, berth stays.
        pty.Type("echo st$((1+1))art; sleep 100\r");
        at = pty.WaitFor("st2art\r\n");
        bool prompt = false;
        for (int i = 0; i < 20 && !prompt; i++)
        {
            pty.Type("\x03");
            prompt = pty.TryWaitFor("# ", at, TimeSpan.FromSeconds(1)) >= 0;
        }
        Assert.True(prompt, "ctrl-c did not end the sleep in the container:\n" + pty.Output);
        Assert.False(pty.HasExited, "berth exited on ctrl-c");
        pty.Type("echo af$((1+1))ter\r");
        pty.WaitFor("af2ter\r\n");

        pty.Type("exit 3\r");
        Assert.Equal(3, pty.WaitForExit());
        Assert.Equal(before, pty.LocalFlags); // the terminal as it was
        Assert.DoesNotContain("\x1b[?1h", pty.Output); // no keypad-transmit mode left behind (System.Console's, not docker's)
    }

    [Fact]
    public void DetachKeys_LeaveItRunning_ResizeIsForwarded_AttachAndStartAi()
    {
        const string name = "cli-pty-det";
        try
        {
            using (var pty = Start("run", "-it", "--name", name, "busybox", "sh"))
            {
                pty.WaitFor("# ");
                bool resized = pty.ResizeUntilSeen(33, 77);
                Assert.True(resized, "the window size did not reach the container:\n" + pty.Output);
                pty.Type("\x10\x11"); // ctrl-p ctrl-q
                Assert.Equal(0, pty.WaitForExit());
                Assert.Equal(ECHO | ICANON, (int)pty.LocalFlags & (ECHO | ICANON));
            }
            Assert.Equal("true\n", Ok("inspect", "-f", "{{.State.Running}}", name));

            using (var pty = Start("attach", "--detach-keys", "ctrl-a,x", name))
            {
                pty.WaitFor("# "); // the prompt redrawn: attach resizes the tty one larger, then back
                pty.Type("echo ag$((1+1))ain\r");
                pty.WaitFor("ag2ain\r\n");
                pty.Type("\x10\x11"); // not the keys now: the container's
                pty.Type("\x01x");
                Assert.Equal(1, pty.WaitForExit()); // as docker attach: "read escape sequence", exit 1
                pty.WaitFor("read escape sequence");
            }
            Assert.Equal("true\n", Ok("container", "inspect", "-f", "{{.State.Running}}", name));

            Ok("stop", "-t", "1", name);
            using (var pty = Start("start", "-ai", name))
            {
                pty.WaitFor("# ");
                pty.Type("echo re$((1+1))start\r");
                pty.WaitFor("re2start\r\n");
                pty.Type("exit 5\r");
                Assert.Equal(5, pty.WaitForExit());
            }
        }
        finally
        {
            Run.Command(BerthPath(), ["-H", "unix://" + fx.Dir.Socket, "rm", "-f", name]);
        }
    }

    private static int Count(string s, string needle)
    {
        int n = 0;
        for (int i = s.IndexOf(needle, StringComparison.Ordinal); i >= 0; i = s.IndexOf(needle, i + 1, StringComparison.Ordinal)) n++;
        return n;
    }
}

/// <summary>A process on the slave of a new pseudo-terminal (its controlling terminal); the test holds the master.</summary>
internal sealed class PtyProcess : IDisposable
{
    private readonly int _master, _slave;
    private readonly Process _process;
    private readonly StringBuilder _output = new();
    private readonly Thread _reader;

    private PtyProcess(int master, int slave, Process process)
    {
        _master = master;
        _slave = slave;
        _process = process;
        _reader = new Thread(ReadLoop) { IsBackground = true };
        _reader.Start();
    }

    public static PtyProcess Start(string file, string[] args)
    {
        int master = posix_openpt(O_RDWR | O_NOCTTY);
        Assert.True(master >= 0, "posix_openpt failed");
        Assert.Equal(0, grantpt(master));
        Assert.Equal(0, unlockpt(master));
        var name = new byte[128];
        Assert.Equal(0, ptsname_r(master, name, name.Length));
        var slavePath = Encoding.ASCII.GetString(name, 0, Array.IndexOf(name, (byte)0));
        int slave = open(slavePath, O_RDWR | O_NOCTTY); // the test's own handle: the terminal's modes after the process
        Assert.True(slave >= 0, "open " + slavePath);
        var ws = new WinSize { Rows = 24, Cols = 80 };
        ioctl(master, TIOCSWINSZ, ref ws);
        // setsid -c: a new session with the pty (its stdin) as controlling terminal, as a login shell has.
        var psi = new ProcessStartInfo("/bin/sh") { UseShellExecute = false };
        foreach (var a in (string[])["-c", $"exec setsid -w -c \"$0\" \"$@\" <>{slavePath} >&0 2>&0", file, .. args]) psi.ArgumentList.Add(a);
        return new PtyProcess(master, slave, Process.Start(psi)!);
    }

    public string Output { get { lock (_output) return _output.ToString(); } }
    public bool HasExited => _process.HasExited;

    /// <summary>The terminal's local modes (c_lflag: ECHO, ICANON, ISIG...) as berth left them.</summary>
    public uint LocalFlags
    {
        get
        {
            var termios = new byte[64];
            Assert.Equal(0, ioctl(_slave, TCGETS, termios));
            return BitConverter.ToUInt32(termios, 12);
        }
    }

    public void Type(string keys)
    {
        var bytes = Encoding.UTF8.GetBytes(keys);
        Assert.Equal(bytes.Length, (int)write(_master, bytes, bytes.Length));
    }

    public void Resize(ushort rows, ushort cols)
    {
        var ws = new WinSize { Rows = rows, Cols = cols };
        Assert.Equal(0, ioctl(_master, TIOCSWINSZ, ref ws));
    }

    /// <summary>
    /// Resizes the terminal and runs <c>stty size</c> in the shell until the container reports the size.
    /// A client installs its SIGWINCH handler only after the container started (the docker CLI does so
    /// too), so a resize that lands before that is lost: each round changes the size again, which makes
    /// the kernel send a fresh SIGWINCH. Returns whether the size arrived.
    /// </summary>
    public bool ResizeUntilSeen(ushort rows, ushort cols)
    {
        for (int i = 0; i < 20; i++)
        {
            if (i > 0) Resize((ushort)(rows + 1), cols);
            Resize(rows, cols);
            int at = Output.Length;
            Type("stty size\r");
            if (TryWaitFor($"{rows} {cols}", at, TimeSpan.FromSeconds(1)) >= 0) return true;
        }
        return false;
    }

    /// <summary>The offset just after <paramref name="needle"/> in the output from <paramref name="from"/>, or -1.</summary>
    public int TryWaitFor(string needle, int from, TimeSpan timeout)
    {
        var deadline = DateTime.UtcNow + timeout;
        while (true)
        {
            lock (_output)
            {
                var s = _output.ToString();
                int i = from <= s.Length ? s.IndexOf(needle, from, StringComparison.Ordinal) : -1;
                if (i >= 0) return i + needle.Length;
                if (DateTime.UtcNow > deadline) return -1;
                Monitor.Wait(_output, 100);
            }
        }
    }

    public int WaitFor(string needle, int from = 0)
    {
        int at = TryWaitFor(needle, from, TimeSpan.FromSeconds(20));
        Assert.True(at >= 0, $"\"{needle}\" not seen; the terminal showed:\n{Output}");
        return at;
    }

    public int WaitForExit()
    {
        Assert.True(_process.WaitForExit(20_000), "berth did not exit; the terminal showed:\n" + Output);
        return _process.ExitCode;
    }

    private void ReadLoop()
    {
        var buf = new byte[4096];
        while (true)
        {
            var n = read(_master, buf, buf.Length);
            if (n <= 0) return;
            lock (_output)
            {
                _output.Append(Encoding.UTF8.GetString(buf, 0, (int)n));
                Monitor.PulseAll(_output);
            }
        }
    }

    public void Dispose()
    {
        if (!_process.HasExited)
        {
            try { _process.Kill(entireProcessTree: true); _process.WaitForExit(5000); } catch (InvalidOperationException) { }
        }
        _process.Dispose();
        close(_slave);
        close(_master); // ends the reader
    }

    [StructLayout(LayoutKind.Sequential)]
    private struct WinSize
    {
        public ushort Rows, Cols, X, Y;
    }

    private const int O_RDWR = 2, O_NOCTTY = 0x100;
    private const nuint TCGETS = 0x5401, TIOCSWINSZ = 0x5414;

    [DllImport("libc", SetLastError = true)] private static extern int posix_openpt(int flags);
    [DllImport("libc", SetLastError = true)] private static extern int grantpt(int fd);
    [DllImport("libc", SetLastError = true)] private static extern int unlockpt(int fd);
    [DllImport("libc", SetLastError = true)] private static extern int ptsname_r(int fd, byte[] buf, nint len);
    [DllImport("libc", SetLastError = true)] private static extern int open([MarshalAs(UnmanagedType.LPStr)] string path, int flags);
    [DllImport("libc", SetLastError = true)] private static extern int close(int fd);
    [DllImport("libc", SetLastError = true)] private static extern nint read(int fd, byte[] buf, nint count);
    [DllImport("libc", SetLastError = true)] private static extern nint write(int fd, byte[] buf, nint count);
    [DllImport("libc", SetLastError = true)] private static extern int ioctl(int fd, nuint request, ref WinSize ws);
    [DllImport("libc", SetLastError = true)] private static extern int ioctl(int fd, nuint request, byte[] termios);
}
