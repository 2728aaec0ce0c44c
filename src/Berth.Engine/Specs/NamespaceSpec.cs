using Berth.Runtime.Spec;

namespace Berth.Engine.Specs;

/// <summary>
/// How a container's pid, ipc, uts and cgroup namespaces are set (HostConfig.PidMode, IpcMode, UTSMode,
/// CgroupnsMode), resolved at start: a namespace of its own (null), the host's ("host"), or another
/// container's namespace to join (a /proc/PID/ns path).
/// </summary>
public sealed record NamespaceModes
{
    /// <summary>null: a new pid namespace; "host"; or /proc/PID/ns/pid of the container joined (--pid container:X).</summary>
    public string? Pid { get; init; }

    /// <summary>null: a new ipc namespace; "host"; or /proc/PID/ns/ipc of the container joined (--ipc container:X).</summary>
    public string? Ipc { get; init; }

    /// <summary>--ipc none: a new ipc namespace and no /dev/shm mount.</summary>
    public bool IpcNone { get; init; }

    /// <summary>--uts host: the host's uts namespace (and hostname).</summary>
    public bool UtsHost { get; init; }

    /// <summary>--cgroupns: true private, false host; null is the daemon's default (private on v2, host on v1).</summary>
    public bool? CgroupnsPrivate { get; init; }

    /// <summary>What the host config says without looking at other containers (create, update): container:X is
    /// resolved at start (see ContainerManager.NamespacesAtStart).</summary>
    public static NamespaceModes Of(Berth.Api.Containers.HostConfig h) => new()
    {
        Pid = h.PidMode == "host" ? "host" : null,
        Ipc = h.IpcMode == "host" ? "host" : null,
        IpcNone = h.IpcMode == "none",
        UtsHost = h.UTSMode == "host",
        CgroupnsPrivate = h.CgroupnsMode switch { "private" => true, "host" => false, _ => null },
    };
}

/// <summary>The OCI namespace list Docker 20.10 gives runc (moby's setNamespaces): joined ones by path.</summary>
public static class NamespaceSpec
{
    public static List<LinuxNamespace> Build(ContainerSpecInput c, bool cgroupV2)
    {
        var m = c.Namespaces ?? new NamespaceModes();
        var ns = new List<LinuxNamespace> { new() { Type = "mount" } };
        if (c.NetworkNamespacePath is null or "none") ns.Add(new LinuxNamespace { Type = "network" });
        else if (c.NetworkNamespacePath == "host") { } // --network host: the host's network namespace
        else ns.Add(new LinuxNamespace { Type = "network", Path = c.NetworkNamespacePath });
        if (!m.UtsHost) ns.Add(new LinuxNamespace { Type = "uts" });
        Add(ns, "pid", m.Pid);
        Add(ns, "ipc", m.Ipc);
        // Docker's default cgroupns mode is "private" on cgroup v2 and "host" on v1.
        if (m.CgroupnsPrivate ?? cgroupV2) ns.Add(new LinuxNamespace { Type = "cgroup" });
        return ns;
    }

    private static void Add(List<LinuxNamespace> ns, string type, string? mode)
    {
        if (mode == "host") return;
        ns.Add(new LinuxNamespace { Type = type, Path = mode });
    }
}
