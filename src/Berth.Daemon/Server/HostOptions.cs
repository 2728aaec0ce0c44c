using System.Net;

namespace Berth.Daemon.Server;

/// <summary>One <c>-H</c> address: <c>unix:///path</c> (the default and the norm) or <c>tcp://host:port</c>.</summary>
public sealed record HostAddress(string Original, string? UnixPath, IPEndPoint? Tcp)
{
    public static HostAddress Parse(string host)
    {
        string h = host.Trim();
        if (h.StartsWith("unix://", StringComparison.Ordinal))
        {
            string path = h["unix://".Length..];
            if (path.Length == 0) path = "/run/berth.sock";
            if (!path.StartsWith('/')) throw BerthException.Invalid($"invalid host {host}: unix socket path must be absolute");
            return new HostAddress(h, path, null);
        }
        if (h.StartsWith('/')) return new HostAddress("unix://" + h, h, null);
        if (h.StartsWith("tcp://", StringComparison.Ordinal))
        {
            string rest = h["tcp://".Length..].TrimEnd('/');
            int colon = rest.LastIndexOf(':');
            string hostPart = colon >= 0 ? rest[..colon] : rest;
            string portPart = colon >= 0 ? rest[(colon + 1)..] : "2375";
            if (hostPart.Length == 0) hostPart = "127.0.0.1";
            if (!int.TryParse(portPart, out int port) || port is < 1 or > 65535)
                throw BerthException.Invalid($"invalid host {host}: bad port");
            IPAddress ip = hostPart == "localhost" ? IPAddress.Loopback
                : IPAddress.TryParse(hostPart.Trim('[', ']'), out var a) ? a
                : throw BerthException.Invalid($"invalid host {host}: not an IP address");
            return new HostAddress(h, null, new IPEndPoint(ip, port));
        }
        throw BerthException.Invalid($"invalid host {host}: only unix:// and tcp:// are supported");
    }

    public override string ToString() => Original;
}

/// <summary>The parsed listen addresses of a daemon.</summary>
public sealed class HostOptions
{
    public HostOptions(IEnumerable<string> hosts)
    {
        Addresses = hosts.Select(HostAddress.Parse).DistinctBy(a => a.Original).ToList();
        if (Addresses.Count == 0) throw BerthException.Invalid("no host to listen on");
    }

    public IReadOnlyList<HostAddress> Addresses { get; }
    public IEnumerable<string> UnixSockets => Addresses.Where(a => a.UnixPath is not null).Select(a => a.UnixPath!);
}
