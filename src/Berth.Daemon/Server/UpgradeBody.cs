using System.Buffers;
using System.IO.Pipelines;
using System.Text;
using Microsoft.AspNetCore.Connections;
using Microsoft.AspNetCore.Server.Kestrel.Core;

namespace Berth.Daemon.Server;

/// <summary>
/// The docker CLI's exec start is an upgrade request with a JSON body (<c>{"Detach":false,"Tty":true}</c>), which
/// dockerd (Go) accepts; Kestrel ignores an upgrade whose request has a body (it answers the request as a plain one,
/// and the CLI fails with "unable to upgrade to tcp, received 200"). This connection middleware sits in front of
/// Kestrel's parser: a request head with <c>Connection: Upgrade</c>, an <c>Upgrade</c> header and a small
/// Content-Length body is handed on with <c>Content-Length: 0</c> and the body in the header
/// <see cref="HeaderName"/> (base64); after an upgrade request (or a chunked body) the rest of the connection
/// passes as it is. Requests are followed one by one on a kept-alive connection (their Content-Length bodies
/// pass through), so an exec start after other requests on the same connection (docker-py) works too.
/// </summary>
public static class UpgradeBody
{
    public const string HeaderName = "X-Berth-Upgrade-Body";
    private const int MaxHead = 64 * 1024, MaxBody = 64 * 1024;

    /// <summary>The body of an upgrade request (moved into the header here), or null.</summary>
    public static byte[]? Of(HttpContext ctx) =>
        ctx.Request.Headers[HeaderName].FirstOrDefault() is { Length: > 0 } b ? Convert.FromBase64String(b) : null;

    public static void Use(ListenOptions listen) => listen.Use(next => async connection =>
    {
        var original = connection.Transport;
        var pipe = new Pipe();
        var pump = PumpAsync(original.Input, pipe.Writer);
        connection.Transport = new Duplex(pipe.Reader, original.Output);
        try
        {
            await next(connection);
        }
        finally
        {
            original.Input.CancelPendingRead();
            await pump;
        }
    });

    private sealed class Duplex(PipeReader input, PipeWriter output) : IDuplexPipe
    {
        public PipeReader Input => input;
        public PipeWriter Output => output;
    }

    private static async Task PumpAsync(PipeReader input, PipeWriter output)
    {
        bool raw = false;
        long pass = 0;
        try
        {
            while (true)
            {
                var result = await input.ReadAsync();
                if (result.IsCanceled) break;
                var buf = result.Buffer;
                while (buf.Length > 0)
                {
                    if (raw)
                    {
                        foreach (var seg in buf) output.Write(seg.Span);
                        buf = buf.Slice(buf.End);
                        break;
                    }
                    if (pass > 0)
                    {
                        long n = Math.Min(pass, buf.Length);
                        foreach (var seg in buf.Slice(0, n)) output.Write(seg.Span);
                        buf = buf.Slice(n);
                        pass -= n;
                        continue;
                    }
                    var end = HeadEnd(buf);
                    if (end < 0)
                    {
                        if (buf.Length > MaxHead) raw = true; // not ours to judge: Kestrel answers it
                        else break; // need more
                        continue;
                    }
                    var headBytes = buf.Slice(0, end).ToArray();
                    var head = Encoding.Latin1.GetString(headBytes);
                    var (upgrade, length, chunked) = Inspect(head);
                    if (upgrade && length > 0 && length <= MaxBody)
                    {
                        if (buf.Length - end < length) break; // the whole body first
                        var body = buf.Slice(end, length).ToArray();
                        output.Write(Encoding.Latin1.GetBytes(Rewrite(head, body)));
                        buf = buf.Slice(end + length);
                        raw = true;
                        continue;
                    }
                    output.Write(headBytes);
                    buf = buf.Slice(end);
                    if (upgrade || chunked) raw = true;
                    else pass = length;
                }
                input.AdvanceTo(buf.Start, buf.End);
                var flush = await output.FlushAsync();
                if (flush.IsCompleted || flush.IsCanceled) break;
                if (result.IsCompleted) break;
            }
        }
        catch (Exception e) when (e is IOException or InvalidOperationException or ConnectionResetException or OperationCanceledException)
        {
        }
        finally
        {
            await output.CompleteAsync();
            await input.CompleteAsync();
        }
    }

    /// <summary>The length of the request head up to and including its blank line, or -1.</summary>
    private static int HeadEnd(ReadOnlySequence<byte> buf)
    {
        var reader = new SequenceReader<byte>(buf);
        if (!reader.TryReadTo(out ReadOnlySequence<byte> _, "\r\n\r\n"u8, advancePastDelimiter: true)) return -1;
        return (int)reader.Consumed;
    }

    private static (bool Upgrade, long Length, bool Chunked) Inspect(string head)
    {
        bool connUpgrade = false, hasUpgrade = false, chunked = false;
        long length = 0;
        foreach (var line in head.Split("\r\n").Skip(1))
        {
            int colon = line.IndexOf(':');
            if (colon <= 0) continue;
            var name = line[..colon].Trim();
            var value = line[(colon + 1)..].Trim();
            if (name.Equals("Content-Length", StringComparison.OrdinalIgnoreCase)) long.TryParse(value, out length);
            else if (name.Equals("Transfer-Encoding", StringComparison.OrdinalIgnoreCase))
                chunked |= value.Contains("chunked", StringComparison.OrdinalIgnoreCase);
            else if (name.Equals("Connection", StringComparison.OrdinalIgnoreCase))
                connUpgrade |= value.Split(',').Any(t => t.Trim().Equals("upgrade", StringComparison.OrdinalIgnoreCase));
            else if (name.Equals("Upgrade", StringComparison.OrdinalIgnoreCase)) hasUpgrade = value.Length > 0;
        }
        return (connUpgrade && hasUpgrade && !chunked, length, chunked);
    }

    private static string Rewrite(string head, byte[] body)
    {
        var lines = head[..^4].Split("\r\n").Where(l =>
        {
            int colon = l.IndexOf(':');
            return colon <= 0 || !l[..colon].Trim().Equals("Content-Length", StringComparison.OrdinalIgnoreCase)
                && !l[..colon].Trim().Equals(HeaderName, StringComparison.OrdinalIgnoreCase);
        });
        return string.Join("\r\n", lines) + "\r\nContent-Length: 0\r\n" + HeaderName + ": " + Convert.ToBase64String(body) + "\r\n\r\n";
    }
}
