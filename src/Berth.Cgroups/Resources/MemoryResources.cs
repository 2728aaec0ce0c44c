namespace Berth.Cgroups;

/// <summary>Memory limits in bytes; -1 means unlimited, null (or 0, like runc) means not set.</summary>
public sealed class MemoryResources
{
    public long? Limit { get; set; }
    public long? Reservation { get; set; }

    /// <summary>Memory+swap limit, like OCI (v2: <c>memory.swap.max = Swap - Limit</c>).</summary>
    public long? Swap { get; set; }

    /// <summary>Kernel memory limit: deprecated by the kernel and ignored, like runc.</summary>
    public long? Kernel { get; set; }

    public ulong? Swappiness { get; set; }
    public bool? DisableOOMKiller { get; set; }
}
