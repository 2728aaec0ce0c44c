using System.Buffers.Binary;
using System.Globalization;
using System.Text;
using Berth.Core;
using Berth.Runtime.Spec;

namespace Berth.Runtime.Seccomp;

/// <summary>
/// Compiles an OCI <see cref="LinuxSeccomp"/> profile to a classic-BPF seccomp program with the
/// semantics runc gets from libseccomp plus runc's -ENOSYS stub (libcontainer/seccomp/patchbpf).
/// </summary>
/// <remarks>
/// Layout: <c>ld arch</c>; one <c>jeq</c> per architecture section; the bad-arch action
/// (SCMP_ACT_KILL_THREAD, libseccomp's default, which runc keeps). Each section loads the syscall
/// number, runs the -ENOSYS stub, then a binary search on the syscall number (leaves of up to four
/// <c>jeq</c>) that jumps to a return of the rule's action or to an argument-checking body; a miss
/// returns the default action. x86_64 and x32 share AUDIT_ARCH_X86_64: with x32 in the profile both
/// share one section (x32 numbers carry bit 30), without it numbers &gt;= 0x40000000 except -1 get
/// the bad-arch action, exactly like libseccomp's generated code.
/// </remarks>
public static class SeccompCompiler
{
    private const string Field = "linux.seccomp";
    private const int LeafSize = 4;

    private enum Op
    {
        NotEqual,
        LessThan,
        LessOrEqual,
        Equal,
        GreaterOrEqual,
        GreaterThan,
        MaskedEqual,
    }

    private sealed record Condition(uint Index, Op Op, ulong Value, ulong ValueTwo);

    private sealed record Rule(string Name, uint Action, Condition[] Conditions);

    private sealed class Entry(uint nr, bool is32Bit)
    {
        public uint Nr { get; } = nr;
        public bool Is32Bit { get; } = is32Bit;
        public List<Rule> Rules { get; } = [];
        public Label? Body { get; set; }
    }

    /// <summary>Compiles <paramref name="spec"/>; throws <see cref="BerthException"/> (InvalidParameter) naming the bad field.</summary>
    public static CompiledFilter Compile(LinuxSeccomp spec)
    {
        ArgumentNullException.ThrowIfNull(spec);
        var warnings = new List<string>();

        var defaultAction = ParseAction(spec.DefaultAction, spec.DefaultErrnoRet, $"{Field}.defaultAction", $"{Field}.defaultErrnoRet", warnings);
        var flags = ParseFlags(spec.Flags);
        if (!string.IsNullOrEmpty(spec.ListenerPath))
        {
            throw Invalid($"{Field}.listenerPath: seccomp user notification (SCMP_ACT_NOTIFY / listenerPath) is not supported by Berth");
        }

        var (x64Listed, x32Listed, i386Listed) = ParseArchitectures(spec.Architectures, warnings);
        var x32InFilter = x32Listed;
        var i386InFilter = i386Listed;

        var x64 = new Dictionary<uint, Entry>();
        var i386 = new Dictionary<uint, Entry>();
        uint max64 = 0, max32 = 0, max386 = 0;

        var syscalls = spec.Syscalls ?? [];
        for (var s = 0; s < syscalls.Count; s++)
        {
            var sc = syscalls[s] ?? throw Invalid($"{Field}.syscalls[{s}]: null entry");
            var path = $"{Field}.syscalls[{s}]";
            var action = ParseAction(sc.Action, sc.ErrnoRet, $"{path}.action", $"{path}.errnoRet", warnings);
            var ruleConditions = ParseConditions(sc.Args, path);
            if (sc.Names is null || sc.Names.Count == 0)
            {
                warnings.Add($"{path}.names: empty, entry ignored");
                continue;
            }

            for (var n = 0; n < sc.Names.Count; n++)
            {
                var name = sc.Names[n];
                if (string.IsNullOrEmpty(name))
                {
                    throw Invalid($"{path}.names[{n}]: empty syscall name");
                }

                var nr64 = SyscallTables.X86_64(name);
                var nrX32 = SyscallTables.X32(name);
                var nr386 = SyscallTables.I386(name);

                // runc's -ENOSYS stub looks at every name in the profile, whatever its action.
                if (nr64 >= 0) max64 = Math.Max(max64, (uint)nr64);
                if (nrX32 >= 0) max32 = Math.Max(max32, Bpf.X32SyscallBit | (uint)nrX32);
                if (nr386 >= 0) max386 = Math.Max(max386, (uint)nr386);

                var known = nr64 >= 0 || (x32InFilter && nrX32 >= 0) || (i386InFilter && nr386 >= 0);
                if (!known)
                {
                    warnings.Add($"{path}.names[{n}]: syscall \"{name}\" is unknown on the filter's architectures, ignored");
                    continue;
                }

                // runc skips rules whose action equals the default action (libseccomp rejects them).
                if (action == defaultAction)
                {
                    continue;
                }

                foreach (var conditions in ruleConditions)
                {
                    var rule = new Rule(name, action, conditions);
                    if (nr64 >= 0) Add(x64, (uint)nr64, false, rule);
                    if (x32InFilter && nrX32 >= 0) Add(x64, Bpf.X32SyscallBit | (uint)nrX32, true, rule);
                    if (i386InFilter && nr386 >= 0) Add(i386, (uint)nr386, true, rule);
                }
            }
        }

        // runc (patchbpf.generatePatch): no stub when the default errno is ENOSYS or the default action is permissive.
        var defaultKind = defaultAction & Bpf.RetActionFull;
        var stub = spec.DefaultErrnoRet != Bpf.Enosys &&
                   defaultKind is not (Bpf.RetAllow or Bpf.RetLog or Bpf.RetTrace);
        var enosys = Bpf.RetErrno | Bpf.Enosys;

        var asm = new BpfAssembler();
        var x64Section = new Label();
        var i386Section = new Label();
        asm.LoadAbs(Bpf.OffsetArch);
        asm.JumpIf(Bpf.JeqK, Bpf.AuditArchX86_64, x64Section);
        if (i386InFilter)
        {
            asm.JumpIf(Bpf.JeqK, Bpf.AuditArchI386, i386Section);
        }

        asm.Ret(Bpf.RetKillThread); // bad architecture

        // x86_64 (+ x32) section.
        asm.Mark(x64Section);
        asm.LoadAbs(Bpf.OffsetNr);
        var filter = new Label();
        var stub64 = stub && x64Listed && max64 != 0;
        var stub32 = stub && x32Listed && max32 != 0;
        if (stub64 && stub32)
        {
            var x32Check = new Label();
            asm.JumpIf(Bpf.JsetK, Bpf.X32SyscallBit, x32Check);
            asm.Jump(Bpf.JgtK, max64, new RetTarget(enosys), filter);
            asm.Mark(x32Check);
            asm.Jump(Bpf.JgtK, max32, new RetTarget(enosys), filter);
        }
        else if (stub64)
        {
            asm.JumpIf(Bpf.JsetK, Bpf.X32SyscallBit, filter);
            asm.Jump(Bpf.JgtK, max64, new RetTarget(enosys), filter);
        }
        else if (stub32)
        {
            asm.JumpIfNot(Bpf.JsetK, Bpf.X32SyscallBit, filter);
            asm.JumpIf(Bpf.JgtK, max32, new RetTarget(enosys));
        }

        asm.Mark(filter);
        var chain = new Label();
        if (!x32InFilter)
        {
            // libseccomp: x86_64 without x32 rejects x32 syscall numbers, but lets -1 (tracer skip) through.
            asm.JumpIfNot(Bpf.JgeK, Bpf.X32SyscallBit, chain);
            asm.Jump(Bpf.JeqK, uint.MaxValue, chain, new RetTarget(Bpf.RetKillThread));
        }

        asm.Mark(chain);
        EmitSection(asm, x64, defaultAction, warnings);

        if (i386InFilter)
        {
            asm.Mark(i386Section);
            asm.LoadAbs(Bpf.OffsetNr);
            if (stub && max386 != 0)
            {
                asm.JumpIf(Bpf.JgtK, max386, new RetTarget(enosys));
            }

            EmitSection(asm, i386, defaultAction, warnings);
        }

        var program = asm.Link();
        if (program.Length / Bpf.InstructionSize > Bpf.MaxInstructions)
        {
            throw Invalid($"{Field}.syscalls: the compiled filter has {program.Length / Bpf.InstructionSize} instructions, more than the kernel's limit of {Bpf.MaxInstructions}");
        }

        return new CompiledFilter(program, flags, warnings);
    }

    private static void Add(Dictionary<uint, Entry> entries, uint nr, bool is32Bit, Rule rule)
    {
        if (!entries.TryGetValue(nr, out var entry))
        {
            entry = new Entry(nr, is32Bit);
            entries.Add(nr, entry);
        }

        entry.Rules.Add(rule);
    }

    private static void EmitSection(BpfAssembler asm, Dictionary<uint, Entry> entries, uint defaultAction, List<string> warnings)
    {
        var sorted = entries.Values.OrderBy(e => e.Nr).ToArray();
        if (sorted.Length == 0)
        {
            asm.Ret(defaultAction);
            return;
        }

        EmitTree(asm, sorted, defaultAction);
        foreach (var entry in sorted)
        {
            if (entry.Body is not null)
            {
                EmitBody(asm, entry, defaultAction, warnings);
            }
        }
    }

    private static void EmitTree(BpfAssembler asm, ReadOnlySpan<Entry> entries, uint defaultAction)
    {
        if (entries.Length <= LeafSize)
        {
            for (var i = 0; i < entries.Length; i++)
            {
                var e = entries[i];
                Target hit;
                if (e.Rules.Count == 1 && e.Rules[0].Conditions.Length == 0)
                {
                    hit = new RetTarget(e.Rules[0].Action);
                }
                else
                {
                    e.Body = new Label();
                    hit = e.Body;
                }

                if (i == entries.Length - 1)
                {
                    asm.Jump(Bpf.JeqK, e.Nr, hit, new RetTarget(defaultAction));
                }
                else
                {
                    asm.JumpIf(Bpf.JeqK, e.Nr, hit);
                }
            }

            return;
        }

        var mid = entries.Length / 2;
        var upper = new Label();
        asm.JumpIf(Bpf.JgeK, entries[mid].Nr, upper);
        EmitTree(asm, entries[..mid], defaultAction);
        asm.Mark(upper);
        EmitTree(asm, entries[mid..], defaultAction);
    }

    /// <summary>Rules are tried in profile order; the first whose conditions all hold decides; else the default action.</summary>
    private static void EmitBody(BpfAssembler asm, Entry entry, uint defaultAction, List<string> warnings)
    {
        asm.Mark(entry.Body!);
        for (var r = 0; r < entry.Rules.Count; r++)
        {
            var rule = entry.Rules[r];
            if (rule.Conditions.Length == 0)
            {
                asm.Ret(rule.Action);
                if (r < entry.Rules.Count - 1)
                {
                    warnings.Add($"syscall \"{rule.Name}\": an unconditional rule shadows {entry.Rules.Count - 1 - r} later rule(s)");
                }

                return;
            }

            var last = r == entry.Rules.Count - 1;
            var nextRule = new Label();
            Target fail = last ? new RetTarget(defaultAction) : nextRule;
            foreach (var c in rule.Conditions)
            {
                var pass = new Label();
                EmitCondition(asm, c, entry.Is32Bit, pass, fail);
                asm.Mark(pass);
            }

            asm.Ret(rule.Action);
            if (!last)
            {
                asm.Mark(nextRule);
            }
        }
    }

    private static void EmitCondition(BpfAssembler asm, Condition c, bool is32Bit, Target pass, Target fail)
    {
        var lo = Bpf.OffsetArgs + (8 * c.Index);
        var hi = lo + 4;
        var vLo = (uint)c.Value;
        var vHi = (uint)(c.Value >> 32);

        if (c.Op == Op.MaskedEqual)
        {
            var dLo = (uint)c.ValueTwo;
            var dHi = (uint)(c.ValueTwo >> 32);
            if (!is32Bit && (vHi != 0 || dHi != 0))
            {
                asm.LoadAbs(hi);
                asm.AndK(vHi);
                asm.JumpIfNot(Bpf.JeqK, dHi, fail);
            }

            asm.LoadAbs(lo);
            asm.AndK(vLo);
            asm.Jump(Bpf.JeqK, dLo, pass, fail);
            return;
        }

        if (!is32Bit)
        {
            // High word first; only an equal high word defers to the low word.
            asm.LoadAbs(hi);
            switch (c.Op)
            {
                case Op.Equal:
                    asm.JumpIfNot(Bpf.JeqK, vHi, fail);
                    break;
                case Op.NotEqual:
                    asm.JumpIfNot(Bpf.JeqK, vHi, pass);
                    break;
                case Op.GreaterThan:
                case Op.GreaterOrEqual:
                    asm.JumpIf(Bpf.JgtK, vHi, pass);
                    asm.JumpIfNot(Bpf.JeqK, vHi, fail);
                    break;
                case Op.LessThan:
                case Op.LessOrEqual:
                    asm.JumpIfNot(Bpf.JgeK, vHi, pass);
                    asm.JumpIf(Bpf.JgtK, vHi, fail);
                    break;
            }
        }

        asm.LoadAbs(lo);
        switch (c.Op)
        {
            case Op.Equal:
                asm.Jump(Bpf.JeqK, vLo, pass, fail);
                break;
            case Op.NotEqual:
                asm.Jump(Bpf.JeqK, vLo, fail, pass);
                break;
            case Op.GreaterThan:
                asm.Jump(Bpf.JgtK, vLo, pass, fail);
                break;
            case Op.GreaterOrEqual:
                asm.Jump(Bpf.JgeK, vLo, pass, fail);
                break;
            case Op.LessThan:
                asm.Jump(Bpf.JgeK, vLo, fail, pass);
                break;
            case Op.LessOrEqual:
                asm.Jump(Bpf.JgtK, vLo, fail, pass);
                break;
        }
    }

    private static uint ParseAction(string? action, uint? errnoRet, string field, string errnoField, List<string> warnings)
    {
        uint Errno()
        {
            var e = errnoRet ?? Bpf.Eperm;
            if (e > Bpf.RetData)
            {
                throw Invalid($"{errnoField}: {e} does not fit in the 16-bit SECCOMP_RET_DATA field");
            }

            return e;
        }

        uint result = action switch
        {
            "SCMP_ACT_KILL" or "SCMP_ACT_KILL_THREAD" => Bpf.RetKillThread,
            "SCMP_ACT_KILL_PROCESS" => Bpf.RetKillProcess,
            "SCMP_ACT_TRAP" => Bpf.RetTrap,
            "SCMP_ACT_ERRNO" => Bpf.RetErrno | Errno(),
            "SCMP_ACT_TRACE" => Bpf.RetTrace | Errno(),
            "SCMP_ACT_ALLOW" => Bpf.RetAllow,
            "SCMP_ACT_LOG" => Bpf.RetLog,
            "SCMP_ACT_NOTIFY" => throw Invalid($"{field}: action \"SCMP_ACT_NOTIFY\" is not supported by Berth (no seccomp user notification)"),
            null or "" => throw Invalid($"{field}: missing action"),
            _ => throw Invalid($"{field}: unknown action \"{action}\""),
        };

        if (errnoRet is not null && action is not ("SCMP_ACT_ERRNO" or "SCMP_ACT_TRACE"))
        {
            warnings.Add($"{errnoField}: ignored with action \"{action}\" (only SCMP_ACT_ERRNO and SCMP_ACT_TRACE take an errno)");
        }

        return result;
    }

    private static List<Condition[]> ParseConditions(List<LinuxSeccompArg>? args, string path)
    {
        if (args is null || args.Count == 0)
        {
            return [[]];
        }

        var conditions = new Condition[args.Count];
        var perIndex = new int[6];
        for (var a = 0; a < args.Count; a++)
        {
            var arg = args[a] ?? throw Invalid($"{path}.args[{a}]: null entry");
            if (arg.Index > 5)
            {
                throw Invalid($"{path}.args[{a}].index: {arg.Index} is out of range (syscalls have 6 arguments, 0..5)");
            }

            var op = arg.Op switch
            {
                "SCMP_CMP_NE" => Op.NotEqual,
                "SCMP_CMP_LT" => Op.LessThan,
                "SCMP_CMP_LE" => Op.LessOrEqual,
                "SCMP_CMP_EQ" => Op.Equal,
                "SCMP_CMP_GE" => Op.GreaterOrEqual,
                "SCMP_CMP_GT" => Op.GreaterThan,
                "SCMP_CMP_MASKED_EQ" => Op.MaskedEqual,
                _ => throw Invalid($"{path}.args[{a}].op: unknown operator \"{arg.Op}\""),
            };
            perIndex[arg.Index]++;
            conditions[a] = new Condition(arg.Index, op, arg.Value, arg.ValueTwo);
        }

        // runc: when two conditions test the same argument, each condition becomes its own rule (OR).
        if (perIndex.Any(n => n > 1))
        {
            return conditions.Select(c => new[] { c }).ToList();
        }

        return [conditions];
    }

    private static uint ParseFlags(List<string>? flags)
    {
        uint result = 0;
        if (flags is null)
        {
            return result;
        }

        for (var i = 0; i < flags.Count; i++)
        {
            result |= flags[i] switch
            {
                "SECCOMP_FILTER_FLAG_TSYNC" => Bpf.FlagTsync,
                "SECCOMP_FILTER_FLAG_LOG" => Bpf.FlagLog,
                "SECCOMP_FILTER_FLAG_SPEC_ALLOW" => Bpf.FlagSpecAllow,
                "SECCOMP_FILTER_FLAG_NEW_LISTENER" or "SECCOMP_FILTER_FLAG_TSYNC_ESRCH" or "SECCOMP_FILTER_FLAG_WAIT_KILLABLE_RECV" =>
                    throw Invalid($"{Field}.flags[{i}]: flag \"{flags[i]}\" is not supported by Berth (no seccomp user notification)"),
                _ => throw Invalid($"{Field}.flags[{i}]: unknown flag \"{flags[i]}\""),
            };
        }

        return result;
    }

    private static readonly string[] ForeignArches =
    [
        "arm", "arm64", "aarch64", "mips", "mips64", "mips64n32", "mipsel", "mipsel64", "mipsel64n32",
        "ppc", "ppc64", "ppc64le", "s390", "s390x", "parisc", "parisc64", "riscv64", "loongarch64", "m68k", "sh", "sheb",
    ];

    private static (bool X64, bool X32, bool I386) ParseArchitectures(List<string>? arches, List<string> warnings)
    {
        bool x64 = false, x32 = false, i386 = false;
        if (arches is null)
        {
            return (x64, x32, i386);
        }

        for (var i = 0; i < arches.Count; i++)
        {
            var raw = arches[i] ?? "";
            var name = raw.StartsWith("SCMP_ARCH_", StringComparison.OrdinalIgnoreCase) ? raw[10..] : raw;
            switch (name.ToLowerInvariant())
            {
                case "x86_64" or "amd64" or "x86-64" or "x64" or "native":
                    x64 = true;
                    break;
                case "x32":
                    x32 = true;
                    break;
                case "x86" or "i386" or "i686":
                    i386 = true;
                    break;
                case var foreign when ForeignArches.Contains(foreign):
                    warnings.Add($"{Field}.architectures[{i}]: \"{raw}\" is not an x86 architecture; its syscalls get the bad-architecture action (kill)");
                    break;
                default:
                    throw Invalid($"{Field}.architectures[{i}]: unknown architecture \"{raw}\"");
            }
        }

        return (x64, x32, i386);
    }

    private static BerthException Invalid(string message) => new(ErrorKind.InvalidParameter, message);

    /// <summary>Human-readable listing of a classic-BPF program (one instruction per line).</summary>
    public static string Disassemble(byte[] program)
    {
        ArgumentNullException.ThrowIfNull(program);
        if (program.Length % Bpf.InstructionSize != 0)
        {
            throw new ArgumentException("program length is not a multiple of 8", nameof(program));
        }

        var sb = new StringBuilder();
        var count = program.Length / Bpf.InstructionSize;
        for (var i = 0; i < count; i++)
        {
            var span = program.AsSpan(i * Bpf.InstructionSize);
            var code = BinaryPrimitives.ReadUInt16LittleEndian(span);
            var jt = span[2];
            var jf = span[3];
            var k = BinaryPrimitives.ReadUInt32LittleEndian(span[4..]);
            var text = code switch
            {
                Bpf.LdWAbs => $"ld  [{k}]{FieldName(k)}",
                Bpf.AluAndK => $"and #0x{k:x}",
                Bpf.Ja => $"ja  {i + 1 + k:D4}",
                Bpf.JeqK => $"jeq #0x{k:x}, {i + 1 + jt:D4}, {i + 1 + jf:D4}",
                Bpf.JgtK => $"jgt #0x{k:x}, {i + 1 + jt:D4}, {i + 1 + jf:D4}",
                Bpf.JgeK => $"jge #0x{k:x}, {i + 1 + jt:D4}, {i + 1 + jf:D4}",
                Bpf.JsetK => $"jset #0x{k:x}, {i + 1 + jt:D4}, {i + 1 + jf:D4}",
                Bpf.RetK => $"ret #0x{k:x08} ({ActionName(k)})",
                _ => $"op 0x{code:x4} jt={jt} jf={jf} k=0x{k:x}",
            };
            sb.Append(i.ToString("D4", CultureInfo.InvariantCulture)).Append(": ").Append(text).Append('\n');
        }

        return sb.ToString();
    }

    private static string FieldName(uint offset) => offset switch
    {
        Bpf.OffsetNr => " nr",
        Bpf.OffsetArch => " arch",
        >= Bpf.OffsetArgs and < Bpf.OffsetArgs + 48 => $" args[{(offset - Bpf.OffsetArgs) / 8}].{((offset % 8 == 0) ? "lo" : "hi")}",
        _ => "",
    };

    /// <summary>Name of a SECCOMP_RET_* value, e.g. "ERRNO(1)".</summary>
    public static string ActionName(uint ret) => (ret & Bpf.RetActionFull) switch
    {
        Bpf.RetKillProcess => "KILL_PROCESS",
        Bpf.RetKillThread => "KILL_THREAD",
        Bpf.RetTrap => "TRAP",
        Bpf.RetErrno => $"ERRNO({ret & Bpf.RetData})",
        Bpf.RetUserNotif => "USER_NOTIF",
        Bpf.RetTrace => $"TRACE({ret & Bpf.RetData})",
        Bpf.RetLog => "LOG",
        Bpf.RetAllow => "ALLOW",
        _ => "?",
    };
}
