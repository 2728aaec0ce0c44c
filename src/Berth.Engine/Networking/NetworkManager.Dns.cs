using System.Net;
using Berth.Engine.Networking.Dns;

namespace Berth.Engine.Networking;

/// <summary>
/// The embedded DNS (docs/design/networking.md, "Embedded DNS"): one resolver per sandbox of a container on a
/// user-defined network, answering from a <see cref="DnsTable"/> that is rebuilt at every endpoint change.
/// </summary>
public sealed partial class NetworkManager
{
    private readonly Dictionary<string, EmbeddedDns> _resolvers = new(StringComparer.Ordinal);
    private volatile DnsTable _dns = DnsTable.Empty;

    /// <summary>The names the resolvers answer now.</summary>
    public DnsTable DnsNames => _dns;

    /// <summary>Whether a network is served by the embedded DNS (user-defined bridges; not the default bridge).</summary>
    public static bool HasEmbeddedDns(NetworkRecord n) => !n.Predefined && n.Driver == "bridge";

    /// <summary>--add-host X:host-gateway: the default bridge's gateway (the host's address on it), as dockerd's
    /// default host-gateway-ip.</summary>
    public string? HostGatewayIp
    {
        get { lock (_lock) return _networks.Values.FirstOrDefault(n => n.Predefined && n.Name == "bridge")?.Gateway is { Length: > 0 } g ? g : null; }
    }

    /// <summary>Whether the container's resolver runs (tests).</summary>
    public bool HasResolver(string containerId)
    {
        lock (_lock) return _resolvers.ContainsKey(containerId);
    }

    /// <summary>
    /// Starts the resolver of a running container's sandbox when it is on a user-defined network (after start,
    /// after a network connect, and for running containers when berthd starts again), or gives it new
    /// upstreams. A container with no such network, or no sandbox, gets none.
    /// </summary>
    public void StartResolver(string containerId, IReadOnlyList<IPEndPoint> upstreams)
    {
        lock (_lock)
        {
            if (_resolvers.TryGetValue(containerId, out var r))
            {
                r.Upstreams = upstreams;
                return;
            }
            var path = SandboxPath(containerId);
            if (!_dns.Knows(containerId) || !File.Exists(path)) return;
            _resolvers[containerId] = EmbeddedDns.Open(containerId, path, () => _dns, upstreams);
        }
    }

    private void StopResolverLocked(string containerId)
    {
        if (_resolvers.Remove(containerId, out var r)) r.Dispose();
    }

    /// <summary>A container renamed: its endpoints answer to the new name.</summary>
    public void Renamed(string containerId, string newName)
    {
        lock (_lock)
        {
            foreach (var n in _networks.Values)
            {
                bool changed = false;
                foreach (var ep in n.Endpoints.Values.Where(e => e.ContainerId == containerId))
                {
                    ep.ContainerName = newName;
                    changed = true;
                }
                if (changed) Save(n, durable: false);
            }
            RebuildDnsLocked();
        }
    }

    /// <summary>The table built again from the endpoints of the user-defined networks (under the lock).</summary>
    private void RebuildDnsLocked()
    {
        _dns = DnsTable.Build(_networks.Values.Where(HasEmbeddedDns).Select(n => (n.Id, n.Name, n.Internal,
            n.Endpoints.Values.Where(e => Ipam.TryParse(e.IPAddress) is not null).Select(e => new DnsTable.Entry(
                e.ContainerId, e.ContainerName, (IReadOnlyList<string>?)e.Aliases ?? [], e.Hostname ?? "", Ipam.TryParse(e.IPAddress)!.Value)))), _dns);
    }

    private void DisposeResolvers()
    {
        foreach (var r in _resolvers.Values) r.Dispose();
        _resolvers.Clear();
    }
}
