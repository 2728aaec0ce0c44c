namespace Berth.Cgroups;

/// <summary>
/// Resource limits for a cgroup, independent of the OCI types (the runtime maps OCI <c>linux.resources</c> onto it).
/// Every member is nullable: <c>null</c> means "not set, leave the kernel's value alone".
/// </summary>
public sealed class CgroupResources
{
    public MemoryResources? Memory { get; set; }
    public CpuResources? Cpu { get; set; }
    public PidsResources? Pids { get; set; }
    public BlockIOResources? BlockIO { get; set; }

    /// <summary>Device access rules, applied in order (v1 only; v2 needs eBPF and is not supported).</summary>
    public IList<DeviceRule>? Devices { get; set; }

    public IList<HugepageLimit>? HugepageLimits { get; set; }

    /// <summary>Raw cgroup v2 files (e.g. <c>memory.high</c>), written verbatim after everything else.</summary>
    public IDictionary<string, string>? Unified { get; set; }
}
