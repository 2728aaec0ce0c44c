using System.Buffers.Binary;
using System.Net;
using System.Text;

namespace Berth.Interop.Netlink;

/// <summary>
/// A NETLINK_ROUTE socket in one network namespace (the one its creating thread was in: see
/// <see cref="NetNamespace"/>) and the link, address and route requests Berth makes with it: what `ip link`,
/// `ip addr` and `ip route` would do, without a process per call. Not thread-safe: one request at a time.
/// </summary>
public sealed unsafe class RtNetlink : IDisposable
{
    public const ushort RTM_NEWLINK = 16, RTM_DELLINK = 17, RTM_GETLINK = 18, RTM_SETLINK = 19, RTM_NEWADDR = 20,
        RTM_NEWROUTE = 24;
    public const ushort IFLA_ADDRESS = 1, IFLA_IFNAME = 3, IFLA_MTU = 4, IFLA_LINK = 5, IFLA_MASTER = 10, IFLA_PROTINFO = 12,
        IFLA_LINKINFO = 18, IFLA_IFALIAS = 20, IFLA_NET_NS_FD = 28, IFLA_INFO_KIND = 1, IFLA_INFO_DATA = 2, VETH_INFO_PEER = 1;
    public const ushort IFLA_MACVLAN_MODE = 1, IFLA_VLAN_ID = 1;
    public const uint MACVLAN_MODE_PRIVATE = 1, MACVLAN_MODE_VEPA = 2, MACVLAN_MODE_BRIDGE = 4, MACVLAN_MODE_PASSTHRU = 8;
    public const ushort IFLA_BRPORT_MODE = 4, IFLA_BRPORT_ISOLATED = 33;
    public const ushort IFA_ADDRESS = 1, IFA_LOCAL = 2, IFA_BROADCAST = 4;
    public const ushort RTA_DST = 1, RTA_OIF = 4, RTA_GATEWAY = 5;
    public const uint IFF_UP = 1;
    private const ushort NLMSG_ERROR = 2, NLMSG_DONE = 3;
    private const int ENODEV = 19;

    private int _fd;
    private uint _seq;
    private readonly byte[] _rx = new byte[64 * 1024];

    private RtNetlink(int fd) => _fd = fd;

    /// <summary>A socket in the calling thread's network namespace.</summary>
    public static RtNetlink Open() => Open(Libc.NETLINK_ROUTE);

    /// <summary>A netlink socket of another protocol (NETLINK_NETFILTER for <see cref="CtNetlink"/>): the same
    /// request/reply exchange.</summary>
    internal static RtNetlink Open(int protocol)
    {
        int fd = Libc.Check(Libc.socket(Libc.AF_NETLINK, Libc.SOCK_RAW | Libc.SOCK_CLOEXEC, protocol), "socket", "netlink");
        return new RtNetlink(fd);
    }

    public void Dispose()
    {
        if (_fd >= 0) Libc.close(_fd);
        _fd = -1;
    }

    /// <summary>Sends <paramref name="m"/> and collects the replies until the ack (or the dump's end).</summary>
    internal List<(ushort Type, byte[] Data)> Exchange(NetlinkMessage m, string what)
    {
        var msg = m.Finish(++_seq);
        fixed (byte* p = msg)
            if (Libc.send(_fd, p, msg.Length, 0) < 0) throw new ErrnoException(Libc.Errno, "netlink send", what);
        var replies = new List<(ushort, byte[])>();
        while (true)
        {
            int n;
            fixed (byte* p = _rx) n = (int)Libc.recv(_fd, p, _rx.Length, 0);
            if (n < 0)
            {
                if (Libc.Errno == Libc.EINTR) continue;
                throw new ErrnoException(Libc.Errno, "netlink recv", what);
            }
            int off = 0;
            while (off + 16 <= n)
            {
                int len = (int)BinaryPrimitives.ReadUInt32LittleEndian(_rx.AsSpan(off));
                ushort type = BinaryPrimitives.ReadUInt16LittleEndian(_rx.AsSpan(off + 4));
                uint seq = BinaryPrimitives.ReadUInt32LittleEndian(_rx.AsSpan(off + 8));
                if (len < 16 || off + len > n) break;
                if (seq == _seq)
                {
                    if (type == NLMSG_DONE) return replies;
                    if (type == NLMSG_ERROR)
                    {
                        int err = -BinaryPrimitives.ReadInt32LittleEndian(_rx.AsSpan(off + 16));
                        if (err != 0) throw new ErrnoException(err, "netlink", what);
                        return replies;
                    }
                    replies.Add((type, _rx.AsSpan(off + 16, len - 16).ToArray()));
                }
                off += (len + 3) & ~3;
            }
        }
    }

    private void Do(NetlinkMessage m, string what) => Exchange(m, what);

    /// <summary>The index of the link named <paramref name="name"/>, or 0 when there is none.</summary>
    public int LinkIndex(string name)
    {
        try
        {
            var r = Exchange(new NetlinkMessage(RTM_GETLINK, NetlinkMessage.NLM_F_REQUEST | NetlinkMessage.NLM_F_ACK)
                .IfInfo().Attr(IFLA_IFNAME, name), name);
            return r.Count > 0 ? BinaryPrimitives.ReadInt32LittleEndian(r[0].Data.AsSpan(4)) : 0;
        }
        catch (ErrnoException e) when (e.Errno == ENODEV) { return 0; }
    }

    /// <summary>Every link: index and name (`ip -o link`).</summary>
    public List<(int Index, string Name)> Links()
    {
        var links = new List<(int, string)>();
        foreach (var (type, data) in Exchange(new NetlinkMessage(RTM_GETLINK, NetlinkMessage.NLM_F_REQUEST | NetlinkMessage.NLM_F_DUMP).IfInfo(), "links"))
        {
            if (type != RTM_NEWLINK) continue;
            int index = BinaryPrimitives.ReadInt32LittleEndian(data.AsSpan(4));
            foreach (var (t, v) in NetlinkMessage.Attributes(data, 16, data.Length))
                if (t == IFLA_IFNAME) links.Add((index, Encoding.UTF8.GetString(v).TrimEnd('\0')));
        }
        return links;
    }

    /// <summary>Every link with what ownership checks need: kind (IFLA_INFO_KIND), alias (IFLA_IFALIAS) and master.</summary>
    public List<LinkInfo> LinkDetails()
    {
        var links = new List<LinkInfo>();
        foreach (var (type, data) in Exchange(new NetlinkMessage(RTM_GETLINK, NetlinkMessage.NLM_F_REQUEST | NetlinkMessage.NLM_F_DUMP).IfInfo(), "links"))
        {
            if (type != RTM_NEWLINK) continue;
            int index = BinaryPrimitives.ReadInt32LittleEndian(data.AsSpan(4));
            string name = "", kind = "", alias = "";
            int master = 0;
            foreach (var (t, v) in NetlinkMessage.Attributes(data, 16, data.Length))
            {
                if (t == IFLA_IFNAME) name = Encoding.UTF8.GetString(v).TrimEnd('\0');
                else if (t == IFLA_IFALIAS) alias = Encoding.UTF8.GetString(v).TrimEnd('\0');
                else if (t == IFLA_MASTER && v.Length >= 4) master = BinaryPrimitives.ReadInt32LittleEndian(v);
                else if (t == IFLA_LINKINFO)
                    foreach (var (it, iv) in NetlinkMessage.Attributes(v, 0, v.Length))
                        if (it == IFLA_INFO_KIND) kind = Encoding.UTF8.GetString(iv).TrimEnd('\0');
            }
            links.Add(new LinkInfo(index, name, kind, alias, master));
        }
        return links;
    }

    /// <summary>`ip link set INDEX alias ALIAS` (IFLA_IFALIAS, at most 255 bytes): Berth marks the links it owns.</summary>
    public void SetAlias(int index, string alias) =>
        Do(new NetlinkMessage(RTM_NEWLINK, NetlinkMessage.NLM_F_REQUEST | NetlinkMessage.NLM_F_ACK).IfInfo(0, index).Attr(IFLA_IFALIAS, alias),
            "set alias of link " + index);

    /// <summary>`ip link add NAME type KIND` for kinds without parameters (dummy); the kernel says "not supported" for unknown kinds.</summary>
    public void AddLink(string name, string kind)
    {
        Do(new NetlinkMessage(RTM_NEWLINK, NetlinkMessage.NLM_F_REQUEST | NetlinkMessage.NLM_F_ACK | NetlinkMessage.NLM_F_CREATE | NetlinkMessage.NLM_F_EXCL)
            .IfInfo().Attr(IFLA_IFNAME, name).BeginNest(IFLA_LINKINFO).Attr(IFLA_INFO_KIND, kind).EndNest(), $"add {kind} link {name}");
    }

    /// <summary>`ip link add link PARENT name NAME type vlan id ID` (802.1q; needs the kernel's 8021q).</summary>
    public void AddVlan(string name, int parentIndex, ushort vlanId)
    {
        var id = new byte[2];
        BinaryPrimitives.WriteUInt16LittleEndian(id, vlanId);
        Do(new NetlinkMessage(RTM_NEWLINK, NetlinkMessage.NLM_F_REQUEST | NetlinkMessage.NLM_F_ACK | NetlinkMessage.NLM_F_CREATE | NetlinkMessage.NLM_F_EXCL)
            .IfInfo().Attr(IFLA_IFNAME, name).AttrU32(IFLA_LINK, (uint)parentIndex)
            .BeginNest(IFLA_LINKINFO).Attr(IFLA_INFO_KIND, "vlan").BeginNest(IFLA_INFO_DATA).Attr(IFLA_VLAN_ID, id).EndNest().EndNest(),
            $"add vlan link {name}");
    }

    /// <summary>
    /// `ip link add link PARENT name NAME [netns NS] address MAC type macvlan mode MODE`: a macvlan interface on
    /// <paramref name="parentIndex"/> (a link of this socket's namespace), made directly in the namespace
    /// <paramref name="netnsFd"/> when it is not -1.
    /// </summary>
    public void AddMacvlan(string name, int parentIndex, uint mode, int netnsFd, byte[]? mac, int mtu)
    {
        var m = new NetlinkMessage(RTM_NEWLINK, NetlinkMessage.NLM_F_REQUEST | NetlinkMessage.NLM_F_ACK | NetlinkMessage.NLM_F_CREATE | NetlinkMessage.NLM_F_EXCL)
            .IfInfo().Attr(IFLA_IFNAME, name).AttrU32(IFLA_LINK, (uint)parentIndex);
        if (netnsFd >= 0) m.AttrU32(IFLA_NET_NS_FD, (uint)netnsFd);
        if (mac is not null) m.Attr(IFLA_ADDRESS, mac);
        if (mtu > 0) m.AttrU32(IFLA_MTU, (uint)mtu);
        m.BeginNest(IFLA_LINKINFO).Attr(IFLA_INFO_KIND, "macvlan").BeginNest(IFLA_INFO_DATA).AttrU32(IFLA_MACVLAN_MODE, mode).EndNest().EndNest();
        Do(m, "add macvlan " + name);
    }

    /// <summary>`ip link add NAME type bridge` (with an MTU when not 0).</summary>
    public void AddBridge(string name, int mtu)
    {
        var m = new NetlinkMessage(RTM_NEWLINK, NetlinkMessage.NLM_F_REQUEST | NetlinkMessage.NLM_F_ACK | NetlinkMessage.NLM_F_CREATE | NetlinkMessage.NLM_F_EXCL)
            .IfInfo().Attr(IFLA_IFNAME, name);
        if (mtu > 0) m.AttrU32(IFLA_MTU, (uint)mtu);
        m.BeginNest(IFLA_LINKINFO).Attr(IFLA_INFO_KIND, "bridge").EndNest();
        Do(m, "add bridge " + name);
    }

    /// <summary>
    /// A veth pair in one request: <paramref name="hostName"/> here, its peer <paramref name="peerName"/> made
    /// directly in the network namespace <paramref name="peerNetnsFd"/> with <paramref name="peerMac"/>.
    /// </summary>
    public void AddVeth(string hostName, string peerName, int peerNetnsFd, byte[]? peerMac, int mtu)
    {
        var m = new NetlinkMessage(RTM_NEWLINK, NetlinkMessage.NLM_F_REQUEST | NetlinkMessage.NLM_F_ACK | NetlinkMessage.NLM_F_CREATE | NetlinkMessage.NLM_F_EXCL)
            .IfInfo().Attr(IFLA_IFNAME, hostName);
        if (mtu > 0) m.AttrU32(IFLA_MTU, (uint)mtu);
        m.BeginNest(IFLA_LINKINFO).Attr(IFLA_INFO_KIND, "veth").BeginNest(IFLA_INFO_DATA).BeginNest(VETH_INFO_PEER)
            .IfInfo().Attr(IFLA_IFNAME, peerName).AttrU32(IFLA_NET_NS_FD, (uint)peerNetnsFd);
        if (peerMac is not null) m.Attr(IFLA_ADDRESS, peerMac);
        if (mtu > 0) m.AttrU32(IFLA_MTU, (uint)mtu);
        m.EndNest().EndNest().EndNest();
        Do(m, "add veth " + hostName);
    }

    /// <summary>`ip link set INDEX [master M] up`.</summary>
    public void SetUp(int index, int masterIndex = 0)
    {
        var m = new NetlinkMessage(RTM_NEWLINK, NetlinkMessage.NLM_F_REQUEST | NetlinkMessage.NLM_F_ACK).IfInfo(0, index, IFF_UP, IFF_UP);
        if (masterIndex > 0) m.AttrU32(IFLA_MASTER, (uint)masterIndex);
        Do(m, "set link up " + index);
    }

    /// <summary>A bridge port's flags: isolated (no traffic to other isolated ports: enable_icc=false) and hairpin.</summary>
    public void SetBridgePort(int index, bool isolated, bool hairpin)
    {
        Do(new NetlinkMessage(RTM_SETLINK, NetlinkMessage.NLM_F_REQUEST | NetlinkMessage.NLM_F_ACK).IfInfo((byte)Libc.AF_BRIDGE, index)
            .BeginNest(IFLA_PROTINFO).AttrU8(IFLA_BRPORT_ISOLATED, isolated ? (byte)1 : (byte)0)
            .AttrU8(IFLA_BRPORT_MODE, hairpin ? (byte)1 : (byte)0).EndNest(), "bridge port " + index);
    }

    /// <summary>`ip link del INDEX`; false when there was no such link.</summary>
    public bool DeleteLink(int index)
    {
        try
        {
            Do(new NetlinkMessage(RTM_DELLINK, NetlinkMessage.NLM_F_REQUEST | NetlinkMessage.NLM_F_ACK).IfInfo(0, index), "delete link " + index);
            return true;
        }
        catch (ErrnoException e) when (e.Errno == ENODEV) { return false; }
    }

    public bool DeleteLink(string name)
    {
        int index = LinkIndex(name);
        return index > 0 && DeleteLink(index);
    }

    /// <summary>`ip addr add ADDRESS/PREFIX dev INDEX` (IPv4, with the broadcast address).</summary>
    public void AddAddress(int index, IPAddress address, int prefixLen)
    {
        var a = address.GetAddressBytes();
        uint host = BinaryPrimitives.ReadUInt32BigEndian(a);
        uint bcast = prefixLen >= 31 ? host : host | (uint.MaxValue >> prefixLen);
        var b = new byte[4];
        BinaryPrimitives.WriteUInt32BigEndian(b, bcast);
        Do(new NetlinkMessage(RTM_NEWADDR, NetlinkMessage.NLM_F_REQUEST | NetlinkMessage.NLM_F_ACK | NetlinkMessage.NLM_F_CREATE | NetlinkMessage.NLM_F_EXCL)
            .IfAddr((byte)Libc.AF_INET, (byte)prefixLen, index).Attr(IFA_LOCAL, a).Attr(IFA_ADDRESS, a).Attr(IFA_BROADCAST, b),
            $"add address {address}/{prefixLen}");
    }

    /// <summary>`ip route add default via GATEWAY dev INDEX`.</summary>
    public void AddDefaultRoute(IPAddress gateway, int index)
    {
        const byte RT_TABLE_MAIN = 254, RTPROT_BOOT = 3, RT_SCOPE_UNIVERSE = 0, RTN_UNICAST = 1;
        Do(new NetlinkMessage(RTM_NEWROUTE, NetlinkMessage.NLM_F_REQUEST | NetlinkMessage.NLM_F_ACK | NetlinkMessage.NLM_F_CREATE | NetlinkMessage.NLM_F_EXCL)
            .Rt((byte)Libc.AF_INET, 0, RT_TABLE_MAIN, RTPROT_BOOT, RT_SCOPE_UNIVERSE, RTN_UNICAST)
            .Attr(RTA_GATEWAY, gateway.GetAddressBytes()).AttrU32(RTA_OIF, (uint)index), "add default route via " + gateway);
    }
}

/// <summary>A link as <see cref="RtNetlink.LinkDetails"/> reports it.</summary>
public readonly record struct LinkInfo(int Index, string Name, string Kind, string Alias, int Master);
