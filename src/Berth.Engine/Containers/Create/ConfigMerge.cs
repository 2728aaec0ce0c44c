using Berth.Api.Containers;
using Berth.Core;
using Berth.Engine.Specs;
using Berth.Runtime.Spec;

namespace Berth.Engine.Containers.Create;

/// <summary>
/// A container's config is the request merged with its image's defaults once, at create (moby's
/// daemon.merge): what inspect shows is what runs; the OCI spec is built from the record alone.
/// </summary>
public static class ConfigMerge
{
    public static void WithImage(ContainerConfig c, ImageDefaults image)
    {
        if (string.IsNullOrEmpty(c.User)) c.User = image.User ?? "";
        if (c.Env is not { Count: > 0 }) c.Env = image.Env?.ToList();
        else if (image.Env is { Count: > 0 })
        {
            // The image's variables the request does not set come first, in the image's order.
            var keys = c.Env.Select(e => e.Split('=', 2)[0]).ToHashSet(StringComparer.Ordinal);
            c.Env = [.. image.Env.Where(e => !keys.Contains(e.Split('=', 2)[0])), .. c.Env];
        }
        if (image.Labels is { Count: > 0 })
        {
            var labels = new Dictionary<string, string>(image.Labels, StringComparer.Ordinal);
            foreach (var (k, v) in c.Labels ?? []) labels[k] = v;
            c.Labels = labels;
        }
        if (image.ExposedPorts is { Count: > 0 })
        {
            c.ExposedPorts ??= [];
            foreach (var p in image.ExposedPorts) c.ExposedPorts.TryAdd(p, new EmptyObject());
        }
        if (c.Entrypoint is not { Count: > 0 })
        {
            if (c.Cmd is not { Count: > 0 }) c.Cmd = image.Cmd?.ToList();
            if (c.Entrypoint is null) c.Entrypoint = image.Entrypoint?.ToList();
        }
        if (string.IsNullOrEmpty(c.WorkingDir)) c.WorkingDir = image.WorkingDir ?? "";
        if (string.IsNullOrEmpty(c.StopSignal) && !string.IsNullOrEmpty(image.StopSignal)) c.StopSignal = image.StopSignal;
        // An empty entrypoint given explicitly ("--entrypoint ''") means none.
        if (c.Entrypoint is [""]) c.Entrypoint = [];
        // The image's VOLUMEs join the request's (each becomes an anonymous volume unless something is mounted there).
        if (image.Volumes is { Count: > 0 })
        {
            c.Volumes ??= [];
            foreach (var v in image.Volumes) c.Volumes.TryAdd(v, new EmptyObject());
        }
        c.Labels ??= [];
        c.Healthcheck = Health.HealthConfig.Merge(c.Healthcheck, image.Healthcheck);
    }

    /// <summary>What the spec builder needs, from the record (paths filled in by the caller).</summary>
    public static ContainerSpecInput ToSpecInput(ContainerRecord r, string rootfs, string? etcDir, IReadOnlyList<ContainerMountSpec>? mounts = null,
        string? netns = null, NamespaceModes? namespaces = null)
    {
        var c = r.Config;
        var h = r.HostConfig;
        var secopts = h.SecurityOpt ?? [];
        return new ContainerSpecInput
        {
            Id = r.Id, RootfsPath = rootfs, EtcFilesDir = etcDir, NetworkNamespacePath = netns,
            Hostname = c.Hostname, Domainname = c.Domainname, Entrypoint = c.Entrypoint, Cmd = c.Cmd, Env = c.Env,
            WorkingDir = c.WorkingDir, User = c.User, Tty = c.Tty,
            ConsoleHeight = h.ConsoleSize is [var ht, _] ? (int)ht : 0, ConsoleWidth = h.ConsoleSize is [_, var w] ? (int)w : 0,
            ReadonlyRootfs = h.ReadonlyRootfs, Privileged = h.Privileged, CapAdd = h.CapAdd, CapDrop = h.CapDrop,
            SeccompUnconfined = SecurityOpts.SeccompUnconfined(secopts), SeccompProfile = SecurityOpts.SeccompProfile(secopts),
            NoNewPrivileges = SecurityOpts.NoNewPrivileges(secopts),
            MaskedPaths = h.MaskedPaths, ReadonlyPaths = h.ReadonlyPaths, GroupAdd = h.GroupAdd, CgroupParent = h.CgroupParent,
            Namespaces = namespaces ?? NamespaceModes.Of(h),
            Memory = h.Memory, MemorySwap = h.MemorySwap, MemoryReservation = h.MemoryReservation, NanoCpus = h.NanoCpus,
            CpuShares = h.CpuShares, CpuQuota = h.CpuQuota, CpuPeriod = h.CpuPeriod,
            CpusetCpus = h.CpusetCpus, CpusetMems = h.CpusetMems, PidsLimit = h.PidsLimit, BlkioWeight = h.BlkioWeight,
            MemorySwappiness = h.MemorySwappiness, OomKillDisable = h.OomKillDisable == true,
            CpuRealtimePeriod = h.CpuRealtimePeriod, CpuRealtimeRuntime = h.CpuRealtimeRuntime,
            Devices = h.Devices, DeviceCgroupRules = h.DeviceCgroupRules, BlkioWeightDevice = h.BlkioWeightDevice,
            BlkioDeviceReadBps = h.BlkioDeviceReadBps, BlkioDeviceWriteBps = h.BlkioDeviceWriteBps,
            BlkioDeviceReadIOps = h.BlkioDeviceReadIOps, BlkioDeviceWriteIOps = h.BlkioDeviceWriteIOps,
            OomScoreAdj = h.OomScoreAdj, ShmSize = h.ShmSize, Sysctls = h.Sysctls, Mounts = mounts,
            Rlimits = h.Ulimits?.Select(u => new PosixRlimit
            {
                Type = "RLIMIT_" + u.Name.ToUpperInvariant(),
                Soft = u.Soft < 0 ? ulong.MaxValue : (ulong)u.Soft,
                Hard = u.Hard < 0 ? ulong.MaxValue : (ulong)u.Hard,
            }).ToList(),
        };
    }
}
