using Berth.Runtime.Cgroups;
using Berth.Runtime.Linux;
using Berth.Runtime.Plan;

namespace Berth.Runtime.Lifecycle;

/// <summary>What another process (berth-monitor) needs to spawn an exec process: the spawn file and the cgroup v1
/// "tasks" files it joins first (the cgroup v2 directory, if any, is in the spawn file).</summary>
public sealed record ExecSpawnData(byte[] Spawn, IReadOnlyList<string> CgroupJoin, IReadOnlyList<string> Warnings);

/// <summary>
/// An exec process prepared here and spawned elsewhere (berthd prepares, berth-monitor clones: berthd never clones).
/// It works from the container's OCI spec and its init's pid only, so it is the same for any OCI runtime that
/// honours the spec's cgroupsPath: the process joins every namespace of the spec (through /proc/INIT/ns/*), the
/// container's cgroups, gets the spec's seccomp filter, and the process given (capabilities, rlimits,
/// no_new_privs, user, cwd, env). It stops after the command's lookup (READY) and waits on the fifo until the
/// caller has attached and lets it exec (<see cref="ExecFifo.Release"/>).
/// </summary>
public static class ExecSpawn
{
    /// <summary>Where the spawning process opens the fifo and the console socket.</summary>
    public const int FifoFd = 3, ConsoleFd = 4;

    public static ExecSpawnData Prepare(Spec.Spec spec, string containerId, string bundle, int initPid, Spec.Process process, string fifoPath)
    {
        var warnings = new List<string>();
        var seccomp = spec.Linux?.Seccomp is { } sc ? SeccompSupport.Compile(sc, warnings.Add) : default;
        var rootfs = Path.GetFullPath(Path.Combine(bundle, spec.Root?.Path ?? "rootfs"));
        var ctx = new PlanContext
        {
            Bundle = bundle, RootfsPath = rootfs, ExecFifoFd = FifoFd, ConsoleSocketFd = process.Terminal ? ConsoleFd : -1,
            SeccompFilter = seccomp.Filter, SeccompFlags = seccomp.Flags,
        };
        var plan = PlanBuilder.ForExec(process, ctx, elsewhere: true);
        warnings.AddRange(ctx.Warnings);
        plan.Joins.AddRange(Namespaces.JoinsOf(initPid, spec.Linux?.Namespaces));
        var cgroup = ContainerCgroup.For(spec, containerId);
        var data = SpawnFile.Encode(plan, FifoFd, fifoPath, process.Terminal ? ConsoleFd : -1, cgroup.V2Dir);
        return new ExecSpawnData(data, cgroup.V1SelfJoinFiles, warnings);
    }
}
