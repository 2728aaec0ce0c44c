using System.Text.Json.Serialization;

namespace Berth.Engine.Networking;

/// <summary>
/// A network of the Container Network Model as persisted in &lt;data-root&gt;/network/&lt;id&gt;.json: its driver,
/// its IPAM configuration and its endpoints (the IPAM allocations are the gateway, the auxiliary addresses and
/// the endpoints' addresses: nothing else needs saving).
/// </summary>
public sealed class NetworkRecord
{
    public string Id { get; set; } = "";
    public string Name { get; set; } = "";
    /// <summary>"bridge", "macvlan", "host" or "null".</summary>
    public string Driver { get; set; } = "bridge";
    public DateTime Created { get; set; }
    public bool Internal { get; set; }
    public bool Attachable { get; set; }
    public bool Predefined { get; set; }
    public Dictionary<string, string> Labels { get; set; } = [];
    public Dictionary<string, string> Options { get; set; } = [];
    public Dictionary<string, string> IpamOptions { get; set; } = [];

    /// <summary>IPv4 subnet ("172.18.0.0/16"); empty for host and none.</summary>
    public string Subnet { get; set; } = "";
    public string Gateway { get; set; } = "";
    public string IPRange { get; set; } = "";
    public Dictionary<string, string> AuxAddresses { get; set; } = [];
    /// <summary>Whether the IPAM config came from the request (inspect shows IPRange and aux only then).</summary>
    public bool UserIpam { get; set; }

    /// <summary>The Linux bridge of a bridge network ("berth0", "br-&lt;12 hex&gt;").</summary>
    public string BridgeName { get; set; } = "";

    /// <summary>A host link the driver made for the network besides a bridge (a macvlan network's vlan or dummy
    /// parent), deleted with it; "" when none.</summary>
    public string MadeLink { get; set; } = "";

    /// <summary>Endpoint id → endpoint.</summary>
    public Dictionary<string, EndpointRecord> Endpoints { get; set; } = [];

    [JsonIgnore] public bool EnableIcc => !Options.TryGetValue("com.docker.network.bridge.enable_icc", out var v) || v != "false";
    [JsonIgnore] public bool Masquerade => !Options.TryGetValue("com.docker.network.bridge.enable_ip_masquerade", out var v) || v != "false";
    [JsonIgnore] public int Mtu => Options.TryGetValue("com.docker.network.driver.mtu", out var v) && int.TryParse(v, out var m) ? m : 0;
}

/// <summary>A container's attachment to a network: its interface (a veth pair for bridge) and address.</summary>
public sealed class EndpointRecord
{
    public string Id { get; set; } = "";
    public string ContainerId { get; set; } = "";
    public string ContainerName { get; set; } = "";
    public string IPAddress { get; set; } = "";
    public string MacAddress { get; set; } = "";
    /// <summary>The host side of the veth pair.</summary>
    public string HostIfName { get; set; } = "";
    /// <summary>The interface in the container ("eth0", "eth1", ...).</summary>
    public string IfName { get; set; } = "";
    /// <summary>Network-scoped aliases (--network-alias, connect --alias, the short id on user networks): names
    /// the embedded DNS answers with this endpoint's address.</summary>
    public List<string>? Aliases { get; set; }
    /// <summary>The container's hostname (the embedded DNS answers it and its first label too).</summary>
    public string? Hostname { get; set; }
    /// <summary>The ports published on this endpoint (the container's first non-internal bridge network).</summary>
    public List<PortMap> Ports { get; set; } = [];
}

[JsonSourceGenerationOptions(WriteIndented = true)]
[JsonSerializable(typeof(NetworkRecord))]
public sealed partial class NetworkJsonContext : JsonSerializerContext;
