using Microsoft.AspNetCore.Connections;
using Microsoft.AspNetCore.Connections.Features;
using Microsoft.AspNetCore.Http.Features;
using Microsoft.AspNetCore.Server.Kestrel.Core;

namespace Berth.Daemon.Server;

/// <summary>Docker's connection hijack for attach and exec start: the client sends <c>Connection: Upgrade</c> and
/// <c>Upgrade: tcp</c>; the daemon answers 101 with <c>Content-Type: application/vnd.docker.raw-stream</c> and
/// from then on the connection is a raw duplex stream. Reads return 0 once the client half-closes (stdin ended);
/// writing goes on until the handler returns, which closes the connection.
/// Kestrel's reason phrase is "Switching Protocols" where dockerd says "UPGRADED": clients read only the code.</summary>
public static class Hijack
{
    public const string RawStream = "application/vnd.docker.raw-stream";

    private const string HijackedKey = "berth.hijacked";

    /// <summary>
    /// Kestrel treats a client's half-close (FIN) as the end of the connection: it signals ConnectionClosed, and
    /// the HTTP layer then stops sending (writes after it are dropped silently). The docker CLI half-closes every
    /// attach as soon as it has no more stdin, and expects the output to keep coming. This connection middleware
    /// hides ConnectionClosed from the HTTP layer once the connection is hijacked (before that, a closed client
    /// aborts its request as usual); the raw stream's reads still end at the FIN.
    /// </summary>
    public static void AllowHalfClose(ListenOptions listen) => listen.Use(next => async connection =>
    {
        var items = connection.Items;
        var closed = new CancellationTokenSource();
        CancellationTokenRegistration forward = connection.ConnectionClosed.Register(() =>
        {
            if (!items.ContainsKey(HijackedKey)) closed.Cancel();
        });
        connection.ConnectionClosed = closed.Token;
        try
        {
            await next(connection);
        }
        finally
        {
            // The registration first (Dispose waits for a running callback), then the source: a close that
            // arrives in between must not Cancel a disposed source (Kestrel logged that as an error).
            forward.Dispose();
            closed.Dispose();
        }
    });

    public static bool IsRequested(HttpContext ctx) =>
        ctx.Features.Get<IHttpUpgradeFeature>() is { IsUpgradableRequest: true }
        && string.Equals(ctx.Request.Headers.Upgrade, "tcp", StringComparison.OrdinalIgnoreCase);

    /// <summary>Sends the 101 and returns the raw stream. Without an upgrade request (old clients) the response
    /// is a 200 whose body is the output stream, and input comes from the request body.</summary>
    public static async Task<Stream> UpgradeAsync(HttpContext ctx)
    {
        ctx.Response.ContentType = RawStream;
        if (ctx.Features.Get<IConnectionItemsFeature>() is { } items) items.Items[HijackedKey] = true;
        IHttpUpgradeFeature? upgrade = ctx.Features.Get<IHttpUpgradeFeature>();
        if (upgrade is { IsUpgradableRequest: true })
        {
            ctx.Response.Headers.Connection = "Upgrade";
            ctx.Response.Headers.Upgrade = "tcp";
            return await upgrade.UpgradeAsync();
        }
        ctx.Response.StatusCode = StatusCodes.Status200OK;
        await ctx.Response.StartAsync(ctx.RequestAborted);
        return new DuplexBody(ctx.Request.Body, ctx.Response.Body);
    }

    /// <summary>The 8-byte header of a multiplexed (non-tty) frame: stream (0 stdin, 1 stdout, 2 stderr), 0, 0, 0,
    /// payload size big-endian.</summary>
    public static void WriteFrameHeader(Span<byte> header, byte stream, int size)
    {
        header[0] = stream;
        header[1] = header[2] = header[3] = 0;
        global::System.Buffers.Binary.BinaryPrimitives.WriteUInt32BigEndian(header[4..8], (uint)size);
    }

    private sealed class DuplexBody(Stream input, Stream output) : Stream
    {
        public override bool CanRead => true;
        public override bool CanSeek => false;
        public override bool CanWrite => true;
        public override long Length => throw new NotSupportedException();
        public override long Position { get => throw new NotSupportedException(); set => throw new NotSupportedException(); }
        public override void Flush() => output.Flush();
        public override Task FlushAsync(CancellationToken cancellationToken) => output.FlushAsync(cancellationToken);
        public override int Read(byte[] buffer, int offset, int count) => input.Read(buffer, offset, count);
        public override ValueTask<int> ReadAsync(Memory<byte> buffer, CancellationToken cancellationToken = default) => input.ReadAsync(buffer, cancellationToken);
        public override void Write(byte[] buffer, int offset, int count) => output.Write(buffer, offset, count);
        public override ValueTask WriteAsync(ReadOnlyMemory<byte> buffer, CancellationToken cancellationToken = default) => output.WriteAsync(buffer, cancellationToken);
        public override long Seek(long offset, SeekOrigin origin) => throw new NotSupportedException();
        public override void SetLength(long value) => throw new NotSupportedException();
    }
}
