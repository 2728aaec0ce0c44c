using Berth.Api.Containers;
using Berth.Cgroups;
using Berth.Core;
using Berth.Engine.Containers.Create;
using Berth.Engine.Specs;

namespace Berth.Engine.Containers;

public sealed partial class ContainerManager
{
    /// <summary>
    /// docker update (dockerd 20.10's ContainerUpdate): the fields set (non-zero) of the resources and the restart
    /// policy replace the container's; a running (or paused) container's cgroup gets the new limits at once, and the
    /// record keeps them only when they were applied. Errors as dockerd: the update's own fields 400 (as create checks
    /// them), conflicts with the current settings 409, a limit the kernel refuses 500 ("Cannot update container ID:
    /// ..."). Returns the warnings (what the host cannot do is discarded, as at create).
    /// </summary>
    public IReadOnlyList<string> Update(string idOrName, HostConfig u)
    {
        var warnings = new List<string>();
        UpdateCheck.Fields(u, CgroupSupport.Host, warnings);
        var c = Store.Get(idOrName);
        var entry = EntryOf(c.Id);
        entry.Gate.Wait();
        try
        {
            c = Store.Get(c.Id);
            var h = c.HostConfig;
            UpdateCheck.Against(c.Id, h, u);
            var before = System.Text.Json.JsonSerializer.SerializeToUtf8Bytes(h, ContainersJsonContext.Default.HostConfig);

            if (!string.IsNullOrEmpty(u.RestartPolicy.Name)) h.RestartPolicy = u.RestartPolicy;
            if (u.BlkioWeight != 0) h.BlkioWeight = u.BlkioWeight;
            if (u.CpuShares != 0) h.CpuShares = u.CpuShares;
            if (u.NanoCpus != 0) h.NanoCpus = u.NanoCpus;
            if (u.CpuPeriod != 0) h.CpuPeriod = u.CpuPeriod;
            if (u.CpuQuota != 0) h.CpuQuota = u.CpuQuota;
            if (!string.IsNullOrEmpty(u.CpusetCpus)) h.CpusetCpus = u.CpusetCpus;
            if (!string.IsNullOrEmpty(u.CpusetMems)) h.CpusetMems = u.CpusetMems;
            if (u.Memory != 0) h.Memory = u.Memory;
            if (u.MemorySwap != 0) h.MemorySwap = u.MemorySwap;
            if (u.MemoryReservation != 0) h.MemoryReservation = u.MemoryReservation;
            if (u.CpuRealtimePeriod != 0) h.CpuRealtimePeriod = u.CpuRealtimePeriod;
            if (u.CpuRealtimeRuntime != 0) h.CpuRealtimeRuntime = u.CpuRealtimeRuntime;
            // dockerd: a limit of -1 (or below) is "unlimited", shown as 0; 0 leaves the limit as it is.
            bool unlimitPids = u.PidsLimit is < 0;
            if (u.PidsLimit is long p && p > 0) h.PidsLimit = p;
            if (unlimitPids) h.PidsLimit = 0;

            try
            {
                UpdateCheck.Merged(h);
                // The spec's resources, as start builds them (the same checks: minimum memory, CPU range).
                var spec = DockerSpec.Build(ConfigMerge.ToSpecInput(c, "/nonexistent", null), new ImageDefaults(), _options.CgroupV2, resolveUser: false);
                if (c.State.Running && !c.State.Restarting && CgroupOf(c) is { } cgroup)
                {
                    var resources = Berth.Runtime.Cgroups.ContainerCgroup.Map(spec.Linux?.Resources);
                    resources.Devices = null; // the device rules do not change
                    if (unlimitPids) resources.Pids = new PidsResources { Limit = -1 };
                    try { warnings.AddRange(cgroup.Set(resources)); }
                    catch (Exception e) when (e is BerthException or IOException or UnauthorizedAccessException)
                    {
                        throw new BerthException(ErrorKind.System, $"Cannot update container {c.Id}: {Reason(e)}");
                    }
                }
                Store.Save(c);
            }
            catch
            {
                c.HostConfig = System.Text.Json.JsonSerializer.Deserialize(before, ContainersJsonContext.Default.HostConfig)!;
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

    /// <summary>A cgroup write the kernel refused, in runc's words where dockerd's message comes from runc.</summary>
    private static string Reason(Exception e) =>
        e is CgroupWriteException { Errno: Berth.Interop.Libc.EBUSY, Detail: { } usage } w && w.Path.EndsWith("memory.limit_in_bytes", StringComparison.Ordinal)
            ? $"unable to set memory limit to {w.Value} ({usage})"
            : e.Message;
}
