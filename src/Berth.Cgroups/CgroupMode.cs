namespace Berth.Cgroups;

/// <summary>How the host's cgroup hierarchies are laid out.</summary>
public enum CgroupMode
{
    /// <summary>Only cgroup v1 hierarchies.</summary>
    Legacy,

    /// <summary>cgroup v1 controllers plus a cgroup2 mount (usually /sys/fs/cgroup/unified).</summary>
    Hybrid,

    /// <summary>Only the cgroup2 unified hierarchy.</summary>
    Unified,
}
