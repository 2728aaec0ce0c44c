using System.Security.Cryptography;
using Berth.Core;

namespace Berth.Images;

/// <summary>A content digest, "sha256:&lt;64 lowercase hex&gt;" (only sha256 is supported).</summary>
public readonly record struct Digest
{
    public const string Sha256 = "sha256";

    private Digest(string hex) => Hex = hex;

    /// <summary>The 64 lowercase hex characters after "sha256:".</summary>
    public string Hex { get; }

    public string Algorithm => Sha256;

    public override string ToString() => Hex is null ? "" : Sha256 + ":" + Hex;

    /// <summary>The first 12 hex characters, Docker's short id.</summary>
    public string Short => Hex[..12];

    public static bool TryParse(string? s, out Digest digest)
    {
        digest = default;
        if (s is null || !s.StartsWith("sha256:", StringComparison.Ordinal)) return false;
        var hex = s.AsSpan(7);
        if (!IsHex64(hex)) return false;
        digest = new Digest(hex.ToString());
        return true;
    }

    public static Digest Parse(string s) =>
        TryParse(s, out var d) ? d : throw BerthException.Invalid($"invalid digest \"{s}\": expected sha256:<64 lowercase hex>");

    /// <summary>A digest from bare 64-hex (as found in blob file names).</summary>
    public static bool TryFromHex(string hex, out Digest digest)
    {
        digest = default;
        if (!IsHex64(hex)) return false;
        digest = new Digest(hex);
        return true;
    }

    public static Digest FromHash(ReadOnlySpan<byte> sha256) => new(Convert.ToHexStringLower(sha256));

    public static Digest Of(ReadOnlySpan<byte> content) => FromHash(SHA256.HashData(content));

    public static Digest Of(string utf8) => Of(System.Text.Encoding.UTF8.GetBytes(utf8));

    internal static bool IsHex64(ReadOnlySpan<char> hex)
    {
        if (hex.Length != 64) return false;
        foreach (var c in hex)
            if (!(c is >= '0' and <= '9' or >= 'a' and <= 'f')) return false;
        return true;
    }
}
