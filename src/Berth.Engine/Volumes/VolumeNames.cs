using System.Security.Cryptography;
using System.Text.RegularExpressions;
using Berth.Core;

namespace Berth.Engine.Volumes;

/// <summary>Volume names: Docker's rule for local volumes, and the 64-hex names of anonymous volumes.</summary>
public static partial class VolumeNames
{
    /// <summary>Docker's names.RestrictedNameChars.</summary>
    public const string RestrictedNameChars = "[a-zA-Z0-9][a-zA-Z0-9_.-]";

    /// <summary>A directory name holds at most 255 bytes (NAME_MAX).</summary>
    public const int MaxLength = 255;

    [GeneratedRegex("^[a-zA-Z0-9][a-zA-Z0-9_.-]+$", RegexOptions.CultureInvariant)]
    private static partial Regex Pattern();

    public static bool IsValid(string name) => name.Length <= MaxLength && Pattern().IsMatch(name);

    /// <summary>InvalidParameter with dockerd's messages (the caller prefixes "create NAME: ").</summary>
    public static void Validate(string name)
    {
        if (name.Length == 1)
            throw BerthException.Invalid("volume name is too short, names should be at least two alphanumeric characters");
        if (!Pattern().IsMatch(name))
            throw BerthException.Invalid($"{GoQuote(name)} includes invalid characters for a local volume name, only {GoQuote(RestrictedNameChars)} are allowed. If you intended to pass a host directory, use absolute path");
        if (name.Length > MaxLength)
            throw BerthException.Invalid($"volume name is too long ({name.Length} characters): a local volume name has at most {MaxLength}");
    }

    /// <summary>An anonymous volume's name: 32 random bytes in hex, as dockerd's stringid.GenerateRandomID.</summary>
    public static string NewAnonymous() => Convert.ToHexStringLower(RandomNumberGenerator.GetBytes(32));

    /// <summary>Go's %q for the names in messages.</summary>
    internal static string GoQuote(string s)
    {
        var sb = new System.Text.StringBuilder(s.Length + 2).Append('"');
        foreach (var r in s.EnumerateRunes())
        {
            switch (r.Value)
            {
                case '"': sb.Append("\\\""); break;
                case '\\': sb.Append("\\\\"); break;
                case '\n': sb.Append("\\n"); break;
                case '\t': sb.Append("\\t"); break;
                case '\r': sb.Append("\\r"); break;
                default:
                    if (r.Value < 0x20 || r.Value == 0x7f) sb.Append($"\\x{r.Value:x2}");
                    else sb.Append(r.ToString());
                    break;
            }
        }
        return sb.Append('"').ToString();
    }
}
