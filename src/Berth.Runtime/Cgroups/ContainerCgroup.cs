using Berth.Runtime.Spec;

namespace Berth.Runtime.Cgroups;

/// <summary>The container's cgroup as the lifecycle sees it (placeholder until Berth.Cgroups lands).</summary>
public sealed class ContainerCgroup
{
    private ContainerCgroup(string path) { Path = path; }

    public string Path { get; }

    public static ContainerCgroup For(Spec.Spec spec, string id) => new(spec.Linux?.CgroupsPath ?? "/berth/" + id);
    public static ContainerCgroup Load(string path) => new(path);

    public IReadOnlyList<(string Name, string HostPath)> V1Mounts => [];
    public string? V2HostPath => null;

    public void Apply(int pid, LinuxResources? resources) { _ = pid; _ = resources; }
    public void Join(int pid) { _ = pid; }
    public IReadOnlyList<int> Pids() => [];
    public void Destroy() { }
    public string? StatsJson() => null;
}
