namespace Berth.Cgroups;

/// <summary>
/// One cgroup hierarchy mount: where it is mounted, which cgroup path the mount's root is
/// (mountinfo field 4; "/" on the host, e.g. "/docker/abc" inside a container), and its controllers
/// (v1 super options like "cpu", "cpuacct", "name=systemd"; empty for cgroup2).
/// </summary>
public sealed record CgroupMount(string Mountpoint, string Root, IReadOnlyList<string> Controllers)
{
    public bool IsUnified => Controllers.Count == 0;
}
