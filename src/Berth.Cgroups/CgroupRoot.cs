namespace Berth.Cgroups;

/// <summary>
/// The host's cgroup layout: v1 mounts by controller, the cgroup2 mount (if any), and this process's own
/// cgroups (from /proc/self/cgroup, used for relative cgroups paths). Detected from /proc/self/mountinfo;
/// tests build one over a temp directory with <see cref="ForV1"/> / <see cref="ForV2"/> / <see cref="Parse"/>.
/// </summary>
public sealed class CgroupRoot
{
    /// <summary>v1 controllers Berth knows how to manage (plus any "name=..." hierarchy, joined only).</summary>
    public static readonly IReadOnlyList<string> KnownV1Controllers =
    [
        "cpuset", "cpu", "cpuacct", "memory", "devices", "freezer", "blkio", "pids", "hugetlb",
        "net_cls", "net_prio", "perf_event", "rdma", "misc",
    ];

    private CgroupRoot(
        CgroupMode mode,
        IReadOnlyDictionary<string, CgroupMount> v1,
        CgroupMount? unified,
        IReadOnlyDictionary<string, string> own)
    {
        Mode = mode;
        V1Mounts = v1;
        Unified = unified;
        OwnCgroups = own;
    }

    public CgroupMode Mode { get; }

    /// <summary>v1 mounts keyed by controller ("cpu", "memory", "name=systemd"); co-mounted controllers share a mount.</summary>
    public IReadOnlyDictionary<string, CgroupMount> V1Mounts { get; }

    /// <summary>The cgroup2 mount, or null on legacy hosts.</summary>
    public CgroupMount? Unified { get; }

    /// <summary>This process's cgroup per controller ("" = the v2 entry), from /proc/self/cgroup.</summary>
    public IReadOnlyDictionary<string, string> OwnCgroups { get; }

    private static CgroupRoot? s_host;

    /// <summary>
    /// The host's layout, detected once per process: cgroup mounts do not change under a running daemon, and
    /// mountinfo grows with every container's mount (reading it on each create, kill and delete cost berthd a
    /// few percent of its CPU in a burst).
    /// </summary>
    public static CgroupRoot Host => s_host ??= Detect();

    /// <summary>Reads /proc/self/mountinfo and /proc/self/cgroup.</summary>
    public static CgroupRoot Detect() =>
        Parse(File.ReadAllText("/proc/self/mountinfo"), File.ReadAllText("/proc/self/cgroup"));

    /// <summary>Builds the layout from mountinfo text and /proc/self/cgroup text.</summary>
    public static CgroupRoot Parse(string mountinfo, string procSelfCgroup)
    {
        var v1 = new Dictionary<string, CgroupMount>(StringComparer.Ordinal);
        CgroupMount? unified = null;
        foreach (var rawLine in mountinfo.Split('\n'))
        {
            var line = rawLine.Trim();
            if (line.Length == 0)
            {
                continue;
            }

            var sep = line.IndexOf(" - ", StringComparison.Ordinal);
            if (sep < 0)
            {
                continue;
            }

            var pre = line[..sep].Split(' ', StringSplitOptions.RemoveEmptyEntries);
            var post = line[(sep + 3)..].Split(' ', StringSplitOptions.RemoveEmptyEntries);
            if (pre.Length < 5 || post.Length < 1)
            {
                continue;
            }

            var fstype = post[0];
            var root = Unescape(pre[3]);
            var mountpoint = Unescape(pre[4]);
            if (fstype == "cgroup2")
            {
                // Prefer the first (host) cgroup2 mount; a later bind mount of the same fs is ignored.
                unified ??= new CgroupMount(mountpoint, root, []);
            }
            else if (fstype == "cgroup" && post.Length >= 3)
            {
                var controllers = post[2].Split(',')
                    .Where(o => KnownV1Controllers.Contains(o) || o.StartsWith("name=", StringComparison.Ordinal))
                    .ToList();
                if (controllers.Count == 0)
                {
                    continue;
                }

                var mount = new CgroupMount(mountpoint, root, controllers);
                foreach (var c in controllers)
                {
                    v1.TryAdd(c, mount);
                }
            }
        }

        var hasV1Controllers = v1.Keys.Any(k => !k.StartsWith("name=", StringComparison.Ordinal));
        CgroupMode mode;
        if (hasV1Controllers)
        {
            mode = unified is null ? CgroupMode.Legacy : CgroupMode.Hybrid;
        }
        else if (unified is not null)
        {
            mode = CgroupMode.Unified;
            v1.Clear();
        }
        else
        {
            throw new Berth.Core.BerthException(Berth.Core.ErrorKind.Unavailable, "cgroups: no cgroup or cgroup2 mounts found in mountinfo");
        }

        return new CgroupRoot(mode, v1, unified, ParseProcCgroup(procSelfCgroup));
    }

    /// <summary>A pure cgroup v2 layout mounted at <paramref name="mountpoint"/>.</summary>
    public static CgroupRoot ForV2(string mountpoint, string ownCgroup = "/") =>
        new(CgroupMode.Unified, new Dictionary<string, CgroupMount>(), new CgroupMount(mountpoint, "/", []),
            new Dictionary<string, string> { [""] = ownCgroup });

    /// <summary>
    /// A v1 layout where each controller is mounted at <c>baseDir/controller</c> (co-mount by passing
    /// "cpu,cpuacct"), optionally with a cgroup2 mount (hybrid).
    /// </summary>
    public static CgroupRoot ForV1(string baseDir, IEnumerable<string> mounts, string? unifiedMountpoint = null, IReadOnlyDictionary<string, string>? ownCgroups = null)
    {
        var v1 = new Dictionary<string, CgroupMount>(StringComparer.Ordinal);
        foreach (var m in mounts)
        {
            var mount = new CgroupMount(Path.Combine(baseDir, m), "/", m.Split(','));
            foreach (var c in mount.Controllers)
            {
                v1[c] = mount;
            }
        }

        var unified = unifiedMountpoint is null ? null : new CgroupMount(unifiedMountpoint, "/", []);
        return new CgroupRoot(unified is null ? CgroupMode.Legacy : CgroupMode.Hybrid, v1, unified,
            ownCgroups ?? new Dictionary<string, string>());
    }

    /// <summary>Parses /proc/self/cgroup ("id:controllers:path") into controller → path ("" for v2).</summary>
    public static IReadOnlyDictionary<string, string> ParseProcCgroup(string text)
    {
        var result = new Dictionary<string, string>(StringComparer.Ordinal);
        foreach (var line in text.Split('\n', StringSplitOptions.RemoveEmptyEntries))
        {
            var parts = line.Split(':', 3);
            if (parts.Length != 3)
            {
                continue;
            }

            if (parts[1].Length == 0)
            {
                result[""] = parts[2];
                continue;
            }

            foreach (var c in parts[1].Split(','))
            {
                result[c] = parts[2];
            }
        }

        return result;
    }

    /// <summary>Distinct v1 mounts (co-mounted controllers appear once).</summary>
    public IEnumerable<CgroupMount> DistinctV1Mounts() => V1Mounts.Values.Distinct();

    private static string Unescape(string s)
    {
        if (!s.Contains('\\'))
        {
            return s;
        }

        var sb = new System.Text.StringBuilder(s.Length);
        for (var i = 0; i < s.Length; i++)
        {
            if (s[i] == '\\' && i + 3 < s.Length && IsOctal(s[i + 1]) && IsOctal(s[i + 2]) && IsOctal(s[i + 3]))
            {
                sb.Append((char)(((s[i + 1] - '0') * 64) + ((s[i + 2] - '0') * 8) + (s[i + 3] - '0')));
                i += 3;
            }
            else
            {
                sb.Append(s[i]);
            }
        }

        return sb.ToString();

        static bool IsOctal(char c) => c is >= '0' and <= '7';
    }
}
