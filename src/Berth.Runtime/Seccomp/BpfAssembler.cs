using System.Buffers.Binary;

namespace Berth.Runtime.Seccomp;

/// <summary>A jump destination: a <see cref="Label"/> or "any <c>ret K</c>" (<see cref="RetTarget"/>).</summary>
internal abstract class Target;

/// <summary>Binds to the next instruction emitted after <see cref="BpfAssembler.Mark"/>.</summary>
internal sealed class Label : Target
{
    public Insn? Bound { get; set; }
}

/// <summary>Any <c>ret K</c> instruction; the linker reuses a reachable one or inserts a copy.</summary>
internal sealed class RetTarget(uint k) : Target
{
    public uint K { get; } = k;
}

internal sealed class Insn(ushort code, uint k)
{
    public ushort Code { get; } = code;
    public uint K { get; set; } = k;
    public Target? Jt { get; init; }
    public Target? Jf { get; init; }
    public Label? JaTarget { get; init; }
    public Insn? ResolvedJt { get; set; }
    public Insn? ResolvedJf { get; set; }
    public int Pos { get; set; }
    public bool IsConditional => (Code & 0x07) == 0x05 && Code != Bpf.Ja;
}

/// <summary>
/// Emits classic BPF with symbolic forward targets, then links it: conditional jumps farther than
/// 255 instructions are redirected to a nearby copy of the return (for <see cref="RetTarget"/>) or a
/// <c>ja</c> trampoline (for labels), reusing an existing one within range when possible.
/// </summary>
internal sealed class BpfAssembler
{
    private readonly List<Insn> _code = [];
    private readonly List<Label> _pending = [];

    public int Count => _code.Count;

    public void Mark(Label label) => _pending.Add(label);

    public void LoadAbs(uint offset) => Emit(new Insn(Bpf.LdWAbs, offset));

    public void AndK(uint k) => Emit(new Insn(Bpf.AluAndK, k));

    public void Ret(uint k) => Emit(new Insn(Bpf.RetK, k));

    public void Jump(Label target) => Emit(new Insn(Bpf.Ja, 0) { JaTarget = target });

    public void Jump(ushort op, uint k, Target jt, Target jf) => Emit(new Insn(op, k) { Jt = jt, Jf = jf });

    /// <summary>Conditional jump whose false branch falls through to the next emitted instruction.</summary>
    public void JumpIf(ushort op, uint k, Target jt)
    {
        var next = new Label();
        Jump(op, k, jt, next);
        Mark(next);
    }

    /// <summary>Conditional jump whose true branch falls through to the next emitted instruction.</summary>
    public void JumpIfNot(ushort op, uint k, Target jf)
    {
        var next = new Label();
        Jump(op, k, next, jf);
        Mark(next);
    }

    private void Emit(Insn insn)
    {
        foreach (var l in _pending)
        {
            l.Bound = insn;
        }

        _pending.Clear();
        _code.Add(insn);
    }

    public byte[] Link()
    {
        if (_pending.Count != 0)
        {
            throw new InvalidOperationException("seccomp compiler bug: label marked after the last instruction");
        }

        var code = new List<Insn>(_code);
        Renumber(code, 0);

        // Backwards, so insertions after instruction i only move instructions whose jumps are already final.
        for (var i = code.Count - 1; i >= 0; i--)
        {
            var insn = code[i];
            if (insn.IsConditional)
            {
                insn.ResolvedJt = Reach(code, i, insn.Jt!);
                insn.ResolvedJf = Reach(code, i, insn.Jf!);
            }
        }

        var last = code[^1];
        if (last.Code != Bpf.RetK && last.Code != Bpf.Ja)
        {
            throw new InvalidOperationException("seccomp compiler bug: program does not end with a return");
        }

        var bytes = new byte[code.Count * Bpf.InstructionSize];
        for (var i = 0; i < code.Count; i++)
        {
            var insn = code[i];
            byte jt = 0, jf = 0;
            var k = insn.K;
            if (insn.IsConditional)
            {
                jt = checked((byte)(insn.ResolvedJt!.Pos - i - 1));
                jf = checked((byte)(insn.ResolvedJf!.Pos - i - 1));
            }
            else if (insn.Code == Bpf.Ja)
            {
                var target = Bound(insn.JaTarget!);
                k = (uint)(target.Pos - i - 1);
            }

            var span = bytes.AsSpan(i * Bpf.InstructionSize, Bpf.InstructionSize);
            BinaryPrimitives.WriteUInt16LittleEndian(span, insn.Code);
            span[2] = jt;
            span[3] = jf;
            BinaryPrimitives.WriteUInt32LittleEndian(span[4..], k);
        }

        return bytes;
    }

    private static Insn Bound(Label l) =>
        l.Bound ?? throw new InvalidOperationException("seccomp compiler bug: unbound label");

    private static void Renumber(List<Insn> code, int from)
    {
        for (var i = from; i < code.Count; i++)
        {
            code[i].Pos = i;
        }
    }

    private static Insn Reach(List<Insn> code, int i, Target target)
    {
        var limit = Math.Min(code.Count - 1, i + 256);
        Insn inserted;
        if (target is Label label)
        {
            var dest = Bound(label);
            if (dest.Pos <= i)
            {
                throw new InvalidOperationException("seccomp compiler bug: backward jump");
            }

            if (dest.Pos - i - 1 <= 255)
            {
                return dest;
            }

            for (var j = i + 1; j <= limit; j++)
            {
                if (code[j].Code == Bpf.Ja && code[j].JaTarget!.Bound == dest)
                {
                    return code[j];
                }
            }

            inserted = new Insn(Bpf.Ja, 0) { JaTarget = label };
        }
        else
        {
            var k = ((RetTarget)target).K;
            for (var j = i + 1; j <= limit; j++)
            {
                if (code[j].Code == Bpf.RetK && code[j].K == k)
                {
                    return code[j];
                }
            }

            inserted = new Insn(Bpf.RetK, k);
        }

        code.Insert(i + 1, inserted);
        Renumber(code, i + 1);
        return inserted;
    }
}
