using System.Net.Sockets;
using System.Text;

namespace Berth.Client;

/// <summary>A response: status, headers (lower-case names), and the body stream (Content-Length, chunked, or to
/// the close; after a 101 the raw connection).</summary>
public sealed class ApiResponse(Socket socket, int status, Dictionary<string, string> headers, Stream body) : IDisposable
{
    public int Status { get; } = status;
    public Dictionary<string, string> Headers { get; } = headers;
    public Stream Body { get; } = body;
    public Socket Socket { get; } = socket;

    public bool IsSuccess => Status is >= 200 and < 300;

    public string ReadAll()
    {
        using var r = new StreamReader(Body, Encoding.UTF8);
        return r.ReadToEnd();
    }

    /// <summary>Docker's error body {"message": ...} (or plain text).</summary>
    public string ErrorMessage() => MessageOf(ReadAll());

    /// <summary>The message of an error body: its "message" field, or the text itself.</summary>
    public static string MessageOf(string body)
    {
        var text = body.Trim();
        try
        {
            using var doc = System.Text.Json.JsonDocument.Parse(text);
            if (doc.RootElement.ValueKind == System.Text.Json.JsonValueKind.Object
                && doc.RootElement.TryGetProperty("message", out var m)) return m.GetString() ?? text;
        }
        catch (System.Text.Json.JsonException) { }
        return text;
    }

    /// <summary>Throws <see cref="EngineApiException"/> (status and message) unless the status is 2xx.</summary>
    public ApiResponse EnsureSuccess()
    {
        if (IsSuccess) return this;
        var e = new EngineApiException(Status, ErrorMessage());
        Dispose();
        throw e;
    }

    /// <summary>After a 101 (or a 200 from a daemon that does not upgrade): the connection as a duplex stream.</summary>
    public HijackedStream Hijacked() =>
        Status is 101 or 200 ? new HijackedStream(Socket, Body) : throw new InvalidOperationException($"not upgraded: {Status}");

    public void Dispose()
    {
        Body.Dispose();
        Socket.Dispose();
    }
}

/// <summary>
/// A hijacked connection (attach): reads come from what followed the 101 (already-buffered bytes first),
/// writes go to the socket. <see cref="CloseWrite"/> half-closes it (end of stdin) as the docker CLI does.
/// </summary>
public sealed class HijackedStream(Socket socket, Stream read) : Stream
{
    public Socket Socket { get; } = socket;

    public void CloseWrite()
    {
        try { Socket.Shutdown(SocketShutdown.Send); } catch (SocketException) { } catch (ObjectDisposedException) { }
    }

    public override int Read(byte[] buffer, int offset, int count) => read.Read(buffer, offset, count);
    public override int Read(Span<byte> buffer) => read.Read(buffer);
    public override ValueTask<int> ReadAsync(Memory<byte> buffer, CancellationToken ct = default) => read.ReadAsync(buffer, ct);
    public override Task<int> ReadAsync(byte[] buffer, int offset, int count, CancellationToken ct) => read.ReadAsync(buffer, offset, count, ct);
    public override void Write(byte[] buffer, int offset, int count) => Socket.Send(buffer.AsSpan(offset, count));
    public override void Write(ReadOnlySpan<byte> buffer) => Socket.Send(buffer);
    public override async ValueTask WriteAsync(ReadOnlyMemory<byte> buffer, CancellationToken ct = default)
    {
        while (buffer.Length > 0)
        {
            int n = await Socket.SendAsync(buffer, SocketFlags.None, ct);
            buffer = buffer[n..];
        }
    }
    public override Task WriteAsync(byte[] buffer, int offset, int count, CancellationToken ct) =>
        WriteAsync(buffer.AsMemory(offset, count), ct).AsTask();
    public override bool CanRead => true;
    public override bool CanSeek => false;
    public override bool CanWrite => true;
    public override long Length => throw new NotSupportedException();
    public override long Position { get => throw new NotSupportedException(); set => throw new NotSupportedException(); }
    public override void Flush() { }
    public override long Seek(long offset, SeekOrigin origin) => throw new NotSupportedException();
    public override void SetLength(long value) => throw new NotSupportedException();

    protected override void Dispose(bool disposing)
    {
        if (disposing)
        {
            read.Dispose();
            Socket.Dispose();
        }
        base.Dispose(disposing);
    }
}
