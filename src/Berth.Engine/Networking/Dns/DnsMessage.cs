using System.Buffers.Binary;
using System.Text;

namespace Berth.Engine.Networking.Dns;

/// <summary>
/// The little of RFC 1035 the embedded resolver needs: the question of a query (one, uncompressed, as every
/// stub resolver sends it) and answers with A records (or none) that copy the question. Everything else is
/// forwarded byte for byte, so no general DNS library is needed (and the daemon stays small and AOT-clean).
/// </summary>
public static class DnsMessage
{
    public const ushort TypeA = 1, TypePtr = 12, TypeAaaa = 28, ClassIn = 1;
    public const int NoError = 0, ServFail = 2, NxDomain = 3, NotImp = 4, FormErr = 1;

    /// <summary>A parsed query: its id, opcode, RD flag, name (lower case, no trailing dot), type, class and where the question ends.</summary>
    public readonly record struct Query(ushort Id, int Opcode, bool RecursionDesired, string Name, ushort Type, ushort Class, int QuestionEnd);

    /// <summary>Reads the header and the single question; false when the message is no query Berth can read.</summary>
    public static bool TryParseQuery(ReadOnlySpan<byte> m, out Query q)
    {
        q = default;
        if (m.Length < 12) return false;
        ushort id = BinaryPrimitives.ReadUInt16BigEndian(m);
        ushort flags = BinaryPrimitives.ReadUInt16BigEndian(m[2..]);
        if ((flags & 0x8000) != 0) return false; // a response
        if (BinaryPrimitives.ReadUInt16BigEndian(m[4..]) != 1) return false;
        int p = 12;
        var name = new StringBuilder();
        while (true)
        {
            if (p >= m.Length) return false;
            int len = m[p++];
            if (len == 0) break;
            if (len > 63 || p + len > m.Length) return false; // compression pointers never appear in a question
            if (name.Length > 0) name.Append('.');
            foreach (var b in m.Slice(p, len)) name.Append((char)(b is >= (byte)'A' and <= (byte)'Z' ? b + 32 : b));
            p += len;
            if (name.Length > 253) return false;
        }
        if (p + 4 > m.Length) return false;
        q = new Query(id, (flags >> 11) & 0xf, (flags & 0x0100) != 0, name.ToString(),
            BinaryPrimitives.ReadUInt16BigEndian(m[p..]), BinaryPrimitives.ReadUInt16BigEndian(m[(p + 2)..]), p + 4);
        return true;
    }

    /// <summary>
    /// A response to <paramref name="query"/>: its question copied, <paramref name="rcode"/>, and an A record per
    /// address (network order as a uint: 10.0.0.1 = 0x0a000001) with <paramref name="ttl"/> seconds, or a PTR
    /// record naming <paramref name="ptrName"/>. Recursion available is set, as Docker's resolver sets it.
    /// </summary>
    public static byte[] Response(ReadOnlySpan<byte> query, Query q, int rcode, IReadOnlyList<uint>? addresses = null,
        string? ptrName = null, uint ttl = 600)
    {
        int n = addresses?.Count ?? 0;
        byte[]? ptr = ptrName is null ? null : EncodeName(ptrName);
        int size = q.QuestionEnd + n * 16 + (ptr is null ? 0 : 12 + ptr.Length);
        var r = new byte[size];
        query[..q.QuestionEnd].CopyTo(r);
        ushort flags = (ushort)(0x8000 | (q.Opcode << 11) | (q.RecursionDesired ? 0x0100 : 0) | 0x0080 | (rcode & 0xf));
        BinaryPrimitives.WriteUInt16BigEndian(r.AsSpan(2), flags);
        BinaryPrimitives.WriteUInt16BigEndian(r.AsSpan(4), 1);
        BinaryPrimitives.WriteUInt16BigEndian(r.AsSpan(6), (ushort)(n + (ptr is null ? 0 : 1)));
        BinaryPrimitives.WriteUInt16BigEndian(r.AsSpan(8), 0);
        BinaryPrimitives.WriteUInt16BigEndian(r.AsSpan(10), 0);
        int p = q.QuestionEnd;
        for (int i = 0; i < n; i++)
        {
            var s = r.AsSpan(p);
            BinaryPrimitives.WriteUInt16BigEndian(s, 0xc00c); // the question's name
            BinaryPrimitives.WriteUInt16BigEndian(s[2..], TypeA);
            BinaryPrimitives.WriteUInt16BigEndian(s[4..], ClassIn);
            BinaryPrimitives.WriteUInt32BigEndian(s[6..], ttl);
            BinaryPrimitives.WriteUInt16BigEndian(s[10..], 4);
            BinaryPrimitives.WriteUInt32BigEndian(s[12..], addresses![i]);
            p += 16;
        }
        if (ptr is not null)
        {
            var s = r.AsSpan(p);
            BinaryPrimitives.WriteUInt16BigEndian(s, 0xc00c);
            BinaryPrimitives.WriteUInt16BigEndian(s[2..], TypePtr);
            BinaryPrimitives.WriteUInt16BigEndian(s[4..], ClassIn);
            BinaryPrimitives.WriteUInt32BigEndian(s[6..], ttl);
            BinaryPrimitives.WriteUInt16BigEndian(s[10..], (ushort)ptr.Length);
            ptr.CopyTo(s[12..]);
        }
        return r;
    }

    /// <summary>A header-only error response (FORMERR for what cannot be read: no question is copied).</summary>
    public static byte[] Error(ReadOnlySpan<byte> query, int rcode)
    {
        var r = new byte[12];
        if (query.Length >= 2) query[..2].CopyTo(r);
        ushort qflags = query.Length >= 4 ? BinaryPrimitives.ReadUInt16BigEndian(query[2..]) : (ushort)0;
        BinaryPrimitives.WriteUInt16BigEndian(r.AsSpan(2), (ushort)(0x8000 | (qflags & 0x7900) | 0x0080 | (rcode & 0xf)));
        return r;
    }

    /// <summary>A name in wire format ("a.b" → 1 a 1 b 0).</summary>
    public static byte[] EncodeName(string name)
    {
        var bytes = new List<byte>(name.Length + 2);
        foreach (var label in name.TrimEnd('.').Split('.', StringSplitOptions.RemoveEmptyEntries))
        {
            var l = Encoding.ASCII.GetBytes(label);
            bytes.Add((byte)Math.Min(l.Length, 63));
            bytes.AddRange(l.Take(63));
        }
        bytes.Add(0);
        return [.. bytes];
    }

    /// <summary>A query (tests, benchmarks): id, name, type, RD set.</summary>
    public static byte[] BuildQuery(ushort id, string name, ushort type)
    {
        var qn = EncodeName(name);
        var m = new byte[12 + qn.Length + 4];
        BinaryPrimitives.WriteUInt16BigEndian(m, id);
        BinaryPrimitives.WriteUInt16BigEndian(m.AsSpan(2), 0x0100);
        BinaryPrimitives.WriteUInt16BigEndian(m.AsSpan(4), 1);
        qn.CopyTo(m, 12);
        BinaryPrimitives.WriteUInt16BigEndian(m.AsSpan(12 + qn.Length), type);
        BinaryPrimitives.WriteUInt16BigEndian(m.AsSpan(14 + qn.Length), ClassIn);
        return m;
    }
}
