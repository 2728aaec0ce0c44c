using System.Net.Sockets;
using System.Text;

namespace Berth.Cli.Http;

/// <summary>A response: status, headers, and the body stream (Content-Length, chunked, or to the close).</summary>
internal sealed class ApiResponse(Socket socket, int status, Dictionary<string, string> headers, Stream body) : IDisposable
{
    public int Status { get; } = status;
    public Dictionary<string, string> Headers { get; } = headers;
    public Stream Body { get; } = body;
    public Socket Socket { get; } = socket;

    public string ReadAll()
    {
        using var r = new StreamReader(Body, Encoding.UTF8);
        return r.ReadToEnd();
    }

    /// <summary>Docker's error body {"message": ...} (or plain text).</summary>
    public string ErrorMessage()
    {
        var text = ReadAll().Trim();
        try
        {
            using var doc = System.Text.Json.JsonDocument.Parse(text);
            if (doc.RootElement.TryGetProperty("message", out var m)) return m.GetString() ?? text;
        }
        catch (System.Text.Json.JsonException) { }
        return text;
    }

    public void Dispose()
    {
        Body.Dispose();
        Socket.Dispose();
    }
}

/// <summary>
/// The Engine API over a unix socket: HTTP/1.1, one connection per request (as the docker CLI does for
/// hijacked and streaming calls), the API version negotiated once with /_ping.
/// </summary>
internal sealed class ApiClient(string socketPath)
{
    public const string MaxVersion = "1.41";
    private string? _version;

    public static string SocketFromEnvironment(string? host)
    {
        host ??= Environment.GetEnvironmentVariable("DOCKER_HOST") is { Length: > 0 } d ? d
               : Environment.GetEnvironmentVariable("BERTH_HOST") is { Length: > 0 } b ? b : "unix:///run/berth.sock";
        if (!host.StartsWith("unix://", StringComparison.Ordinal))
            throw new CliException($"unsupported host {host}: only unix:// sockets", 125);
        return host["unix://".Length..];
    }

    public string Version
    {
        get
        {
            if (_version is not null) return _version;
            using var r = Send("HEAD", "/_ping", null, versioned: false);
            _version = r.Headers.TryGetValue("api-version", out var v) && Compare(v, MaxVersion) < 0 ? v : MaxVersion;
            return _version;
        }
    }

    private static int Compare(string a, string b)
    {
        var x = a.Split('.').Select(int.Parse).ToArray();
        var y = b.Split('.').Select(int.Parse).ToArray();
        return x[0] != y[0] ? x[0].CompareTo(y[0]) : x[1].CompareTo(y[1]);
    }

    public ApiResponse Send(string method, string path, string? json, bool versioned = true, bool upgrade = false)
    {
        var socket = new Socket(AddressFamily.Unix, SocketType.Stream, ProtocolType.Unspecified);
        try
        {
            socket.Connect(new UnixDomainSocketEndPoint(socketPath));
        }
        catch (SocketException)
        {
            socket.Dispose();
            throw new CliException($"Cannot connect to the Berth daemon at unix://{socketPath}. Is berthd running?", 1);
        }
        var body = json is null ? [] : Encoding.UTF8.GetBytes(json);
        var sb = new StringBuilder();
        sb.Append(method).Append(' ').Append(versioned ? "/v" + Version + path : path).Append(" HTTP/1.1\r\n");
        sb.Append("Host: api.moby.localhost\r\nUser-Agent: berth-cli/0.1.0\r\n");
        if (json is not null) sb.Append("Content-Type: application/json\r\n");
        if (upgrade) sb.Append("Connection: Upgrade\r\nUpgrade: tcp\r\n");
        sb.Append("Content-Length: ").Append(body.Length).Append("\r\n\r\n");
        socket.Send(Encoding.ASCII.GetBytes(sb.ToString()));
        if (body.Length > 0) socket.Send(body);
        return ReadResponse(socket, method == "HEAD");
    }

    /// <summary>Uploads a stream as the body (docker import: chunked transfer).</summary>
    public ApiResponse SendStream(string method, string path, Stream content, string contentType)
    {
        var socket = new Socket(AddressFamily.Unix, SocketType.Stream, ProtocolType.Unspecified);
        socket.Connect(new UnixDomainSocketEndPoint(socketPath));
        var head = $"{method} /v{Version}{path} HTTP/1.1\r\nHost: api.moby.localhost\r\nContent-Type: {contentType}\r\nTransfer-Encoding: chunked\r\n\r\n";
        socket.Send(Encoding.ASCII.GetBytes(head));
        var buf = new byte[64 * 1024];
        int n;
        while ((n = content.Read(buf)) > 0)
        {
            socket.Send(Encoding.ASCII.GetBytes(n.ToString("x") + "\r\n"));
            socket.Send(buf.AsSpan(0, n));
            socket.Send("\r\n"u8);
        }
        socket.Send("0\r\n\r\n"u8);
        return ReadResponse(socket, false);
    }

    private static ApiResponse ReadResponse(Socket socket, bool head)
    {
        var net = new NetworkStream(socket, ownsSocket: false);
        var buffered = new BufferedStream(net, 16 * 1024);
        string statusLine = ReadLine(buffered) ?? throw new CliException("the daemon closed the connection", 1);
        var parts = statusLine.Split(' ', 3);
        int status = int.Parse(parts[1]);
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

    private static string? ReadLine(Stream s)
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

