using Berth.Core;

namespace Berth.Engine.Networking;

/// <summary>
/// The daemon's network settings (daemon.json / berthd flags, dockerd's names): <c>bip</c> (the default bridge's
/// address and prefix, "192.168.5.1/24") and <c>default-address-pools</c> (where networks without --subnet,
/// the default bridge without bip included, take their subnet from; Docker's defaults when empty).
/// </summary>
public sealed class NetworkConfig
{
    /// <summary>"" (the first free pool) or the default bridge's gateway address with the subnet's prefix.</summary>
    public string Bip { get; init; } = "";

    public IReadOnlyList<AddressPool> DefaultAddressPools { get; init; } = [];

    /// <summary>bip as (subnet, gateway); null when not set. Invalid when it is not an address/prefix a bridge can hold.</summary>
    public (Cidr Subnet, uint Gateway)? ParsedBip => Bip == "" ? null : ParseBip(Bip);

    public static (Cidr Subnet, uint Gateway) ParseBip(string bip)
    {
        var slash = bip.IndexOf('/');
        var subnet = Cidr.TryParse(bip);
        if (slash < 0 || subnet is null || Ipam.TryParse(bip[..slash]) is not uint ip)
            throw BerthException.Invalid($"invalid bip: {bip}: an IPv4 address with a prefix length is needed (e.g. 192.168.1.5/24)");
        var s = subnet.Value;
        if (s.Prefix > 30 || ip == s.Network || ip == s.Broadcast)
            throw BerthException.Invalid($"invalid bip: {bip}: the address must be a host address of a subnet of at least 4 addresses");
        return (s, ip);
    }

    /// <summary>Checks the settings at daemon start (a bad bip or pool stops the daemon, as dockerd).</summary>
    public void Validate() => _ = ParsedBip;
}
