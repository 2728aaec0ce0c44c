using System.Collections.Concurrent;
using System.Text.Json;
using Berth.Cgroups;
using Berth.Engine.Stats;
using Berth.Runtime.Spec;

namespace Berth.Engine.Containers;

public sealed partial class ContainerManager
{
    // A running container's cgroup, found once per run from its bundle's config.json (keyed by id and init pid).
    private readonly ConcurrentDictionary<string, (int Pid, ICgroupManager Cgroup)> _cgroups = new();

    /// <summary>The cgroup of a running container, or null when it does not run (or its cgroup is gone).</summary>
    public ICgroupManager? CgroupOf(ContainerRecord c)
    {
        if (!c.State.Running) return null;
        if (_cgroups.TryGetValue(c.Id, out var known) && known.Pid == c.State.Pid) return known.Cgroup;
        var config = Path.Combine(StateDir(c.Id), "config.json");
        try
        {
            var spec = JsonSerializer.Deserialize(File.ReadAllBytes(config), SpecJsonContext.Default.Spec);
            if (spec is null) return null;
            var cgroup = CgroupManagerFactory.Create(spec.Linux?.CgroupsPath, c.Id);
            _cgroups[c.Id] = (c.State.Pid, cgroup);
            return cgroup;
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException or JsonException)
        {
            return null;
        }
    }

    /// <summary>docker stats: a reading of the container's cgroup and network namespace; null when it does not run.</summary>
    public StatsSample? Stats(string idOrName)
    {
        var c = Store.Get(idOrName);
        if (CgroupOf(c) is not { } cgroup || !cgroup.Exists()) return null;
        try
        {
            return HostStats.Sample(cgroup, c.State.Pid);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException or Core.BerthException)
        {
            return null; // exited meanwhile
        }
    }
}
