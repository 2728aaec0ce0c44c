using System.Globalization;
using Berth.Cgroups;

namespace Berth.Engine.Stats;

/// <summary>One interface's counters from /proc/&lt;pid&gt;/net/dev (the container's network namespace).</summary>
public sealed record NetDevEntry(string Name, ulong RxBytes, ulong RxPackets, ulong RxErrors, ulong RxDropped,
    ulong TxBytes, ulong TxPackets, ulong TxErrors, ulong TxDropped);

/// <summary>
/// One reading of a running container: its cgroup's counters (Berth.Cgroups' stats, v1 or v2), the host's CPU
/// time (/proc/stat, for the CPU %) and memory (for an unlimited container's limit), and the interfaces of its
/// network namespace.
/// </summary>
public sealed class StatsSample
{
    public DateTime Read { get; init; }
    public required CgroupStats Cgroup { get; init; }
    public bool CgroupV2 { get; init; }

    /// <summary>The host's CPU time in nanoseconds (Docker's system_cpu_usage: /proc/stat's cpu line, user to softirq).</summary>
    public ulong SystemCpuUsage { get; init; }
    public uint OnlineCpus { get; init; }

    /// <summary>The host's memory: the limit shown for a container without one (as dockerd's machineMemory).</summary>
    public ulong MachineMemory { get; init; }
    public IReadOnlyList<NetDevEntry> Networks { get; init; } = [];
}

/// <summary>The host-side sources of a stats reading.</summary>
public static class HostStats
{
    private const ulong ClockTicks = 100; // USER_HZ

    /// <summary>/proc/stat's first line: the sum of user, nice, system, idle, iowait, irq, softirq in ns.</summary>
    public static ulong SystemCpuUsage(string procStat = "/proc/stat")
    {
        foreach (var line in File.ReadLines(procStat))
        {
            if (!line.StartsWith("cpu ", StringComparison.Ordinal)) continue;
            var f = line.Split(' ', StringSplitOptions.RemoveEmptyEntries);
            ulong ticks = 0;
            for (int i = 1; i < Math.Min(8, f.Length); i++) ticks += ulong.Parse(f[i], CultureInfo.InvariantCulture);
            return ticks * (1_000_000_000 / ClockTicks);
        }
        return 0;
    }

    /// <summary>MemTotal of /proc/meminfo in bytes.</summary>
    public static ulong MachineMemory(string meminfo = "/proc/meminfo")
    {
        foreach (var line in File.ReadLines(meminfo))
        {
            if (!line.StartsWith("MemTotal:", StringComparison.Ordinal)) continue;
            var f = line.Split(' ', StringSplitOptions.RemoveEmptyEntries);
            return ulong.Parse(f[1], CultureInfo.InvariantCulture) * 1024;
        }
        return 0;
    }

    /// <summary>/proc/&lt;pid&gt;/net/dev, without the loopback (Docker reports the container's own interfaces).</summary>
    public static IReadOnlyList<NetDevEntry> NetDev(string text)
    {
        var list = new List<NetDevEntry>();
        foreach (var line in text.Split('\n'))
        {
            int colon = line.IndexOf(':');
            if (colon < 0) continue;
            var name = line[..colon].Trim();
            if (name.Length == 0 || name == "lo" || name.Contains('|')) continue;
            var f = line[(colon + 1)..].Split(' ', StringSplitOptions.RemoveEmptyEntries);
            if (f.Length < 16) continue;
            ulong N(int i) => ulong.TryParse(f[i], CultureInfo.InvariantCulture, out var v) ? v : 0;
            list.Add(new NetDevEntry(name, N(0), N(1), N(2), N(3), N(8), N(9), N(10), N(11)));
        }
        return list;
    }

    /// <summary>A reading of <paramref name="cgroup"/> and of the process <paramref name="pid"/>'s network namespace.</summary>
    public static StatsSample Sample(ICgroupManager cgroup, int pid, string proc = "/proc")
    {
        var stats = cgroup.Stats();
        IReadOnlyList<NetDevEntry> nets = [];
        try { if (pid > 0) nets = NetDev(File.ReadAllText(Path.Combine(proc, pid.ToString(CultureInfo.InvariantCulture), "net", "dev"))); }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException) { }
        return new StatsSample
        {
            Read = DateTime.UtcNow, Cgroup = stats, CgroupV2 = cgroup.Mode == CgroupMode.Unified,
            SystemCpuUsage = SystemCpuUsage(Path.Combine(proc, "stat")), OnlineCpus = (uint)Environment.ProcessorCount,
            MachineMemory = MachineMemory(Path.Combine(proc, "meminfo")), Networks = nets,
        };
    }
}
