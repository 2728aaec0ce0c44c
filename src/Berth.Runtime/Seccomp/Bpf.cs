namespace Berth.Runtime.Seccomp;

/// <summary>Classic BPF and seccomp constants (linux/filter.h, linux/bpf_common.h, linux/seccomp.h, linux/audit.h).</summary>
public static class Bpf
{
    public const int InstructionSize = 8;
    public const int MaxInstructions = 4096; // BPF_MAXINSNS

    // Opcodes used by the compiler.
    public const ushort LdWAbs = 0x20;  // BPF_LD | BPF_W | BPF_ABS
    public const ushort AluAndK = 0x54; // BPF_ALU | BPF_AND | BPF_K
    public const ushort Ja = 0x05;      // BPF_JMP | BPF_JA
    public const ushort JeqK = 0x15;    // BPF_JMP | BPF_JEQ | BPF_K
    public const ushort JgtK = 0x25;    // BPF_JMP | BPF_JGT | BPF_K
    public const ushort JgeK = 0x35;    // BPF_JMP | BPF_JGE | BPF_K
    public const ushort JsetK = 0x45;   // BPF_JMP | BPF_JSET | BPF_K
    public const ushort RetK = 0x06;    // BPF_RET | BPF_K

    // struct seccomp_data offsets.
    public const uint OffsetNr = 0;
    public const uint OffsetArch = 4;
    public const uint OffsetIp = 8;
    public const uint OffsetArgs = 16;

    // AUDIT_ARCH_*.
    public const uint AuditArchX86_64 = 0xC000003E;
    public const uint AuditArchI386 = 0x40000003;
    public const uint X32SyscallBit = 0x40000000;

    // SECCOMP_RET_*.
    public const uint RetKillProcess = 0x80000000;
    public const uint RetKillThread = 0x00000000;
    public const uint RetTrap = 0x00030000;
    public const uint RetErrno = 0x00050000;
    public const uint RetUserNotif = 0x7fc00000;
    public const uint RetTrace = 0x7ff00000;
    public const uint RetLog = 0x7ffc0000;
    public const uint RetAllow = 0x7fff0000;
    public const uint RetActionFull = 0xffff0000;
    public const uint RetData = 0x0000ffff;

    // SECCOMP_FILTER_FLAG_*.
    public const uint FlagTsync = 1;
    public const uint FlagLog = 2;
    public const uint FlagSpecAllow = 4;

    public const uint Enosys = 38;
    public const uint Eperm = 1;
}
