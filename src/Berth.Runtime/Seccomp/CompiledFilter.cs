namespace Berth.Runtime.Seccomp;

/// <summary>
/// A classic-BPF seccomp program ready for seccomp(SECCOMP_SET_MODE_FILTER, Flags, &amp;prog).
/// </summary>
public sealed class CompiledFilter
{
    public CompiledFilter(byte[] program, uint flags, IReadOnlyList<string> warnings)
    {
        Program = program;
        Flags = flags;
        Warnings = warnings;
    }

    /// <summary>The program as an array of <c>struct sock_filter</c> (8 bytes each, little endian).</summary>
    public byte[] Program { get; }

    /// <summary>Number of BPF instructions (the <c>len</c> of <c>struct sock_fprog</c>).</summary>
    public int InstructionCount => Program.Length / Bpf.InstructionSize;

    /// <summary>SECCOMP_FILTER_FLAG_* bits to pass to seccomp(2).</summary>
    public uint Flags { get; }

    /// <summary>Non-fatal findings, e.g. syscall names unknown on every architecture of the filter.</summary>
    public IReadOnlyList<string> Warnings { get; }
}
