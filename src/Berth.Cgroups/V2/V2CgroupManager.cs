using System.Diagnostics;
using System.Globalization;
using Berth.Cgroups.Internal;
using Berth.Core;

namespace Berth.Cgroups.V2;

/// <summary>cgroup v2 (unified hierarchy) manager, like runc's fs2 driver.</summary>
public sealed class V2CgroupManager : ICgroupManager
{
    private readonly string _mountpoint;

    public V2CgroupManager(CgroupRoot root, string normalizedPath)
    {
        ArgumentNullException.ThrowIfNull(root);
        var unified = root.Unified ?? throw new BerthException(ErrorKind.Unavailable, "cgroup v2: no cgroup2 mount");
        _mountpoint = unified.Mountpoint;
        CgroupPath = normalizedPath;
        Dir = CgroupPaths.Resolve(unified, normalizedPath, root.OwnCgroups.GetValueOrDefault(""));
        Paths = new Dictionary<string, string> { [""] = Dir };
    }

    public CgroupMode Mode => CgroupMode.Unified;

    public string CgroupPath { get; }

    /// <summary>The container's cgroup directory.</summary>
    public string Dir { get; }

    public IReadOnlyDictionary<string, string> Paths { get; }

    /// <summary>
    /// Enforces device rules on the cgroup directory: by default compiles them to a BPF_CGROUP_DEVICE
    /// program and attaches it (<see cref="BpfDevices.Apply"/>). Tests over fake trees replace it.
    /// </summary>
    internal Action<string, IReadOnlyList<DeviceRule>> DeviceFilterApplier { get; set; } = BpfDevices.Apply;

    public void Apply(int pid)
    {
        V2Resources.CreateWithControllers(_mountpoint, Dir, null);
        if (pid > 0)
        {
            CgroupFile.Write("v2", Dir, "cgroup.procs", pid.ToString(CultureInfo.InvariantCulture));
        }
    }

    public IReadOnlyList<string> Set(CgroupResources resources)
    {
        ArgumentNullException.ThrowIfNull(resources);
        ResourceValidator.Validate(resources);
        return V2Resources.Set(Dir, resources, DeviceFilterApplier);
    }

    public IReadOnlyList<int> GetPids() => CgroupFile.ReadPidsRecursive(Dir);

    public CgroupStats Stats()
    {
        var stats = new CgroupStats();
        StatsReader.V2Cpu(Dir, stats.Cpu);
        StatsReader.V2Memory(Dir, stats.Memory);
        StatsReader.Pids(Dir, stats.Pids);
        StatsReader.V2Io(Dir, stats.Blkio);
        StatsReader.V2Hugetlb(Dir, stats.Hugetlb);
        return stats;
    }

    public void Freeze() => SetFrozen(true);

    public void Thaw() => SetFrozen(false);

    private void SetFrozen(bool frozen)
    {
        CgroupFile.Write("freezer", Dir, "cgroup.freeze", frozen ? "1" : "0");
        WaitFrozen(Dir, frozen);
    }

    internal static void WaitFrozen(string dir, bool frozen)
    {
        if (!CgroupFile.Exists(dir, "cgroup.events"))
        {
            return;
        }

        var sw = Stopwatch.StartNew();
        while (sw.Elapsed < TimeSpan.FromSeconds(5))
        {
            var events = CgroupFile.ReadKeyValues(dir, "cgroup.events");
            if (events.GetValueOrDefault("frozen") == (frozen ? 1UL : 0UL))
            {
                return;
            }

            Thread.Sleep(5);
        }

        throw new BerthException(ErrorKind.System, $"cgroup v2: {dir} did not become {(frozen ? "frozen" : "thawed")} within 5s");
    }

    public void KillAll()
    {
        if (!Directory.Exists(Dir))
        {
            return;
        }

        if (CgroupFile.Exists(Dir, "cgroup.kill"))
        {
            CgroupFile.Write("v2", Dir, "cgroup.kill", "1");
        }
        else
        {
            // Pre-5.14 kernels: freeze so nothing forks while we signal, then kill and thaw.
            var frozen = TryFreeze();
            ProcessKiller.KillEach(GetPids());
            if (frozen)
            {
                Thaw();
            }
        }

        ProcessKiller.WaitEmpty(GetPids, TimeSpan.FromSeconds(2));
    }

    private bool TryFreeze()
    {
        try
        {
            Freeze();
            return true;
        }
        catch (BerthException)
        {
            return false;
        }
    }

    public void Destroy()
    {
        var errors = new List<string>();
        CgroupFile.RemoveTree(Dir, errors);
        if (errors.Count > 0)
        {
            throw new BerthException(ErrorKind.System, "cgroup: destroy: " + string.Join("; ", errors));
        }
    }

    public bool Exists() => Directory.Exists(Dir);

    public ulong OomKillCount() => CgroupFile.ReadKeyValues(Dir, "memory.events").GetValueOrDefault("oom_kill");
}
