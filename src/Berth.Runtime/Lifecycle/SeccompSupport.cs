using Berth.Runtime.Spec;

namespace Berth.Runtime.Lifecycle;

/// <summary>Compiles the spec's seccomp section for the plan (placeholder until Berth.Runtime.Seccomp lands).</summary>
internal static class SeccompSupport
{
    public static (byte[]? Filter, ulong Flags) Compile(LinuxSeccomp seccomp, Action<string> warn)
    {
        warn("seccomp is not supported yet; the filter is ignored");
        _ = seccomp;
        return (null, 0);
    }
}
