using System.Text.Json;
using Berth.Api.Containers;
using Berth.Core;
using Berth.Engine.Networking;

namespace Berth.Engine.Containers;

/// <summary>
/// A container's networks: what create records (the network mode's network and the endpoint asked for), what
/// start attaches (a sandbox with an endpoint per network: <see cref="NetworkManager.Attach"/>) and exit
/// detaches, and docker network connect/disconnect.
/// </summary>
public sealed partial class ContainerManager
{
    /// <summary>The network modes that have no network of their own.</summary>
    private static bool IsContainerMode(string mode) => mode.StartsWith("container:", StringComparison.Ordinal);

    /// <summary>At create: the networks the container will have, checked as dockerd checks them.</summary>
    private Dictionary<string, EndpointSettings> NetworksAtCreate(ContainerConfig config, HostConfig host, NetworkingConfig? nc)
    {
        var mode = host.NetworkMode;
        var eps = nc?.EndpointsConfig ?? [];
        if (eps.Count > 1)
            throw BerthException.Invalid($"Container cannot be connected to network endpoints: {string.Join(", ", eps.Keys)}");
        if (IsContainerMode(mode))
        {
            var other = mode["container:".Length..];
            if (other == "") throw BerthException.Invalid("Invalid network mode: invalid container format container:<name|id>");
            Store.Get(other);
            if (!string.IsNullOrEmpty(config.Hostname)) throw BerthException.Invalid("conflicting options: hostname and the network mode");
            if (!string.IsNullOrEmpty(config.MacAddress)) throw BerthException.Invalid("conflicting options: mac-address and the network mode");
            if (host.Dns is { Count: > 0 } || host.DnsSearch is { Count: > 0 } || host.DnsOptions is { Count: > 0 })
                throw BerthException.Invalid("conflicting options: dns and the network mode");
            if (host.ExtraHosts is { Count: > 0 }) throw BerthException.Invalid("conflicting options: custom host-to-IP mapping and the network mode");
            return [];
        }
        var name = NetworkOfModeOrThrow(mode);
        var settings = new EndpointSettings();
        foreach (var (key, ep) in eps)
        {
            if (key != name && !(key == "default" && name == "bridge") && !(_networks is not null && SameNetwork(key, name)))
                throw BerthException.Invalid($"Container cannot be connected to network endpoints: {mode}, {key}");
            settings = EndpointFromRequest(ep, name);
        }
        if (_networks is null)
        {
            if (name is not ("none" or "bridge" or "host")) throw BerthException.NotFound($"network {name} not found");
            return name == "bridge" ? [] : new() { [name] = settings };
        }
        var n = _networks.Get(name);
        name = n.Name;
        if (n.Driver is "host" or "null")
        {
            if (!string.IsNullOrEmpty(config.MacAddress) && n.Driver == "host") throw BerthException.Invalid("conflicting options: mac-address and the network mode");
        }
        else if (!string.IsNullOrEmpty(config.MacAddress))
        {
            settings.RequestedMac = CheckMac(config.MacAddress);
        }
        if (n.Predefined && n.Name == "bridge")
        {
            if (settings.RequestedIPv4 is not null) throw BerthException.Invalid("user specified IP address is supported on user defined networks only");
        }
        if (settings.RequestedIPv4 is not null && !n.UserIpam)
            throw BerthException.Invalid("user specified IP address is supported only when connecting to networks with user configured subnets");
        if (settings.RequestedIPv4 is not null && (Cidr.TryParse(n.Subnet) is not { } sn || Ipam.TryParse(settings.RequestedIPv4) is not uint want || !sn.Contains(want)))
            throw BerthException.Invalid($"no configured subnet or ip-range contain the IP address {settings.RequestedIPv4}");
        // NetworkID stays empty until the container joins (as dockerd shows a created container).
        return new() { [name] = settings };
    }

    private bool SameNetwork(string a, string b)
    {
        try { return _networks!.Get(a).Id == _networks.Get(b).Id; }
        catch (BerthException) { return false; }
    }

    private static string NetworkOfModeOrThrow(string mode) => NetworkManager.NetworkOfMode(mode)!;

    private static string CheckMac(string mac)
    {
        var parts = mac.Split(':');
        if (parts.Length != 6 || parts.Any(p => p.Length != 2 || !p.All(Uri.IsHexDigit)))
            throw BerthException.Invalid($"invalid MAC address: {mac}");
        return mac.ToLowerInvariant();
    }

    /// <summary>NetworkingConfig.EndpointsConfig.&lt;net&gt;: --ip honoured; aliases, links and IPv6 refused by name.</summary>
    private static EndpointSettings EndpointFromRequest(JsonElement ep, string network)
    {
        var s = new EndpointSettings();
        if (ep.ValueKind != JsonValueKind.Object) return s;
        foreach (var p in ep.EnumerateObject())
        {
            switch (p.Name)
            {
                case "IPAMConfig" when p.Value.ValueKind == JsonValueKind.Object:
                    foreach (var q in p.Value.EnumerateObject())
                    {
                        if (q.Name == "IPv4Address" && q.Value.ValueKind == JsonValueKind.String && q.Value.GetString() is { Length: > 0 } ip)
                        {
                            if (Ipam.TryParse(ip) is null) throw BerthException.Invalid($"invalid IPv4 address: {ip}");
                            s.RequestedIPv4 = ip;
                        }
                        else if (q.Name is "IPv6Address" or "LinkLocalIPs" && !IsEmptyJson(q.Value))
                            throw BerthException.Invalid($"NetworkingConfig.EndpointsConfig.IPAMConfig.{q.Name}: IPv6 and link-local addresses are not implemented in Berth yet");
                    }
                    break;
                case "Aliases" when !IsEmptyJson(p.Value):
                    // dockerd: only user-defined networks have aliases (the embedded DNS answers them).
                    if (network is "bridge" or "default" or "host" or "none")
                        throw BerthException.Invalid("network-scoped alias is supported only for containers in user defined networks");
                    if (p.Value.ValueKind != JsonValueKind.Array) throw BerthException.Invalid("NetworkingConfig.EndpointsConfig.Aliases: an array of names is expected");
                    s.Aliases = [.. p.Value.EnumerateArray().Where(a => a.ValueKind == JsonValueKind.String).Select(a => a.GetString()!).Where(a => a.Length > 0).Distinct()];
                    break;
                case "Links" when !IsEmptyJson(p.Value):
                    throw BerthException.Invalid("NetworkingConfig.EndpointsConfig.Links: links are not implemented in Berth yet");
                case "DriverOpts" when !IsEmptyJson(p.Value):
                    throw BerthException.Invalid("NetworkingConfig.EndpointsConfig.DriverOpts: endpoint driver options are not implemented in Berth yet");
                case "MacAddress" when p.Value.ValueKind == JsonValueKind.String && p.Value.GetString() is { Length: > 0 } mac:
                    s.RequestedMac = CheckMac(mac);
                    break;
            }
        }
        return s;
    }

    private static bool IsEmptyJson(JsonElement e) => e.ValueKind switch
    {
        JsonValueKind.Null or JsonValueKind.Undefined or JsonValueKind.False => true,
        JsonValueKind.String => e.GetString() is "",
        JsonValueKind.Array => e.GetArrayLength() == 0,
        JsonValueKind.Object => !e.EnumerateObject().Any(),
        _ => false,
    };

    /// <summary>
    /// At start: the network namespace the runtime should give the container: a path to join (its sandbox, or
    /// the namespace of the container named by container:X), "host", or null for a new one (none).
    /// </summary>
    private string? AttachNetworks(ContainerRecord c)
    {
        var mode = c.HostConfig.NetworkMode;
        if (IsContainerMode(mode))
        {
            var name = mode["container:".Length..];
            var other = Store.Get(name);
            if (!other.State.Running)
                throw BerthException.Conflict($"cannot join network of a non running container: {name}");
            if (other.HostConfig.NetworkMode == "host") return "host";
            var path = _networks?.SandboxPath(other.Id);
            return path is not null && File.Exists(path) ? path : $"/proc/{other.State.Pid}/ns/net";
        }
        if (mode == "host") return "host";
        if (_networks is null || mode == "none") return null;
        var eps = c.Networks.Where(kv => kv.Key is not ("none" or "host")).ToList();
        if (eps.Count == 0) return null;
        var ordered = new Dictionary<string, EndpointSettings>(StringComparer.Ordinal);
        foreach (var (k, v) in eps) ordered[k] = v;
        var ports = PortRequests.Requested(c.Config.ExposedPorts?.Keys, c.HostConfig.PortBindings, c.HostConfig.PublishAllPorts);
        var sandbox = _networks.Attach(c.Id, c.Name, ordered, null, c.Config.Hostname, ports);
        // The embedded DNS of a container on a user-defined network answers before its process runs.
        _networks.StartResolver(c.Id, DnsUpstreamsOf(c));
        return sandbox;
    }

    /// <summary>container:X: X's record (X's /etc/hosts, resolv.conf and hostname are the container's too, as in
    /// Docker); null for the other modes. Called after <see cref="AttachNetworks"/>, which checked that X runs.</summary>
    private ContainerRecord? NetworkPeerOf(ContainerRecord c) =>
        IsContainerMode(c.HostConfig.NetworkMode) ? Store.Get(c.HostConfig.NetworkMode["container:".Length..]) : null;

    /// <summary>Where the container's embedded DNS forwards: its --dns servers, else the host's resolvers.</summary>
    private static IReadOnlyList<System.Net.IPEndPoint> DnsUpstreamsOf(ContainerRecord c) =>
        Networking.Dns.DnsUpstreams.For(c.HostConfig.Dns);

    /// <summary>After berthd starts again: running containers on user-defined networks get their resolvers back.</summary>
    private void ResumeResolvers()
    {
        if (_networks is null) return;
        foreach (var c in Store.List().Where(c => c.State.Running))
            TryCleanup(() => _networks.StartResolver(c.Id, DnsUpstreamsOf(c)));
    }

    /// <summary>After an exit or a failed start: endpoints released and the sandbox removed; the record forgets the addresses.</summary>
    private void DetachNetworks(ContainerRecord c)
    {
        _networks?.Detach(c.Id);
        foreach (var s in c.Networks.Values) s.Clear();
    }

    /// <summary>docker network connect: recorded on the container; a running one gets its endpoint at once.</summary>
    public async Task ConnectAsync(string network, string idOrName, JsonElement? endpointConfig, CancellationToken ct = default)
    {
        if (_networks is null) throw BerthException.Invalid("networks are not available");
        var n = _networks.Get(network);
        var c = Store.Get(idOrName);
        var entry = EntryOf(c.Id);
        await entry.Gate.WaitAsync(ct);
        try
        {
            c = Store.Get(c.Id);
            var mode = c.HostConfig.NetworkMode;
            if (n.Driver == "host" || mode == "host")
                throw BerthException.Invalid("container cannot be disconnected from host network or connected to host network");
            if (n.Driver == "null" || mode == "none")
                throw BerthException.Invalid("container cannot be connected to multiple networks with one of the networks in private (none) mode");
            if (IsContainerMode(mode)) throw BerthException.Invalid("container sharing network namespace with another container or host cannot be connected to any other network");
            if (c.Networks.ContainsKey(n.Name))
                throw new BerthException(ErrorKind.Forbidden, $"endpoint with name {c.Name} already exists in network {n.Name}");
            var s = endpointConfig is { } ep ? EndpointFromRequest(ep, n.Name) : new EndpointSettings();
            if (s.RequestedIPv4 is not null && !n.UserIpam)
                throw BerthException.Invalid("user specified IP address is supported only when connecting to networks with user configured subnets");
            s.NetworkID = n.Id;
            bool wasEmbedded = EtcFiles.UsesEmbeddedDns(c);
            if (c.State.Running)
            {
                _networks.ConnectRunning(c.Id, c.Name, n.Name, s, c.Networks.Count, c.Config.Hostname);
                _networks.StartResolver(c.Id, DnsUpstreamsOf(c));
            }
            c.Networks[n.Name] = s;
            Store.Save(c);
            // A running container sees its new address in /etc/hosts and, on its first user network, the embedded DNS.
            if (c.State.Running) EtcFiles.Connected(Store.DirectoryOf(c.Id), c, s.IPAddress, wasEmbedded);
        }
        finally
        {
            entry.Gate.Release();
        }
    }

    /// <summary>docker network disconnect.</summary>
    public async Task DisconnectAsync(string network, string idOrName, bool force, CancellationToken ct = default)
    {
        if (_networks is null) throw BerthException.Invalid("networks are not available");
        var n = _networks.Get(network);
        ContainerRecord c;
        try { c = Store.Get(idOrName); }
        catch (BerthException e) when (e.Kind == ErrorKind.NotFound && force)
        {
            // dockerd: a forced disconnect of a container that is gone cleans the network's endpoint of that name.
            return;
        }
        var entry = EntryOf(c.Id);
        await entry.Gate.WaitAsync(ct);
        try
        {
            c = Store.Get(c.Id);
            if (c.HostConfig.NetworkMode == "host" || n.Driver == "host")
                throw BerthException.Invalid("container cannot be disconnected from host network or connected to host network");
            if (!c.Networks.ContainsKey(n.Name))
                throw new BerthException(ErrorKind.Forbidden, $"container {c.Id} is not connected to network {n.Name}");
            bool wasEmbedded = EtcFiles.UsesEmbeddedDns(c);
            var ip = c.Networks[n.Name].IPAddress;
            if (c.State.Running) _networks.DisconnectRunning(c.Id, n.Id);
            c.Networks.Remove(n.Name);
            Store.Save(c);
            if (c.State.Running) EtcFiles.Disconnected(Store.DirectoryOf(c.Id), c, ip, wasEmbedded);
        }
        finally
        {
            entry.Gate.Release();
        }
    }

    public string SandboxKey(string id)
    {
        var path = _networks?.SandboxPath(id);
        return path is not null && File.Exists(path) ? path : "";
    }

    /// <summary>Whether a container (any state) is connected to the network (prune keeps such networks? dockerd does not).</summary>
    public bool AnyContainerOn(string networkId) => Store.List().Any(c => c.Networks.Values.Any(s => s.NetworkID == networkId));
}
