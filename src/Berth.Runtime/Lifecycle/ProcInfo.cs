namespace Berth.Runtime.Lifecycle;

/// <summary>Facts about a pid read from /proc.</summary>
public static class ProcInfo
{
    /// <summary>Field 22 (starttime) of /proc/PID/stat, or null when the process is gone.</summary>
    public static ulong? StartTime(int pid) => Field(pid, 22) is { } s && ulong.TryParse(s, out var v) ? v : null;

    /// <summary>True when the pid exists, is not a zombie and (when given) has the recorded start time.</summary>
    public static bool IsAlive(int pid, ulong? startTime = null)
    {
        if (pid <= 0) return false;
        var state = Field(pid, 3);
        if (state is null || state == "Z" || state == "X") return false;
        return startTime is null || startTime == 0 || StartTime(pid) == startTime;
    }

    private static string? Field(int pid, int field)
    {
        string text;
        try { text = File.ReadAllText($"/proc/{pid}/stat"); }
        catch (IOException) { return null; }
        catch (UnauthorizedAccessException) { return null; }
        // comm (field 2) may contain spaces and parentheses: split after the last ')'.
        int close = text.LastIndexOf(')');
        if (close < 0) return null;
        if (field <= 2) return null;
        var rest = text[(close + 2)..].Split(' ');
        int index = field - 3;
        return index < rest.Length ? rest[index] : null;
    }
}
