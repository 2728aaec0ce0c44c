using System.Text.Json;
using Berth.Api.Containers;
using Berth.Core;

namespace Berth.Engine.Containers.Create;

/// <summary>
/// The create request's contract: every field is either honoured or refused with a message that names it
/// ("HostConfig.Binds: volumes are not implemented yet"); values are checked here, at create, with dockerd's
/// messages where it has them. Nothing is accepted and ignored. As features land, their fields move from
/// <see cref="Refuse"/> to the code that honours them.
/// </summary>
public static class CreateCheck
{
    /// <summary>Checks the request; returns dockerd-style warnings for what was adjusted.</summary>
    public static List<string> Validate(ContainerConfig c, HostConfig h, NetworkingConfig? n)
    {
        var warnings = new List<string>();
        NoNulBytes(c, h);
        Refuse(c, h, n);
        Values(c, h, warnings);
        warnings.AddRange(Networking.PortRequests.Check(c, h));
        ResourceCheck.Apply(h, Berth.Cgroups.CgroupSupport.Host, warnings); // devices, blkio, swappiness, kmem, OOM, rt
        Logs.LogOptions.Validate(h.LogConfig);
        return warnings;
    }

    private static BerthException NotYet(string field, string what) =>
        BerthException.Invalid($"{field}: {what} not implemented in Berth yet");

    private static bool Any<T>(ICollection<T>? x) => x is { Count: > 0 };

    private static void Refuse(ContainerConfig c, HostConfig h, NetworkingConfig? n)
    {
        // Storage: Binds, Mounts, Tmpfs, VolumesFrom, VolumeDriver and Config.Volumes are read and checked at create
        // (ContainerManager.PlanMounts); what a mount asks that Berth does not do is refused there by name.
        if (Any(h.StorageOpt)) throw NotYet("HostConfig.StorageOpt", "storage options are");

        // Networking (issue: networking): the network mode, --ip and --mac-address are honoured (checked in
        // ContainerManager.NetworksAtCreate); PortBindings and PublishAllPorts too (checked in PortRequests.Check);
        // Links (HostConfig.Links, the default bridge's legacy links) are checked at create in
        // ContainerManager.CheckLinksAtCreate; on a user-defined network they are the endpoint's DNS aliases, not yet.

        // Operations (issue: operations). Log drivers and options: Logs/LogOptions.Validate.

        // Isolation modes.
        // PidMode, IpcMode, UTSMode, UsernsMode, CgroupnsMode, CgroupParent, GroupAdd, MaskedPaths, ReadonlyPaths and
        // SecurityOpt are honoured; their values are checked in IsolationModes.
        IsolationModes.Validate(c, h);
        if (h.Cgroup is not "") throw NotYet("HostConfig.Cgroup", "joining another container's cgroup is");
        if (h.Isolation is not ("" or "default")) throw BerthException.Invalid($"HostConfig.Isolation: invalid isolation \"{h.Isolation}\" on linux");

        // Devices and resources the cgroup code does not take from a container yet.
        if (Any(h.DeviceRequests)) throw NotYet("HostConfig.DeviceRequests", "--gpus is");
        if (h.CpuCount != 0 || h.CpuPercent != 0 || h.IOMaximumIOps != 0 || h.IOMaximumBandwidth != 0)
            throw BerthException.Invalid("HostConfig.CpuCount, CpuPercent, IOMaximumIOps and IOMaximumBandwidth are for Windows containers only");

        // Images and builds.
        if (Any(c.OnBuild)) throw NotYet("Config.OnBuild", "ONBUILD triggers are");
        if (Any(c.Shell)) throw NotYet("Config.Shell", "a container's Shell is");
    }

    private static string Short(string s) => s.Length > 40 ? s[..40] + "..." : s;

    private static void Values(ContainerConfig c, HostConfig h, List<string> warnings)
    {
        if (h.Memory < 0) throw BerthException.Invalid("HostConfig.Memory: a memory limit can not be negative");
        if (h.Memory is > 0 and < 6 * 1024 * 1024) throw BerthException.Invalid("Minimum memory limit allowed is 6MB");
        if (h.MemoryReservation < 0) throw BerthException.Invalid("HostConfig.MemoryReservation: a memory reservation can not be negative");
        if (h.MemoryReservation is > 0 and < 6 * 1024 * 1024) throw BerthException.Invalid("Minimum memory reservation allowed is 6MB");
        if (h.Memory > 0 && h.MemoryReservation > 0 && h.Memory < h.MemoryReservation)
            throw BerthException.Invalid("Minimum memory limit can not be less than memory reservation limit, see usage");
        if (h.MemorySwap < -1) throw BerthException.Invalid("HostConfig.MemorySwap: must be -1 (unlimited) or a size");
        if (h.MemorySwap > 0 && h.Memory == 0)
            throw BerthException.Invalid("You should always set the Memory limit when using Memoryswap limit, see usage");
        if (h.MemorySwap > 0 && h.MemorySwap < h.Memory)
            throw BerthException.Invalid("Minimum memoryswap limit should be larger than memory limit, see usage");
        if (h.ShmSize < 0) throw BerthException.Invalid("SHM size can not be less than 0");
        if (h.CpuShares < 0) throw BerthException.Invalid("HostConfig.CpuShares: CPU shares can not be negative");
        if (h.NanoCpus > 0 && (h.CpuQuota > 0 || h.CpuPeriod > 0))
            throw BerthException.Invalid("Conflicting options: Nano CPUs and CPU Period cannot both be set");
        int ncpu = System.Environment.ProcessorCount;
        if (h.NanoCpus < 0 || h.NanoCpus > (long)ncpu * 1_000_000_000L)
            throw BerthException.Invalid($"Range of CPUs is from 0.01 to {ncpu}.00, as there are only {ncpu} CPUs available");
        if (h.CpuPeriod != 0 && (h.CpuPeriod < 1000 || h.CpuPeriod > 1_000_000))
            throw BerthException.Invalid("CPU cfs period can not be less than 1ms (i.e. 1000) or larger than 1s (i.e. 1000000)");
        if (h.CpuQuota != 0 && h.CpuQuota != -1 && h.CpuQuota < 1000)
            throw BerthException.Invalid("CPU cfs quota can not be less than 1ms (i.e. 1000)");
        if (h.BlkioWeight != 0 && (h.BlkioWeight < 10 || h.BlkioWeight > 1000))
            throw BerthException.Invalid("Range of blkio weight is from 10 to 1000");
        if (h.OomScoreAdj is < -1000 or > 1000)
            throw BerthException.Invalid($"Invalid value {h.OomScoreAdj}, range for oom score adj is [-1000, 1000]");
        if (h.PidsLimit is long pl && pl < -1) throw BerthException.Invalid("HostConfig.PidsLimit: must be -1 (unlimited), 0 (unset) or positive");
        CpuSet("cpuset.cpus", h.CpusetCpus, "/sys/devices/system/cpu/online", "CPUs");
        CpuSet("cpuset.mems", h.CpusetMems, "/sys/devices/system/node/online", "memory nodes");
        if (h.ConsoleSize is not { Length: 2 }) throw BerthException.Invalid("HostConfig.ConsoleSize: expected [height, width]");

        foreach (var u in h.Ulimits ?? [])
        {
            if (!Berth.Runtime.Linux.Rlimits.TryParse("RLIMIT_" + u.Name.ToUpperInvariant(), out _))
                throw BerthException.Invalid($"invalid ulimit type: {u.Name}");
            if (u.Soft > u.Hard && u.Hard != -1)
                throw BerthException.Invalid($"ulimit soft limit must be less than or equal to hard limit: {u.Soft} > {u.Hard}");
        }
        foreach (var e in h.ExtraHosts ?? [])
        {
            int colon = e.IndexOf(':');
            if (colon <= 0 || colon == e.Length - 1) throw BerthException.Invalid($"invalid extra host: {e}: expected HOST:IP");
            if (!System.Net.IPAddress.TryParse(e[(colon + 1)..].Trim('[', ']'), out _) && e[(colon + 1)..] != "host-gateway")
                throw BerthException.Invalid($"invalid IP address in add-host: \"{e[(colon + 1)..]}\"");
        }
        foreach (var d in h.Dns ?? [])
            if (!System.Net.IPAddress.TryParse(d, out _)) throw BerthException.Invalid($"{d} is not an ip address");
        foreach (var s in (h.DnsSearch ?? []).Concat(h.DnsOptions ?? []))
            if (s.Any(char.IsWhiteSpace) || s.Length == 0) throw BerthException.Invalid($"invalid DNS search domain or option: \"{s}\"");
        if (c.StopSignal is { Length: > 0 } sig && !Berth.Runtime.Lifecycle.Signals.TryParse(sig, out _))
            throw BerthException.Invalid($"Invalid signal: {sig}");
        if (c.StopTimeout is < -1) throw BerthException.Invalid("Config.StopTimeout: must be -1 or more seconds");
        if (c.Hostname.Length > 0 && !HostnameOk(c.Hostname))
            throw BerthException.Invalid($"invalid hostname format: {c.Hostname}");
        foreach (var (k, _) in h.Sysctls ?? [])
            if (!(k.StartsWith("kernel.msg", StringComparison.Ordinal) || k.StartsWith("kernel.sem", StringComparison.Ordinal)
                  || k.StartsWith("kernel.shm", StringComparison.Ordinal) || k.StartsWith("fs.mqueue.", StringComparison.Ordinal)
                  || k.StartsWith("net.", StringComparison.Ordinal)))
                throw BerthException.Invalid($"sysctl '{k}' is not allowed (only IPC-namespaced kernel.* / fs.mqueue.* and net.* sysctls are)");
        Health.HealthConfig.Validate(c.Healthcheck);
        Restart.RestartPolicies.Validate(h.RestartPolicy);
        if (h.AutoRemove && h.RestartPolicy.Name is not ("" or "no"))
            throw BerthException.Invalid("can't create 'AutoRemove' container with restart policy");
    }

    private static bool HostnameOk(string name) =>
        name.Length <= 255 && name.Split('.').All(l => l.Length is > 0 and <= 63 && l.All(ch => char.IsAsciiLetterOrDigit(ch) || ch == '-'));

    /// <summary>A cpuset list ("0-1,3") must parse and name only what the host has (dockerd's check).</summary>
    internal static void CpuSet(string what, string value, string onlineFile, string noun)
    {
        if (string.IsNullOrEmpty(value)) return;
        var want = ParseList(value) ?? throw BerthException.Invalid($"Invalid value {value} for {what}");
        HashSet<int> have;
        try { have = ParseList(File.ReadAllText(onlineFile).Trim()) ?? []; }
        catch (IOException) { have = [0]; }
        var missing = want.Where(x => !have.Contains(x)).ToList();
        if (missing.Count > 0)
            throw BerthException.Invalid($"Requested {noun} are not available - requested {value}, available: {File.ReadAllText(onlineFile).Trim()}");
    }

    internal static HashSet<int>? ParseList(string s)
    {
        var set = new HashSet<int>();
        foreach (var part in s.Split(','))
        {
            var r = part.Split('-');
            if (r.Length == 1 && int.TryParse(r[0], System.Globalization.NumberStyles.None, null, out int one)) set.Add(one);
            else if (r.Length == 2 && int.TryParse(r[0], System.Globalization.NumberStyles.None, null, out int a)
                     && int.TryParse(r[1], System.Globalization.NumberStyles.None, null, out int b) && a <= b && b - a < 4096)
                for (int i = a; i <= b; i++) set.Add(i);
            else return null;
        }
        return set;
    }

    /// <summary>A NUL byte would cut or split a string on its way to the kernel (execve, setenv, sethostname):
    /// refused in every string of the request.</summary>
    private static void NoNulBytes(ContainerConfig c, HostConfig h)
    {
        static void One(string field, string? s)
        {
            if (s is not null && s.Contains('\0')) throw BerthException.Invalid($"{field}: strings must not contain NUL bytes");
        }
        static void Many(string field, IEnumerable<string>? list)
        {
            foreach (var s in list ?? []) One(field, s);
        }
        One("Config.Hostname", c.Hostname); One("Config.Domainname", c.Domainname); One("Config.User", c.User);
        One("Config.WorkingDir", c.WorkingDir); One("Config.Image", c.Image); One("Config.StopSignal", c.StopSignal);
        Many("Config.Env", c.Env); Many("Config.Cmd", c.Cmd); Many("Config.Entrypoint", c.Entrypoint);
        Many("Config.Labels", c.Labels?.Keys); Many("Config.Labels", c.Labels?.Values);
        Many("HostConfig.CapAdd", h.CapAdd); Many("HostConfig.CapDrop", h.CapDrop); Many("HostConfig.Dns", h.Dns);
        Many("HostConfig.DnsSearch", h.DnsSearch); Many("HostConfig.DnsOptions", h.DnsOptions); Many("HostConfig.ExtraHosts", h.ExtraHosts);
        Many("HostConfig.SecurityOpt", h.SecurityOpt); Many("HostConfig.Sysctls", h.Sysctls?.Keys); Many("HostConfig.Sysctls", h.Sysctls?.Values);
        One("HostConfig.CpusetCpus", h.CpusetCpus); One("HostConfig.CpusetMems", h.CpusetMems);
        foreach (var u in h.Ulimits ?? []) One("HostConfig.Ulimits", u.Name);
    }
}
