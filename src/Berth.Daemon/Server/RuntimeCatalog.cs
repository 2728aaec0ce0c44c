namespace Berth.Daemon.Server;

/// <summary>The OCI runtimes the daemon knows: berth-runtime and runc when they can be found, plus those of
/// daemon.json; and which one is the default (<c>--runtime</c>: a name from that set, or a path).</summary>
public sealed class RuntimeCatalog
{
    public RuntimeCatalog(string defaultRuntime, IReadOnlyDictionary<string, string> configured, string? selfDirectory = null)
    {
        selfDirectory ??= AppContext.BaseDirectory;
        var all = new SortedDictionary<string, string>(StringComparer.Ordinal);
        foreach (string name in new[] { DaemonOptions.DefaultRuntimeName, "runc" })
            if (Find(name, selfDirectory) is string found) all[name] = found;
        foreach (var (name, path) in configured) all[name] = path;

        if (defaultRuntime.Contains('/'))
        {
            string path = Path.GetFullPath(defaultRuntime);
            DefaultName = Path.GetFileName(path);
            all[DefaultName] = path;
        }
        else
        {
            DefaultName = defaultRuntime;
            if (!all.ContainsKey(defaultRuntime) && Find(defaultRuntime, selfDirectory) is string found)
                all[defaultRuntime] = found;
            if (!all.ContainsKey(defaultRuntime))
            {
                // Not fatal while the daemon runs no containers; reported by /info and at start.
                Warning = $"WARNING: default runtime {defaultRuntime} not found next to berthd, on PATH or in daemon.json";
                all[defaultRuntime] = defaultRuntime;
            }
        }
        Runtimes = all;
    }

    public string DefaultName { get; }
    public string? Warning { get; }
    public string DefaultPath => Runtimes[DefaultName];
    public IReadOnlyDictionary<string, string> Runtimes { get; }

    /// <summary>Looks for an executable next to berthd first, then on PATH.</summary>
    public static string? Find(string name, string selfDirectory)
    {
        string beside = Path.Combine(selfDirectory, name);
        if (IsExecutable(beside)) return beside;
        foreach (string dir in (Environment.GetEnvironmentVariable("PATH") ?? "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin").Split(':'))
        {
            if (dir.Length == 0) continue;
            string candidate = Path.Combine(dir, name);
            if (IsExecutable(candidate)) return candidate;
        }
        return null;
    }

    private static bool IsExecutable(string path) =>
        File.Exists(path) && (File.GetUnixFileMode(path) & (UnixFileMode.UserExecute | UnixFileMode.GroupExecute | UnixFileMode.OtherExecute)) != 0;
}
