using Berth.Interop;

namespace Berth.Privileged.Tests.Infrastructure;

/// <summary>Whether the test process runs as root, and what to do when it does not.</summary>
public static class Root
{
    public const string SkipReason = "needs root";

    public static bool IsRoot { get; } = Libc.geteuid() == 0;

    /// <summary>CI=true: privileged tests must never be skipped silently.</summary>
    public static bool IsCi { get; } =
        string.Equals(Environment.GetEnvironmentVariable("CI"), "true", StringComparison.OrdinalIgnoreCase);

    /// <summary>
    /// Null when privileged tests can run (root), or when they must run and fail (CI=true, not root);
    /// otherwise "needs root".
    /// </summary>
    public static string? SkipIfNotRoot => IsRoot || IsCi ? null : SkipReason;

    /// <summary>Throws unless root. Called by every privileged helper so a non-root CI run fails loudly.</summary>
    public static void Require()
    {
        if (!IsRoot)
        {
            throw new InvalidOperationException(IsCi
                ? "privileged test needs root, and CI=true forbids skipping it: run the test suite as root"
                : "privileged test needs root");
        }
    }
}

/// <summary>
/// A fact that needs root. Not root: skipped with "needs root" — except under CI=true, where the test
/// runs anyway and fails (the harness calls <see cref="Root.Require"/>), so CI never skips silently.
/// </summary>
public sealed class PrivilegedFactAttribute : FactAttribute
{
    public PrivilegedFactAttribute()
    {
        Skip = Root.SkipIfNotRoot;
    }
}

/// <summary>A theory that needs root; same rules as <see cref="PrivilegedFactAttribute"/>.</summary>
public sealed class PrivilegedTheoryAttribute : TheoryAttribute
{
    public PrivilegedTheoryAttribute()
    {
        Skip = Root.SkipIfNotRoot;
    }
}
