using Berth.Api.Containers;
using Berth.Cgroups;
using Berth.Core;

namespace Berth.Engine.Containers.Create;

/// <summary>
/// `docker update` as dockerd 20.10 checks it: the update's own fields first (verifyContainerSettings with
/// update=true: the same checks and warnings as create, 400), then the update against the container's current
/// settings (container.UpdateContainer: dockerd's conflicts, 409, "Cannot update container ID: ..."), and the result
/// (the merged record) as create would check it, so that a stopped container is never left with settings its next
/// start would refuse.
/// </summary>
public static class UpdateCheck
{
    /// <summary>The update's own fields (dockerd's verifyPlatformContainerResources, update=true). Adjusts
    /// <paramref name="u"/> as create does (what the host cannot do is discarded with a warning).</summary>
    public static void Fields(HostConfig u, CgroupSupport support, List<string> warnings)
    {
        if (u.Memory != 0 && u.Memory < 6 * 1024 * 1024) throw BerthException.Invalid("Minimum memory limit allowed is 6MB");
        if (u.Memory > 0 && u.MemorySwap > 0 && u.MemorySwap < u.Memory)
            throw BerthException.Invalid("Minimum memoryswap limit should be larger than memory limit, see usage");
        if (u.MemorySwap < -1) throw BerthException.Invalid("HostConfig.MemorySwap: must be -1 (unlimited) or a size");
        if (u.MemoryReservation < 0) throw BerthException.Invalid("HostConfig.MemoryReservation: a memory reservation can not be negative");
        if (u.MemoryReservation is > 0 and < 6 * 1024 * 1024) throw BerthException.Invalid("Minimum memory reservation allowed is 6MB");
        if (u.Memory > 0 && u.MemoryReservation > 0 && u.Memory < u.MemoryReservation)
            throw BerthException.Invalid("Minimum memory limit can not be less than memory reservation limit, see usage");
        if (u.NanoCpus > 0 && u.CpuPeriod > 0) throw BerthException.Invalid("Conflicting options: Nano CPUs and CPU Period cannot both be set");
        if (u.NanoCpus > 0 && u.CpuQuota > 0) throw BerthException.Invalid("Conflicting options: Nano CPUs and CPU Quota cannot both be set");
        int ncpu = Environment.ProcessorCount;
        if (u.NanoCpus < 0 || u.NanoCpus > (long)ncpu * 1_000_000_000L)
            throw BerthException.Invalid($"Range of CPUs is from 0.01 to {ncpu}.00, as there are only {ncpu} CPUs available");
        if (u.CpuShares < 0) throw BerthException.Invalid("HostConfig.CpuShares: CPU shares can not be negative");
        if (u.CpuPeriod != 0 && (u.CpuPeriod < 1000 || u.CpuPeriod > 1_000_000))
            throw BerthException.Invalid("CPU cfs period can not be less than 1ms (i.e. 1000) or larger than 1s (i.e. 1000000)");
        if (u.CpuQuota > 0 && u.CpuQuota < 1000) throw BerthException.Invalid("CPU cfs quota can not be less than 1ms (i.e. 1000)");
        CreateCheck.CpuSet("cpuset.cpus", u.CpusetCpus, "/sys/devices/system/cpu/online", "CPUs");
        CreateCheck.CpuSet("cpuset.mems", u.CpusetMems, "/sys/devices/system/node/online", "memory nodes");
        if (u.PidsLimit is < -1) throw BerthException.Invalid("HostConfig.PidsLimit: must be -1 (unlimited), 0 (unset) or positive");
        // Blkio weight, kernel memory and real-time CPU: what the host cannot do, as at create (warnings, discarded,
        // or dockerd's refusal of real-time CPU on a kernel without it).
        ResourceCheck.Apply(u, support, warnings);
        if (u.BlkioWeight != 0 && (u.BlkioWeight < 10 || u.BlkioWeight > 1000)) // after the discard, as dockerd
            throw BerthException.Invalid("Range of blkio weight is from 10 to 1000");
        Restart.RestartPolicies.Validate(u.RestartPolicy);
    }

    /// <summary>The update against the container's settings (dockerd's UpdateContainer); 409 as dockerd.</summary>
    public static void Against(string id, HostConfig current, HostConfig u)
    {
        string? conflict =
            u.NanoCpus > 0 && current.CpuPeriod > 0 ? "Conflicting options: Nano CPUs cannot be updated as CPU Period has already been set"
            : u.NanoCpus > 0 && current.CpuQuota > 0 ? "Conflicting options: Nano CPUs cannot be updated as CPU Quota has already been set"
            : u.CpuPeriod > 0 && current.NanoCpus > 0 ? "Conflicting options: CPU Period cannot be updated as NanoCPUs has already been set"
            : u.CpuQuota > 0 && current.NanoCpus > 0 ? "Conflicting options: CPU Quota cannot be updated as NanoCPUs has already been set"
            // dockerd compares with the recorded swap limit, which create sets to twice the memory (0 when no
            // memory limit, -1 for unlimited): a new memory limit above it needs a swap limit in the same update.
            : u.Memory != 0 && u.Memory > current.MemorySwap && u.MemorySwap == 0
                ? "Memory limit should be smaller than already set memoryswap limit, update the memoryswap at the same time"
            : !string.IsNullOrEmpty(u.RestartPolicy.Name) && current.AutoRemove && !Restart.RestartPolicies.IsNone(u.RestartPolicy)
                ? "Restart policy cannot be updated because AutoRemove is enabled for the container"
            : null;
        if (conflict is not null) throw BerthException.Conflict($"Cannot update container {id}: {conflict}");
    }

    /// <summary>The merged settings as create checks them (the update may combine with what was set before).</summary>
    public static void Merged(HostConfig h)
    {
        if (h.MemorySwap > 0 && h.MemorySwap < h.Memory)
            throw BerthException.Invalid("Minimum memoryswap limit should be larger than memory limit, see usage");
        if (h.Memory > 0 && h.MemoryReservation > 0 && h.Memory < h.MemoryReservation)
            throw BerthException.Invalid("Minimum memory limit can not be less than memory reservation limit, see usage");
        if (h.CpuRealtimePeriod != 0 && h.CpuRealtimeRuntime != 0 && h.CpuRealtimeRuntime > h.CpuRealtimePeriod)
            throw BerthException.Invalid("cpu real-time runtime cannot be higher than cpu real-time period");
    }
}
