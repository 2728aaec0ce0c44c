using System.Security.Cryptography;
using System.Text.Json;
using Berth.Core;
using Berth.Interop;
using Berth.Interop.Netlink;

namespace Berth.Engine.Networking;

/// <summary>
/// The network controller: the networks (bridge, host and none predefined; user-defined bridges), their
/// drivers, IPAM and endpoints, the sandboxes of running containers and the nftables table. State:
/// &lt;data-root&gt;/network/&lt;id&gt;.json per network (endpoints and allocations inside), written atomically;
/// sandboxes at &lt;exec-root&gt;/netns/&lt;container id&gt;. One lock serializes every change.
/// Container-side entry points (<see cref="Attach"/>, <see cref="Detach"/>) are called by the ContainerManager.
/// </summary>
public sealed partial class NetworkManager : IDisposable
{
    private readonly object _lock = new();
    private readonly string _dir;
    private readonly string _netnsDir;
    private readonly Dictionary<string, NetworkRecord> _networks = new(StringComparer.Ordinal);
    private readonly Dictionary<string, Sandbox> _sandboxes = new(StringComparer.Ordinal);
    private readonly RtNetlink _host;
    private readonly NftRules _nft;
    private readonly DockerUserRules _dockerUser;
    private readonly Dictionary<string, INetworkDriver> _drivers;
    /// <summary>Networks whose plumbing (bridge, rules) this daemon has made: a bridge is made when a user
    /// network is created or when the first container joins the default one, not at every daemon start.</summary>
    private readonly HashSet<string> _plumbed = new(StringComparer.Ordinal);
    private readonly object _reapLock = new();
    private RtNetlink? _reaper;
    private readonly string _execRoot;
    private readonly NetworkConfig _config;

    /// <param name="defaultBridge">The default network's Linux bridge; the table is named after it ("berth0" →
    /// table "berth"), so that daemons side by side (tests) each have their own.</param>
    /// <param name="config">bip and default-address-pools (daemon.json, flags).</param>
    public NetworkManager(string dataRoot, string execRoot, string defaultBridge = "berth0", NetworkConfig? config = null)
    {
        _dir = Path.Combine(dataRoot, "network");
        _netnsDir = Path.Combine(execRoot, "netns");
        _execRoot = execRoot;
        _config = config ?? new NetworkConfig();
        _config.Validate();
        Directory.CreateDirectory(_dir);
        Directory.CreateDirectory(_netnsDir);
        DefaultBridge = defaultBridge;
        Owner = NetworkOwnership.OwnerOf(execRoot);
        _host = RtNetlink.Open();
        _nft = new NftRules(defaultBridge == "berth0" ? "berth" : "berth-" + defaultBridge) { Owner = Owner };
        _dockerUser = new DockerUserRules(Owner);
        _drivers = new(StringComparer.Ordinal)
        {
            ["bridge"] = new BridgeDriver(_host, Owner), ["macvlan"] = new MacvlanDriver(_host, Owner),
            ["host"] = new NoPlumbingDriver("host"), ["null"] = new NoPlumbingDriver("null"),
        };
        Load();
    }

    /// <summary>This daemon's mark on the host links it makes (IFLA_IFALIAS) and on its table: "berth:&lt;exec root&gt;".</summary>
    public string Owner { get; }

    public string DefaultBridge { get; }

    /// <summary>The events hook (action, network id, attributes): create, destroy, connect, disconnect with
    /// Docker's attributes (name, type = driver, container for connect and disconnect).</summary>
    public Action<string, string, IReadOnlyDictionary<string, string>>? Published { get; set; }

    private void Publish(string action, NetworkRecord n, string? containerId = null)
    {
        var attrs = new Dictionary<string, string>(StringComparer.Ordinal) { ["name"] = n.Name, ["type"] = n.Driver };
        if (containerId is not null) attrs["container"] = containerId;
        try { Published?.Invoke(action, n.Id, attrs); } catch (Exception) { /* an event never fails the change */ }
    }
    public string TableName => _nft.Table;

    /// <summary>The bridge name of a daemon whose exec root is not the default one (each daemon its own bridge).</summary>
    public static string BridgeNameFor(string execRoot)
    {
        if (Path.GetFullPath(execRoot).TrimEnd('/') == "/run/berth") return "berth0";
        var h = SHA256.HashData(System.Text.Encoding.UTF8.GetBytes(Path.GetFullPath(execRoot)));
        return "bb" + Convert.ToHexString(h)[..8].ToLowerInvariant();
    }

    public static string NewId() => Convert.ToHexString(RandomNumberGenerator.GetBytes(32)).ToLowerInvariant();

    private static string NewVethName() => "veth" + Convert.ToHexString(RandomNumberGenerator.GetBytes(4)).ToLowerInvariant()[..7];

    private void Load()
    {
        foreach (var f in Directory.GetFiles(_dir, "*.json"))
        {
            try
            {
                var n = JsonSerializer.Deserialize(File.ReadAllBytes(f), NetworkJsonContext.Default.NetworkRecord);
                if (n is not null && n.Id != "") _networks[n.Id] = n;
            }
            catch (JsonException) { }
        }
    }

    /// <summary>
    /// Writes the network's record atomically. Endpoint changes (<paramref name="durable"/> false) are not forced
    /// to disk: after a daemon crash the page cache still has them, and after a power loss no container runs, so
    /// no endpoint needs to be known (Reconcile releases them all); a network's creation is made durable.
    /// </summary>
    private void Save(NetworkRecord n, bool durable = true) =>
        AtomicFile.WriteAllBytes(Path.Combine(_dir, n.Id + ".json"), JsonSerializer.SerializeToUtf8Bytes(n, NetworkJsonContext.Default.NetworkRecord),
            sync: durable ? Sync.FileAndDirectory : Sync.None);

    private INetworkDriver DriverOf(NetworkRecord n) => _drivers[n.Driver];

    /// <summary>
    /// At daemon start: the predefined networks made when missing; endpoints of containers that do not run any
    /// more released (their veths deleted) and sandboxes of no running container removed; every bridge made
    /// again when missing (a reboot); the table written. Running containers keep their endpoints.
    /// </summary>
    public void Reconcile(ISet<string> running)
    {
        lock (_lock)
        {
            EnsurePredefined();
            foreach (var n in _networks.Values.ToList())
            {
                var stale = n.Endpoints.Values.Where(e => !running.Contains(e.ContainerId)).ToList();
                foreach (var ep in stale)
                {
                    TryQuiet(() => DriverOf(n).Leave(n, ep, null));
                    n.Endpoints.Remove(ep.Id);
                }
                ClearFlows(stale);
                if (stale.Count > 0) Save(n);
                foreach (var ep in n.Endpoints.Values) HoldAgain(ep); // running containers keep their published ports
                if (n.Predefined && n.Driver == "bridge" && n.Endpoints.Count == 0) ReaddressDefault(n);
                // A bridge that exists (made by an earlier run) or that running containers need; a macvlan
                // network's parent (a vlan link it made is made again; a parent that went is not fatal here).
                if (n.Driver == "macvlan") TryQuiet(() => Plumb(n));
                else if (n.Endpoints.Count > 0 || (n.BridgeName != "" && _host.LinkIndex(n.BridgeName) != 0) || (!n.Predefined && n.Driver == "bridge"))
                    Plumb(n);
                foreach (var ep in n.Endpoints.Values.Where(e => e.Ports.Count > 0)) TryQuiet(() => PrepareBridgeForPorts(n, ep));
            }
            foreach (var f in Directory.GetFiles(_netnsDir))
                if (!running.Contains(Path.GetFileName(f))) TryQuiet(() => NetNamespace.Remove(f));
            RebuildDnsLocked();
            TryQuiet(SweepLinks);
            ApplyRules();
        }
    }

    /// <summary>
    /// Links this daemon owns but no network names (a crash after making one, a network removed while the
    /// daemon was down) deleted; veths on its bridges that no endpoint names deleted; the bridges of known
    /// networks marked as its own (made by an earlier version); then the plumbing of daemons whose exec root is
    /// gone (<see cref="NetworkOwnership.RemoveOrphans"/>).
    /// </summary>
    private void SweepLinks()
    {
        var known = _networks.Values.SelectMany(n => new[] { n.BridgeName, n.MadeLink }).Where(s => s != "").ToHashSet(StringComparer.Ordinal);
        var veths = _networks.Values.SelectMany(n => n.Endpoints.Values).Select(e => e.HostIfName).Where(s => s != "").ToHashSet(StringComparer.Ordinal);
        var links = _host.LinkDetails();
        var bridges = links.Where(l => l.Kind == "bridge" && known.Contains(l.Name)).ToList();
        foreach (var b in bridges.Where(b => b.Alias != Owner)) _host.SetAlias(b.Index, Owner);
        var bridgeIndexes = bridges.Select(b => b.Index).ToHashSet();
        foreach (var l in links.Where(l => l.Kind == "veth" && bridgeIndexes.Contains(l.Master) && !veths.Contains(l.Name)))
            _host.DeleteLink(l.Index);
        NetworkOwnership.DeleteLinks(_host, l => l.Alias == Owner && !known.Contains(l.Name));
        NetworkOwnership.RemoveOrphans(_host, _execRoot);
    }

    /// <summary>The default network's subnet and gateway: bip when set, else the first free pool.</summary>
    private (Cidr Subnet, uint Gateway) DefaultAddressing(NetworkRecord? except)
    {
        if (_config.ParsedBip is { } bip) return bip;
        var pool = AddressPools.FirstFree(Subnets(except), _config.DefaultAddressPools) ?? throw new BerthException(ErrorKind.System,
            "could not find an available, non-overlapping IPv4 address pool among the defaults to assign to the network");
        return (pool, pool.Network + 1);
    }

    /// <summary>An idle default bridge whose address is not bip's any more (bip set or changed since the bridge
    /// was made) is removed, so that it is made again with bip's address.</summary>
    private void ReaddressDefault(NetworkRecord n)
    {
        if (_config.ParsedBip is not { } bip) return;
        var (subnet, gw) = bip;
        if (n.Subnet == subnet.ToString() && n.Gateway == Ipam.Format(gw)) return;
        TryQuiet(() => DriverOf(n).DeleteNetwork(n));
        n.Subnet = subnet.ToString();
        n.Gateway = Ipam.Format(gw);
        Save(n);
    }

    private void EnsurePredefined()
    {
        if (!_networks.Values.Any(n => n.Name == "bridge" && n.Predefined))
        {
            var (pool, gateway) = DefaultAddressing(null);
            var n = new NetworkRecord
            {
                Id = NewId(), Name = "bridge", Driver = "bridge", Created = DateTime.UtcNow, Predefined = true,
                Subnet = pool.ToString(), Gateway = Ipam.Format(gateway), BridgeName = DefaultBridge,
                Options = new()
                {
                    ["com.docker.network.bridge.default_bridge"] = "true", ["com.docker.network.bridge.enable_icc"] = "true",
                    ["com.docker.network.bridge.enable_ip_masquerade"] = "true", ["com.docker.network.bridge.host_binding_ipv4"] = "0.0.0.0",
                    ["com.docker.network.bridge.name"] = DefaultBridge, ["com.docker.network.driver.mtu"] = "1500",
                },
            };
            _networks[n.Id] = n;
            Save(n);
        }
        foreach (var (name, driver) in new[] { ("host", "host"), ("none", "null") })
        {
            if (_networks.Values.Any(n => n.Name == name && n.Predefined)) continue;
            var n = new NetworkRecord { Id = NewId(), Name = name, Driver = driver, Created = DateTime.UtcNow, Predefined = true };
            _networks[n.Id] = n;
            Save(n);
        }
    }

    private IEnumerable<Cidr> Subnets(NetworkRecord? except = null) =>
        _networks.Values.Where(n => n != except).Select(n => Cidr.TryParse(n.Subnet)).Where(c => c is not null).Select(c => c!.Value);

    /// <summary>The network's plumbing made (idempotent) and the rules written when it is new.</summary>
    private void Plumb(NetworkRecord n)
    {
        if (n.Driver == "bridge" && _host.LinkIndex(n.BridgeName) == 0)
        {
            // Daemons side by side pick pools from the host's routes: one at a time (a lock across processes).
            using var poolLock = AddressPools.Lock();
            if (n.Predefined && n.Endpoints.Count == 0)
            {
                // The default bridge takes bip, or the first free pool again, each time its bridge is made.
                var (pool, gateway) = DefaultAddressing(except: n);
                n.Subnet = pool.ToString();
                n.Gateway = Ipam.Format(gateway);
                Save(n);
            }
            DriverOf(n).CreateNetwork(n);
        }
        else DriverOf(n).CreateNetwork(n);
        if (_plumbed.Add(n.Id)) ApplyRules();
    }

    private void ApplyRules()
    {
        var active = _networks.Values.Where(n => _plumbed.Contains(n.Id)).ToList();
        if (active.Any(n => n.Driver == "bridge")) _nft.Apply(active);
        else TryQuiet(_nft.Delete);
        // Docker's FORWARD policy DROP on the same host: our bridges let through its DOCKER-USER chain.
        TryQuiet(() => _dockerUser.Sync(active.Where(n => n.Driver == "bridge" && n.BridgeName != "").Select(n => n.BridgeName)));
    }

    /// <summary>
    /// When berthd stops: with no endpoint left (nothing runs), its bridges and table are removed, so a daemon
    /// that stopped leaves no plumbing behind; with running containers, everything stays for them.
    /// </summary>
    public void Shutdown()
    {
        lock (_lock)
        {
            if (_networks.Values.Any(n => n.Endpoints.Count > 0)) return;
            foreach (var n in _networks.Values.Where(n => _plumbed.Contains(n.Id))) TryQuiet(() => DriverOf(n).DeleteNetwork(n));
            _plumbed.Clear();
            TryQuiet(_nft.Delete);
            TryQuiet(() => _dockerUser.Sync([]));
        }
    }

    /// <summary>Removes every bridge and the table (tests; a daemon that goes leaves them, as dockerd does).</summary>
    public void RemoveAll()
    {
        lock (_lock)
        {
            foreach (var n in _networks.Values) TryQuiet(() => DriverOf(n).DeleteNetwork(n));
            TryQuiet(_nft.Delete);
            TryQuiet(() => _dockerUser.Sync([]));
        }
    }

    public void Dispose()
    {
        lock (_lock)
        {
            foreach (var s in _sandboxes.Values) s.Dispose();
            _sandboxes.Clear();
            DisposeResolvers();
            foreach (var id in _held.Keys.ToList()) ReleaseHolds(id);
            _host.Dispose();
            lock (_reapLock) _reaper?.Dispose();
        }
    }

    /// <summary>
    /// Deletes a container's host-side veth off the exit path: deleting a veth waits for an RCU grace period
    /// (tens of ms). The kernel deletes the pair anyway when the sandbox's namespace goes (its mount removed and
    /// its last process gone); this catches a namespace still held by something else (a container: joiner).
    /// </summary>
    private void DeleteLinkLater(string name) => Task.Run(() =>
    {
        lock (_reapLock)
        {
            TryQuiet(() =>
            {
                _reaper ??= RtNetlink.Open();
                _reaper.DeleteLink(name);
            });
        }
    });

    private static void TryQuiet(Action a)
    {
        try { a(); }
        catch (Exception e) when (e is IOException or BerthException or UnauthorizedAccessException) { }
    }
}
