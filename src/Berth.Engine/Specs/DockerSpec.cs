using Berth.Core;
using Berth.Runtime.Linux;
using Berth.Runtime.Seccomp;
using Berth.Runtime.Spec;

namespace Berth.Engine.Specs;

/// <summary>What a container asks for (the parts of Docker's container config that shape the OCI spec).</summary>
public sealed class ContainerSpecInput
{
    public required string Id { get; init; }
    public required string RootfsPath { get; init; }

    /// <summary>Directory holding the container's hostname, hosts and resolv.conf files (bind-mounted into /etc).</summary>
    public string? EtcFilesDir { get; init; }

    public string? Hostname { get; init; }
    public string? Domainname { get; init; }
    public IReadOnlyList<string>? Entrypoint { get; init; }
    public IReadOnlyList<string>? Cmd { get; init; }
    public IReadOnlyList<string>? Env { get; init; }
    public string? WorkingDir { get; init; }
    public string? User { get; init; }
    public bool Tty { get; init; }

    /// <summary>The terminal's initial size (HostConfig.ConsoleSize: height, width), set before the process starts.</summary>
    public int ConsoleHeight { get; init; }
    public int ConsoleWidth { get; init; }

    public bool ReadonlyRootfs { get; init; }
    public bool Privileged { get; init; }
    public IReadOnlyList<string>? CapAdd { get; init; }
    public IReadOnlyList<string>? CapDrop { get; init; }
    public bool SeccompUnconfined { get; init; }
    public bool NoNewPrivileges { get; init; }

    /// <summary>A Docker-format seccomp profile (--security-opt seccomp=FILE: the CLI sends the file's JSON); null: Docker's default.</summary>
    public string? SeccompProfile { get; init; }

    /// <summary>HostConfig.MaskedPaths / ReadonlyPaths; null: Docker's defaults.</summary>
    public IReadOnlyList<string>? MaskedPaths { get; init; }
    public IReadOnlyList<string>? ReadonlyPaths { get; init; }

    /// <summary>--group-add: group names (from the image's /etc/group) or numbers, added to the supplementary groups.</summary>
    public IReadOnlyList<string>? GroupAdd { get; init; }

    /// <summary>--pid, --ipc, --uts, --cgroupns as resolved at start; null: each a namespace of its own.</summary>
    public NamespaceModes? Namespaces { get; init; }

    /// <summary>--cgroup-parent (cgroupfs semantics: absolute, or relative to the daemon's own cgroup); empty: /berth.</summary>
    public string? CgroupParent { get; init; }

    // HostConfig resources
    public long Memory { get; init; }
    public long MemorySwap { get; init; }
    public long MemoryReservation { get; init; }
    public long NanoCpus { get; init; }
    public long CpuShares { get; init; }
    public long CpuQuota { get; init; }
    public long CpuPeriod { get; init; }
    public string? CpusetCpus { get; init; }
    public string? CpusetMems { get; init; }
    public long? PidsLimit { get; init; }
    public ushort BlkioWeight { get; init; }
    public long? MemorySwappiness { get; init; }
    public bool OomKillDisable { get; init; }
    public long CpuRealtimePeriod { get; init; }
    public long CpuRealtimeRuntime { get; init; }

    /// <summary>--device, --device-cgroup-rule and the per-device blkio options: host paths, read at start
    /// (<see cref="DeviceSpec"/>).</summary>
    public IReadOnlyList<Berth.Api.Containers.DeviceMapping>? Devices { get; init; }
    public IReadOnlyList<string>? DeviceCgroupRules { get; init; }
    public List<Berth.Api.Containers.WeightDevice>? BlkioWeightDevice { get; init; }
    public List<Berth.Api.Containers.ThrottleDevice>? BlkioDeviceReadBps { get; init; }
    public List<Berth.Api.Containers.ThrottleDevice>? BlkioDeviceWriteBps { get; init; }
    public List<Berth.Api.Containers.ThrottleDevice>? BlkioDeviceReadIOps { get; init; }
    public List<Berth.Api.Containers.ThrottleDevice>? BlkioDeviceWriteIOps { get; init; }
    public int OomScoreAdj { get; init; }
    public long ShmSize { get; init; }
    public IReadOnlyDictionary<string, string>? Sysctls { get; init; }

    /// <summary>HostConfig.Ulimits as OCI rlimits (the runtime clamps a hard limit above its own, with a warning).</summary>
    public IReadOnlyList<PosixRlimit>? Rlimits { get; init; }

    /// <summary>"none", "host" (no network namespace), or a path to join (a sandbox, "/proc/PID/ns/net"); null = a new network namespace.</summary>
    public string? NetworkNamespacePath { get; init; }

    /// <summary>The container's binds, volumes (as binds of their host paths) and tmpfs mounts, in any order.</summary>
    public IReadOnlyList<ContainerMountSpec>? Mounts { get; init; }
}

/// <summary>One user mount of a container as the spec gets it: a bind of a host path (a bind or a volume) or a tmpfs.</summary>
public sealed record ContainerMountSpec(string Type, string Source, string Destination, bool RW = true, string Propagation = "",
    bool NonRecursive = false, string TmpfsData = "");

/// <summary>The image's defaults that a container inherits (from the image config).</summary>
public sealed class ImageDefaults
{
    public IReadOnlyList<string>? Entrypoint { get; init; }
    public IReadOnlyList<string>? Cmd { get; init; }
    public IReadOnlyList<string>? Env { get; init; }
    public string? WorkingDir { get; init; }
    public string? User { get; init; }
    public IReadOnlyDictionary<string, string>? Labels { get; init; }
    public IReadOnlyList<string>? ExposedPorts { get; init; }
    public IReadOnlyList<string>? Volumes { get; init; }
    public string? StopSignal { get; init; }

    /// <summary>The image's HEALTHCHECK (Docker's HealthConfig JSON), or null.</summary>
    public System.Text.Json.JsonElement? Healthcheck { get; init; }
    public string Os { get; init; } = "linux";
    public string Architecture { get; init; } = "amd64";
}

/// <summary>
/// Builds the OCI spec Docker 20.10 would hand to runc for a container (moby's oci/defaults.go and
/// daemon/oci_linux.go): default capabilities (CapEff 00000000a80425fb), mounts, masked and read-only paths,
/// namespaces, device rules, the default seccomp profile, and the resources asked for.
/// </summary>
public static class DockerSpec
{
    public const string DefaultPath = "PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin";

    /// <summary>Docker's default capability set.</summary>
    public static readonly IReadOnlyList<string> DefaultCapabilities =
    [
        "CAP_CHOWN", "CAP_DAC_OVERRIDE", "CAP_FSETID", "CAP_FOWNER", "CAP_MKNOD", "CAP_NET_RAW", "CAP_SETGID",
        "CAP_SETUID", "CAP_SETFCAP", "CAP_SETPCAP", "CAP_NET_BIND_SERVICE", "CAP_SYS_CHROOT", "CAP_KILL", "CAP_AUDIT_WRITE",
    ];

    public static readonly IReadOnlyList<string> MaskedPaths =
    [
        "/proc/asound", "/proc/acpi", "/proc/kcore", "/proc/keys", "/proc/latency_stats", "/proc/timer_list",
        "/proc/timer_stats", "/proc/sched_debug", "/proc/scsi", "/sys/firmware",
    ];

    public static readonly IReadOnlyList<string> ReadonlyPaths =
        ["/proc/bus", "/proc/fs", "/proc/irq", "/proc/sys", "/proc/sysrq-trigger"];

    private static readonly Lazy<string> SeccompProfileJson = new(() =>
    {
        using var s = typeof(DockerSpec).Assembly.GetManifestResourceStream("seccomp-default.json")
            ?? throw new BerthException(ErrorKind.System, "the default seccomp profile is not embedded");
        using var r = new StreamReader(s);
        return r.ReadToEnd();
    });

    /// <summary>
    /// The OCI form of the default profile depends only on the capabilities and the kernel: computed once per
    /// combination (the profile's JSON is ~60 kB; every create and start would parse it again). Shared, so never
    /// modified after it is built.
    /// </summary>
    private static readonly System.Collections.Concurrent.ConcurrentDictionary<string, LinuxSeccomp> SeccompByCaps = new();

    private static readonly Lazy<string> KernelReleaseOnce = new(() =>
    {
        try { return File.ReadAllText("/proc/sys/kernel/osrelease").Trim(); }
        catch (IOException) { return "0.0.0"; }
    });

    private static LinuxSeccomp DefaultSeccomp(List<string> caps) =>
        SeccompByCaps.GetOrAdd(string.Join(',', caps.Order(StringComparer.Ordinal)),
            static (_, caps) => DockerSeccompProfile.ToOci(SeccompProfileJson.Value, caps, KernelReleaseOnce.Value), caps);

    /// <param name="resolveUser">False at create, when there is no root filesystem to read /etc/passwd from yet
    /// (Docker also resolves the user at start).</param>
    public static Spec Build(ContainerSpecInput c, ImageDefaults image, bool cgroupV2, bool resolveUser = true)
    {
        var args = new List<string>();
        args.AddRange(c.Entrypoint ?? image.Entrypoint ?? []);
        // A container's Cmd replaces the image's; an explicit entrypoint drops the image's Cmd (Docker's rule).
        args.AddRange(c.Cmd is { Count: > 0 } ? c.Cmd : c.Entrypoint is not null ? [] : image.Cmd ?? []);
        if (args.Count == 0)
            throw BerthException.Invalid("no command specified");

        var caps = Capabilities(c);
        var hostname = string.IsNullOrEmpty(c.Hostname) ? c.Id[..Math.Min(12, c.Id.Length)] : c.Hostname;
        var spec = new Spec
        {
            OciVersion = "1.0.2-dev",
            Hostname = c.Namespaces?.UtsHost == true ? null : hostname, // --uts host: the host's name
            Domainname = string.IsNullOrEmpty(c.Domainname) ? null : c.Domainname,
            Root = new Root { Path = c.RootfsPath, Readonly = c.ReadonlyRootfs },
            Process = new Process
            {
                Terminal = c.Tty,
                Args = args,
                Env = Environment(c, image, hostname),
                Cwd = string.IsNullOrEmpty(c.WorkingDir) ? (string.IsNullOrEmpty(image.WorkingDir) ? "/" : image.WorkingDir) : c.WorkingDir,
                User = resolveUser ? UserSpec.Resolve(c.User ?? image.User, c.RootfsPath, c.GroupAdd) : new User(),
                Capabilities = new LinuxCapabilities { Bounding = caps, Effective = caps, Permitted = caps },
                NoNewPrivileges = c.NoNewPrivileges,
                OomScoreAdj = c.OomScoreAdj,
                Rlimits = c.Rlimits is { Count: > 0 } ? [.. c.Rlimits] : null,
            },
            Linux = new Linux
            {
                Namespaces = NamespaceSpec.Build(c, cgroupV2),
                MaskedPaths = c.Privileged ? [] : [.. c.MaskedPaths ?? MaskedPaths],
                ReadonlyPaths = c.Privileged ? [] : [.. c.ReadonlyPaths ?? ReadonlyPaths],
                CgroupsPath = CgroupsPath(c.CgroupParent, c.Id),
                Resources = Resources(c, resolveUser),
                Sysctl = c.Sysctls?.ToDictionary(kv => kv.Key, kv => kv.Value),
            },
        };
        spec.Mounts = Mounts(c, spec);
        if (resolveUser) AddDevices(c, spec);
        if (!c.SeccompUnconfined && !c.Privileged)
            spec.Linux.Seccomp = c.SeccompProfile is { } profile
                ? DockerSeccompProfile.ToOci(profile, caps, KernelReleaseOnce.Value) : DefaultSeccomp(caps);
        return spec;
    }

    /// <summary>
    /// moby's filepath.Join(parent, id) under the cgroupfs driver, as runc then cleans it (CleanPath): ".." never
    /// climbs above the start, so a relative parent stays under the daemon's own cgroup ("../x" is "x"); "/" is the
    /// root of each hierarchy. Any other character (':' too) is part of a directory name.
    /// </summary>
    public static string CgroupsPath(string? parent, string id)
    {
        if (string.IsNullOrEmpty(parent)) return "/berth/" + id;
        var parts = new List<string>();
        foreach (var part in parent.Split('/', StringSplitOptions.RemoveEmptyEntries))
        {
            if (part == ".") continue;
            if (part == "..") { if (parts.Count > 0) parts.RemoveAt(parts.Count - 1); continue; }
            parts.Add(part);
        }
        parts.Add(id);
        var path = string.Join('/', parts);
        return parent.StartsWith('/') ? "/" + path : path;
    }

    private static List<string> Capabilities(ContainerSpecInput c)
    {
        if (c.Privileged) return PrivilegedCapabilities();
        static string Norm(string s)
        {
            var n = s.ToUpperInvariant();
            return n.StartsWith("CAP_") ? n : "CAP_" + n;
        }
        var add = (c.CapAdd ?? []).Select(Norm).ToList();
        var drop = (c.CapDrop ?? []).Select(Norm).ToList();
        var caps = add.Contains("CAP_ALL") ? Berth.Runtime.Linux.Capabilities.All.ToList() : DefaultCapabilities.ToList();
        foreach (var a in add)
        {
            if (a == "CAP_ALL") continue;
            if (!Berth.Runtime.Linux.Capabilities.TryParse(a, out _)) throw BerthException.Invalid($"invalid capability: {a}");
            if (!caps.Contains(a)) caps.Add(a);
        }
        if (drop.Contains("CAP_ALL")) caps = [.. add.Where(a => a != "CAP_ALL")];
        foreach (var d in drop)
        {
            if (d == "CAP_ALL") continue;
            if (!Berth.Runtime.Linux.Capabilities.TryParse(d, out _)) throw BerthException.Invalid($"invalid capability: {d}");
            caps.Remove(d);
        }
        return caps;
    }

    /// <summary>
    /// Every capability the host's bounding set holds: a privileged container cannot get more than the daemon has
    /// (capset fails with EPERM for the rest; on a host without CAP_SYS_RESOURCE Docker and runc fail there).
    /// </summary>
    public static List<string> PrivilegedCapabilities()
    {
        ulong bounding = HostBoundingSet.Value;
        return [.. Berth.Runtime.Linux.Capabilities.All.Where(n => Berth.Runtime.Linux.Capabilities.TryParse(n, out int i)
            && i <= Berth.Runtime.Linux.Capabilities.Last && (bounding & (1UL << i)) != 0)];
    }

    /// <summary>The capabilities a privileged container does not get because the host's bounding set lacks them.</summary>
    public static List<string> CapabilitiesMissingFromHost()
    {
        ulong bounding = HostBoundingSet.Value;
        return [.. Berth.Runtime.Linux.Capabilities.All.Where(n => Berth.Runtime.Linux.Capabilities.TryParse(n, out int i)
            && i <= Berth.Runtime.Linux.Capabilities.Last && (bounding & (1UL << i)) == 0)];
    }

    private static readonly Lazy<ulong> HostBoundingSet = new(() =>
    {
        foreach (var line in File.ReadLines("/proc/self/status"))
            if (line.StartsWith("CapBnd:", StringComparison.Ordinal))
                return Convert.ToUInt64(line[7..].Trim(), 16);
        return ulong.MaxValue;
    });

    private static List<string> Environment(ContainerSpecInput c, ImageDefaults image, string hostname)
    {
        // Image env, then container env (later wins); PATH and HOSTNAME as Docker adds them; TERM with a tty.
        var env = new List<string> { DefaultPath, "HOSTNAME=" + hostname };
        if (c.Tty) env.Add("TERM=xterm");
        void Set(string kv)
        {
            int eq = kv.IndexOf('=');
            var key = eq < 0 ? kv : kv[..eq];
            env.RemoveAll(e => e == key || e.StartsWith(key + "=", StringComparison.Ordinal));
            env.Add(kv);
        }
        foreach (var e in image.Env ?? []) Set(e);
        foreach (var e in c.Env ?? []) Set(e);
        // Docker lists PATH first, then HOSTNAME, TERM, then the rest in order.
        return env;
    }

    private static List<Mount> Mounts(ContainerSpecInput c, Spec spec)
    {
        var shm = c.ShmSize > 0 ? c.ShmSize : 64L * 1024 * 1024;
        // --privileged: /sys and the cgroup mount read-write (moby's WithMounts clears their "ro").
        string[] sysOptions = c.Privileged ? ["nosuid", "noexec", "nodev"] : ["nosuid", "noexec", "nodev", "ro"];
        string[] cgroupOptions = c.Privileged ? ["nosuid", "noexec", "nodev"] : ["ro", "nosuid", "noexec", "nodev"];
        var defaults = new List<Mount>
        {
            new() { Destination = "/proc", Type = "proc", Source = "proc", Options = ["nosuid", "noexec", "nodev"] },
            new() { Destination = "/dev", Type = "tmpfs", Source = "tmpfs", Options = ["nosuid", "strictatime", "mode=755", "size=65536k"] },
            new() { Destination = "/dev/pts", Type = "devpts", Source = "devpts", Options = ["nosuid", "noexec", "newinstance", "ptmxmode=0666", "mode=0620", "gid=5"] },
            new() { Destination = "/sys", Type = "sysfs", Source = "sysfs", Options = [.. sysOptions] },
            new() { Destination = "/sys/fs/cgroup", Type = "cgroup", Source = "cgroup", Options = [.. cgroupOptions] },
            new() { Destination = "/dev/mqueue", Type = "mqueue", Source = "mqueue", Options = ["nosuid", "noexec", "nodev"] },
            new() { Destination = "/dev/shm", Type = "tmpfs", Source = "shm", Options = ["nosuid", "noexec", "nodev", "mode=1777", $"size={shm}"] },
        };
        // The user's mounts (and the etc files, which Docker counts among them) replace a default mount at the same
        // destination; a user /dev drops the default ones under it (moby's setMounts).
        var user = new List<Mount>();
        foreach (var m in c.Mounts ?? []) user.Add(UserMount(m, spec));
        if (c.EtcFilesDir is { } dir)
        {
            foreach (var name in new[] { "resolv.conf", "hostname", "hosts" })
            {
                if (user.Any(u => u.Destination == "/etc/" + name)) continue;
                user.Add(new Mount
                {
                    Destination = "/etc/" + name, Type = "bind", Source = Path.Combine(dir, name),
                    Options = c.ReadonlyRootfs ? ["rbind", "rprivate", "ro"] : ["rbind", "rprivate"],
                });
            }
        }
        var taken = user.Select(u => u.Destination).ToHashSet(StringComparer.Ordinal);
        bool userDev = taken.Contains("/dev");
        var mounts = defaults.Where(d => !taken.Contains(d.Destination) && !(userDev && d.Destination.StartsWith("/dev/", StringComparison.Ordinal))
            && !(c.Namespaces?.IpcNone == true && d.Destination == "/dev/shm")).ToList(); // --ipc none: no /dev/shm
        // Parents before children: by the number of components of the destination (moby's sortMounts).
        mounts.AddRange(user.OrderBy(u => u.Destination.Split('/').Length));
        return mounts;
    }

    /// <summary>A user mount in Docker's OCI form: tmpfs with Docker's default options merged with the user's; a bind
    /// "rbind" (or "bind"), "ro", and its propagation, which also sets the root's (shared, or rslave).</summary>
    private static Mount UserMount(ContainerMountSpec m, Spec spec)
    {
        if (m.Type == "tmpfs")
            return new Mount { Destination = m.Destination, Type = "tmpfs", Source = "tmpfs", Options = Volumes.MountSpecParser.TmpfsOptions(m.TmpfsData) };
        var options = new List<string> { m.NonRecursive ? "bind" : "rbind" };
        if (!m.RW) options.Add("ro");
        if (m.Propagation.Length > 0)
        {
            options.Add(m.Propagation);
            var root = spec.Linux?.RootfsPropagation;
            if (m.Propagation is "shared" or "rshared") spec.Linux!.RootfsPropagation = "shared";
            else if (m.Propagation is "slave" or "rslave" && root is not ("shared" or "rshared" or "slave" or "rslave"))
                spec.Linux!.RootfsPropagation = "rslave";
        }
        return new Mount { Destination = m.Destination, Type = "bind", Source = m.Source, Options = options };
    }

    /// <summary>--device nodes and their cgroup rules, then --device-cgroup-rule (moby's WithDevices); at start only,
    /// when the host's nodes are read.</summary>
    private static void AddDevices(ContainerSpecInput c, Spec spec)
    {
        var devices = new List<LinuxDevice>();
        var rules = spec.Linux!.Resources!.Devices!;
        if (c.Privileged)
        {
            // moby's WithDevices: every node of the host's /dev, a --device only where it names another path in
            // the container (its permissions ignored), the cgroup allowing every device; no --device-cgroup-rule.
            devices.AddRange(DeviceSpec.HostDevices());
            foreach (var d in c.Devices ?? [])
            {
                if (d.PathInContainer.Length == 0 || d.PathInContainer == d.PathOnHost) continue;
                DeviceSpec.AddMapping(new Berth.Api.Containers.DeviceMapping
                    { PathOnHost = d.PathOnHost, PathInContainer = d.PathInContainer, CgroupPermissions = "rwm" }, devices, []);
            }
            rules.Clear();
            rules.Add(new LinuxDeviceCgroup { Allow = true, Access = "rwm" });
        }
        else
        {
            foreach (var d in c.Devices ?? []) DeviceSpec.AddMapping(d, devices, rules);
            foreach (var r in c.DeviceCgroupRules ?? []) rules.Add(DeviceSpec.Rule(r));
        }
        if (devices.Count > 0) spec.Linux.Devices = devices;
    }

    /// <param name="atStart">False at create and update: the per-device blkio options name host paths, which are
    /// read (stat) when the container starts.</param>
    private static LinuxResources Resources(ContainerSpecInput c, bool atStart)
    {
        if (c.Memory is > 0 and < 6 * 1024 * 1024)
            throw BerthException.Invalid("Minimum memory limit allowed is 6MB");
        if (c.NanoCpus > 0 && (c.CpuQuota > 0 || c.CpuPeriod > 0))
            throw BerthException.Invalid("Conflicting options: Nano CPUs and CPU Period cannot both be set");
        if (c.NanoCpus < 0 || c.NanoCpus > (long)System.Environment.ProcessorCount * 1_000_000_000L)
            throw BerthException.Invalid($"Range of CPUs is from 0.01 to {System.Environment.ProcessorCount}.00, as there are only {System.Environment.ProcessorCount} CPUs available");
        var r = new LinuxResources
        {
            Devices =
            [
                new LinuxDeviceCgroup { Allow = false, Access = "rwm" },
            ],
        };
        if (c.Memory > 0 || c.MemoryReservation > 0 || c.MemorySwap != 0 || c.MemorySwappiness is not null || c.OomKillDisable)
        {
            r.Memory = new LinuxMemory
            {
                Limit = c.Memory > 0 ? c.Memory : null,
                Reservation = c.MemoryReservation > 0 ? c.MemoryReservation : null,
                // Docker: no --memory-swap means swap = 2 x memory; -1 unlimited.
                Swap = c.MemorySwap != 0 ? c.MemorySwap : c.Memory > 0 ? c.Memory * 2 : null,
                Swappiness = c.MemorySwappiness is long sw and >= 0 ? (ulong)sw : null,
                DisableOomKiller = c.OomKillDisable ? true : null,
            };
        }
        if (c.NanoCpus > 0 || c.CpuShares > 0 || c.CpuQuota > 0 || !string.IsNullOrEmpty(c.CpusetCpus) || !string.IsNullOrEmpty(c.CpusetMems)
            || c.CpuRealtimePeriod != 0 || c.CpuRealtimeRuntime != 0)
        {
            r.Cpu = new LinuxCpu
            {
                Shares = c.CpuShares > 0 ? (ulong)c.CpuShares : null,
                Period = c.NanoCpus > 0 ? 100_000 : c.CpuPeriod > 0 ? (ulong)c.CpuPeriod : null,
                Quota = c.NanoCpus > 0 ? c.NanoCpus * 100_000 / 1_000_000_000 : c.CpuQuota > 0 ? c.CpuQuota : null,
                Cpus = string.IsNullOrEmpty(c.CpusetCpus) ? null : c.CpusetCpus,
                Mems = string.IsNullOrEmpty(c.CpusetMems) ? null : c.CpusetMems,
                RealtimePeriod = c.CpuRealtimePeriod > 0 ? (ulong)c.CpuRealtimePeriod : null,
                RealtimeRuntime = c.CpuRealtimeRuntime != 0 ? c.CpuRealtimeRuntime : null,
            };
        }
        if (c.PidsLimit is long pids && pids != 0) r.Pids = new LinuxPids { Limit = pids };
        if (c.BlkioWeight > 0) r.BlockIO = new LinuxBlockIO { Weight = c.BlkioWeight };
        if (atStart)
        {
            var io = new LinuxBlockIO
            {
                Weight = r.BlockIO?.Weight,
                WeightDevice = DeviceSpec.Weights(c.BlkioWeightDevice),
                ThrottleReadBpsDevice = DeviceSpec.Throttles(c.BlkioDeviceReadBps),
                ThrottleWriteBpsDevice = DeviceSpec.Throttles(c.BlkioDeviceWriteBps),
                ThrottleReadIopsDevice = DeviceSpec.Throttles(c.BlkioDeviceReadIOps),
                ThrottleWriteIopsDevice = DeviceSpec.Throttles(c.BlkioDeviceWriteIOps),
            };
            if (io.WeightDevice is not null || io.ThrottleReadBpsDevice is not null || io.ThrottleWriteBpsDevice is not null
                || io.ThrottleReadIopsDevice is not null || io.ThrottleWriteIopsDevice is not null)
                r.BlockIO = io;
        }
        return r;
    }
}
