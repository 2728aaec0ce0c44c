using System.Text;

namespace Berth.Privileged.Tests.Infrastructure;

/// <summary>One line of /proc/PID/mountinfo.</summary>
public sealed record MountEntry(string MountPoint, string Root, string Options, string FsType, string Source, string SuperOptions, string Raw)
{
    public static MountEntry Parse(string line)
    {
        string[] f = line.Split(' ');
        int sep = Array.IndexOf(f, "-");
        if (f.Length < 10 || sep < 6)
        {
            throw new FormatException($"bad mountinfo line: {line}");
        }

        return new MountEntry(MountInfo.Unescape(f[4]), MountInfo.Unescape(f[3]), f[5], f[sep + 1],
            MountInfo.Unescape(f[sep + 2]), f[sep + 3], line);
    }
}

public static class MountInfo
{
    public static IReadOnlyList<MountEntry> Read(string path = "/proc/self/mountinfo") => Parse(File.ReadAllText(path));

    public static IReadOnlyList<MountEntry> Parse(string text) =>
        text.Split('\n', StringSplitOptions.RemoveEmptyEntries).Select(MountEntry.Parse).ToList();

    /// <summary>Undoes the kernel's octal escapes (\040 space, \011 tab, \012 newline, \134 backslash).</summary>
    public static string Unescape(string s)
    {
        if (!s.Contains('\\'))
        {
            return s;
        }

        var sb = new StringBuilder(s.Length);
        for (int i = 0; i < s.Length; i++)
        {
            if (s[i] == '\\' && i + 3 < s.Length && IsOct(s[i + 1]) && IsOct(s[i + 2]) && IsOct(s[i + 3]))
            {
                string oct = s.Substring(i + 1, 3);
                sb.Append((char)Convert.ToInt32(oct, 8));
                i += 3;
            }
            else
            {
                sb.Append(s[i]);
            }
        }

        return sb.ToString();
    }

    private static bool IsOct(char c) => c is >= '0' and <= '7';
}

/// <summary>Host state relevant to runtime leaks, taken before a test.</summary>
public sealed record HostSnapshot(
    IReadOnlyCollection<string> Markers,
    IReadOnlySet<string> MountPoints,
    IReadOnlySet<string> CgroupDirs,
    IReadOnlySet<int> Pids,
    IReadOnlyDictionary<int, string> Fds);

/// <summary>
/// Detects what a runtime leaves behind on the host: new mount points, cgroup directories and
/// processes mentioning a test marker (container id, bundle dir, cgroups path), and fds of the
/// test process. Usage:
/// <code>
/// var before = LeakCheck.Take(bundle.Id, bundle.Dir);
/// ... run the container, delete it ...
/// LeakCheck.AssertNoLeaks(before);
/// </code>
/// Mount points are compared host-wide (runtimes must not leave anything mounted in the host
/// namespace); cgroups and processes only when they mention a marker, so parallel tests don't
/// interfere. Fds: any new fd pointing at a marker fails; otherwise the count of fds other than pipes may grow by
/// at most <see cref="FdSlack"/> (the test host's own threads and parallel tests open fds too).
/// </summary>
public static class LeakCheck
{
    public static int FdSlack { get; set; } = 16;

    public static HostSnapshot Take(params string[] markers)
    {
        string[] m = markers.Where(s => !string.IsNullOrEmpty(s)).ToArray();
        return new HostSnapshot(m, MountPoints(), CgroupDirs(m), Pids(m), Fds());
    }

    /// <summary>
    /// Fails listing every leak. Processes and cgroups get <paramref name="settle"/> (default 5 s) to go away,
    /// since a runtime may reap asynchronously.
    /// </summary>
    public static void AssertNoLeaks(HostSnapshot before, TimeSpan? settle = null)
    {
        DateTime deadline = DateTime.UtcNow + (settle ?? TimeSpan.FromSeconds(5));
        List<string> problems;
        while (true)
        {
            problems = Diff(before);
            if (problems.Count == 0 || DateTime.UtcNow >= deadline)
            {
                break;
            }

            Thread.Sleep(100);
        }

        if (problems.Count > 0)
        {
            Assert.Fail($"host state leaked (markers: {string.Join(", ", before.Markers)}):\n  " + string.Join("\n  ", problems));
        }
    }

    public static List<string> Diff(HostSnapshot before)
    {
        var problems = new List<string>();
        foreach (string mp in MountPoints().Except(before.MountPoints).Order())
        {
            problems.Add($"mount: {mp}");
        }

        foreach (string dir in CgroupDirs(before.Markers).Except(before.CgroupDirs).Order())
        {
            problems.Add($"cgroup: {dir}");
        }

        foreach (int pid in Pids(before.Markers).Except(before.Pids).Order())
        {
            problems.Add($"process: {pid} {Cmdline(pid)}");
        }

        Dictionary<int, string> fds = Fds();
        foreach ((int fd, string target) in fds.Where(kv => !before.Fds.ContainsKey(kv.Key) || before.Fds[kv.Key] != kv.Value))
        {
            if (before.Markers.Any(m => target.Contains(m, StringComparison.Ordinal)))
            {
                problems.Add($"fd {fd} -> {target}");
            }
        }

        // Anonymous pipes are left out of the count: they are the stdio of child processes that test classes running
        // in parallel start and reap (a berthd or a stress loop holds several at any moment; CI once saw 20 at the
        // check). A runtime's fd leaking into this process names its container or bundle: caught above.
        static int NotPipes(IEnumerable<string> targets) => targets.Count(t => !t.StartsWith("pipe:", StringComparison.Ordinal));
        if (NotPipes(fds.Values) > NotPipes(before.Fds.Values) + FdSlack)
        {
            problems.Add($"fd count grew from {before.Fds.Count} to {fds.Count}: " +
                string.Join(", ", fds.Where(kv => !before.Fds.ContainsKey(kv.Key)).Select(kv => $"{kv.Key}->{kv.Value}")));
        }

        return problems;
    }

    public static HashSet<string> MountPoints() => MountInfo.Read().Select(m => m.MountPoint).ToHashSet();

    /// <summary>Directories in every cgroup hierarchy (v1 controllers and unified) whose path contains a marker.</summary>
    public static HashSet<string> CgroupDirs(IReadOnlyCollection<string> markers)
    {
        var result = new HashSet<string>();
        if (markers.Count == 0)
        {
            return result;
        }

        foreach (MountEntry m in MountInfo.Read().Where(m => m.FsType is "cgroup" or "cgroup2"))
        {
            var stack = new Stack<string>();
            stack.Push(m.MountPoint);
            while (stack.Count > 0)
            {
                string dir = stack.Pop();
                IEnumerable<string> children;
                try
                {
                    children = Directory.EnumerateDirectories(dir).ToList();
                }
                catch (Exception e) when (e is IOException or UnauthorizedAccessException)
                {
                    continue;
                }

                foreach (string child in children)
                {
                    string rel = child[m.MountPoint.Length..];
                    if (markers.Any(mk => rel.Contains(mk, StringComparison.Ordinal)))
                    {
                        result.Add(child);
                    }

                    stack.Push(child);
                }
            }
        }

        return result;
    }

    /// <summary>Pids (other than ours) whose cmdline mentions a marker.</summary>
    public static HashSet<int> Pids(IReadOnlyCollection<string> markers)
    {
        var result = new HashSet<int>();
        if (markers.Count == 0)
        {
            return result;
        }

        foreach (string dir in Directory.EnumerateDirectories("/proc"))
        {
            if (!int.TryParse(Path.GetFileName(dir), out int pid) || pid == Environment.ProcessId)
            {
                continue;
            }

            string cmd = Cmdline(pid);
            if (markers.Any(mk => cmd.Contains(mk, StringComparison.Ordinal)))
            {
                result.Add(pid);
            }
        }

        return result;
    }

    public static Dictionary<int, string> Fds()
    {
        var result = new Dictionary<int, string>();
        foreach (string path in Directory.EnumerateFileSystemEntries("/proc/self/fd"))
        {
            if (!int.TryParse(Path.GetFileName(path), out int fd))
            {
                continue;
            }

            try
            {
                result[fd] = new FileInfo(path).LinkTarget ?? "";
            }
            catch (IOException)
            {
                // Closed while we were listing (the enumeration's own fd, or another thread's).
            }
        }

        return result;
    }

    private static string Cmdline(int pid)
    {
        try
        {
            return File.ReadAllText($"/proc/{pid}/cmdline").Replace('\0', ' ').Trim();
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            return "";
        }
    }
}
