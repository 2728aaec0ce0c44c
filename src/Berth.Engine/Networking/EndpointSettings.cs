namespace Berth.Engine.Networking;

/// <summary>
/// A container's view of one of its networks, as inspect's NetworkSettings.Networks.&lt;name&gt; shows it, kept in
/// the container's record: what was asked (IPAMConfig, aliases, MAC) and, while it runs, what it got.
/// </summary>
public sealed class EndpointSettings
{
    public string NetworkID { get; set; } = "";
    public string EndpointID { get; set; } = "";
    public string Gateway { get; set; } = "";
    public string IPAddress { get; set; } = "";
    public int IPPrefixLen { get; set; }
    public string MacAddress { get; set; } = "";

    /// <summary>--ip (IPAMConfig.IPv4Address); null when none was asked for.</summary>
    public string? RequestedIPv4 { get; set; }
    /// <summary>--mac-address for this network; null for the one derived from the address.</summary>
    public string? RequestedMac { get; set; }
    public List<string>? Aliases { get; set; }
    /// <summary>The ports published on this endpoint while the container runs (NetworkSettings.Ports); null otherwise.</summary>
    public List<PortMap>? Ports { get; set; }

    /// <summary>Forgets what the last run got (the endpoint is gone), keeps what was asked.</summary>
    public void Clear()
    {
        EndpointID = Gateway = IPAddress = MacAddress = "";
        IPPrefixLen = 0;
        Ports = null;
    }
}
