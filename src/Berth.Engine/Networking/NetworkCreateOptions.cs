namespace Berth.Engine.Networking;

/// <summary>POST /networks/create, engine-side (Docker's NetworkCreateRequest).</summary>
public sealed class NetworkCreateOptions
{
    public required string Name { get; init; }
    public string Driver { get; init; } = "bridge";
    public bool Internal { get; init; }
    public bool Attachable { get; init; }
    public bool EnableIPv6 { get; init; }
    public bool Ingress { get; init; }
    public string IpamDriver { get; init; } = "default";
    public Dictionary<string, string> IpamOptions { get; init; } = [];
    public List<IpamPool> IpamConfig { get; init; } = [];
    public Dictionary<string, string> Options { get; init; } = [];
    public Dictionary<string, string> Labels { get; init; } = [];
}

/// <summary>One IPAM.Config entry of a request.</summary>
public sealed class IpamPool
{
    public string Subnet { get; init; } = "";
    public string IPRange { get; init; } = "";
    public string Gateway { get; init; } = "";
    public Dictionary<string, string> AuxAddress { get; init; } = [];
}
