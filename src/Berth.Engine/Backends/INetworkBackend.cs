using System.Text.Json;
using Berth.Engine.Containers;
using Berth.Engine.Networking;

namespace Berth.Engine.Backends;

/// <summary>What the daemon's networks router needs: the networks (NetworkManager) and the container side of
/// connect and disconnect (ContainerManager).</summary>
public interface INetworkBackend
{
    IReadOnlyList<NetworkRecord> List();
    NetworkRecord Get(string idOrName);
    NetworkRecord Create(NetworkCreateOptions options);
    void Remove(string idOrName);
    List<string> Prune(Func<NetworkRecord, bool> match);
    Task ConnectAsync(string network, string container, JsonElement? endpointConfig, CancellationToken ct);
    Task DisconnectAsync(string network, string container, bool force, CancellationToken ct);
}

public sealed class NetworkBackend(NetworkManager networks, ContainerManager containers) : INetworkBackend, IDisposable
{
    /// <summary>At daemon stop: see <see cref="NetworkManager.Shutdown"/>.</summary>
    public void Dispose()
    {
        networks.Shutdown();
        networks.Dispose();
    }

    public IReadOnlyList<NetworkRecord> List() => networks.List();
    public NetworkRecord Get(string idOrName) => networks.Get(idOrName);
    public NetworkRecord Create(NetworkCreateOptions options) => networks.Create(options);
    public void Remove(string idOrName) => networks.Remove(idOrName);
    public List<string> Prune(Func<NetworkRecord, bool> match) => networks.Prune(match, _ => false);
    public Task ConnectAsync(string network, string container, JsonElement? endpointConfig, CancellationToken ct) =>
        containers.ConnectAsync(network, container, endpointConfig, ct);
    public Task DisconnectAsync(string network, string container, bool force, CancellationToken ct) =>
        containers.DisconnectAsync(network, container, force, ct);
}
