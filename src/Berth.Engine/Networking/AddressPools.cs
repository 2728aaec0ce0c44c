using System.Buffers.Binary;
using System.Globalization;

namespace Berth.Engine.Networking;

/// <summary>
/// Docker's default address pools (172.17.0.0/16 … 172.31.0.0/16, then 192.168.0.0/20 … 192.168.240.0/20): a
/// new network without --subnet gets the first one that overlaps neither another network nor a route of the
/// host (so a docker0 on 172.17.0.0/16, or another daemon's bridge, keeps working).
/// </summary>
public static class AddressPools
{
    public static IEnumerable<Cidr> Defaults()
    {
        for (uint b = 17; b <= 31; b++) yield return new Cidr((172u << 24) | (b << 16), 16);
        for (uint c = 0; c < 256; c += 16) yield return new Cidr((192u << 24) | (168u << 16) | (c << 8), 20);
    }

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

    public static Cidr? FirstFree(IEnumerable<Cidr> taken)
    {
        var all = taken.Concat(HostRoutes()).ToList();
        foreach (var pool in Defaults())
            if (!all.Any(t => t.Overlaps(pool))) return pool;
        return null;
    }
}
