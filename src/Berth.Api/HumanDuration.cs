namespace Berth.Api;

/// <summary>Docker's go-units HumanDuration ("Up 3 seconds", "Exited (0) 2 minutes ago"): the daemon's status
/// text and the CLI's tables share it.</summary>
public static class HumanDuration
{
    public static string Of(TimeSpan d)
    {
        double s = d.TotalSeconds;
        if (s < 1) return "Less than a second";
        if (s < 2) return "1 second";
        if (s < 60) return $"{(int)s} seconds";
        double m = d.TotalMinutes;
        if (m < 2) return "About a minute";
        if (m < 60) return $"{(int)m} minutes";
        double h = d.TotalHours;
        if (h < 2) return "About an hour";
        if (h < 48) return $"{(int)h} hours";
        if (h < 24 * 7 * 2) return $"{(int)(h / 24)} days";
        if (h < 24 * 30 * 2) return $"{(int)(h / 24 / 7)} weeks";
        if (h < 24 * 365 * 2) return $"{(int)(h / 24 / 30)} months";
        return $"{(int)(h / 24 / 365)} years";
    }
}
