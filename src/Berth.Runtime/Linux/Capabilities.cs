namespace Berth.Runtime.Linux;

/// <summary>Capability names (as in the OCI spec: "CAP_CHOWN") and their numbers (linux/capability.h).</summary>
public static class Capabilities
{
    private static readonly string[] Names =
    [
        "CAP_CHOWN", "CAP_DAC_OVERRIDE", "CAP_DAC_READ_SEARCH", "CAP_FOWNER", "CAP_FSETID", "CAP_KILL", "CAP_SETGID",
        "CAP_SETUID", "CAP_SETPCAP", "CAP_LINUX_IMMUTABLE", "CAP_NET_BIND_SERVICE", "CAP_NET_BROADCAST", "CAP_NET_ADMIN",
        "CAP_NET_RAW", "CAP_IPC_LOCK", "CAP_IPC_OWNER", "CAP_SYS_MODULE", "CAP_SYS_RAWIO", "CAP_SYS_CHROOT", "CAP_SYS_PTRACE",
        "CAP_SYS_PACCT", "CAP_SYS_ADMIN", "CAP_SYS_BOOT", "CAP_SYS_NICE", "CAP_SYS_RESOURCE", "CAP_SYS_TIME",
        "CAP_SYS_TTY_CONFIG", "CAP_MKNOD", "CAP_LEASE", "CAP_AUDIT_WRITE", "CAP_AUDIT_CONTROL", "CAP_SETFCAP",
        "CAP_MAC_OVERRIDE", "CAP_MAC_ADMIN", "CAP_SYSLOG", "CAP_WAKE_ALARM", "CAP_BLOCK_SUSPEND", "CAP_AUDIT_READ",
        "CAP_PERFMON", "CAP_BPF", "CAP_CHECKPOINT_RESTORE",
    ];

    public static int Last { get; } = ReadLastCap();

    public static IReadOnlyList<string> All => Names;

    public static bool TryParse(string name, out int number)
    {
        var n = name.StartsWith("CAP_", StringComparison.OrdinalIgnoreCase) ? name : "CAP_" + name;
        number = Array.FindIndex(Names, x => x.Equals(n, StringComparison.OrdinalIgnoreCase));
        return number >= 0;
    }

    /// <summary>The mask of the named capabilities; names unknown to Berth or to this kernel go to <paramref name="unknown"/>.</summary>
    public static ulong Mask(IEnumerable<string>? names, ICollection<string> unknown)
    {
        ulong mask = 0;
        foreach (var name in names ?? [])
        {
            if (TryParse(name, out int n) && n <= Last) mask |= 1UL << n;
            else unknown.Add(name);
        }
        return mask;
    }

    public static ulong AllMask => Last >= 63 ? ulong.MaxValue : (1UL << (Last + 1)) - 1;

    private static int ReadLastCap()
    {
        try { return int.Parse(File.ReadAllText("/proc/sys/kernel/cap_last_cap").Trim()); }
        catch (IOException) { return Names.Length - 1; }
    }
}
