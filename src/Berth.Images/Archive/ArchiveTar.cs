using System.Text;

namespace Berth.Images.Archive;

/// <summary>The outer tar of `docker save`: ustar headers (names are short: hex ids) and streamed file contents.</summary>
internal sealed class ArchiveTar(Stream output)
{
    private const int Block = 512;
    private static readonly byte[] Zeros = new byte[Block * 2];

    public void Directory(string name, DateTimeOffset mtime) => Header(name.TrimEnd('/') + "/", '5', 0x1ed, 0, mtime);

    public void File(string name, byte[] data, DateTimeOffset mtime) => File(name, data.Length, mtime, s => s.Write(data));

    /// <summary>A file of <paramref name="size"/> bytes that <paramref name="write"/> produces (exactly that many).</summary>
    public void File(string name, long size, DateTimeOffset mtime, Action<Stream> write)
    {
        Header(name, '0', 0x1a4, size, mtime);
        var counting = new CountingStream(output);
        write(counting);
        if (counting.Count != size) throw new InvalidOperationException($"{name}: wrote {counting.Count} bytes, header said {size}");
        int pad = (int)((Block - size % Block) % Block);
        output.Write(Zeros, 0, pad);
    }

    public void Finish()
    {
        output.Write(Zeros);
        output.Flush();
    }

    private void Header(string name, char type, int mode, long size, DateTimeOffset mtime)
    {
        var h = new byte[Block];
        var n = Encoding.UTF8.GetBytes(name);
        if (n.Length > 100) throw new InvalidOperationException($"archive entry name too long: {name}");
        n.CopyTo(h, 0);
        Octal(h, 100, 8, mode);
        Octal(h, 108, 8, 0);
        Octal(h, 116, 8, 0);
        Octal(h, 124, 12, size);
        Octal(h, 136, 12, Math.Max(0, mtime.ToUnixTimeSeconds()));
        h[156] = (byte)type;
        "ustar\0"u8.CopyTo(h.AsSpan(257));
        "00"u8.CopyTo(h.AsSpan(263));
        h.AsSpan(148, 8).Fill((byte)' ');
        int sum = 0;
        foreach (byte b in h) sum += b;
        Octal(h, 148, 7, sum);
        h[155] = (byte)' ';
        output.Write(h);
    }

    private static void Octal(byte[] h, int offset, int length, long value)
    {
        string s = Convert.ToString(value, 8).PadLeft(length - 1, '0');
        if (s.Length > length - 1) throw new InvalidOperationException($"tar value {value} too large");
        Encoding.ASCII.GetBytes(s, 0, s.Length, h, offset);
    }

    private sealed class CountingStream(Stream inner) : Stream
    {
        public long Count;
        public override void Write(byte[] buffer, int offset, int count) { inner.Write(buffer, offset, count); Count += count; }
        public override void Write(ReadOnlySpan<byte> buffer) { inner.Write(buffer); Count += buffer.Length; }
        public override bool CanRead => false;
        public override bool CanSeek => false;
        public override bool CanWrite => true;
        public override long Length => throw new NotSupportedException();
        public override long Position { get => throw new NotSupportedException(); set => throw new NotSupportedException(); }
        public override void Flush() => inner.Flush();
        public override int Read(byte[] buffer, int offset, int count) => throw new NotSupportedException();
        public override long Seek(long offset, SeekOrigin origin) => throw new NotSupportedException();
        public override void SetLength(long value) => throw new NotSupportedException();
    }
}
