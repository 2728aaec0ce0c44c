using Berth.Core;

namespace Berth.Images.Pull;

/// <summary>
/// A read-only pass-through that counts bytes, reports progress at most every 100 ms (and at the end), and
/// refuses to read past <see cref="Limit"/> bytes (a registry that sends more than the descriptor's size).
/// </summary>
internal sealed class ProgressStream(Stream inner, long limit, Action<long> report, string tooLong) : Stream
{
    private long _read;
    private long _lastTicks;

    public long Limit => limit;
    public long BytesRead => _read;

    public override int Read(byte[] buffer, int offset, int count) => Count(inner.Read(buffer, offset, count));

    public override int Read(Span<byte> buffer) => Count(inner.Read(buffer));

    public override async ValueTask<int> ReadAsync(Memory<byte> buffer, CancellationToken ct = default) =>
        Count(await inner.ReadAsync(buffer, ct));

    public override Task<int> ReadAsync(byte[] buffer, int offset, int count, CancellationToken ct) =>
        ReadAsync(buffer.AsMemory(offset, count), ct).AsTask();

    private int Count(int n)
    {
        if (n <= 0)
        {
            report(_read);
            return n;
        }
        _read += n;
        if (_read > limit) throw new BerthException(ErrorKind.DataLoss, tooLong);
        var now = Environment.TickCount64;
        if (now - _lastTicks >= 100)
        {
            _lastTicks = now;
            report(_read);
        }
        return n;
    }

    public override bool CanRead => true;
    public override bool CanSeek => false;
    public override bool CanWrite => false;
    public override long Length => throw new NotSupportedException();
    public override long Position { get => _read; set => throw new NotSupportedException(); }
    public override void Flush() { }
    public override long Seek(long offset, SeekOrigin origin) => throw new NotSupportedException();
    public override void SetLength(long value) => throw new NotSupportedException();
    public override void Write(byte[] buffer, int offset, int count) => throw new NotSupportedException();

    protected override void Dispose(bool disposing)
    {
        if (disposing) inner.Dispose();
        base.Dispose(disposing);
    }
}
