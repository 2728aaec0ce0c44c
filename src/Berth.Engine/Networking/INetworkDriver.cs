namespace Berth.Engine.Networking;

/// <summary>
/// A network driver of the CNM: it makes a network's host-side plumbing and joins endpoints to sandboxes.
/// bridge (BridgeDriver), macvlan (MacvlanDriver), host and null (no plumbing: host and none are sandbox modes)
/// implement it; a later overlay is meant to.
/// </summary>
public interface INetworkDriver
{
    string Name { get; }

    /// <summary>Whether containers get endpoints on its networks (false for host and null).</summary>
    bool HasEndpoints { get; }

    /// <summary>Makes (or finds again) the network's plumbing; idempotent.</summary>
    void CreateNetwork(NetworkRecord n);

    /// <summary>Removes the network's plumbing; idempotent.</summary>
    void DeleteNetwork(NetworkRecord n);

    /// <summary>Gives <paramref name="sandbox"/> the endpoint's interface, address and (when it has none yet) default route.</summary>
    void Join(NetworkRecord n, EndpointRecord ep, Sandbox sandbox);

    /// <summary>Removes the endpoint's interface; idempotent (the sandbox may be gone already: null).</summary>
    void Leave(NetworkRecord n, EndpointRecord ep, Sandbox? sandbox);
}

/// <summary>host and null: networks without plumbing or endpoints (the sandbox is the host's, or empty).</summary>
public sealed class NoPlumbingDriver(string name) : INetworkDriver
{
    public string Name { get; } = name;
    public bool HasEndpoints => false;
    public void CreateNetwork(NetworkRecord n) { }
    public void DeleteNetwork(NetworkRecord n) { }
    public void Join(NetworkRecord n, EndpointRecord ep, Sandbox sandbox) =>
        throw Core.BerthException.Invalid($"container cannot be disconnected from host network or connected to host network");
    public void Leave(NetworkRecord n, EndpointRecord ep, Sandbox? sandbox) { }
}
