using System.Net.Sockets;
using System.Text;

namespace Berth.Client;

/// <summary>HTTP/1.1 response parsing: status line, headers, and a body stream that ends where the body does.</summary>
internal static class HttpWire
{
    public static ApiResponse ReadResponse(Socket socket, bool head)
    {
        var net = new NetworkStream(socket, ownsSocket: false);
        var buffered = new BufferedStream(net, 16 * 1024);
        string statusLine = ReadLine(buffered) ?? throw new EngineUnreachableException("the daemon closed the connection");
        var parts = statusLine.Split(' ', 3);
        if (parts.Length < 2 || !int.TryParse(parts[1], out int status))
            throw new EngineException($"not an HTTP response: {statusLine}");
        var headers = new Dictionary<string, string>(StringComparer.OrdinalIgnoreCase);
        string? line;
        while (!string.IsNullOrEmpty(line = ReadLine(buffered)))
        {
            int colon = line.IndexOf(':');
            if (colon > 0) headers[line[..colon].Trim().ToLowerInvariant()] = line[(colon + 1)..].Trim();
        }
        Stream body;
        if (head || status is 204 or 304) body = Stream.Null;
        else if (status == 101) body = buffered;
        else if (headers.TryGetValue("transfer-encoding", out var te) && te.Contains("chunked", StringComparison.OrdinalIgnoreCase)) body = new ChunkedStream(buffered);
        else if (headers.TryGetValue("content-length", out var cl) && long.TryParse(cl, out var len)) body = new LimitedStream(buffered, len);
        else body = buffered;
        return new ApiResponse(socket, status, headers, body);
    }

    internal static string? ReadLine(Stream s)
    {
        var sb = new StringBuilder();
        int b;
        while ((b = s.ReadByte()) >= 0)
        {
            if (b == '\n') return sb.ToString().TrimEnd('\r');
            sb.Append((char)b);
        }
        return sb.Length > 0 ? sb.ToString() : null;
    }

    private sealed class LimitedStream(Stream inner, long length) : Stream
    {
        private readonly long _length = length;
        private long _left = length;
        public override int Read(byte[] buffer, int offset, int count)
        {
            if (_left <= 0) return 0;
            int n = inner.Read(buffer, offset, (int)Math.Min(count, _left));
            _left -= n;
            return n;
        }
        public override bool CanRead => true;
        public override bool CanSeek => false;
        public override bool CanWrite => false;
        public override long Length => _length;
        public override long Position { get => _length - _left; set => throw new NotSupportedException(); }
        public override void Flush() { }
        public override long Seek(long offset, SeekOrigin origin) => throw new NotSupportedException();
        public override void SetLength(long value) => throw new NotSupportedException();
        public override void Write(byte[] buffer, int offset, int count) => throw new NotSupportedException();
    }

    private sealed class ChunkedStream(Stream inner) : Stream
    {
        private long _left;
        private bool _done;
        public override int Read(byte[] buffer, int offset, int count)
        {
            if (_done) return 0;
            if (_left == 0)
            {
                var size = ReadLine(inner);
                if (size is null) { _done = true; return 0; }
                if (size.Length == 0) size = ReadLine(inner) ?? "0"; // the CRLF after the previous chunk
                _left = Convert.ToInt64(size.Split(';')[0].Trim(), 16);
                if (_left == 0) { _done = true; return 0; }
            }
            int n = inner.Read(buffer, offset, (int)Math.Min(count, _left));
            if (n == 0) { _done = true; return 0; }
            _left -= n;
            return n;
        }
        public override bool CanRead => true;
        public override bool CanSeek => false;
        public override bool CanWrite => false;
        public override long Length => throw new NotSupportedException();
        public override long Position { get => throw new NotSupportedException(); set => throw new NotSupportedException(); }
        public override void Flush() { }
        public override long Seek(long offset, SeekOrigin origin) => throw new NotSupportedException();
        public override void SetLength(long value) => throw new NotSupportedException();
        public override void Write(byte[] buffer, int offset, int count) => throw new NotSupportedException();
    }
}
