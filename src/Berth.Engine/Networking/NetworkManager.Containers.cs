using Berth.Core;
using Berth.Interop.Netlink;

namespace Berth.Engine.Networking;

/// <summary>What a container's start, exit, connect and disconnect do to the networks.</summary>
public sealed partial class NetworkManager
{
    /// <summary>The network a NetworkMode names ("" and "default" are the default bridge); null for the modes
    /// that are not networks (container:X).</summary>
    public static string? NetworkOfMode(string mode) => mode switch
    {
        "" or "default" => "bridge",
        _ when mode.StartsWith("container:", StringComparison.Ordinal) => null,
        _ => mode,
    };

    public string SandboxPath(string containerId) => System.IO.Path.Combine(_netnsDir, containerId);

    /// <summary>
    /// Before a container starts: its sandbox (a new network namespace at &lt;exec-root&gt;/netns/&lt;id&gt;) with an
    /// endpoint on each of its networks (<paramref name="networks"/>: network name → settings, filled here with
    /// what each endpoint got). Returns the namespace path the runtime joins. On failure nothing is left.
    /// </summary>
    public string Attach(string containerId, string containerName, IDictionary<string, EndpointSettings> networks, string? primaryMac,
        string? hostname = null, IReadOnlyList<PortRequest>? ports = null)
    {
        lock (_lock)
        {
            var path = SandboxPath(containerId);
            if (_sandboxes.Remove(containerId, out var old)) old.Dispose();
            if (File.Exists(path)) NetNamespace.Remove(path);
            var sandbox = Sandbox.Create(path);
            _sandboxes[containerId] = sandbox;
            try
            {
                int i = 0;
                foreach (var (name, settings) in networks)
                {
                    var n = Find(settings.NetworkID) ?? Find(name) ?? throw BerthException.NotFound($"network {name} not found");
                    Join(n, containerId, containerName, settings, sandbox, "eth" + i, i == 0 ? primaryMac ?? settings.RequestedMac : settings.RequestedMac, hostname);
                    i++;
                }
                if (ports is { Count: > 0 }) PublishLocked(containerId, containerName, networks, ports);
            }
            catch
            {
                DetachLocked(containerId);
                foreach (var s in networks.Values) s.Clear();
                throw;
            }
            return path;
        }
    }

    private void Join(NetworkRecord n, string containerId, string containerName, EndpointSettings settings, Sandbox sandbox, string ifName, string? mac,
        string? hostname)
    {
        var drv = DriverOf(n);
        if (!drv.HasEndpoints) throw BerthException.Invalid($"container cannot be connected to network {n.Name}");
        Plumb(n);
        // dockerd: on a user-defined network the short id is one of the endpoint's aliases.
        if (HasEmbeddedDns(n))
        {
            settings.Aliases ??= [];
            if (!settings.Aliases.Contains(containerId[..Math.Min(12, containerId.Length)]))
                settings.Aliases.Add(containerId[..Math.Min(12, containerId.Length)]);
        }
        uint ip = Ipam.Allocate(n, settings.RequestedIPv4);
        var ep = new EndpointRecord
        {
            Id = NewId(), ContainerId = containerId, ContainerName = containerName, IPAddress = Ipam.Format(ip),
            MacAddress = string.IsNullOrEmpty(mac) ? Ipam.MacFor(ip) : mac.ToLowerInvariant(), HostIfName = n.Driver == "bridge" ? NewVethName() : "", IfName = ifName,
            Aliases = settings.Aliases is { Count: > 0 } a ? [.. a] : null, Hostname = hostname,
        };
        n.Endpoints[ep.Id] = ep;
        try
        {
            drv.Join(n, ep, sandbox);
            Save(n, durable: false);
            RebuildDnsLocked();
        }
        catch
        {
            n.Endpoints.Remove(ep.Id);
            throw;
        }
        settings.NetworkID = n.Id;
        settings.EndpointID = ep.Id;
        settings.IPAddress = ep.IPAddress;
        settings.IPPrefixLen = Cidr.TryParse(n.Subnet)!.Value.Prefix;
        settings.Gateway = n.Internal ? "" : n.Gateway;
        settings.MacAddress = ep.MacAddress;
        Publish("connect", n, containerId);
    }

    /// <summary>After a container exits (or a start fails, or rm): its endpoints released, their veths deleted,
    /// its sandbox removed. Idempotent.</summary>
    public void Detach(string containerId)
    {
        lock (_lock) DetachLocked(containerId);
    }

    private void DetachLocked(string containerId)
    {
        bool hadPorts = false;
        var released = new List<EndpointRecord>();
        foreach (var n in _networks.Values)
        {
            var mine = n.Endpoints.Values.Where(e => e.ContainerId == containerId).ToList();
            released.AddRange(mine);
            foreach (var ep in mine)
            {
                hadPorts |= ep.Ports.Count > 0;
                n.Endpoints.Remove(ep.Id);
                if (ep.HostIfName != "") DeleteLinkLater(ep.HostIfName);
                Publish("disconnect", n, containerId);
            }
            if (mine.Count > 0) Save(n, durable: false);
        }
        StopResolverLocked(containerId);
        RebuildDnsLocked();
        ReleaseHolds(containerId);
        if (hadPorts) ApplyRules(); // the published ports' rules go with the endpoint
        ClearFlows(released);
        if (_sandboxes.Remove(containerId, out var s)) s.Dispose();
        var path = SandboxPath(containerId);
        if (File.Exists(path)) NetNamespace.Remove(path);
    }

    /// <summary>docker network connect of a running container: a new endpoint (ethN) in its sandbox.</summary>
    public void ConnectRunning(string containerId, string containerName, string network, EndpointSettings settings, int ifIndex,
        string? hostname = null)
    {
        lock (_lock)
        {
            var n = Find(network) ?? throw BerthException.NotFound($"network {network} not found");
            var path = SandboxPath(containerId);
            if (!_sandboxes.TryGetValue(containerId, out var sandbox))
            {
                if (!File.Exists(path)) throw BerthException.Invalid($"container {containerId} has no network sandbox to connect");
                sandbox = Sandbox.Open(path);
                sandbox.HasDefaultRoute = true; // its first network gave it one, or it has none on purpose
                _sandboxes[containerId] = sandbox;
            }
            Join(n, containerId, containerName, settings, sandbox, "eth" + ifIndex, settings.RequestedMac, hostname);
        }
    }

    /// <summary>docker network disconnect of a running container: its endpoint on that network removed.</summary>
    public void DisconnectRunning(string containerId, string network)
    {
        lock (_lock)
        {
            var n = Find(network) ?? throw BerthException.NotFound($"network {network} not found");
            bool hadPorts = false;
            var released = n.Endpoints.Values.Where(e => e.ContainerId == containerId).ToList();
            foreach (var ep in released)
            {
                hadPorts |= ep.Ports.Count > 0;
                DriverOf(n).Leave(n, ep, _sandboxes.GetValueOrDefault(containerId) ?? OpenSandbox(containerId));
                n.Endpoints.Remove(ep.Id);
                Publish("disconnect", n, containerId);
            }
            Save(n, durable: false);
            if (hadPorts)
            {
                // The network that carried the published ports: they go with it (as with dockerd).
                ReleaseHolds(containerId);
                ApplyRules();
            }
            RebuildDnsLocked();
            if (!_dns.Knows(containerId)) StopResolverLocked(containerId);
            ClearFlows(released);
        }
    }

    /// <summary>
    /// The connection tracking flows (and their NAT state) of released addresses deleted from the host's table,
    /// as dockerd's clearEndpointConnections: before the address can be handed out again, so that the next
    /// container given it inherits no mapping (a UDP flow to a published port DNATed to the old one, a TIME_WAIT
    /// entry). Synchronous (under the lock, before IPAM can give the address again): one ctnetlink dump.
    /// </summary>
    private static void ClearFlows(IEnumerable<EndpointRecord> released)
    {
        var ips = released.Where(e => e.HostIfName != "").Select(e => Ipam.TryParse(e.IPAddress)).OfType<uint>().ToHashSet();
        if (ips.Count > 0) TryQuiet(() => CtNetlink.DeleteFlowsOf(ips));
    }

    /// <summary>The sandbox of a running container found again (after a daemon restart); null when it has none.</summary>
    private Sandbox? OpenSandbox(string containerId)
    {
        var path = SandboxPath(containerId);
        if (!File.Exists(path)) return null;
        var sandbox = Sandbox.Open(path);
        sandbox.HasDefaultRoute = true;
        _sandboxes[containerId] = sandbox;
        return sandbox;
    }

    /// <summary>The container's network settings as create records them: what was asked for each network.</summary>
    public NetworkRecord Resolve(string network) => Get(network);
}
