namespace Berth.Api;

/// <summary>The Engine API versions this daemon speaks.</summary>
public static class ApiVersions
{
    public const string Min = "1.12";
    public const string Max = "1.41";
    public const string Default = Max;

    public static readonly ApiVersion MinVersion = new(1, 12);
    public static readonly ApiVersion MaxVersion = new(1, 41);
}

/// <summary>An Engine API version "major.minor", compared numerically (1.9 &lt; 1.12).</summary>
public readonly record struct ApiVersion(int Major, int Minor) : IComparable<ApiVersion>
{
    public int CompareTo(ApiVersion other) =>
        Major != other.Major ? Major.CompareTo(other.Major) : Minor.CompareTo(other.Minor);

    public static bool operator <(ApiVersion a, ApiVersion b) => a.CompareTo(b) < 0;
    public static bool operator >(ApiVersion a, ApiVersion b) => a.CompareTo(b) > 0;
    public static bool operator <=(ApiVersion a, ApiVersion b) => a.CompareTo(b) <= 0;
    public static bool operator >=(ApiVersion a, ApiVersion b) => a.CompareTo(b) >= 0;

    /// <summary>Parses "1.41" (digits, one dot, digits). Anything else is not a version.</summary>
    public static bool TryParse(ReadOnlySpan<char> text, out ApiVersion version)
    {
        version = default;
        int dot = text.IndexOf('.');
        if (dot <= 0 || dot == text.Length - 1) return false;
        if (!TryDigits(text[..dot], out int major) || !TryDigits(text[(dot + 1)..], out int minor)) return false;
        version = new ApiVersion(major, minor);
        return true;
    }

    private static bool TryDigits(ReadOnlySpan<char> s, out int value)
    {
        value = 0;
        if (s.Length is 0 or > 6) return false;
        foreach (char c in s)
        {
            if (c is < '0' or > '9') return false;
            value = value * 10 + (c - '0');
        }
        return true;
    }

    public override string ToString() => $"{Major}.{Minor}";
}
