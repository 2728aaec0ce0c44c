using Berth.Api.Containers;
using Berth.Engine.Specs;

namespace Berth.Engine.Containers.Create;

/// <summary>dockerd's defaults for what the request left empty, filled in at create so that the record (and
/// inspect) says what is applied: shm size, IPC and cgroup namespace modes, log driver, restart policy, masked and
/// read-only paths.</summary>
public static class HostConfigDefaults
{
    public static void Apply(HostConfig h, bool cgroupV2)
    {
        if (h.ShmSize == 0) h.ShmSize = 64L * 1024 * 1024;
        // dockerd (adaptContainerSettings): swap defaults to twice the memory, recorded (docker update compares with it).
        if (h.Memory > 0 && h.MemorySwap == 0) h.MemorySwap = h.Memory * 2;
        if (h.IpcMode == "") h.IpcMode = "private";
        if (h.CgroupnsMode == "") h.CgroupnsMode = cgroupV2 ? "private" : "host";
        Logs.LogOptions.ApplyDefaults(h.LogConfig); // daemon.json's log-driver and log-opts, else json-file
        h.LogConfig.Config ??= [];
        if (h.RestartPolicy.Name == "") h.RestartPolicy.Name = "no";
        h.OomKillDisable ??= false; // dockerd (adaptContainerSettings): false, not null
        // As dockerd: an empty mode is "default", which is the default bridge network.
        if (h.NetworkMode is "") h.NetworkMode = "default";
        h.PortBindings ??= [];
        h.Dns ??= [];
        h.DnsOptions ??= [];
        h.DnsSearch ??= [];
        h.BlkioWeightDevice ??= [];
        h.BlkioDeviceReadBps ??= [];
        h.BlkioDeviceWriteBps ??= [];
        h.BlkioDeviceReadIOps ??= [];
        h.BlkioDeviceWriteIOps ??= [];
        h.Devices ??= [];
        h.Ulimits ??= [];
        if (h.PidsLimit == 0) h.PidsLimit = null;
        // dockerd: Docker's defaults where the request has none (null; the CLI's systempaths=unconfined sends []).
        if (!h.Privileged)
        {
            h.MaskedPaths ??= [.. DockerSpec.MaskedPaths];
            h.ReadonlyPaths ??= [.. DockerSpec.ReadonlyPaths];
        }
    }
}
