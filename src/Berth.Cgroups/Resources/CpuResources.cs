namespace Berth.Cgroups;

/// <summary>CPU limits (v1 units: shares, microseconds); converted for v2.</summary>
public sealed class CpuResources
{
    public ulong? Shares { get; set; }

    /// <summary>CFS quota in µs per period; -1 means unlimited.</summary>
    public long? Quota { get; set; }

    public ulong? Period { get; set; }
    public long? RealtimeRuntime { get; set; }
    public ulong? RealtimePeriod { get; set; }
    public string? Cpus { get; set; }
    public string? Mems { get; set; }
    public long? Idle { get; set; }
}
