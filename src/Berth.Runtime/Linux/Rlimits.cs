namespace Berth.Runtime.Linux;

/// <summary>RLIMIT_* names and numbers (asm-generic/resource.h, as used on x86_64 and arm64).</summary>
public static class Rlimits
{
    private static readonly string[] Names =
    [
        "RLIMIT_CPU", "RLIMIT_FSIZE", "RLIMIT_DATA", "RLIMIT_STACK", "RLIMIT_CORE", "RLIMIT_RSS", "RLIMIT_NPROC",
        "RLIMIT_NOFILE", "RLIMIT_MEMLOCK", "RLIMIT_AS", "RLIMIT_LOCKS", "RLIMIT_SIGPENDING", "RLIMIT_MSGQUEUE",
        "RLIMIT_NICE", "RLIMIT_RTPRIO", "RLIMIT_RTTIME",
    ];

    public static bool TryParse(string name, out int resource)
    {
        resource = Array.IndexOf(Names, name);
        return resource >= 0;
    }

    public static string NameOf(int resource) => resource >= 0 && resource < Names.Length ? Names[resource] : resource.ToString();
}
