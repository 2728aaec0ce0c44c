using System.Buffers.Binary;

namespace Berth.Interop.Netlink;

/// <summary>
/// The kernel's connection tracking table through ctnetlink (NETLINK_NETFILTER, subsystem CTNETLINK): what
/// `conntrack -D -s IP` (and -d, --reply-src, --reply-dst) does, without a process. Used when an endpoint's
/// address is released (dockerd's clearEndpointConnections): the flows and NAT state of a container that went
/// must not outlive it, or the next container given the same address would inherit them (a UDP flow DNATed
/// to the old one keeps its mapping, a stale entry answers for the new one). Flows of the calling thread's
/// network namespace (the host's, for berthd).
/// </summary>
public static class CtNetlink
{
    private const ushort NFNL_SUBSYS_CTNETLINK = 1, IPCTNL_MSG_CT_NEW = 0, IPCTNL_MSG_CT_GET = 1, IPCTNL_MSG_CT_DELETE = 2;
    private const ushort CTA_TUPLE_ORIG = 1, CTA_TUPLE_REPLY = 2, CTA_TUPLE_IP = 1, CTA_IP_V4_SRC = 1, CTA_IP_V4_DST = 2, CTA_ZONE = 18;
    private const int ENOENT = 2;

    /// <summary>Deletes every IPv4 flow that has one of <paramref name="addresses"/> (host order) as source or
    /// destination in either direction. Returns how many were deleted (one that vanished meanwhile is not counted).</summary>
    public static int DeleteFlowsOf(IReadOnlySet<uint> addresses)
    {
        if (addresses.Count == 0) return 0;
        using var nl = RtNetlink.Open(Libc.NETLINK_NETFILTER);
        var dump = nl.Exchange(new NetlinkMessage((NFNL_SUBSYS_CTNETLINK << 8) | IPCTNL_MSG_CT_GET,
            NetlinkMessage.NLM_F_REQUEST | NetlinkMessage.NLM_F_DUMP).NfGen((byte)Libc.AF_INET), "conntrack dump");
        int deleted = 0;
        foreach (var (type, data) in dump)
        {
            if (type != ((NFNL_SUBSYS_CTNETLINK << 8) | IPCTNL_MSG_CT_NEW) || data.Length < 4) continue;
            byte[]? orig = null, zone = null;
            bool match = false;
            foreach (var (t, v) in NetlinkMessage.Attributes(data, 4, data.Length))
            {
                if (t is CTA_TUPLE_ORIG or CTA_TUPLE_REPLY)
                {
                    if (t == CTA_TUPLE_ORIG) orig = v;
                    match |= TupleHas(v, addresses);
                }
                else if (t == CTA_ZONE) zone = v;
            }
            if (!match || orig is null) continue;
            var del = new NetlinkMessage((NFNL_SUBSYS_CTNETLINK << 8) | IPCTNL_MSG_CT_DELETE, NetlinkMessage.NLM_F_REQUEST | NetlinkMessage.NLM_F_ACK)
                .NfGen((byte)Libc.AF_INET).Attr(CTA_TUPLE_ORIG | NetlinkMessage.NLA_F_NESTED, orig);
            if (zone is not null) del.Attr(CTA_ZONE, zone);
            try
            {
                nl.Exchange(del, "conntrack delete");
                deleted++;
            }
            catch (ErrnoException e) when (e.Errno == ENOENT) { } // timed out or deleted meanwhile
        }
        return deleted;
    }

    private static bool TupleHas(byte[] tuple, IReadOnlySet<uint> addresses)
    {
        foreach (var (t, v) in NetlinkMessage.Attributes(tuple, 0, tuple.Length))
        {
            if (t != CTA_TUPLE_IP) continue;
            foreach (var (it, iv) in NetlinkMessage.Attributes(v, 0, v.Length))
                if (it is CTA_IP_V4_SRC or CTA_IP_V4_DST && iv.Length == 4 && addresses.Contains(BinaryPrimitives.ReadUInt32BigEndian(iv)))
                    return true;
        }
        return false;
    }
}
