using Berth.Engine.Networking;

namespace Berth.Engine.Containers;

/// <summary>
/// A container's ports as inspect's NetworkSettings.Ports and the list's Ports show them (dockerd's
/// buildPortMapInfo): while it runs with an endpoint, every exposed port ("80/tcp") with its bindings (HostIp
/// "0.0.0.0" for any address, the host port allocated) or null when it is exposed only; otherwise nothing.
/// Only IPv4 bindings: Berth publishes through the kernel's NAT (as dockerd with userland-proxy=false, which
/// lists no "::" binding for a container without IPv6).
/// </summary>
public static class PublishedPorts
{
    public static List<(string Key, List<PortMap>? Maps)> Of(ContainerRecord c)
    {
        var list = new List<(string, List<PortMap>?)>();
        if (!c.State.Running || !c.Networks.Values.Any(s => s.EndpointID != "")) return list;
        var maps = c.Networks.Values.SelectMany(s => s.Ports ?? []).ToList();
        foreach (var key in PortRequests.ExposedKeys(c.Config.ExposedPorts?.Keys, c.HostConfig.PortBindings))
        {
            var mine = maps.Where(m => m.Key == key).ToList();
            list.Add((key, mine.Count > 0 ? mine : null));
        }
        return list;
    }
}
