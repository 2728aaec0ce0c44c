using Berth.Interop.Netlink;

namespace Berth.Engine.Networking;

/// <summary>
/// A container's network sandbox: a network namespace bind-mounted at &lt;exec-root&gt;/netns/&lt;container id&gt;,
/// made before the container starts (the runtime joins it by path) and removed after it exits, with a netlink
/// socket inside it to configure the container's interfaces.
/// </summary>
public sealed class Sandbox : IDisposable
{
    private RtNetlink? _netlink;

    private Sandbox(string path, RtNetlink? netlink)
    {
        Path = path;
        _netlink = netlink;
    }

    public string Path { get; }

    /// <summary>A netlink socket in the sandbox (opened on first use for a sandbox found again).</summary>
    public RtNetlink Netlink => _netlink ??= NetNamespace.OpenNetlink(Path);

    /// <summary>Whether a default route is set (the first network with a gateway gives it, as Docker).</summary>
    public bool HasDefaultRoute { get; set; }

    public static Sandbox Create(string path) => new(path, NetNamespace.Create(path));

    public static Sandbox Open(string path) => new(path, null);

    /// <summary>The namespace's fd (for IFLA_NET_NS_FD); the caller closes it.</summary>
    public int OpenFd() => NetNamespace.OpenFd(Path);

    public void Dispose()
    {
        _netlink?.Dispose();
        _netlink = null;
    }
}
