using System.Buffers.Binary;
using System.Globalization;

namespace Berth.Engine.Networking;

/// <summary>One entry of dockerd's default-address-pools: subnets of /<see cref="Size"/> carved from <see cref="Base"/>.</summary>
public readonly record struct AddressPool(Cidr Base, int Size)
{
    /// <summary>The pool's subnets in order (base/size, then the next one…).</summary>
    public IEnumerable<Cidr> Subnets()
    {
        ulong step = 1UL << (32 - Size);
        for (ulong a = Base.Network; a <= Base.Broadcast; a += step) yield return new Cidr((uint)a, Size);
    }

    /// <summary>"base=172.80.0.0/16,size=24" (dockerd's --default-address-pool); Invalid with dockerd-like words when malformed.</summary>
    public static AddressPool ParseFlag(string value)
    {
        string? b = null, size = null;
        foreach (var part in value.Split(',', StringSplitOptions.TrimEntries | StringSplitOptions.RemoveEmptyEntries))
        {
            var kv = part.Split('=', 2);
            if (kv.Length != 2) throw Core.BerthException.Invalid($"invalid field '{part}' must be a key=value pair");
            switch (kv[0].ToLowerInvariant())
            {
                case "base": b = kv[1]; break;
                case "size": size = kv[1]; break;
                default: throw Core.BerthException.Invalid($"unexpected field key '{kv[0]}' in '{value}'");
            }
        }
        if (b is null || size is null || !int.TryParse(size, out var n))
            throw Core.BerthException.Invalid($"invalid default address pool '{value}': base=CIDR,size=N expected");
        return Create(b, n);
    }

    /// <summary>A checked pool: base a CIDR, size at least its prefix and at most 30 (IPv4 only).</summary>
    public static AddressPool Create(string baseCidr, int size)
    {
        var b = Cidr.TryParse(baseCidr) ?? throw Core.BerthException.Invalid($"invalid base pool \"{baseCidr}\": invalid CIDR address");
        if (size < b.Prefix || size > 30)
            throw Core.BerthException.Invalid($"invalid pools size: {size} (the size must be between the base's prefix {b.Prefix} and 30)");
        return new AddressPool(b, size);
    }
}

/// <summary>
/// The pools networks without --subnet draw from: Docker's defaults (172.17.0.0/16 … 172.31.0.0/16, then
/// 192.168.0.0/20 … 192.168.240.0/20), or the daemon's default-address-pools. A new network gets the first
/// subnet that overlaps neither another network nor a route of the host (so a docker0 on 172.17.0.0/16, or
/// another daemon's bridge, keeps working).
/// </summary>
public static class AddressPools
{
    /// <summary>dockerd's built-in default-address-pools.</summary>
    public static readonly IReadOnlyList<AddressPool> DockerDefaults =
    [
        .. Enumerable.Range(17, 15).Select(b => new AddressPool(new Cidr((172u << 24) | ((uint)b << 16), 16), 16)),
        new AddressPool(new Cidr((192u << 24) | (168u << 16), 16), 20),
    ];

    public static IEnumerable<Cidr> Defaults() => Candidates(DockerDefaults);

    public static IEnumerable<Cidr> Candidates(IEnumerable<AddressPool> pools) => pools.SelectMany(p => p.Subnets());

    /// <summary>The host's IPv4 routes but the default one (from /proc/net/route).</summary>
    public static List<Cidr> HostRoutes()
    {
        var routes = new List<Cidr>();
        string[] lines;
        try { lines = File.ReadAllLines("/proc/net/route"); }
        catch (IOException) { return routes; }
        foreach (var line in lines.Skip(1))
        {
            var f = line.Split('\t', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries);
            if (f.Length < 8) continue;
            if (!uint.TryParse(f[1], NumberStyles.HexNumber, null, out var dst) || !uint.TryParse(f[7], NumberStyles.HexNumber, null, out var mask)) continue;
            if (mask == 0) continue;
            uint d = BinaryPrimitives.ReverseEndianness(dst), m = BinaryPrimitives.ReverseEndianness(mask);
            routes.Add(new Cidr(d & m, System.Numerics.BitOperations.PopCount(m)));
        }
        return routes;
    }

    private static readonly object s_sync = new();
    private static int s_depth, s_fd = -1;

    /// <summary>An exclusive lock (flock) that every Berth daemon on the host takes to pick a pool and make its
    /// bridge; re-entrant within a thread (a flock taken twice by one process on two descriptors would wait on itself).</summary>
    public static IDisposable Lock()
    {
        Monitor.Enter(s_sync);
        if (s_depth++ == 0)
        {
            var dir = Directory.Exists("/run/lock") ? "/run/lock" : "/tmp";
            s_fd = Berth.Interop.Libc.open(Path.Combine(dir, "berth-network-pools.lock"),
                Berth.Interop.Libc.O_RDWR | Berth.Interop.Libc.O_CREAT | Berth.Interop.Libc.O_CLOEXEC, 0x180);
            if (s_fd >= 0)
                while (Berth.Interop.Libc.flock(s_fd, Berth.Interop.Libc.LOCK_EX) != 0 && Berth.Interop.Libc.Errno == Berth.Interop.Libc.EINTR) { }
        }
        return new Held();
    }

    private sealed class Held : IDisposable
    {
        private bool _done;

        public void Dispose()
        {
            if (_done) return;
            _done = true;
            if (--s_depth == 0 && s_fd >= 0)
            {
                Berth.Interop.Libc.close(s_fd);
                s_fd = -1;
            }
            Monitor.Exit(s_sync);
        }
    }

    public static Cidr? FirstFree(IEnumerable<Cidr> taken, IReadOnlyList<AddressPool>? pools = null)
    {
        var all = taken.Concat(HostRoutes()).ToList();
        foreach (var pool in Candidates(pools is { Count: > 0 } ? pools : DockerDefaults))
            if (!all.Any(t => t.Overlaps(pool))) return pool;
        return null;
    }
}
