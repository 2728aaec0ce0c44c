using Berth.Api.Containers;
using Berth.Cgroups;
using Berth.Core;
using Berth.Engine.Specs;

namespace Berth.Engine.Containers.Create;

/// <summary>
/// dockerd's verifyPlatformContainerResources for the device, blkio, swappiness, OOM-killer, kernel-memory and
/// real-time CPU fields: what the host's cgroups cannot do is discarded with dockerd's warning (and so shows as
/// unset in inspect: never recorded as applied), bad values get dockerd's errors.
/// </summary>
public static class ResourceCheck
{
    private const long MinMemory = 6 * 1024 * 1024;

    public static void Apply(HostConfig h, CgroupSupport s, List<string> warnings)
    {
        DeviceSpec.Validate(h);

        if (h.MemorySwappiness == -1) h.MemorySwappiness = null; // dockerd's fixMemorySwappiness
        if (h.MemorySwappiness is not null && !s.MemorySwappiness)
        {
            warnings.Add("Your kernel does not support memory swappiness capabilities or the cgroup is not mounted. Memory swappiness discarded.");
            h.MemorySwappiness = null;
        }
        if (h.MemorySwappiness is long sw && sw is < 0 or > 100)
            throw BerthException.Invalid($"Invalid value: {sw}, valid memory swappiness range is 0-100");

        // Kernel memory: cgroup2 has no such limit, and kernels since 5.16 accept writes to memory.kmem.limit_in_bytes
        // without enforcing them (runc ignores the field too). dockerd 20.10 keeps it in the config with only a
        // deprecation warning; Berth says it is not applied and does not record it.
        if (h.KernelMemory > 0)
        {
            warnings.Add("Specifying a kernel memory limit is deprecated and will be removed in a future release.");
            if (h.KernelMemory < MinMemory) throw BerthException.Invalid("Minimum kernel memory limit allowed is 6MB");
            warnings.Add("Your kernel does not support kernel memory limit capabilities or the cgroup is not mounted. Limitation discarded.");
        }
        if (h.KernelMemory < 0) throw BerthException.Invalid("HostConfig.KernelMemory: a kernel memory limit can not be negative");
        h.KernelMemory = 0;
        if (h.KernelMemoryTCP > 0)
            warnings.Add("Your kernel does not support kernel memory TCP limit capabilities or the cgroup is not mounted. Limitation discarded.");
        h.KernelMemoryTCP = 0;

        if (h.OomKillDisable is not null && !s.OomKillDisable)
        {
            if (h.OomKillDisable == true) warnings.Add("Your kernel does not support OomKillDisable. OomKillDisable discarded.");
            h.OomKillDisable = null;
        }
        if (h.OomKillDisable == true && h.Memory == 0)
            warnings.Add("OOM killer is disabled for the container, but no memory limit is set, this can result in the system running out of resources.");

        if ((h.CpuRealtimePeriod != 0 || h.CpuRealtimeRuntime != 0) && !s.CpuRealtime)
            throw BerthException.Invalid("Your kernel does not support CPU real-time scheduler");
        if (h.CpuRealtimePeriod != 0 && h.CpuRealtimeRuntime != 0 && h.CpuRealtimeRuntime > h.CpuRealtimePeriod)
            throw BerthException.Invalid("cpu real-time runtime cannot be higher than cpu real-time period");
        if (h.CpuRealtimePeriod < 0 || h.CpuRealtimeRuntime < -1)
            throw BerthException.Invalid("HostConfig.CpuRealtimePeriod/CpuRealtimeRuntime: must not be negative");

        if (h.BlkioWeight > 0 && !s.BlkioWeight)
        {
            warnings.Add("Your kernel does not support Block I/O weight or the cgroup is not mounted. Weight discarded.");
            h.BlkioWeight = 0;
        }
        if (h.BlkioWeightDevice is { Count: > 0 } && !s.BlkioWeightDevice)
        {
            warnings.Add("Your kernel does not support Block I/O weight_device or the cgroup is not mounted. Weight-device discarded.");
            h.BlkioWeightDevice = [];
        }
        if (h.BlkioDeviceReadBps is { Count: > 0 } && !s.BlkioReadBpsDevice)
        {
            warnings.Add("Your kernel does not support BPS Block I/O read limit or the cgroup is not mounted. Block I/O BPS read limit discarded.");
            h.BlkioDeviceReadBps = [];
        }
        if (h.BlkioDeviceWriteBps is { Count: > 0 } && !s.BlkioWriteBpsDevice)
        {
            warnings.Add("Your kernel does not support BPS Block I/O write limit or the cgroup is not mounted. Block I/O BPS write limit discarded.");
            h.BlkioDeviceWriteBps = [];
        }
        if (h.BlkioDeviceReadIOps is { Count: > 0 } && !s.BlkioReadIOpsDevice)
        {
            warnings.Add("Your kernel does not support IOPS Block read limit or the cgroup is not mounted. Block I/O IOPS read limit discarded.");
            h.BlkioDeviceReadIOps = [];
        }
        if (h.BlkioDeviceWriteIOps is { Count: > 0 } && !s.BlkioWriteIOpsDevice)
        {
            warnings.Add("Your kernel does not support IOPS Block write limit or the cgroup is not mounted. Block I/O IOPS write limit discarded.");
            h.BlkioDeviceWriteIOps = [];
        }
    }
}
