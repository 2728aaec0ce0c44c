using System.Buffers.Binary;
using System.Text;

namespace Berth.Interop.Netlink;

/// <summary>
/// One rtnetlink request being built: the nlmsghdr (16 bytes), the family header (ifinfomsg, ifaddrmsg, rtmsg)
/// and attributes (rtattr: u16 length, u16 type, value, padded to 4), nests included. Little-endian host order
/// as the kernel takes it (x86-64 and arm64).
/// </summary>
public sealed class NetlinkMessage
{
    public const ushort NLM_F_REQUEST = 1, NLM_F_ACK = 4, NLM_F_EXCL = 0x200, NLM_F_CREATE = 0x400, NLM_F_DUMP = 0x300;
    public const ushort NLA_F_NESTED = 0x8000;

    private byte[] _buf = new byte[256];
    private int _len;
    private readonly Stack<int> _nests = new();

    public NetlinkMessage(ushort type, ushort flags)
    {
        _len = 16;
        BinaryPrimitives.WriteUInt16LittleEndian(_buf.AsSpan(4), type);
        BinaryPrimitives.WriteUInt16LittleEndian(_buf.AsSpan(6), flags);
    }

    public ushort Type => BinaryPrimitives.ReadUInt16LittleEndian(_buf.AsSpan(4));

    private Span<byte> Grow(int n)
    {
        int padded = (n + 3) & ~3;
        if (_len + padded > _buf.Length) Array.Resize(ref _buf, Math.Max(_buf.Length * 2, _len + padded));
        var s = _buf.AsSpan(_len, padded);
        s.Clear();
        _len += padded;
        return s[..n];
    }

    /// <summary>struct ifinfomsg: family, type, index, flags, change.</summary>
    public NetlinkMessage IfInfo(byte family = 0, int index = 0, uint flags = 0, uint change = 0)
    {
        var s = Grow(16);
        s[0] = family;
        BinaryPrimitives.WriteInt32LittleEndian(s[4..], index);
        BinaryPrimitives.WriteUInt32LittleEndian(s[8..], flags);
        BinaryPrimitives.WriteUInt32LittleEndian(s[12..], change);
        return this;
    }

    /// <summary>struct nfgenmsg (nfnetlink): family, version (NFNETLINK_V0), res_id.</summary>
    public NetlinkMessage NfGen(byte family)
    {
        Grow(4)[0] = family;
        return this;
    }

    /// <summary>struct ifaddrmsg: family, prefix length, flags, scope, index.</summary>
    public NetlinkMessage IfAddr(byte family, byte prefixLen, int index, byte scope = 0)
    {
        var s = Grow(8);
        s[0] = family;
        s[1] = prefixLen;
        s[3] = scope;
        BinaryPrimitives.WriteInt32LittleEndian(s[4..], index);
        return this;
    }

    /// <summary>struct rtmsg: family, dst_len, src_len, tos, table, protocol, scope, type, flags.</summary>
    public NetlinkMessage Rt(byte family, byte dstLen, byte table, byte protocol, byte scope, byte type)
    {
        var s = Grow(12);
        s[0] = family;
        s[1] = dstLen;
        s[4] = table;
        s[5] = protocol;
        s[6] = scope;
        s[7] = type;
        return this;
    }

    public NetlinkMessage Attr(ushort type, ReadOnlySpan<byte> value)
    {
        var s = Grow(4 + value.Length);
        BinaryPrimitives.WriteUInt16LittleEndian(s, (ushort)(4 + value.Length));
        BinaryPrimitives.WriteUInt16LittleEndian(s[2..], type);
        value.CopyTo(s[4..]);
        return this;
    }

    public NetlinkMessage Attr(ushort type, string value)
    {
        var b = new byte[Encoding.UTF8.GetByteCount(value) + 1];
        Encoding.UTF8.GetBytes(value, b);
        return Attr(type, b);
    }

    public NetlinkMessage AttrU32(ushort type, uint value)
    {
        Span<byte> b = stackalloc byte[4];
        BinaryPrimitives.WriteUInt32LittleEndian(b, value);
        return Attr(type, b);
    }

    public NetlinkMessage AttrU8(ushort type, byte value) => Attr(type, [value]);

    public NetlinkMessage BeginNest(ushort type)
    {
        _nests.Push(_len);
        var s = Grow(4);
        BinaryPrimitives.WriteUInt16LittleEndian(s[2..], (ushort)(type | NLA_F_NESTED));
        return this;
    }

    public NetlinkMessage EndNest()
    {
        int start = _nests.Pop();
        BinaryPrimitives.WriteUInt16LittleEndian(_buf.AsSpan(start), (ushort)(_len - start));
        return this;
    }

    /// <summary>The finished message with its length and sequence number.</summary>
    public ReadOnlySpan<byte> Finish(uint seq)
    {
        if (_nests.Count != 0) throw new InvalidOperationException("netlink nest left open");
        BinaryPrimitives.WriteUInt32LittleEndian(_buf, (uint)_len);
        BinaryPrimitives.WriteUInt32LittleEndian(_buf.AsSpan(8), seq);
        return _buf.AsSpan(0, _len);
    }

    /// <summary>Walks the attributes in <paramref name="data"/> (a message's payload after its family header).</summary>
    public static IEnumerable<(ushort Type, byte[] Value)> Attributes(byte[] data, int offset, int end)
    {
        while (offset + 4 <= end)
        {
            int len = BinaryPrimitives.ReadUInt16LittleEndian(data.AsSpan(offset));
            ushort type = (ushort)(BinaryPrimitives.ReadUInt16LittleEndian(data.AsSpan(offset + 2)) & 0x3fff);
            if (len < 4 || offset + len > end) yield break;
            yield return (type, data.AsSpan(offset + 4, len - 4).ToArray());
            offset += (len + 3) & ~3;
        }
    }
}
