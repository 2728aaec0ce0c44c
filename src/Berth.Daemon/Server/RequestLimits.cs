using Microsoft.AspNetCore.Http.Features;

namespace Berth.Daemon.Server;

/// <summary>
/// Request body bounds. A body is JSON (a container's create, an exec's config...) and is limited to
/// <see cref="MaxJsonBody"/>, except on the endpoints that take an archive, which stream it to disk as it arrives
/// (import: POST /images/create, load: POST /images/load, build: POST /build, put archive: PUT
/// /containers/{id}/archive), and on the stream endpoints whose body is a container's stdin when the client does
/// not hijack (POST /containers/{id}/attach, POST /exec/{id}/start). Hijacked streams are not bodies and are
/// unbounded. A body over the limit is answered 413 {"message": "request body too large: ... the limit is 4194304
/// bytes (4 MiB) ..."}: at once when its Content-Length says so (before the handler runs), else as soon as the
/// handler reads past the limit; what was read is discarded, so the daemon never holds more than the limit, and
/// Kestrel then drains the rest of the body (for at most its drain timeout) so the client reads the answer.
/// Kestrel's own MaxRequestBodySize is off: it would close the connection under a client still sending, which then
/// sees a broken pipe instead of the 413. The request line (8 KiB: 414) and headers (32 KiB in all, at most 100:
/// 431) keep Kestrel's bounds.
/// </summary>
public sealed class RequestLimits(RequestDelegate next)
{
    public const long MaxJsonBody = 4 * 1024 * 1024;

    public Task InvokeAsync(HttpContext ctx)
    {
        HttpRequest req = ctx.Request;
        if (Unbounded(req.Method, req.Path.Value ?? "/") || ctx.Features.Get<IHttpUpgradeFeature>() is { IsUpgradableRequest: true })
            return next(ctx);
        if (req.ContentLength is long length && length > MaxJsonBody)
            return ErrorMapping.WriteError(ctx, StatusCodes.Status413PayloadTooLarge, TooLarge($"{length} bytes"));
        req.Body = new BoundedStream(req.Body, MaxJsonBody);
        return next(ctx);
    }

    public static string TooLarge(string size) =>
        $"request body too large: {size}, the limit is {MaxJsonBody} bytes ({MaxJsonBody >> 20} MiB) for endpoints that take JSON";

    /// <summary>The (unversioned) endpoints whose body is an archive or a stream, not JSON.</summary>
    public static bool Unbounded(string method, string path)
    {
        if (HttpMethods.IsPost(method))
            return path is "/images/create" or "/images/load" or "/build"
                || OneSegment(path, "/containers/", "/attach") || OneSegment(path, "/exec/", "/start");
        if (HttpMethods.IsPut(method)) return OneSegment(path, "/containers/", "/archive");
        return false;
    }

    private static bool OneSegment(string path, string prefix, string suffix) =>
        path.Length > prefix.Length + suffix.Length && path.StartsWith(prefix, StringComparison.Ordinal)
        && path.EndsWith(suffix, StringComparison.Ordinal)
        && path.AsSpan(prefix.Length, path.Length - prefix.Length - suffix.Length).IndexOf('/') < 0;

    /// <summary>A read-only body that fails with 413 once more than its limit has been read.</summary>
    private sealed class BoundedStream(Stream inner, long limit) : Stream
    {
        private long _read;

        public override bool CanRead => true;
        public override bool CanSeek => false;
        public override bool CanWrite => false;
        public override long Length => throw new NotSupportedException();
        public override long Position { get => _read; set => throw new NotSupportedException(); }

        private int Count(int n)
        {
            _read += n;
            if (_read > limit) throw new BadHttpRequestException(TooLarge($"more than {limit} bytes"), StatusCodes.Status413PayloadTooLarge);
            return n;
        }

        public override int Read(byte[] buffer, int offset, int count) => Count(inner.Read(buffer, offset, count));
        public override int Read(Span<byte> buffer) => Count(inner.Read(buffer));
        public override async Task<int> ReadAsync(byte[] buffer, int offset, int count, CancellationToken ct) =>
            Count(await inner.ReadAsync(buffer.AsMemory(offset, count), ct));
        public override async ValueTask<int> ReadAsync(Memory<byte> buffer, CancellationToken ct = default) =>
            Count(await inner.ReadAsync(buffer, ct));
        public override void Flush() { }
        public override long Seek(long offset, SeekOrigin origin) => throw new NotSupportedException();
        public override void SetLength(long value) => throw new NotSupportedException();
        public override void Write(byte[] buffer, int offset, int count) => throw new NotSupportedException();
    }
}
