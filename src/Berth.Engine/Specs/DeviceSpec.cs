using System.Text.RegularExpressions;
using Berth.Api.Containers;
using Berth.Core;
using Berth.Interop;
using Berth.Runtime.Spec;

namespace Berth.Engine.Specs;

/// <summary>
/// `--device`, `--device-cgroup-rule` and the per-device blkio options in their OCI form, as moby's
/// oci/devices_linux.go and daemon/daemon_unix.go make them: host nodes are read (stat) when the container starts,
/// so a missing node fails the start with dockerd's message, not the create.
/// </summary>
public static partial class DeviceSpec
{
    [GeneratedRegex(@"^([acb]) ([0-9]+|\*):([0-9]+|\*) ([rwm]{1,3})$")]
    private static partial Regex CgroupRuleRegex();

    /// <summary>The docker CLI's check of a device's cgroup permissions ("rwm", each letter at most once).</summary>
    public static bool ValidMode(string mode) =>
        mode.Length is > 0 and <= 3 && mode.All(ch => ch is 'r' or 'w' or 'm') && mode.Distinct().Count() == mode.Length;

    /// <summary>Checks a create request's device fields (the shapes; the host nodes are read at start).</summary>
    public static void Validate(HostConfig h)
    {
        foreach (var d in h.Devices ?? [])
        {
            if (d.PathOnHost.Length == 0) throw BerthException.Invalid("HostConfig.Devices: PathOnHost is empty");
            if (d.CgroupPermissions.Length > 0 && !ValidMode(d.CgroupPermissions))
                throw BerthException.Invalid($"bad mode specified: {d.CgroupPermissions}");
            if (d.PathInContainer.Length > 0 && !d.PathInContainer.StartsWith('/'))
                throw BerthException.Invalid($"{d.PathInContainer} is not an absolute path");
        }
        foreach (var r in h.DeviceCgroupRules ?? [])
            if (!CgroupRuleRegex().IsMatch(r)) throw BerthException.Invalid($"invalid device cgroup rule format: '{r}'");
        foreach (var w in h.BlkioWeightDevice ?? [])
            if (w.Weight != 0 && (w.Weight < 10 || w.Weight > 1000))
                throw BerthException.Invalid($"invalid weight for device: {w.Path}:{w.Weight}");
    }

    /// <summary>A device cgroup rule ("c 1:3 rwm") as an OCI allow rule.</summary>
    public static LinuxDeviceCgroup Rule(string rule)
    {
        var m = CgroupRuleRegex().Match(rule);
        if (!m.Success) throw BerthException.Invalid($"invalid device cgroup rule format: '{rule}'");
        static long? Num(string s) => s == "*" ? null : long.Parse(s, System.Globalization.CultureInfo.InvariantCulture);
        return new LinuxDeviceCgroup
        {
            Allow = true, Type = m.Groups[1].Value, Major = Num(m.Groups[2].Value), Minor = Num(m.Groups[3].Value),
            Access = m.Groups[4].Value,
        };
    }

    /// <summary>
    /// The nodes and cgroup rules of one `--device` (moby's DevicesFromPath): a node (a symlink to one is followed),
    /// or a directory whose nodes are all mapped under the container path.
    /// </summary>
    public static void AddMapping(DeviceMapping d, List<LinuxDevice> devices, List<LinuxDeviceCgroup> rules)
    {
        var perms = d.CgroupPermissions.Length == 0 ? "rwm" : d.CgroupPermissions;
        var inContainer = d.PathInContainer.Length == 0 ? d.PathOnHost : d.PathInContainer;
        var resolved = d.PathOnHost;
        try
        {
            if (new FileInfo(d.PathOnHost).LinkTarget is not null
                && new FileInfo(d.PathOnHost).ResolveLinkTarget(returnFinalTarget: true) is { } target)
                resolved = target.FullName;
        }
        catch (IOException) { }

        string reason;
        try
        {
            if (Node(resolved, inContainer) is { } dev)
            {
                devices.Add(dev);
                rules.Add(RuleOf(dev, perms));
                return;
            }
            reason = "not a device node";
        }
        catch (ErrnoException e) { reason = GoError(e.Errno); }

        if (Directory.Exists(resolved))
        {
            int before = devices.Count;
            foreach (var path in Directory.EnumerateFileSystemEntries(resolved, "*", new EnumerationOptions
                     { RecurseSubdirectories = true, AttributesToSkip = 0, IgnoreInaccessible = true }).Order(StringComparer.Ordinal))
            {
                try
                {
                    if (Node(path, inContainer + path[resolved.Length..]) is { } child)
                    {
                        devices.Add(child);
                        rules.Add(RuleOf(child, perms));
                    }
                }
                catch (ErrnoException) { }
            }
            if (devices.Count > before) return;
        }
        // dockerd: an error of createSpec is a system error (500), the container stays created with exit code 128.
        throw new BerthException(ErrorKind.System, $"error gathering device information while adding custom device \"{d.PathOnHost}\": {reason}");
    }

    /// <summary>
    /// Every device node of the host's /dev, as containerd's HostDevices (used by dockerd for --privileged): the
    /// tree walked without following symlinks, skipping the directories pts, shm, fd, mqueue, .lxc, .lxd-mounts and
    /// .udev, the console and nodes with major 0. /dev/ptmx is left out: the runtime makes it the link to the
    /// container's pts/ptmx (runc creates the host's node, then replaces it by that link).
    /// </summary>
    public static List<LinuxDevice> HostDevices(string root = "/dev")
    {
        var result = new List<LinuxDevice>();
        Walk(root, 0, result);
        return result;

        static void Walk(string dir, int depth, List<LinuxDevice> result)
        {
            string[] entries;
            try { entries = Directory.GetFileSystemEntries(dir); }
            catch (Exception e) when (e is IOException or UnauthorizedAccessException) { return; }
            Array.Sort(entries, StringComparer.Ordinal);
            foreach (var path in entries)
            {
                var name = Path.GetFileName(path);
                Libc.FileStat st;
                try { st = Libc.Lstat(path); }
                catch (ErrnoException) { continue; } // gone meanwhile
                if ((st.Mode & 0xf000) == 0x4000)
                {
                    if (name is not ("pts" or "shm" or "fd" or "mqueue" or ".lxc" or ".lxd-mounts" or ".udev")) Walk(path, depth + 1, result);
                    continue;
                }
                if (name == "console" || (name == "ptmx" && depth == 0)) continue;
                if (Node(path, path) is { Major: > 0 } dev) result.Add(dev);
            }
        }
    }

    /// <summary>A block or character node (lstat, as runc's DeviceFromPath), or null for anything else.</summary>
    private static LinuxDevice? Node(string hostPath, string containerPath)
    {
        var st = Libc.Lstat(hostPath);
        string type = (st.Mode & 0xf000) switch { 0x6000 => "b", 0x2000 => "c", _ => "" };
        if (type.Length == 0) return null;
        return new LinuxDevice
        {
            Path = containerPath, Type = type, Major = Libc.DevMajor(st.Rdev), Minor = Libc.DevMinor(st.Rdev),
            FileMode = st.Mode & 0xfff, Uid = st.Uid, Gid = st.Gid,
        };
    }

    private static LinuxDeviceCgroup RuleOf(LinuxDevice d, string perms) =>
        new() { Allow = true, Type = d.Type, Major = d.Major, Minor = d.Minor, Access = perms };

    /// <summary>A path's device numbers for the blkio options (stat, follows symlinks; dockerd's "stat PATH: reason").</summary>
    public static (long Major, long Minor) BlockDevice(string path)
    {
        try
        {
            var st = Libc.Stat(path);
            return (Libc.DevMajor(st.Rdev), Libc.DevMinor(st.Rdev));
        }
        catch (ErrnoException e)
        {
            throw new BerthException(ErrorKind.System, $"stat {path}: {GoError(e.Errno)}");
        }
    }

    public static List<LinuxThrottleDevice>? Throttles(List<ThrottleDevice>? list)
    {
        if (list is not { Count: > 0 }) return null;
        return [.. list.Select(t =>
        {
            var (major, minor) = BlockDevice(t.Path);
            return new LinuxThrottleDevice { Major = major, Minor = minor, Rate = t.Rate };
        })];
    }

    public static List<LinuxWeightDevice>? Weights(List<WeightDevice>? list)
    {
        if (list is not { Count: > 0 }) return null;
        return [.. list.Select(w =>
        {
            var (major, minor) = BlockDevice(w.Path);
            return new LinuxWeightDevice { Major = major, Minor = minor, Weight = w.Weight };
        })];
    }

    /// <summary>Go's spelling of an errno (strerror, first letter in lower case).</summary>
    private static string GoError(int errno)
    {
        var s = Libc.StrError(errno);
        return s.Length > 0 ? char.ToLowerInvariant(s[0]) + s[1..] : s;
    }
}
