using System.Net.Sockets;
using Berth.Core;

namespace Berth.Engine.Networking;

/// <summary>
/// Published ports: allocated when a container starts (its endpoint has its address), held by bound sockets,
/// written to the table in the same transaction as everything else (<see cref="PortRules"/>), and released
/// with the endpoint (exit, failed start, disconnect). Reconcile takes the holds again for running containers.
/// </summary>
public sealed partial class NetworkManager
{
    /// <summary>Container id → the sockets that hold its host ports.</summary>
    private readonly Dictionary<string, List<Socket>> _held = new(StringComparer.Ordinal);

    /// <summary>
    /// Publishes <paramref name="requests"/> on the container's first non-internal bridge endpoint (as dockerd:
    /// the first network that can carry them), records the maps on the endpoint and in <paramref name="networks"/>,
    /// and writes the table. Nothing is held or written when an allocation fails.
    /// </summary>
    private void PublishLocked(string containerId, string containerName, IDictionary<string, EndpointSettings> networks, IReadOnlyList<PortRequest> requests)
    {
        if (requests.Count == 0) return;
        NetworkRecord? n = null;
        EndpointRecord? ep = null;
        EndpointSettings? settings = null;
        foreach (var (name, s) in networks)
        {
            var cand = Find(s.NetworkID) ?? Find(name);
            if (cand is null || cand.Driver != "bridge" || cand.Internal) continue;
            if (!cand.Endpoints.TryGetValue(s.EndpointID, out var e)) continue;
            (n, ep, settings) = (cand, e, s);
            break;
        }
        if (n is null || ep is null || settings is null) return; // no network can publish (dockerd: none, internal only)
        if (requests.Any(r => r.Proto == "sctp") && !PortRequests.SctpAvailable())
            throw BerthException.Invalid("publishing sctp ports: this kernel has no SCTP support (no SCTP in /proc/net/protocols)");
        var taken = _networks.Values.SelectMany(x => x.Endpoints.Values).SelectMany(x => x.Ports).ToList();
        var maps = new List<PortMap>();
        var holds = new List<Socket>();
        var endpointName = $"{containerName} ({ep.Id})";
        try
        {
            foreach (var r in requests)
            {
                int port = PortMaps.Allocate(r.Proto, r.HostIp, r.HostFirst, r.HostLast, taken.Concat(maps), endpointName);
                try
                {
                    if (PortMaps.Hold(r.Proto, r.HostIp, port) is { } sock) holds.Add(sock);
                }
                catch (SocketException)
                {
                    var ip = r.HostIp is "" ? "0.0.0.0" : r.HostIp;
                    throw new BerthException(ErrorKind.System,
                        $"driver failed programming external connectivity on endpoint {endpointName}: Error starting userland proxy: listen {r.Proto}4 {ip}:{port}: bind: address already in use");
                }
                maps.Add(new PortMap(r.Proto, r.HostIp is "" ? "0.0.0.0" : r.HostIp, port, ep.IPAddress, r.ContainerPort));
            }
            ep.Ports = maps;
            PrepareBridgeForPorts(n, ep);
            Save(n, durable: false);
            ApplyRules();
        }
        catch
        {
            ep.Ports = [];
            foreach (var h in holds) h.Dispose();
            throw;
        }
        _held[containerId] = holds;
        settings.Ports = maps;
    }

    /// <summary>127.0.0.1 → a container needs route_localnet on the bridge (dockerd sets it on docker0 without
    /// its proxy); a container reaching its own published port needs its bridge port in hairpin mode.</summary>
    private void PrepareBridgeForPorts(NetworkRecord n, EndpointRecord ep)
    {
        var path = $"/proc/sys/net/ipv4/conf/{n.BridgeName}/route_localnet";
        if (File.Exists(path) && File.ReadAllText(path).Trim() != "1") File.WriteAllText(path, "1");
        int index = _host.LinkIndex(ep.HostIfName);
        if (index != 0) _host.SetBridgePort(index, isolated: !n.EnableIcc, hairpin: true);
    }

    /// <summary>The holds of a container's ports released (its endpoints are gone).</summary>
    private void ReleaseHolds(string containerId)
    {
        if (!_held.Remove(containerId, out var holds)) return;
        foreach (var h in holds) h.Dispose();
    }

    /// <summary>At daemon start: running containers' ports held again (best effort: a port taken meanwhile by
    /// something else keeps its rule, as the container still publishes it).</summary>
    private void HoldAgain(EndpointRecord ep)
    {
        if (ep.Ports.Count == 0 || _held.ContainsKey(ep.ContainerId)) return;
        var holds = new List<Socket>();
        foreach (var m in ep.Ports)
        {
            try
            {
                if (PortMaps.Hold(m.Proto, m.HostIp, m.HostPort) is { } s) holds.Add(s);
            }
            catch (SocketException) { }
        }
        _held[ep.ContainerId] = holds;
    }
}
