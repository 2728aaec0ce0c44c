namespace Berth.Cgroups;

/// <summary>One container's cgroup(s): create/join, limit, observe, freeze, kill, remove.</summary>
public interface ICgroupManager
{
    /// <summary>The layout this manager drives (<see cref="CgroupMode.Hybrid"/> uses v1 plus the unified hierarchy).</summary>
    CgroupMode Mode { get; }

    /// <summary>Normalized cgroups path (absolute "/a/b" or relative to the own cgroup).</summary>
    string CgroupPath { get; }

    /// <summary>Directory per controller (v1 controller name, "" for the unified hierarchy).</summary>
    IReadOnlyDictionary<string, string> Paths { get; }

    /// <summary>Creates the cgroup directories and, when <paramref name="pid"/> &gt; 0, moves the pid into them.</summary>
    void Apply(int pid);

    /// <summary>Validates and writes the limits. Returns warnings for settings that were ignored.</summary>
    IReadOnlyList<string> Set(CgroupResources resources);

    /// <summary>All pids in the cgroup and its descendants.</summary>
    IReadOnlyList<int> GetPids();

    CgroupStats Stats();

    void Freeze();

    void Thaw();

    /// <summary>SIGKILLs every process (v2 cgroup.kill when present, else freeze + kill(2) + thaw).</summary>
    void KillAll();

    /// <summary>Removes every controller directory; idempotent; retries EBUSY briefly; throws after trying all.</summary>
    void Destroy();

    bool Exists();

    /// <summary>How many processes the OOM killer killed in this cgroup (v1 memory.oom_control, v2 memory.events).</summary>
    ulong OomKillCount();
}
