using Berth.Core;

namespace Berth.Engine.Networking;

/// <summary>The network API's operations: create, inspect, list, remove, prune.</summary>
public sealed partial class NetworkManager
{
    private static readonly HashSet<string> BridgeOptions = new(StringComparer.Ordinal)
    {
        "com.docker.network.bridge.name", "com.docker.network.bridge.enable_icc", "com.docker.network.bridge.enable_ip_masquerade",
        "com.docker.network.driver.mtu",
    };

    private static readonly HashSet<string> MacvlanOptions = new(StringComparer.Ordinal)
    {
        MacvlanDriver.ParentOption, MacvlanDriver.ModeOption, "com.docker.network.driver.mtu",
    };

    private static BerthException NotYet(string what) => BerthException.Invalid($"{what} not implemented in Berth yet");

    /// <summary>docker network create (bridge and macvlan drivers): checked as dockerd does, then the plumbing and the table made.</summary>
    public NetworkRecord Create(NetworkCreateOptions o)
    {
        if (string.IsNullOrEmpty(o.Name)) throw BerthException.Invalid("network name must not be empty");
        var driver = o.Driver is "" ? "bridge" : o.Driver;
        if (driver is "host" or "null" or "none")
            throw new BerthException(ErrorKind.Forbidden, $"only one instance of \"{driver}\" network is allowed");
        if (driver is not ("bridge" or "macvlan"))
            throw driver is "ipvlan" or "overlay"
                ? NotYet($"the \"{driver}\" network driver is")
                : new BerthException(ErrorKind.NotFound, $"plugin \"{driver}\" not found");
        if (o.EnableIPv6) throw NotYet("EnableIPv6: IPv6 networks are");
        if (o.Ingress) throw NotYet("Ingress: ingress networks (swarm) are");
        if (o.IpamDriver is not ("" or "default")) throw NotYet($"IPAM driver \"{o.IpamDriver}\" is");
        if (o.IpamOptions.Count > 0) throw NotYet("IPAM options are");
        foreach (var k in o.Options.Keys)
            if (!(driver == "macvlan" ? MacvlanOptions : BridgeOptions).Contains(k)) throw NotYet($"network option \"{k}\" is");
        if (o.Options.TryGetValue("com.docker.network.driver.mtu", out var mtu) && (!int.TryParse(mtu, out var m) || m < 68))
            throw BerthException.Invalid($"invalid MTU number: {mtu}");
        if (o.IpamConfig.Count > 1) throw NotYet("more than one IPAM pool per network is");

        lock (_lock)
        {
            if (_networks.Values.Any(n => n.Name == o.Name))
                throw BerthException.Conflict($"network with name {o.Name} already exists");
            var id = NewId();
            var n = new NetworkRecord
            {
                Id = id, Name = o.Name, Driver = driver, Created = DateTime.UtcNow, Internal = o.Internal, Attachable = o.Attachable,
                Labels = new(o.Labels), Options = new(o.Options),
                BridgeName = driver != "bridge" ? ""
                    : o.Options.TryGetValue("com.docker.network.bridge.name", out var bn) && bn != "" ? bn : "br-" + id[..12],
            };
            if (driver == "bridge")
            {
                if (n.BridgeName.Length > 15) throw BerthException.Invalid($"bridge name {n.BridgeName} is longer than 15 characters");
                if (_networks.Values.Any(x => x.BridgeName == n.BridgeName) || _host.LinkIndex(n.BridgeName) != 0)
                    throw BerthException.Conflict($"bridge name {n.BridgeName} is in use");
            }
            else CheckMacvlan(n);
            using var poolLock = AddressPools.Lock();
            ConfigureIpam(n, o.IpamConfig.FirstOrDefault());
            var drv = DriverOf(n);
            try
            {
                Save(n);
                _networks[id] = n;
                Plumb(n);
                if (n.MadeLink != "") Save(n);
            }
            catch
            {
                _networks.Remove(id);
                TryQuiet(() => drv.DeleteNetwork(n));
                TryQuiet(() => File.Delete(System.IO.Path.Combine(_dir, id + ".json")));
                throw;
            }
            Publish("create", n);
            return n;
        }
    }

    /// <summary>Docker's macvlan checks before anything is made: the mode, loopback, one network per parent.</summary>
    private void CheckMacvlan(NetworkRecord n)
    {
        MacvlanDriver.ModeOf(n);
        var parent = MacvlanDriver.ParentOf(n);
        if (parent == "lo") throw BerthException.Invalid("loopback interface is not a valid macvlan parent link");
        var other = _networks.Values.FirstOrDefault(x => x.Driver == "macvlan" && MacvlanDriver.ParentOf(x) == parent);
        if (other is not null)
            throw new BerthException(ErrorKind.Forbidden, $"network {MacvlanDriver.DummyName(other)} is already using parent interface {parent}");
    }

    /// <summary>The network's subnet, range, gateway and aux addresses: given, or the first free default pool.</summary>
    private void ConfigureIpam(NetworkRecord n, IpamPool? pool)
    {
        if (pool is null || pool.Subnet == "")
        {
            if (pool is not null && (pool.IPRange != "" || pool.Gateway != "" || pool.AuxAddress.Count > 0))
                throw BerthException.Invalid("the IP range, gateway and aux addresses need a --subnet");
            var free = AddressPools.FirstFree(Subnets(), _config.DefaultAddressPools) ?? throw BerthException.Invalid(
                "could not find an available, non-overlapping IPv4 address pool among the defaults to assign to the network");
            n.Subnet = free.ToString();
            n.Gateway = Networking.Ipam.Format(free.Network + 1);
            return;
        }
        var subnet = Cidr.TryParse(pool.Subnet) ?? throw BerthException.Invalid($"invalid subnet {pool.Subnet} : invalid CIDR address: {pool.Subnet}");
        if (subnet.Prefix > 30) throw BerthException.Invalid($"invalid subnet {pool.Subnet}: too small for a network");
        if (Subnets().Any(s => s.Overlaps(subnet)))
            throw new BerthException(ErrorKind.Forbidden, "Pool overlaps with other one on this address space");
        n.UserIpam = true;
        n.Subnet = subnet.ToString();
        if (pool.IPRange != "")
        {
            var r = Cidr.TryParse(pool.IPRange) ?? throw BerthException.Invalid($"invalid ip-range {pool.IPRange}");
            if (!subnet.Contains(r.Network) || r.Prefix < subnet.Prefix) throw BerthException.Invalid($"no matching subnet for range {pool.IPRange}");
            n.IPRange = r.ToString();
        }
        if (pool.Gateway != "")
        {
            var g = Networking.Ipam.TryParse(pool.Gateway) ?? throw BerthException.Invalid($"invalid gateway address {pool.Gateway}");
            if (!subnet.Contains(g)) throw BerthException.Invalid($"no matching subnet for gateway {pool.Gateway}");
            n.Gateway = Networking.Ipam.Format(g);
        }
        else n.Gateway = Networking.Ipam.Format(subnet.Network + 1);
        foreach (var (k, v) in pool.AuxAddress)
        {
            var a = Networking.Ipam.TryParse(v) ?? throw BerthException.Invalid($"invalid auxiliary address {k}={v}");
            if (!subnet.Contains(a)) throw BerthException.Invalid($"no matching subnet for aux-address {v}");
            n.AuxAddresses[k] = v;
        }
    }

    /// <summary>A network by full id, name, or unique id prefix (dockerd's order); NotFound "network X not found".</summary>
    public NetworkRecord Get(string idOrName)
    {
        lock (_lock) return Find(idOrName) ?? throw BerthException.NotFound($"network {idOrName} not found");
    }

    private NetworkRecord? Find(string idOrName)
    {
        if (_networks.TryGetValue(idOrName, out var byId)) return byId;
        var byName = _networks.Values.FirstOrDefault(n => n.Name == idOrName);
        if (byName is not null) return byName;
        var byPrefix = _networks.Values.Where(n => idOrName.Length > 0 && n.Id.StartsWith(idOrName, StringComparison.Ordinal)).ToList();
        if (byPrefix.Count > 1) throw BerthException.Invalid($"network {idOrName} is ambiguous ({byPrefix.Count} matches found on name)");
        return byPrefix.FirstOrDefault();
    }

    public IReadOnlyList<NetworkRecord> List()
    {
        lock (_lock) return _networks.Values.OrderBy(n => n.Created).ToList();
    }

    /// <summary>docker network rm: not a predefined network, not one with endpoints (dockerd's words, 403).</summary>
    public void Remove(string idOrName)
    {
        lock (_lock)
        {
            var n = Find(idOrName) ?? throw BerthException.NotFound($"network {idOrName} not found");
            if (n.Predefined) throw new BerthException(ErrorKind.Forbidden, $"{n.Name} is a pre-defined network and cannot be removed");
            if (n.Endpoints.Count > 0)
                throw new BerthException(ErrorKind.Forbidden, $"error while removing network: network {n.Name} id {n.Id} has active endpoints");
            DriverOf(n).DeleteNetwork(n);
            _networks.Remove(n.Id);
            _plumbed.Remove(n.Id);
            File.Delete(System.IO.Path.Combine(_dir, n.Id + ".json"));
            ApplyRules();
            Publish("destroy", n);
        }
    }

    /// <summary>docker network prune: removes the user-defined networks without endpoints that <paramref name="keep"/> does not keep.</summary>
    public List<string> Prune(Func<NetworkRecord, bool> match, Func<NetworkRecord, bool> inUse)
    {
        var removed = new List<string>();
        lock (_lock)
        {
            foreach (var n in _networks.Values.Where(n => !n.Predefined && n.Endpoints.Count == 0 && match(n) && !inUse(n)).ToList())
            {
                DriverOf(n).DeleteNetwork(n);
                _networks.Remove(n.Id);
                _plumbed.Remove(n.Id);
                File.Delete(System.IO.Path.Combine(_dir, n.Id + ".json"));
                removed.Add(n.Name);
                Publish("destroy", n);
            }
            if (removed.Count > 0) ApplyRules();
        }
        return removed;
    }
}
