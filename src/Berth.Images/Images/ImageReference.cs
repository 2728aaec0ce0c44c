using System.Text.RegularExpressions;
using Berth.Core;

namespace Berth.Images;

/// <summary>
/// A parsed image reference, normalised like Docker (distribution/reference): "busybox" →
/// "docker.io/library/busybox:latest"; displayed in the familiar form "busybox:latest".
/// </summary>
public sealed partial record ImageReference(string Domain, string Path, string? Tag, Digest? Digest)
{
    public const string DefaultDomain = "docker.io";
    public const string DefaultTag = "latest";

    /// <summary>Fully qualified repository name, e.g. "docker.io/library/busybox".</summary>
    public string Name => Domain + "/" + Path;

    /// <summary>Name without docker.io/ and library/, e.g. "busybox", "me/app", "localhost:5000/app".</summary>
    public string FamiliarName =>
        Domain == DefaultDomain ? (Path.StartsWith("library/", StringComparison.Ordinal) && Path.IndexOf('/', 8) < 0 ? Path[8..] : Path) : Name;

    public override string ToString() => Name + (Tag is null ? "" : ":" + Tag) + (Digest is { } d ? "@" + d : "");

    public string FamiliarString => FamiliarName + (Tag is null ? "" : ":" + Tag) + (Digest is { } d ? "@" + d : "");

    [GeneratedRegex(@"^[a-z0-9]+(?:(?:[._]|__|[-]+)[a-z0-9]+)*$")]
    private static partial Regex PathComponent();

    [GeneratedRegex(@"^(?:[a-zA-Z0-9]|[a-zA-Z0-9][a-zA-Z0-9-]*[a-zA-Z0-9])(?:\.(?:[a-zA-Z0-9]|[a-zA-Z0-9][a-zA-Z0-9-]*[a-zA-Z0-9]))*(?::[0-9]+)?$|^\[[a-fA-F0-9:]+\](?::[0-9]+)?$")]
    private static partial Regex DomainRx();

    [GeneratedRegex(@"^[\w][\w.-]{0,127}$")]
    private static partial Regex TagRx();

    public static bool IsValidTag(string tag) => TagRx().IsMatch(tag);

    /// <summary>Parses and normalises; adds ":latest" when there is neither tag nor digest.</summary>
    public static ImageReference ParseNormalized(string s)
    {
        var r = ParseNamed(s);
        return r.Tag is null && r.Digest is null ? r with { Tag = DefaultTag } : r;
    }

    /// <summary>Parses and normalises without defaulting the tag. Throws InvalidParameter("invalid reference format...").</summary>
    public static ImageReference ParseNamed(string s)
    {
        if (string.IsNullOrEmpty(s) || s.Length > 255 + 128 + 72) throw Invalid();
        if (Images.Digest.IsHex64(s))
            throw BerthException.Invalid($"invalid repository name ({s}), cannot specify 64-byte hexadecimal strings");

        string rest = s;
        Digest? digest = null;
        int at = rest.IndexOf('@');
        if (at >= 0)
        {
            if (!Images.Digest.TryParse(rest[(at + 1)..], out var d)) throw Invalid();
            digest = d;
            rest = rest[..at];
        }
        string? tag = null;
        int colon = rest.LastIndexOf(':');
        if (colon > rest.LastIndexOf('/'))
        {
            tag = rest[(colon + 1)..];
            rest = rest[..colon];
            if (!TagRx().IsMatch(tag)) throw Invalid();
        }
        if (rest.Length == 0) throw Invalid();

        string domain, path;
        int slash = rest.IndexOf('/');
        var first = slash < 0 ? rest : rest[..slash];
        if (slash >= 0 && (first.Contains('.') || first.Contains(':') || first == "localhost" || first.Any(char.IsUpper)))
        {
            domain = first;
            path = rest[(slash + 1)..];
            if (!DomainRx().IsMatch(domain)) throw Invalid();
        }
        else
        {
            domain = DefaultDomain;
            path = rest;
        }
        if (domain == "index.docker.io") domain = DefaultDomain;
        if (domain == DefaultDomain && !path.Contains('/')) path = "library/" + path;

        foreach (var c in path.Split('/'))
        {
            if (PathComponent().IsMatch(c)) continue;
            if (c.Length > 0 && PathComponent().IsMatch(c.ToLowerInvariant()))
                throw BerthException.Invalid($"invalid reference format: repository name ({path}) must be lowercase");
            throw Invalid();
        }
        if (domain.Length + 1 + path.Length > 255) throw BerthException.Invalid("invalid reference format: repository name must not be more than 255 characters");
        return new ImageReference(domain, path, tag, digest);
    }

    private static BerthException Invalid() => BerthException.Invalid("invalid reference format");
}
