using Berth.Core;

namespace Berth.Runtime.Lifecycle;

/// <summary>Signal names and numbers (x86_64/arm64 Linux), accepted as "KILL", "SIGKILL" or "9".</summary>
public static class Signals
{
    private static readonly string[] Names =
    [
        "", "HUP", "INT", "QUIT", "ILL", "TRAP", "ABRT", "BUS", "FPE", "KILL", "USR1", "SEGV", "USR2", "PIPE", "ALRM",
        "TERM", "STKFLT", "CHLD", "CONT", "STOP", "TSTP", "TTIN", "TTOU", "URG", "XCPU", "XFSZ", "VTALRM", "PROF",
        "WINCH", "IO", "PWR", "SYS",
    ];

    public static bool TryParse(string s, out int signal)
    {
        try { signal = Parse(s); return true; }
        catch (BerthException) { signal = 0; return false; }
    }

    public static int Parse(string s)
    {
        if (int.TryParse(s, out int n) && n > 0 && n <= 64) return n;
        var name = s.ToUpperInvariant();
        if (name.StartsWith("SIG")) name = name[3..];
        int i = Array.IndexOf(Names, name);
        if (i > 0) return i;
        if (name.StartsWith("RTMIN+") && int.TryParse(name[6..], out int off)) return 34 + off;
        if (name.StartsWith("RTMAX-") && int.TryParse(name[6..], out off)) return 64 - off;
        throw BerthException.Invalid($"unknown signal \"{s}\"");
    }
}
