namespace Berth.Images;

/// <summary>
/// A mount to perform, as data (containerd's Mount plus the target): Type "overlay" or "bind",
/// Source, Target, and options as given to mount(8) ("ro", "rbind", or "key=value" filesystem data).
/// </summary>
public sealed record Mount(string Type, string Source, string Target, IReadOnlyList<string> Options)
{
    public override string ToString() => $"{Type} {Source} on {Target} ({string.Join(',', Options)})";
}
