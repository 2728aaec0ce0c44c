using Berth.Runtime.Seccomp;
using Berth.Runtime.Spec;

namespace Berth.Runtime.Lifecycle;

/// <summary>Compiles the spec's seccomp section for the plan.</summary>
internal static class SeccompSupport
{
    /// <remarks>
    /// The compiler's warnings are about syscall names this kernel or architecture does not know; runc (through
    /// libseccomp) skips those silently, and so do we.
    /// </remarks>
    /// <remarks>
    /// Compiled once per profile object: berthd hands every container with the same capabilities the same
    /// (cached, never modified) profile, so a start does not compile it again.
    /// </remarks>
    public static (byte[]? Filter, ulong Flags) Compile(LinuxSeccomp seccomp, Action<string> warn)
    {
        _ = warn;
        var compiled = Compiled.GetValue(seccomp, static s => SeccompCompiler.Compile(s));
        return (compiled.Program, compiled.Flags);
    }

    private static readonly System.Runtime.CompilerServices.ConditionalWeakTable<LinuxSeccomp, CompiledFilter> Compiled = new();
}
