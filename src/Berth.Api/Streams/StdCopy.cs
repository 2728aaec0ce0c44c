using System.Buffers.Binary;

namespace Berth.Api.Streams;

/// <summary>Receives one demultiplexed frame; returning false stops the copy.</summary>
public delegate bool StdCopyFrameSink(byte stream, ReadOnlySpan<byte> payload);

/// <summary>
/// Docker's stdcopy framing (attach and logs of a non-tty container): each frame is an 8-byte header
/// [stream][0 0 0][u32 big-endian payload size] then the payload; stream 0 = stdin, 1 = stdout, 2 = stderr.
/// The one C# implementation, shared by the daemon (writers) and the clients (readers).
/// </summary>
public static class StdCopy
{
    public const int HeaderSize = 8;
    public const byte Stdin = 0;
    public const byte Stdout = 1;
    public const byte Stderr = 2;

    /// <summary>The stream byte for a log entry's stream name ("stderr" → 2, anything else → 1).</summary>
    public static byte StreamOf(string name) => name == "stderr" ? Stderr : Stdout;

    public static void WriteHeader(Span<byte> header, byte stream, int length)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(length);
        header[0] = stream;
        header[1] = header[2] = header[3] = 0;
        BinaryPrimitives.WriteUInt32BigEndian(header[4..], (uint)length);
    }

    /// <summary>One whole frame: header and payload.</summary>
    public static byte[] Frame(byte stream, ReadOnlySpan<byte> payload)
    {
        var frame = new byte[HeaderSize + payload.Length];
        WriteHeader(frame, stream, payload.Length);
        payload.CopyTo(frame.AsSpan(HeaderSize));
        return frame;
    }

    /// <summary>The header's stream byte and payload length.</summary>
    public static (byte Stream, int Length) ReadHeader(ReadOnlySpan<byte> header)
    {
        uint len = BinaryPrimitives.ReadUInt32BigEndian(header[4..]);
        if (len > int.MaxValue) throw new InvalidDataException($"stdcopy: frame of {len} bytes");
        return (header[0], (int)len);
    }

    /// <summary>Reads frames until the end of <paramref name="from"/> (or a truncated frame) and hands each to
    /// <paramref name="sink"/>; returns false if the stream ended inside a frame.</summary>
    public static bool Demultiplex(Stream from, StdCopyFrameSink sink)
    {
        var header = new byte[HeaderSize];
        var payload = new byte[32 * 1024];
        while (true)
        {
            int got = ReadFull(from, header);
            if (got == 0) return true;
            if (got < HeaderSize) return false;
            var (stream, len) = ReadHeader(header);
            if (len > payload.Length) payload = new byte[len];
            if (ReadFull(from, payload.AsSpan(0, len)) < len) return false;
            if (!sink(stream, payload.AsSpan(0, len))) return true;
        }
    }

    /// <summary>Frames copied from one stream to another as they are (<paramref name="raw"/> false) or payloads
    /// only (raw, for a tty). Returns when <paramref name="from"/> ends. Frames of a stream the client did not
    /// attach (<paramref name="stdout"/>, <paramref name="stderr"/> false) are read and dropped.</summary>
    public static async Task CopyFramesAsync(Stream from, Stream to, bool raw, CancellationToken ct, bool stdout = true, bool stderr = true)
    {
        var header = new byte[HeaderSize];
        var payload = new byte[32 * 1024];
        while (true)
        {
            if (await ReadFullAsync(from, header, ct) < HeaderSize) return;
            var (stream, len) = ReadHeader(header);
            if (len > payload.Length) payload = new byte[len];
            if (await ReadFullAsync(from, payload.AsMemory(0, len), ct) < len) return;
            if (stream == Stderr ? !stderr : stream == Stdout && !stdout) continue;
            if (!raw) await to.WriteAsync(header, ct);
            await to.WriteAsync(payload.AsMemory(0, len), ct);
            await to.FlushAsync(ct);
        }
    }

    /// <summary>The payloads of all frames, split by stream (tests and small outputs).</summary>
    public static (byte[] Stdout, byte[] Stderr) ReadAll(Stream from)
    {
        var o = new MemoryStream();
        var e = new MemoryStream();
        Demultiplex(from, (s, p) => { (s == Stderr ? e : o).Write(p); return true; });
        return (o.ToArray(), e.ToArray());
    }

    private static int ReadFull(Stream s, Span<byte> buf)
    {
        int off = 0;
        while (off < buf.Length)
        {
            int n = s.Read(buf[off..]);
            if (n == 0) break;
            off += n;
        }
        return off;
    }

    private static async ValueTask<int> ReadFullAsync(Stream s, Memory<byte> buf, CancellationToken ct)
    {
        int off = 0;
        while (off < buf.Length)
        {
            int n = await s.ReadAsync(buf[off..], ct);
            if (n == 0) break;
            off += n;
        }
        return off;
    }
}
