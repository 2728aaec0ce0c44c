using System.Net.Sockets;
using System.Runtime.InteropServices;
using Berth.Cli.Http;

namespace Berth.Cli.Commands;

/// <summary>
/// The client end of a hijacked attach, as docker's CLI runs it: stdin copied to the container (the local
/// terminal in raw mode for a tty: no local echo, ctrl-c is a byte for the container's tty), the detach keys
/// (default ctrl-p ctrl-q) end the session and leave the container running, window sizes follow SIGWINCH, and
/// without a tty the CLI's signals are forwarded to the container (--sig-proxy). The terminal is restored on exit.
/// </summary>
internal sealed class AttachSession : IDisposable
{
    public const string DefaultDetachKeys = "ctrl-p,ctrl-q";

    private readonly EngineClient _api;
    private readonly string _id;
    private readonly bool _tty, _stdin;
    private readonly byte[] _detachKeys;
    private readonly List<PosixSignalRegistration> _signals = [];
    private Action? _restore;
    private volatile bool _detached;

    public AttachSession(EngineClient api, string id, bool tty, bool stdin, string? detachKeys)
    {
        _api = api;
        _id = id;
        _tty = tty;
        _stdin = stdin;
        _detachKeys = ParseDetachKeys(detachKeys ?? DefaultDetachKeys);
    }

    /// <summary>Where SIGWINCH sizes go: the container's resize, or an exec's (<c>/exec/ID</c>).</summary>
    public string ResizeBase { get; init; } = "";

    private string ResizePath => ResizeBase.Length > 0 ? ResizeBase : $"/containers/{_id}";

    /// <summary>True when the session ended by the detach keys (the container keeps running).</summary>
    public bool Detached => _detached;

    /// <summary>docker's --detach-keys: comma-separated keys, each a single character or ctrl-[a-z@[\]^_].</summary>
    public static byte[] ParseDetachKeys(string keys)
    {
        var codes = new List<byte>();
        foreach (var key in keys.Split(','))
        {
            if (key.Length == 1 && key[0] < 128) { codes.Add((byte)key[0]); continue; }
            if (key.Length == 6 && key.StartsWith("ctrl-", StringComparison.OrdinalIgnoreCase))
            {
                char c = char.ToLowerInvariant(key[5]);
                if (c is >= 'a' and <= 'z') { codes.Add((byte)(c - 'a' + 1)); continue; }
                int special = "@[\\]^_".IndexOf(c);
                if (special >= 0) { codes.Add(special == 0 ? (byte)0 : (byte)(26 + special)); continue; }
            }
            throw new CliException($"Invalid detach keys ({keys}) provided: Unknown character: '{key}'", 1);
        }
        return [.. codes];
    }

    /// <summary>Raw mode on the local terminal when the container has a tty and stdin is attached (before the
    /// container starts: what is typed from then on is the container's).</summary>
    public void SetupInput()
    {
        if (_tty && _stdin && Terminal.IsTerminal(0) && _restore is null)
        {
            var restore = Terminal.MakeRaw(0);
            int done = 0;
            _restore = () => { if (Interlocked.Exchange(ref done, 1) == 0) restore(); };
            // A kill of the CLI must not leave the terminal raw.
            AppDomain.CurrentDomain.ProcessExit += (_, _) => _restore();
            foreach (var s in new[] { PosixSignal.SIGTERM, PosixSignal.SIGHUP, PosixSignal.SIGQUIT })
                _signals.Add(PosixSignalRegistration.Create(s, _ => _restore()));
        }
    }

    /// <summary>After the start: the container's tty follows the local window size; without a tty, signals are proxied.</summary>
    /// <param name="redraw">attach: a size one larger first (as docker attach does), so that the program in the
    /// container redraws (a shell its prompt) even when the terminal's size has not changed.</param>
    public void Monitor(bool sigProxy, bool redraw = false)
    {
        if (_tty && Terminal.IsTerminal(1))
        {
            if (redraw && Terminal.Size(1) is ( > 0, > 0) size) Post($"{ResizePath}/resize?h={size.Rows + 1}&w={size.Cols + 1}");
            Resize();
            _signals.Add(PosixSignalRegistration.Create(PosixSignal.SIGWINCH, _ => ThreadPool.QueueUserWorkItem(_ => Resize())));
        }
        else if (!_tty && sigProxy)
        {
            // docker's ForwardAllSignals (the ones a CLI usually gets): the container gets them, the CLI stays.
            foreach (var (signal, number) in new[] { (PosixSignal.SIGINT, 2), (PosixSignal.SIGTERM, 15), (PosixSignal.SIGHUP, 1),
                                                     (PosixSignal.SIGQUIT, 3), ((PosixSignal)10, 10), ((PosixSignal)12, 12) })
            {
                _signals.Add(PosixSignalRegistration.Create(signal, ctx =>
                {
                    ctx.Cancel = true;
                    ThreadPool.QueueUserWorkItem(_ => Post($"/containers/{_id}/kill?signal={number}"));
                }));
            }
        }
    }

    private void Resize()
    {
        var (rows, cols) = Terminal.Size(1);
        if (rows > 0) Post($"{ResizePath}/resize?h={rows}&w={cols}");
    }

    private void Post(string path)
    {
        try
        {
            using (_api.Send("POST", path, null)) { }
        }
        catch (Exception e) when (e is EngineException or SocketException or IOException) { } // the container is gone
    }

    /// <summary>Copies stdin to the connection and the connection to stdout/stderr until the output ends or the
    /// detach keys are typed.</summary>
    public void Stream(ApiResponse attach)
    {
        var socket = attach.Socket;
        if (_stdin)
        {
            var input = new Thread(() => CopyInput(socket)) { IsBackground = true, Name = "stdin" };
            input.Start();
        }
        else
        {
            try { socket.Shutdown(SocketShutdown.Send); } catch (SocketException) { } // as the docker CLI: no stdin
        }
        CopyOutput(attach.Body, _tty);
    }

    private void CopyInput(Socket socket)
    {
        var buf = new byte[16 * 1024];
        var outBuf = new byte[16 * 1024 + 16];
        bool escape = _tty && _detachKeys.Length > 0; // as docker's CLI: its escape proxy is for a tty
        int matched = 0;
        try
        {
            int n;
            while ((n = Fd.Read(0, buf)) > 0)
            {
                if (!escape)
                {
                    socket.Send(buf.AsSpan(0, n));
                    continue;
                }
                // Bytes that may begin the detach sequence are held back until it completes (detach) or breaks.
                int o = 0;
                for (int i = 0; i < n; i++)
                {
                    byte b = buf[i];
                    if (b == _detachKeys[matched])
                    {
                        if (++matched == _detachKeys.Length)
                        {
                            if (o > 0) socket.Send(outBuf.AsSpan(0, o));
                            _detached = true;
                            try { socket.Shutdown(SocketShutdown.Both); } catch (SocketException) { }
                            return;
                        }
                        continue;
                    }
                    if (matched > 0)
                    {
                        if (o + matched + 1 > outBuf.Length) { socket.Send(outBuf.AsSpan(0, o)); o = 0; }
                        _detachKeys.AsSpan(0, matched).CopyTo(outBuf.AsSpan(o));
                        o += matched;
                        matched = 0;
                        if (b == _detachKeys[0]) { matched = 1; continue; }
                    }
                    outBuf[o++] = b;
                    if (o == outBuf.Length) { socket.Send(outBuf.AsSpan(0, o)); o = 0; }
                }
                if (o > 0) socket.Send(outBuf.AsSpan(0, o));
            }
            if (matched > 0) socket.Send(_detachKeys.AsSpan(0, matched));
        }
        catch (Exception e) when (e is IOException or SocketException or ObjectDisposedException) { }
        try { socket.Shutdown(SocketShutdown.Send); } catch (SocketException) { } catch (ObjectDisposedException) { }
    }

    /// <summary>Raw bytes for a tty; otherwise Docker's 8-byte frames, stream 1 to stdout and 2 to stderr.</summary>
    public static void CopyOutput(Stream from, bool raw)
    {
        var buf = new byte[32 * 1024];
        try
        {
            if (raw)
            {
                int n;
                while ((n = from.Read(buf)) > 0)
                    if (!Fd.WriteAll(1, buf.AsSpan(0, n))) return;
                return;
            }
            Berth.Api.Streams.StdCopy.Demultiplex(from, static (stream, payload) =>
            {
                Fd.WriteAll(stream == Berth.Api.Streams.StdCopy.Stderr ? 2 : 1, payload);
                return true;
            });
        }
        catch (Exception e) when (e is IOException or SocketException or ObjectDisposedException) { }
    }

    public void Dispose()
    {
        _restore?.Invoke();
        foreach (var s in _signals) s.Dispose();
        _signals.Clear();
    }
}
