using System.Globalization;
using Berth.Core;

namespace Berth.Api;

/// <summary>
/// Docker's timestamps for since/until (api/types/time): the CLI turns a duration ("10m", relative to now), an
/// RFC3339 date or time (local when it has no zone) or a unix time into "seconds[.nanoseconds]"
/// (<see cref="GetTimestamp"/>); the daemon reads that form (<see cref="ParseTimestamp"/>). berthd also takes the
/// CLI's forms directly.
/// </summary>
public static class DockerTime
{
    /// <summary>Go's time.ParseDuration: "1h2m3.5s", "300ms", "-1.5h"; units ns us µs ms s m h.</summary>
    public static bool TryParseGoDuration(string s, out TimeSpan d)
    {
        d = default;
        if (s.Length == 0) return false;
        int i = 0;
        bool neg = false;
        if (s[0] is '-' or '+') { neg = s[0] == '-'; i++; }
        if (i == s.Length) return false;
        if (s[i..] == "0") return true;
        double total = 0; // nanoseconds
        while (i < s.Length)
        {
            int start = i;
            while (i < s.Length && (char.IsAsciiDigit(s[i]) || s[i] == '.')) i++;
            if (start == i) return false;
            if (!double.TryParse(s.AsSpan(start, i - start), NumberStyles.AllowDecimalPoint, CultureInfo.InvariantCulture, out var n)) return false;
            int us = i;
            while (i < s.Length && !char.IsAsciiDigit(s[i]) && s[i] != '.') i++;
            double unit = s[us..i] switch
            {
                "ns" => 1, "us" or "µs" or "μs" => 1e3, "ms" => 1e6, "s" => 1e9, "m" => 60e9, "h" => 3600e9, _ => -1,
            };
            if (unit < 0) return false;
            total += n * unit;
        }
        d = TimeSpan.FromTicks((long)(total / 100) * (neg ? -1 : 1));
        return true;
    }

    /// <summary>Docker's GetTimestamp: the value as "seconds[.nanoseconds]" (relative to <paramref name="reference"/>
    /// for a duration). InvalidParameter when it is none of the forms.</summary>
    public static string GetTimestamp(string value, DateTimeOffset reference)
    {
        if (value != "0" && TryParseGoDuration(value, out var d))
            return reference.Add(-d).ToUnixTimeSeconds().ToString(CultureInfo.InvariantCulture);
        bool inLocation = !(value.AsSpan().IndexOfAny("zZ+") >= 0 || value.Count(c => c == '-') == 3);
        string[] formats;
        if (value.Contains('.'))
            formats = inLocation ? ["yyyy-MM-ddTHH:mm:ss.FFFFFFF"] : ["yyyy-MM-ddTHH:mm:ss.FFFFFFFK"];
        else if (value.Contains('T'))
        {
            int colons = value.Count(c => c == ':');
            if (!inLocation && value.AsSpan().IndexOfAny("zZ") < 0 && colons > 0) colons--;
            formats = (inLocation, colons) switch
            {
                (true, 0) => ["yyyy-MM-ddTHH"], (true, 1) => ["yyyy-MM-ddTHH:mm"], (true, _) => ["yyyy-MM-ddTHH:mm:ss"],
                (false, 0) => ["yyyy-MM-ddTHHK"], (false, 1) => ["yyyy-MM-ddTHH:mmK"], (false, _) => ["yyyy-MM-ddTHH:mm:ssK"],
            };
        }
        else formats = inLocation ? ["yyyy-MM-dd"] : ["yyyy-MM-ddK"];
        var style = inLocation ? DateTimeStyles.AssumeLocal : DateTimeStyles.None;
        if (DateTimeOffset.TryParseExact(value.Replace('z', 'Z'), formats, CultureInfo.InvariantCulture, style, out var t))
        {
            long ticks = t.UtcTicks - DateTime.UnixEpoch.Ticks;
            long secs = Math.DivRem(ticks, TimeSpan.TicksPerSecond, out long rem);
            if (rem < 0) { secs--; rem += TimeSpan.TicksPerSecond; }
            return $"{secs}.{rem * 100:D9}";
        }
        if (value.Contains('-')) throw BerthException.Invalid($"parsing time \"{value}\": cannot parse as RFC3339");
        if (!TryParseUnix(value, out _)) throw BerthException.Invalid($"failed to parse value as time or duration: \"{value}\"");
        return value;
    }

    /// <summary>The daemon's side (ParseTimestamps): "seconds[.fraction]" → a UTC time; null for "". berthd also
    /// takes the CLI's forms (durations, RFC3339).</summary>
    public static DateTime? ParseTimestamp(string? value, DateTimeOffset? now = null)
    {
        if (string.IsNullOrEmpty(value)) return null;
        if (TryParseUnix(value, out var t)) return t;
        var converted = GetTimestamp(value, now ?? DateTimeOffset.Now);
        if (TryParseUnix(converted, out t)) return t;
        throw BerthException.Invalid($"strconv.ParseInt: parsing \"{value}\": invalid syntax");
    }

    private static bool TryParseUnix(string value, out DateTime time)
    {
        time = default;
        var parts = value.Split('.', 2);
        if (!long.TryParse(parts[0], NumberStyles.AllowLeadingSign, CultureInfo.InvariantCulture, out var s)) return false;
        long nanos = 0;
        if (parts.Length == 2)
        {
            if (parts[1].Length == 0 || parts[1].Length > 9 || !long.TryParse(parts[1], NumberStyles.None, CultureInfo.InvariantCulture, out var n)) return false;
            nanos = n * (long)Math.Pow(10, 9 - parts[1].Length);
        }
        time = DateTime.UnixEpoch.AddSeconds(s).AddTicks(nanos / 100);
        return true;
    }
}
