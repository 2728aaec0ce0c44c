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
    public static (byte[]? Filter, ulong Flags) Compile(LinuxSeccomp seccomp, Action<string> warn)
    {
        _ = warn;
        var compiled = SeccompCompiler.Compile(seccomp);
        return (compiled.Program, compiled.Flags);
    }
}
