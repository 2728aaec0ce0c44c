namespace Berth.Cgroups.V2;

/// <summary>One eBPF instruction (struct bpf_insn: u8 code, u8 dst_reg:4 src_reg:4, s16 off, s32 imm).</summary>
internal readonly record struct BpfInsn(byte Code, byte Dst, byte Src, short Off, int Imm)
{
    /// <summary>The 8-byte little-endian kernel encoding.</summary>
    public ulong Encode() =>
        Code | ((ulong)(Dst & 0xf) << 8) | ((ulong)(Src & 0xf) << 12) | ((ulong)(ushort)Off << 16) | ((ulong)(uint)Imm << 32);

    public static BpfInsn Decode(ulong raw) =>
        new((byte)raw, (byte)((raw >> 8) & 0xf), (byte)((raw >> 12) & 0xf), (short)(ushort)(raw >> 16), (int)(uint)(raw >> 32));
}

/// <summary>The opcode pieces Berth emits (linux/bpf_common.h, linux/bpf.h).</summary>
internal static class Bpf
{
    // Instruction classes.
    public const byte LDX = 0x01, ALU = 0x04, JMP = 0x05, ALU64 = 0x07;

    // Load size / mode.
    public const byte W = 0x00, MEM = 0x60;

    // Operand source.
    public const byte K = 0x00, X = 0x08;

    // ALU operations.
    public const byte AND = 0x50, RSH = 0x70, MOV = 0xb0;

    // Jump operations.
    public const byte JA = 0x00, JEQ = 0x10, JNE = 0x50, EXIT = 0x90;

    // Registers.
    public const byte R0 = 0, R1 = 1, R2 = 2, R3 = 3, R4 = 4, R5 = 5;
}

/// <summary>A tiny eBPF assembler with forward labels (jump offsets are fixed up in <see cref="Build"/>).</summary>
internal sealed class BpfAssembler
{
    private readonly List<BpfInsn> _insns = [];
    private readonly List<(int Index, int Label)> _fixups = [];
    private readonly List<int> _labels = [];

    public int Count => _insns.Count;

    public int NewLabel()
    {
        _labels.Add(-1);
        return _labels.Count - 1;
    }

    public void Mark(int label) => _labels[label] = _insns.Count;

    /// <summary>dst = *(u32 *)(src + off).</summary>
    public void LdxW(byte dst, byte src, short off) => _insns.Add(new(Bpf.LDX | Bpf.MEM | Bpf.W, dst, src, off, 0));

    /// <summary>dst = (u32)imm (32-bit ALU: the upper half of dst is zeroed).</summary>
    public void Mov32Imm(byte dst, int imm) => _insns.Add(new(Bpf.ALU | Bpf.MOV | Bpf.K, dst, 0, 0, imm));

    public void Mov32Reg(byte dst, byte src) => _insns.Add(new(Bpf.ALU | Bpf.MOV | Bpf.X, dst, src, 0, 0));

    public void And32Imm(byte dst, int imm) => _insns.Add(new(Bpf.ALU | Bpf.AND | Bpf.K, dst, 0, 0, imm));

    public void Rsh32Imm(byte dst, int imm) => _insns.Add(new(Bpf.ALU | Bpf.RSH | Bpf.K, dst, 0, 0, imm));

    /// <summary>if (dst != imm) goto label (64-bit compare, imm sign-extended).</summary>
    public void JneImm(byte dst, int imm, int label) => Jump(Bpf.JMP | Bpf.JNE | Bpf.K, dst, imm, label);

    /// <summary>if (dst == imm) goto label.</summary>
    public void JeqImm(byte dst, int imm, int label) => Jump(Bpf.JMP | Bpf.JEQ | Bpf.K, dst, imm, label);

    public void Ja(int label) => Jump(Bpf.JMP | Bpf.JA, 0, 0, label);

    public void Exit() => _insns.Add(new(Bpf.JMP | Bpf.EXIT, 0, 0, 0, 0));

    /// <summary>r0 = value; exit.</summary>
    public void Return(int value)
    {
        Mov32Imm(Bpf.R0, value);
        Exit();
    }

    private void Jump(int code, byte dst, int imm, int label)
    {
        _fixups.Add((_insns.Count, label));
        _insns.Add(new((byte)code, dst, 0, 0, imm));
    }

    public BpfInsn[] Build()
    {
        var result = _insns.ToArray();
        foreach (var (index, label) in _fixups)
        {
            var target = _labels[label];
            if (target < 0)
            {
                throw new InvalidOperationException($"eBPF assembler: label {label} was never marked");
            }

            var off = target - (index + 1);
            if (off is < short.MinValue or > short.MaxValue)
            {
                throw new InvalidOperationException("eBPF assembler: jump offset out of range (program too large)");
            }

            result[index] = result[index] with { Off = (short)off };
        }

        return result;
    }
}
