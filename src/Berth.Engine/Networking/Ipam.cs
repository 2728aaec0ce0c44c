using System.Buffers.Binary;
using System.Net;
using Berth.Core;

namespace Berth.Engine.Networking;

/// <summary>An IPv4 subnet as numbers: base address and prefix length.</summary>
public readonly record struct Cidr(uint Network, int Prefix)
{
    public uint Mask => Prefix == 0 ? 0 : uint.MaxValue << (32 - Prefix);
    public uint Broadcast => Network | ~Mask;
    public bool Contains(uint a) => (a & Mask) == Network;
    public bool Overlaps(Cidr o) => Contains(o.Network) || o.Contains(Network);
    public override string ToString() => $"{Ipam.Format(Network)}/{Prefix}";

    /// <summary>"a.b.c.d/n" (host bits cleared, as Docker stores a subnet); null when it does not parse.</summary>
    public static Cidr? TryParse(string s)
    {
        var parts = s.Split('/');
        if (parts.Length != 2 || !int.TryParse(parts[1], out int p) || p is < 0 or > 32) return null;
        if (Ipam.TryParse(parts[0]) is not uint a) return null;
        var c = new Cidr(0, p);
        return new Cidr(a & c.Mask, p);
    }
}

/// <summary>
/// IPv4 address management of one network (Docker's default IPAM driver): the gateway first (.1 unless given),
/// then addresses in order from the subnet (or --ip-range), the lowest free one first, skipping the network and
/// broadcast addresses, the gateway and --aux-address reservations. The allocations are the network record's.
/// </summary>
public static class Ipam
{
    public static uint? TryParse(string s) =>
        IPAddress.TryParse(s, out var a) && a.AddressFamily == System.Net.Sockets.AddressFamily.InterNetwork
            ? BinaryPrimitives.ReadUInt32BigEndian(a.GetAddressBytes()) : null;

    public static uint Parse(string s) => TryParse(s) ?? throw BerthException.Invalid($"invalid IPv4 address: {s}");

    public static string Format(uint a) => $"{a >> 24}.{(a >> 16) & 255}.{(a >> 8) & 255}.{a & 255}";

    public static IPAddress ToAddress(uint a) => new(new[] { (byte)(a >> 24), (byte)(a >> 16), (byte)(a >> 8), (byte)a });

    /// <summary>Docker's MAC address for an IPv4 address: 02:42 and the address's four bytes.</summary>
    public static string MacFor(uint a) => $"02:42:{a >> 24:x2}:{(a >> 16) & 255:x2}:{(a >> 8) & 255:x2}:{a & 255:x2}";

    public static byte[] MacBytes(string mac) => mac.Split(':').Select(h => Convert.ToByte(h, 16)).ToArray();

    /// <summary>The addresses in use in <paramref name="n"/>: gateway, aux addresses, endpoints.</summary>
    public static HashSet<uint> InUse(NetworkRecord n)
    {
        var used = new HashSet<uint>();
        if (TryParse(n.Gateway) is uint g) used.Add(g);
        foreach (var a in n.AuxAddresses.Values) if (TryParse(a) is uint x) used.Add(x);
        foreach (var e in n.Endpoints.Values) if (TryParse(e.IPAddress) is uint x) used.Add(x);
        return used;
    }

    /// <summary>
    /// An address for a new endpoint: <paramref name="requested"/> when given (refused when outside the subnet or
    /// range or taken, with dockerd's words), else the lowest free one of the range.
    /// </summary>
    public static uint Allocate(NetworkRecord n, string? requested)
    {
        var subnet = Cidr.TryParse(n.Subnet) ?? throw BerthException.Invalid($"network {n.Name} has no IPv4 subnet");
        var range = string.IsNullOrEmpty(n.IPRange) ? subnet : Cidr.TryParse(n.IPRange)!.Value;
        var used = InUse(n);
        if (!string.IsNullOrEmpty(requested))
        {
            uint want = Parse(requested);
            if (!subnet.Contains(want) || want == subnet.Network || want == subnet.Broadcast)
                throw BerthException.Invalid($"no available IPv4 addresses on this network's address pools: {n.Name} ({n.Id})");
            if (used.Contains(want)) throw BerthException.Invalid("Address already in use");
            return want;
        }
        for (ulong a = range.Network + 1UL; a < range.Broadcast; a++)
        {
            if (a == subnet.Network || a == subnet.Broadcast) continue;
            if (!used.Contains((uint)a)) return (uint)a;
        }
        throw BerthException.Invalid($"no available IPv4 addresses on this network's address pools: {n.Name} ({n.Id})");
    }
}
