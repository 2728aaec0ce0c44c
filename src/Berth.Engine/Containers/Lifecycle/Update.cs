using Berth.Api.Containers;
using Berth.Core;
using Berth.Engine.Containers.Create;
using Berth.Engine.Containers.Restart;
using Berth.Engine.Specs;

namespace Berth.Engine.Containers;

public sealed partial class ContainerManager
{
    /// <summary>
    /// docker update (dockerd's ContainerUpdate): the fields set (non-zero) of the resources and the restart
    /// policy replace the container's; a running container's cgroup gets the new limits at once. Returns the
    /// cgroup's warnings.
    /// </summary>
    public IReadOnlyList<string> Update(string idOrName, HostConfig u)
    {
        var c = Store.Get(idOrName);
        var entry = EntryOf(c.Id);
        entry.Gate.Wait();
        try
        {
            c = Store.Get(c.Id);
            var h = c.HostConfig;
            var before = System.Text.Json.JsonSerializer.SerializeToUtf8Bytes(h, Berth.Api.Containers.ContainersJsonContext.Default.HostConfig);
            if (!string.IsNullOrEmpty(u.RestartPolicy.Name))
            {
                RestartPolicies.Validate(u.RestartPolicy);
                if (h.AutoRemove && !RestartPolicies.IsNone(u.RestartPolicy))
                    throw BerthException.Invalid("Restart policy cannot be updated because AutoRemove is enabled for the container");
            }
            if (u.NanoCpus > 0 && (h.CpuPeriod != 0 || h.CpuQuota != 0) && u.CpuPeriod == 0 && u.CpuQuota == 0)
                throw BerthException.Invalid("Conflicting options: Nano CPUs cannot be updated as CPU Period/Quota has already been set");
            if ((u.CpuPeriod != 0 || u.CpuQuota != 0) && h.NanoCpus != 0 && u.NanoCpus == 0)
                throw BerthException.Invalid("Conflicting options: CPU Quota cannot be updated as NanoCPUs has already been set");
            if (u.Memory > 0 && u.MemorySwap == 0 && h.MemorySwap > 0 && u.Memory > h.MemorySwap)
                throw BerthException.Invalid("Memory limit should be smaller than already set memoryswap limit, update the memoryswap at the same time");
            if (u.KernelMemory != 0) throw BerthException.Invalid("HostConfig.KernelMemory: kernel memory limits are not supported by Berth (deprecated by Docker)");

            if (!string.IsNullOrEmpty(u.RestartPolicy.Name)) h.RestartPolicy = u.RestartPolicy;
            if (u.CpuShares != 0) h.CpuShares = u.CpuShares;
            if (u.NanoCpus != 0) { h.NanoCpus = u.NanoCpus; h.CpuPeriod = 0; h.CpuQuota = 0; }
            if (u.CpuPeriod != 0) h.CpuPeriod = u.CpuPeriod;
            if (u.CpuQuota != 0) h.CpuQuota = u.CpuQuota;
            if (!string.IsNullOrEmpty(u.CpusetCpus)) h.CpusetCpus = u.CpusetCpus;
            if (!string.IsNullOrEmpty(u.CpusetMems)) h.CpusetMems = u.CpusetMems;
            if (u.Memory != 0)
            {
                h.Memory = u.Memory;
                // As dockerd: a new memory limit without a swap limit keeps swap at twice the memory.
                if (u.MemorySwap == 0 && h.MemorySwap > 0) h.MemorySwap = u.Memory * 2;
            }
            if (u.MemorySwap != 0) h.MemorySwap = u.MemorySwap;
            if (u.MemoryReservation != 0) h.MemoryReservation = u.MemoryReservation;
            if (u.PidsLimit is long p && p != 0) h.PidsLimit = p;
            if (u.BlkioWeight != 0) h.BlkioWeight = u.BlkioWeight;

            IReadOnlyList<string> warnings = [];
            try
            {
                // The spec's resources, as start builds them (the same checks: minimum memory, CPU range).
                var spec = DockerSpec.Build(ConfigMerge.ToSpecInput(c, "/nonexistent", null), new ImageDefaults(), _options.CgroupV2, resolveUser: false);
                if (c.State.Running && CgroupOf(c) is { } cgroup)
                {
                    var resources = Berth.Runtime.Cgroups.ContainerCgroup.Map(spec.Linux?.Resources);
                    resources.Devices = null; // the device rules do not change
                    try { warnings = cgroup.Set(resources); }
                    catch (Exception e) when (e is BerthException or IOException or UnauthorizedAccessException)
                    {
                        throw new BerthException(ErrorKind.InvalidParameter, $"Cannot update container {c.Id}: {e.Message}");
                    }
                }
                Store.Save(c);
            }
            catch
            {
                c.HostConfig = System.Text.Json.JsonSerializer.Deserialize(before, Berth.Api.Containers.ContainersJsonContext.Default.HostConfig)!;
                throw;
            }
            Publish(c, "update");
            return warnings;
        }
        finally
        {
            entry.Gate.Release();
        }
    }
}
