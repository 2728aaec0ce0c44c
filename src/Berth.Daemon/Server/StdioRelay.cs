using System.Net.Sockets;
using Berth.Api.Streams;

namespace Berth.Daemon.Server;

/// <summary>
/// A hijacked connection relayed to a monitor's attach socket (attach and exec): the monitor's stdcopy frames go to
/// the client as they are, or as payloads only (<paramref name="raw"/>, a tty); the client's bytes go to the
/// process's stdin when it is attached, through the detach-key proxy with a tty. The client's half-close closes
/// stdin (a half-close towards the monitor); the detach keys end the relay and leave the process and its stdin as
/// they are (the monitor connection is closed completely: a detach, for the monitor).
/// </summary>
public static class StdioRelay
{
    /// <summary>Relays until the monitor ends the output (the process exited) or the client is gone; true when the
    /// client detached with the keys. Output of a stream not attached (<paramref name="stdout"/>,
    /// <paramref name="stderr"/> false: an exec created with AttachStdout/AttachStderr false) is dropped.</summary>
    public static async Task<bool> RunAsync(Stream client, Socket monitor, bool raw, bool stdin, byte[]? detachKeys,
                                            bool stdout = true, bool stderr = true)
    {
        bool detached = false;
        await using var ms = new NetworkStream(monitor, ownsSocket: false);
        // The client's input is always read (Kestrel needs its end consumed); without stdin it is dropped.
        _ = Task.Run(async () =>
        {
            var buf = new byte[16 * 1024];
            var scanner = stdin && detachKeys is { Length: > 0 } ? new DetachKeys.Scanner(detachKeys) : null;
            var pass = scanner is null ? null : new byte[buf.Length + detachKeys!.Length];
            int n;
            try
            {
                while ((n = await client.ReadAsync(buf)) > 0)
                {
                    if (!stdin) continue;
                    if (scanner is null)
                    {
                        await ms.WriteAsync(buf.AsMemory(0, n));
                        continue;
                    }
                    int m = scanner.Feed(buf.AsSpan(0, n), pass);
                    if (m < 0)
                    {
                        detached = true;
                        monitor.Close(); // ends the output copy below; the process keeps running
                        return;
                    }
                    if (m > 0) await ms.WriteAsync(pass.AsMemory(0, m));
                }
                if (stdin) monitor.Shutdown(SocketShutdown.Send); // the client's half-close closes the process's stdin
            }
            catch (Exception e) when (e is IOException or SocketException or ObjectDisposedException or OperationCanceledException) { }
        });
        try { await StdCopy.CopyFramesAsync(ms, client, raw, CancellationToken.None, stdout, stderr); }
        catch (Exception e) when (e is IOException or OperationCanceledException or SocketException or ObjectDisposedException) { }
        return detached;
    }
}
