using Berth.Core;
using Berth.Runtime.Linux;
using Berth.Runtime.Spec;
using static Berth.Runtime.Linux.MountFlags;

namespace Berth.Runtime.Plan;

/// <summary>What the plan needs besides the spec: file descriptors and host facts decided by the caller.</summary>
public sealed class PlanContext
{
    /// <summary>Bundle directory: relative root and bind-mount sources are relative to it.</summary>
    public required string Bundle { get; init; }

    /// <summary>Absolute host path of the root filesystem.</summary>
    public required string RootfsPath { get; init; }

    /// <summary>For create: an fd (O_PATH) of exec.fifo; the child blocks on it until start. -1 for run/exec.</summary>
    public int ExecFifoFd { get; init; } = -1;

    /// <summary>For terminal processes: a connected unix socket to send the pty master over. -1: none.</summary>
    public int ConsoleSocketFd { get; init; } = -1;

    /// <summary>Compiled seccomp filter (struct sock_filter array) and seccomp(2) flags, or null.</summary>
    public byte[]? SeccompFilter { get; init; }
    public ulong SeccompFlags { get; init; }

    /// <summary>How to mount a "cgroup" mount: per-hierarchy (name, container's host cgroup dir); empty on pure v2.</summary>
    public IReadOnlyList<(string Name, string HostPath)> CgroupV1Mounts { get; init; } = [];

    /// <summary>The container's host cgroup v2 directory, bound at a "cgroup" mount when there is no cgroup namespace.</summary>
    public string? CgroupV2HostPath { get; init; }

    /// <summary>Whether the hooks that run between mounts and pivot_root exist (the child stops there for them).</summary>
    public bool HasCreateHooks { get; init; }

    /// <summary>
    /// cgroup v1 "tasks" files the child writes "0" into to join its cgroup by itself (fast), or null when the
    /// parent moves it (a child in a new user namespace may not write host cgroup files).
    /// </summary>
    public IReadOnlyList<string>? CgroupSelfJoin { get; init; }

    /// <summary>Extra fds the exec'd process keeps (e.g. --preserve-fds).</summary>
    public IReadOnlyList<uint> KeepFds { get; init; } = [];

    /// <summary>Warnings found while building (unknown capabilities, ...).</summary>
    public List<string> Warnings { get; } = [];
}

/// <summary>
/// Turns an OCI spec into the ordered native steps (see docs/design/runtime-plan.md).
/// Order follows runc's init: mounts, hooks, pivot_root, hostname, sysctl, masked/readonly paths,
/// console, seccomp (early when NoNewPrivileges is off), rlimits, user and capabilities, lookup,
/// ready, exec fifo, seccomp (late when NoNewPrivileges is on), exec.
/// </summary>
public static class PlanBuilder
{
    /// <summary>The child waits here until the parent has put it into its cgroup.</summary>
    public const string SyncInit = "init";

    /// <summary>The child waits here until the parent has written its uid/gid maps.</summary>
    public const string SyncUserns = "userns";
    public const string SyncCreateHooks = "create-hooks";

    private static readonly (string Path, int Major, int Minor)[] DefaultDevices =
    [
        ("/dev/null", 1, 3), ("/dev/zero", 1, 5), ("/dev/full", 1, 7), ("/dev/random", 1, 8),
        ("/dev/urandom", 1, 9), ("/dev/tty", 5, 0),
    ];

    /// <summary>The plan of a container's init process (create / run).</summary>
    public static ProcessPlan ForInit(Spec.Spec spec, PlanContext ctx)
    {
        var process = spec.Process ?? throw BerthException.Invalid("process: missing");
        var plan = new ProcessPlan();
        var nsFlags = 0;
        foreach (var ns in spec.Linux?.Namespaces ?? [])
        {
            if (!Namespaces.TryGet(ns.Type, out int flag, out _))
                throw BerthException.Invalid($"linux.namespaces: unknown namespace type \"{ns.Type}\"");
            if (string.IsNullOrEmpty(ns.Path)) nsFlags |= flag;
            else plan.Joins.Add((flag, ns.Path));
        }
        // The user namespace is joined first so the others are joined with its privileges.
        var ordered = Namespaces.UserFirst(plan.Joins);
        plan.Joins.Clear();
        plan.Joins.AddRange(ordered);
        // A new cgroup namespace is made only after the parent moved the child into its cgroup.
        plan.CloneFlags = (ulong)(nsFlags & ~Interop.Libc.CLONE_NEWCGROUP);

        bool newUserNs = (nsFlags & Interop.Libc.CLONE_NEWUSER) != 0;
        bool newCgroupNs = (nsFlags & Interop.Libc.CLONE_NEWCGROUP) != 0;
        if (newUserNs)
        {
            // The parent writes the id maps while the child waits here; until then the child's ids are unmapped
            // in its new user namespace (files it creates would fail with EOVERFLOW). Then it becomes root of
            // the namespace, like runc.
            plan.Add(PlanOp.Sync, PlanArg.Str(SyncUserns));
            plan.Add(PlanOp.SetGroups, PlanArg.U32Array([]));
            plan.Add(PlanOp.SetGid, PlanArg.Int(0));
            plan.Add(PlanOp.SetUid, PlanArg.Int(0));
        }
        // The parent moves the child into its cgroup (slow on cgroup v1: each move waits for an RCU grace
        // period). With a cgroup namespace that must happen first, since the namespace is rooted where the
        // child is when it unshares; otherwise the child sets up its rootfs meanwhile and waits only afterwards.
        bool selfJoin = ctx.CgroupSelfJoin is not null && !newUserNs;
        if (selfJoin)
        {
            foreach (var tasks in ctx.CgroupSelfJoin!) plan.Add(PlanOp.WriteFile, PlanArg.Str(tasks), PlanArg.Str("0"));
        }
        if (newCgroupNs)
        {
            if (!selfJoin) plan.Add(PlanOp.Sync, PlanArg.Str(SyncInit));
            plan.Add(PlanOp.Unshare, PlanArg.Int(Interop.Libc.CLONE_NEWCGROUP));
        }

        bool newMountNs = (nsFlags & Interop.Libc.CLONE_NEWNS) != 0;
        // Device nodes and directories get exactly the modes the spec asks for (runc sets umask 0 here too);
        // the process's own umask is set later.
        plan.Add(PlanOp.Umask, PlanArg.Int(0));
        // A new network namespace starts with lo down: bring it up, as runc does (--network none has 127.0.0.1).
        if ((nsFlags & Interop.Libc.CLONE_NEWNET) != 0)
            plan.Add(PlanOp.LoopbackUp);
        if (newMountNs)
            AddRootfs(plan, spec, ctx, newCgroupNs);
        if (!newCgroupNs && !selfJoin)
            plan.Add(PlanOp.Sync, PlanArg.Str(SyncInit));
        if (ctx.HasCreateHooks)
            plan.Add(PlanOp.Sync, PlanArg.Str(SyncCreateHooks));
        if (newMountNs)
        {
            plan.Add(PlanOp.PivotRoot, PlanArg.Str(ctx.RootfsPath));
        }
        else
        {
            // Without a mount namespace runc refuses to touch the host's mounts; so do we.
            if (spec.Mounts is { Count: > 0 } || spec.Linux?.MaskedPaths is { Count: > 0 })
                throw BerthException.Invalid("linux.namespaces: mounts, masked and readonly paths need a new mount namespace");
        }

        if ((nsFlags & Interop.Libc.CLONE_NEWUTS) != 0)
        {
            if (!string.IsNullOrEmpty(spec.Hostname)) plan.Add(PlanOp.SetHostname, PlanArg.Str(spec.Hostname));
            if (!string.IsNullOrEmpty(spec.Domainname)) plan.Add(PlanOp.SetDomainname, PlanArg.Str(spec.Domainname));
        }
        else if (!string.IsNullOrEmpty(spec.Hostname))
        {
            throw BerthException.Invalid("hostname: setting the hostname needs a new uts namespace");
        }

        foreach (var (key, value) in spec.Linux?.Sysctl ?? [])
        {
            if (key.Contains("..") || key.Contains('/') && key.Contains('.'))
                throw BerthException.Invalid($"linux.sysctl: invalid name \"{key}\"");
            plan.Add(PlanOp.WriteFile, PlanArg.Str("/proc/sys/" + key.Replace('.', '/')), PlanArg.Str(value));
        }

        if (newMountNs)
        {
            foreach (var p in spec.Linux?.ReadonlyPaths ?? []) plan.Add(PlanOp.ReadonlyPath, PlanArg.Str(p));
            foreach (var p in spec.Linux?.MaskedPaths ?? []) plan.Add(PlanOp.MaskPath, PlanArg.Str(p));
            // A read-only root is a remount of the (already pivoted) root mount itself.
            if (spec.Root?.Readonly == true)
                plan.Add(PlanOp.Mount, PlanArg.Str(""), PlanArg.Str("/"), PlanArg.Str(""), PlanArg.Int(0), PlanArg.Str(""),
                    PlanArg.Int(0), PlanArg.UInt(MS_BIND | MS_REMOUNT | MS_RDONLY));
        }

        AddProcess(plan, process, ctx, isInit: true);
        return plan;
    }

    /// <summary>
    /// The plan of a process joining a running container (exec). Joins are set by the caller. By default the
    /// parent moves the child into the cgroup at SYNC "init" (berth-runtime exec). <paramref name="elsewhere"/>:
    /// spawned by another process (berth-monitor for berthd) that put itself into the cgroup first, so no SYNC;
    /// the child reports READY after the command's lookup and waits on the fifo at
    /// <see cref="PlanContext.ExecFifoFd"/> (when set) until it may exec, as a created init does.
    /// </summary>
    public static ProcessPlan ForExec(Process process, PlanContext ctx, bool elsewhere = false)
    {
        var plan = new ProcessPlan();
        if (!elsewhere) plan.Add(PlanOp.Sync, PlanArg.Str(SyncInit));
        AddProcess(plan, process, ctx, isInit: elsewhere);
        return plan;
    }

    private static void AddRootfs(ProcessPlan plan, Spec.Spec spec, PlanContext ctx, bool newCgroupNs)
    {
        var rootfs = ctx.RootfsPath;
        // "/" gets the requested propagation (rslave by default) so nothing we mount leaks to the host.
        plan.Add(PlanOp.Mount, PlanArg.Str(""), PlanArg.Str("/"), PlanArg.Str(""),
            PlanArg.UInt(RootPropagation(spec.Linux?.RootfsPropagation)), PlanArg.Str(""), PlanArg.Int(0), PlanArg.Int(0));
        // pivot_root needs the new root to be a mount point whose parent is not shared.
        // (Only a shared propagation needs it: mountinfo is read then, not on every create.)
        if ((RootPropagation(spec.Linux?.RootfsPropagation) & MS_SHARED) != 0 && ParentMountPoint(rootfs) is { } parent)
            plan.Add(PlanOp.Mount, PlanArg.Str(""), PlanArg.Str(parent), PlanArg.Str(""), PlanArg.UInt(MS_PRIVATE),
                PlanArg.Str(""), PlanArg.Int(0), PlanArg.Int(0));
        plan.Add(PlanOp.Mount, PlanArg.Str(rootfs), PlanArg.Str(rootfs), PlanArg.Str(""), PlanArg.UInt(MS_BIND | MS_REC),
            PlanArg.Str(""), PlanArg.Int(0), PlanArg.Int(0));
        plan.Add(PlanOp.OpenRoot, PlanArg.Str(rootfs));

        bool devIsMounted = false;
        var mounts = spec.Mounts ?? [];
        for (int i = 0; i < mounts.Count; i++)
        {
            var m = mounts[i];
            if (string.IsNullOrEmpty(m.Destination) || !m.Destination.StartsWith('/'))
                throw BerthException.Invalid($"mounts[{i}].destination: must be an absolute path, got \"{m.Destination}\"");
            if (Path.GetFullPath(m.Destination) == "/dev") devIsMounted = m.Type != "bind" && !MountFlags.Parse(m.Options).Bind;
            AddMount(plan, m, i, ctx, newCgroupNs);
        }

        // Devices: the spec's, then runc's defaults (unless the spec names them); /dev symlinks; ptmx.
        var devices = new List<LinuxDevice>(spec.Linux?.Devices ?? []);
        foreach (var (path, major, minor) in DefaultDevices)
        {
            if (!devices.Any(d => d.Path == path))
                devices.Add(new LinuxDevice { Path = path, Type = "c", Major = major, Minor = minor, FileMode = 0x1b6 /*0666*/ });
        }
        if (devIsMounted || spec.Linux?.Devices is { Count: > 0 })
        {
            for (int i = 0; i < devices.Count; i++)
            {
                var d = devices[i];
                uint type = d.Type switch
                {
                    "c" or "u" => 0x2000, // S_IFCHR
                    "b" => 0x6000,        // S_IFBLK
                    "p" => 0x1000,        // S_IFIFO
                    _ => throw BerthException.Invalid($"linux.devices[{i}].type: unknown device type \"{d.Type}\""),
                };
                if (!d.Path.StartsWith("/dev/"))
                    throw BerthException.Invalid($"linux.devices[{i}].path: must be under /dev, got \"{d.Path}\"");
                uint mode = type | ((d.FileMode ?? 0x1b6) & 0xfff);
                plan.Add(PlanOp.Mknod, PlanFlags.InRoot | PlanFlags.FallbackBind, PlanArg.Str(d.Path), PlanArg.UInt(mode),
                    PlanArg.Int(d.Major), PlanArg.Int(d.Minor), PlanArg.UInt(d.Uid ?? 0), PlanArg.UInt(d.Gid ?? 0),
                    PlanArg.Str(d.Path));
            }
        }
        if (devIsMounted)
        {
            foreach (var (target, link) in new[]
            {
                ("/proc/self/fd", "/dev/fd"), ("/proc/self/fd/0", "/dev/stdin"), ("/proc/self/fd/1", "/dev/stdout"),
                ("/proc/self/fd/2", "/dev/stderr"), ("pts/ptmx", "/dev/ptmx"),
            })
            {
                plan.Add(PlanOp.Symlink, PlanFlags.InRoot, PlanArg.Str(target), PlanArg.Str(link));
            }
            if (File.Exists("/proc/kcore"))
                plan.Add(PlanOp.Symlink, PlanFlags.InRoot, PlanArg.Str("/proc/kcore"), PlanArg.Str("/dev/core"));
        }

        // The working directory is created when missing, as runc does.
        var cwd = spec.Process?.Cwd;
        if (!string.IsNullOrEmpty(cwd) && cwd != "/")
            plan.Add(PlanOp.Mkdir, PlanFlags.InRoot, PlanArg.Str(cwd), PlanArg.Int(0x1ed /*0755*/));
    }

    private static void AddMount(ProcessPlan plan, Mount m, int index, PlanContext ctx, bool newCgroupNs)
    {
        var parsed = MountFlags.Parse(m.Options);
        var type = m.Type ?? "";
        if (type == "cgroup" || type == "cgroup2")
        {
            AddCgroupMount(plan, m, parsed, ctx, newCgroupNs);
            return;
        }
        bool bind = parsed.Bind || type == "bind";
        if (bind)
        {
            var source = m.Source ?? throw BerthException.Invalid($"mounts[{index}].source: a bind mount needs a source");
            if (!source.StartsWith('/')) source = Path.GetFullPath(Path.Combine(ctx.Bundle, source));
            var kind = Directory.Exists(source) ? PlanFlags.Mkdir
                : File.Exists(source) ? PlanFlags.Mkfile
                : throw BerthException.Invalid($"mounts[{index}].source: bind source \"{source}\" does not exist");
            ulong bindFlags = MS_BIND | (parsed.Recursive ? MS_REC : 0);
            // Flags other than bind/rec only take effect on a remount.
            ulong remount = (parsed.Flags & ~(MS_REC | MS_BIND)) != 0 ? MS_BIND | MS_REMOUNT | parsed.Flags : 0;
            plan.Add(PlanOp.Mount, PlanFlags.InRoot | kind, PlanArg.Str(source), PlanArg.Str(m.Destination),
                PlanArg.Str(""), PlanArg.UInt(bindFlags), PlanArg.Str(""), PlanArg.UInt(parsed.Propagation), PlanArg.UInt(remount));
            return;
        }
        if (type.Length == 0)
            throw BerthException.Invalid($"mounts[{index}].type: missing for a non-bind mount at \"{m.Destination}\"");
        plan.Add(PlanOp.Mount, PlanFlags.InRoot | PlanFlags.Mkdir, PlanArg.Str(m.Source ?? type), PlanArg.Str(m.Destination),
            PlanArg.Str(type), PlanArg.UInt(parsed.Flags), PlanArg.Str(parsed.Data), PlanArg.UInt(parsed.Propagation), PlanArg.Int(0));
    }

    /// <summary>
    /// A "cgroup" mount: on cgroup v1 a tmpfs with each hierarchy's container directory bound under it (runc's way);
    /// on v2 a cgroup2 mount inside a cgroup namespace, else a bind of the container's cgroup directory.
    /// </summary>
    private static void AddCgroupMount(ProcessPlan plan, Mount m, MountFlags.Parsed parsed, PlanContext ctx, bool newCgroupNs)
    {
        ulong flags = parsed.Flags;
        if (ctx.CgroupV1Mounts.Count > 0)
        {
            plan.Add(PlanOp.Mount, PlanFlags.InRoot | PlanFlags.Mkdir, PlanArg.Str("tmpfs"), PlanArg.Str(m.Destination),
                PlanArg.Str("tmpfs"), PlanArg.UInt(MS_NOSUID | MS_NOEXEC | MS_NODEV), PlanArg.Str("mode=755"),
                PlanArg.Int(0), PlanArg.Int(0));
            foreach (var (name, hostPath) in ctx.CgroupV1Mounts)
            {
                var target = m.Destination.TrimEnd('/') + "/" + name;
                plan.Add(PlanOp.Mount, PlanFlags.InRoot | PlanFlags.Mkdir, PlanArg.Str(hostPath), PlanArg.Str(target),
                    PlanArg.Str(""), PlanArg.UInt(MS_BIND | MS_REC), PlanArg.Str(""), PlanArg.Int(0),
                    PlanArg.UInt(MS_BIND | MS_REMOUNT | (flags & (MS_RDONLY | MS_NOSUID | MS_NODEV | MS_NOEXEC))));
            }
            // Like runc, the tmpfs itself stays writable; the hierarchies under it carry the mount's flags.
            return;
        }
        if (newCgroupNs || ctx.CgroupV2HostPath is null)
        {
            plan.Add(PlanOp.Mount, PlanFlags.InRoot | PlanFlags.Mkdir, PlanArg.Str("cgroup2"), PlanArg.Str(m.Destination),
                PlanArg.Str("cgroup2"), PlanArg.UInt(flags), PlanArg.Str(""), PlanArg.Int(0), PlanArg.Int(0));
        }
        else
        {
            plan.Add(PlanOp.Mount, PlanFlags.InRoot | PlanFlags.Mkdir, PlanArg.Str(ctx.CgroupV2HostPath), PlanArg.Str(m.Destination),
                PlanArg.Str(""), PlanArg.UInt(MS_BIND | MS_REC), PlanArg.Str(""), PlanArg.Int(0),
                PlanArg.UInt(MS_BIND | MS_REMOUNT | (flags & (MS_RDONLY | MS_NOSUID | MS_NODEV | MS_NOEXEC))));
        }
    }

    private static void AddProcess(ProcessPlan plan, Process process, PlanContext ctx, bool isInit)
    {
        if (process.Args is not { Count: > 0 })
            throw BerthException.Invalid("process.args: must not be empty");
        if (string.IsNullOrEmpty(process.Cwd) || !process.Cwd.StartsWith('/'))
            throw BerthException.Invalid($"process.cwd: must be an absolute path, got \"{process.Cwd}\"");

        if (process.Terminal)
        {
            if (ctx.ConsoleSocketFd < 0)
                throw BerthException.Invalid("process.terminal: a terminal needs --console-socket");
            plan.Add(PlanOp.Console, PlanArg.Int(ctx.ConsoleSocketFd),
                PlanArg.UInt(process.ConsoleSize?.Height ?? 0), PlanArg.UInt(process.ConsoleSize?.Width ?? 0));
        }

        if (process.NoNewPrivileges) plan.Add(PlanOp.NoNewPrivs);
        // Without no_new_privs loading seccomp needs CAP_SYS_ADMIN, so it comes before the capabilities are dropped.
        if (ctx.SeccompFilter is not null && !process.NoNewPrivileges)
            plan.Add(PlanOp.Seccomp, PlanArg.Raw(ctx.SeccompFilter), PlanArg.UInt(ctx.SeccompFlags));

        for (int i = 0; i < (process.Rlimits?.Count ?? 0); i++)
        {
            var r = process.Rlimits![i];
            if (!Rlimits.TryParse(r.Type, out int resource))
                throw BerthException.Invalid($"process.rlimits[{i}].type: unknown rlimit \"{r.Type}\"");
            if (r.Soft > r.Hard)
                throw BerthException.Invalid($"process.rlimits[{i}]: soft limit {r.Soft} is above the hard limit {r.Hard}");
            plan.Add(PlanOp.SetRlimit, PlanArg.Int(resource), PlanArg.UInt(r.Soft), PlanArg.UInt(r.Hard));
        }

        if (process.OomScoreAdj is int adj)
        {
            if (adj < -1000 || adj > 1000)
                throw BerthException.Invalid($"process.oomScoreAdj: {adj} is outside -1000..1000");
            plan.Add(PlanOp.WriteFile, PlanArg.Str("/proc/self/oom_score_adj"), PlanArg.Str(adj.ToString()));
        }

        var caps = process.Capabilities;
        var unknown = new List<string>();
        if (caps is not null)
        {
            plan.Add(PlanOp.KeepCaps);
            plan.Add(PlanOp.CapsBounding, PlanArg.UInt(Capabilities.Mask(caps.Bounding, unknown)));
        }

        var user = process.User;
        plan.Add(PlanOp.SetGroups, PlanArg.U32Array(user.AdditionalGids ?? []));
        plan.Add(PlanOp.SetGid, PlanArg.UInt(user.Gid));
        plan.Add(PlanOp.SetUid, PlanArg.UInt(user.Uid));
        plan.Add(PlanOp.Umask, PlanArg.UInt(user.Umask ?? 0x12 /*0022*/));
        plan.Add(PlanOp.Chdir, PlanArg.Str(process.Cwd));

        if (caps is not null)
        {
            plan.Add(PlanOp.CapSet, PlanArg.UInt(Capabilities.Mask(caps.Effective, unknown)),
                PlanArg.UInt(Capabilities.Mask(caps.Permitted, unknown)), PlanArg.UInt(Capabilities.Mask(caps.Inheritable, unknown)));
            // The kernel only lets a capability into the ambient set when it is permitted and inheritable;
            // runc leaves the others out silently, and so do we.
            ulong ambient = Capabilities.Mask(caps.Ambient, unknown)
                & Capabilities.Mask(caps.Permitted, unknown) & Capabilities.Mask(caps.Inheritable, unknown);
            if (ambient != 0) plan.Add(PlanOp.CapsAmbient, PlanArg.UInt(ambient));
            foreach (var u in unknown.Distinct())
                ctx.Warnings.Add($"ignoring unknown or unavailable capability \"{u}\"");
        }

        var env = EnvironmentOf(process, ctx);
        plan.Add(PlanOp.Lookup, PlanArg.Str(process.Args[0]), PlanArg.List(env));
        if (isInit)
        {
            plan.Add(PlanOp.Ready);
            if (ctx.ExecFifoFd >= 0) plan.Add(PlanOp.ExecFifo, PlanArg.Str($"/proc/self/fd/{ctx.ExecFifoFd}"));
        }
        if (ctx.SeccompFilter is not null && process.NoNewPrivileges)
            plan.Add(PlanOp.Seccomp, PlanArg.Raw(ctx.SeccompFilter), PlanArg.UInt(ctx.SeccompFlags));
        plan.Add(PlanOp.Exec, PlanArg.Str(process.Args[0]), PlanArg.List(process.Args), PlanArg.List(env),
            PlanArg.U32Array(ctx.KeepFds));
    }

    /// <summary>
    /// The process environment as runc builds it: later duplicates replace earlier ones (keeping the first
    /// position), and HOME is added from the container's /etc/passwd (or "/") when the spec does not set it.
    /// </summary>
    public static List<string> EnvironmentOf(Process process, PlanContext ctx)
    {
        var order = new List<string>();
        var values = new Dictionary<string, string>(StringComparer.Ordinal);
        foreach (var e in process.Env ?? [])
        {
            int eq = e.IndexOf('=');
            var key = eq < 0 ? e : e[..eq];
            if (!values.ContainsKey(key)) order.Add(key);
            values[key] = e;
        }
        var env = order.Select(k => values[k]).ToList();
        if (!values.ContainsKey("HOME"))
            env.Add("HOME=" + (HomeOf(ctx.RootfsPath, process.User.Uid) ?? "/"));
        return env;
    }

    /// <summary>The home directory of <paramref name="uid"/> in the rootfs's /etc/passwd, if it is a plain file there.</summary>
    private static string? HomeOf(string rootfs, uint uid)
    {
        var passwd = Path.Combine(rootfs, "etc", "passwd");
        try
        {
            // A symlinked /etc or passwd could point outside the rootfs: such files are not read.
            if (new FileInfo(passwd).LinkTarget is not null || new DirectoryInfo(Path.Combine(rootfs, "etc")).LinkTarget is not null)
                return null;
            foreach (var line in File.ReadLines(passwd))
            {
                var f = line.Split(':');
                if (f.Length >= 6 && uint.TryParse(f[2], out var u) && u == uid) return f[5];
            }
        }
        catch (IOException)
        {
        }
        catch (UnauthorizedAccessException)
        {
        }
        return null;
    }

    /// <summary>The mount point that contains <paramref name="path"/> (from /proc/self/mountinfo).</summary>
    private static string? ParentMountPoint(string path)
    {
        string? best = null;
        try
        {
            foreach (var line in File.ReadLines("/proc/self/mountinfo"))
            {
                var mp = line.Split(' ')[4].Replace("\\040", " ");
                if ((path == mp || path.StartsWith(mp.TrimEnd('/') + "/")) && (best is null || mp.Length > best.Length))
                    best = mp;
            }
        }
        catch (IOException)
        {
        }
        return best;
    }
}
