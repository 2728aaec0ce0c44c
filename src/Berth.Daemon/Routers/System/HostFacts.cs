namespace Berth.Daemon.Routers.System;

/// <summary>Facts about the host for /version and /info, read from /proc, /sys and /etc.</summary>
public static class HostFacts
{
    public static string KernelVersion() => ReadTrimmed("/proc/sys/kernel/osrelease") ?? "";

    public static string Hostname() => ReadTrimmed("/proc/sys/kernel/hostname") ?? Environment.MachineName;

    /// <summary>"2" when the unified hierarchy is mounted at /sys/fs/cgroup, else "1".</summary>
    public static string CgroupVersion(string root = "/sys/fs/cgroup") =>
        File.Exists(Path.Combine(root, "cgroup.controllers")) ? "2" : "1";

    /// <summary>PRETTY_NAME and VERSION_ID of /etc/os-release (falling back to /usr/lib/os-release).</summary>
    public static (string PrettyName, string VersionId) OsRelease(string? path = null)
    {
        string? text = null;
        foreach (string p in path is null ? ["/etc/os-release", "/usr/lib/os-release"] : new[] { path })
        {
            try { text = File.ReadAllText(p); break; } catch (IOException) { } catch (UnauthorizedAccessException) { }
        }
        string pretty = "Linux", version = "";
        if (text is null) return (pretty, version);
        foreach (string line in text.Split('\n'))
        {
            int eq = line.IndexOf('=');
            if (eq <= 0) continue;
            string key = line[..eq].Trim(), value = Unquote(line[(eq + 1)..].Trim());
            if (key == "PRETTY_NAME") pretty = value;
            else if (key == "VERSION_ID") version = value;
        }
        return (pretty, version);
    }

    /// <summary>MemTotal of /proc/meminfo in bytes.</summary>
    public static long MemTotal()
    {
        try
        {
            foreach (string line in File.ReadLines("/proc/meminfo"))
            {
                if (!line.StartsWith("MemTotal:", StringComparison.Ordinal)) continue;
                string kb = line["MemTotal:".Length..].Trim().Split(' ')[0];
                return long.TryParse(kb, out long v) ? v * 1024 : 0;
            }
        }
        catch (IOException) { }
        return 0;
    }

    public static int OpenFds()
    {
        try { return Directory.GetFiles("/proc/self/fd").Length; } catch (IOException) { return 0; }
    }

    public static int Threads()
    {
        try { return Directory.GetDirectories("/proc/self/task").Length; } catch (IOException) { return 0; }
    }

    public static bool IPv4Forwarding() => ReadTrimmed("/proc/sys/net/ipv4/ip_forward") == "1";

    private static string Unquote(string v) =>
        v.Length >= 2 && (v[0] == '"' || v[0] == '\'') && v[^1] == v[0] ? v[1..^1] : v;

    private static string? ReadTrimmed(string path)
    {
        try { return File.ReadAllText(path).Trim(); } catch (IOException) { return null; } catch (UnauthorizedAccessException) { return null; }
    }
}
