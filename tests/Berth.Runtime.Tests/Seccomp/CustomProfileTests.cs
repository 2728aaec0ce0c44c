using Berth.Core;
using Berth.Runtime.Seccomp;
using Berth.Runtime.Spec;
using static Berth.Runtime.Tests.Seccomp.SeccompTestData;

namespace Berth.Runtime.Tests.Seccomp;

public sealed class CustomProfileTests
{
    private static readonly List<string> AllArches = ["SCMP_ARCH_X86_64", "SCMP_ARCH_X86", "SCMP_ARCH_X32"];

    private static LinuxSyscall Rule(string name, string action, uint? errno = null, params LinuxSeccompArg[] args) =>
        new() { Names = [name], Action = action, ErrnoRet = errno, Args = args.Length == 0 ? null : [.. args] };

    private static LinuxSeccompArg Arg(uint index, string op, ulong value, ulong valueTwo = 0) =>
        new() { Index = index, Op = op, Value = value, ValueTwo = valueTwo };

    private static byte[] Compile(string defaultAction, params LinuxSyscall[] rules) =>
        SeccompCompiler.Compile(new LinuxSeccomp { DefaultAction = defaultAction, Architectures = AllArches, Syscalls = [.. rules] }).Program;

    [Theory]
    [InlineData("SCMP_ACT_KILL", KillThread)]
    [InlineData("SCMP_ACT_KILL_THREAD", KillThread)]
    [InlineData("SCMP_ACT_KILL_PROCESS", KillProcess)]
    [InlineData("SCMP_ACT_TRAP", Trap)]
    [InlineData("SCMP_ACT_ERRNO", 0x00050001u)]
    [InlineData("SCMP_ACT_TRACE", 0x7ff00001u)]
    [InlineData("SCMP_ACT_LOG", Log)]
    public void Each_action_kind(string action, uint expected)
    {
        var p = Compile("SCMP_ACT_ALLOW", Rule("getpid", action));
        Assert.Equal(expected, BpfInterpreter.Run(p, Nr64.Getpid));
        Assert.Equal(expected, BpfInterpreter.Run(p, Nr32.Getpid, BpfInterpreter.ArchI386));
        Assert.Equal(expected, BpfInterpreter.Run(p, X32 | 39));
        Assert.Equal(Allow, BpfInterpreter.Run(p, Nr64.Read));
        Assert.Equal(Allow, BpfInterpreter.Run(p, 1000)); // permissive default: no -ENOSYS stub
    }

    [Fact]
    public void ErrnoRet_and_defaultErrnoRet()
    {
        var f = SeccompCompiler.Compile(new LinuxSeccomp
        {
            DefaultAction = "SCMP_ACT_ERRNO",
            DefaultErrnoRet = 13,
            Architectures = AllArches,
            Syscalls = [Rule("read", "SCMP_ACT_ALLOW"), Rule("mount", "SCMP_ACT_ERRNO", 2), Rule("ptrace", "SCMP_ACT_TRACE", 7)],
        });
        Assert.Equal(Allow, BpfInterpreter.Run(f.Program, Nr64.Read));
        Assert.Equal(Errno(2), BpfInterpreter.Run(f.Program, Nr64.Mount));
        Assert.Equal(Trace(7), BpfInterpreter.Run(f.Program, Nr64.Ptrace));
        Assert.Equal(Errno(13), BpfInterpreter.Run(f.Program, Nr64.Write));
        Assert.Equal(Enosys, BpfInterpreter.Run(f.Program, Nr64.Mount + 1)); // mount (165) is the highest listed
    }

    [Fact]
    public void Default_errno_enosys_disables_the_stub()
    {
        var f = SeccompCompiler.Compile(new LinuxSeccomp
        {
            DefaultAction = "SCMP_ACT_KILL_PROCESS",
            DefaultErrnoRet = 38,
            Architectures = AllArches,
            Syscalls = [Rule("read", "SCMP_ACT_ALLOW")],
        });
        Assert.Equal(KillProcess, BpfInterpreter.Run(f.Program, 1000));
        Assert.Contains(f.Warnings, w => w.Contains("defaultErrnoRet", StringComparison.Ordinal));
    }

    [Fact]
    public void Kill_default_still_gets_the_enosys_stub()
    {
        var p = Compile("SCMP_ACT_KILL", Rule("read", "SCMP_ACT_ALLOW"), Rule("exit_group", "SCMP_ACT_ALLOW"));
        Assert.Equal(Allow, BpfInterpreter.Run(p, 231));
        Assert.Equal(KillThread, BpfInterpreter.Run(p, Nr64.Getpid));
        Assert.Equal(Enosys, BpfInterpreter.Run(p, 232));
    }

    [Fact]
    public void Rules_equal_to_the_default_action_are_dropped_but_still_count_for_the_stub()
    {
        var p = Compile("SCMP_ACT_ERRNO", Rule("read", "SCMP_ACT_ALLOW"), Rule("futex_waitv", "SCMP_ACT_ERRNO", 1));
        Assert.Equal(Eperm, BpfInterpreter.Run(p, Nr64.FutexWaitv));
        Assert.Equal(Eperm, BpfInterpreter.Run(p, Nr64.Mount));
        Assert.Equal(Enosys, BpfInterpreter.Run(p, Nr64.FutexWaitv + 1));
    }

    public static TheoryData<string> Ops => new() { "SCMP_CMP_EQ", "SCMP_CMP_NE", "SCMP_CMP_LT", "SCMP_CMP_LE", "SCMP_CMP_GE", "SCMP_CMP_GT" };

    private static readonly ulong[] Probes =
    [
        0, 1, 4, 5, 6, 0xffff_ffff, 0x1_0000_0000, 0x1_0000_0004, 0x1_0000_0005, 0x1_0000_0006, 0x1_ffff_ffff,
        0x2_0000_0000, 0x2_0000_0005, 0x0_0000_0005 | 0x8000_0000_0000_0000, ulong.MaxValue,
    ];

    [Theory]
    [MemberData(nameof(Ops))]
    public void Comparison_ops_use_64_bit_unsigned_order_on_x86_64(string op)
    {
        foreach (var value in new ulong[] { 0x1_0000_0005, 5, 0, ulong.MaxValue, 0x8000_0000_0000_0005 })
        {
            var p = Compile("SCMP_ACT_ERRNO", Rule("read", "SCMP_ACT_ALLOW"), Rule("mmap", "SCMP_ACT_ALLOW", null, Arg(3, op, value)));
            foreach (var a in Probes)
            {
                var holds = op switch
                {
                    "SCMP_CMP_EQ" => a == value,
                    "SCMP_CMP_NE" => a != value,
                    "SCMP_CMP_LT" => a < value,
                    "SCMP_CMP_LE" => a <= value,
                    "SCMP_CMP_GE" => a >= value,
                    _ => a > value,
                };
                var got = BpfInterpreter.Run(p, 9, BpfInterpreter.ArchX86_64, 0, 0, 0, a);
                Assert.True((holds ? Allow : Eperm) == got, $"{op} arg=0x{a:x} value=0x{value:x}: got {SeccompCompiler.ActionName(got)}");
            }
        }
    }

    [Theory]
    [MemberData(nameof(Ops))]
    public void Comparison_ops_use_the_low_word_on_i386(string op)
    {
        var p = Compile("SCMP_ACT_ERRNO", Rule("read", "SCMP_ACT_ALLOW"), Rule("mmap2", "SCMP_ACT_ALLOW", null, Arg(3, op, 5)));
        foreach (var a in new ulong[] { 0, 4, 5, 6, 0xffff_ffff })
        {
            var holds = op switch
            {
                "SCMP_CMP_EQ" => a == 5,
                "SCMP_CMP_NE" => a != 5,
                "SCMP_CMP_LT" => a < 5,
                "SCMP_CMP_LE" => a <= 5,
                "SCMP_CMP_GE" => a >= 5,
                _ => a > 5,
            };
            Assert.Equal(holds ? Allow : Eperm, BpfInterpreter.Run(p, 192, BpfInterpreter.ArchI386, 0, 0, 0, a));
        }
    }

    [Fact]
    public void Masked_eq_compares_both_words()
    {
        var p = Compile("SCMP_ACT_ERRNO", Rule("read", "SCMP_ACT_ALLOW"),
            Rule("ioctl", "SCMP_ACT_ALLOW", null, Arg(1, "SCMP_CMP_MASKED_EQ", 0xff00_0000_0000_00ff, 0x1200_0000_0000_0034)));
        Assert.Equal(Allow, BpfInterpreter.Run(p, 16, BpfInterpreter.ArchX86_64, 0, 0x12ab_cdef_1234_5634));
        Assert.Equal(Eperm, BpfInterpreter.Run(p, 16, BpfInterpreter.ArchX86_64, 0, 0x13ab_cdef_1234_5634));
        Assert.Equal(Eperm, BpfInterpreter.Run(p, 16, BpfInterpreter.ArchX86_64, 0, 0x12ab_cdef_1234_5635));
        // i386 only sees the low word of mask and datum.
        Assert.Equal(Allow, BpfInterpreter.Run(p, 54, BpfInterpreter.ArchI386, 0, 0x1234_5634));
    }

    [Fact]
    public void Args_are_anded_and_rules_are_ored()
    {
        var p = Compile("SCMP_ACT_ERRNO",
            Rule("read", "SCMP_ACT_ALLOW"),
            Rule("kill", "SCMP_ACT_ALLOW", null, Arg(0, "SCMP_CMP_EQ", 1), Arg(1, "SCMP_CMP_EQ", 9)),
            Rule("kill", "SCMP_ACT_ERRNO", 3, Arg(0, "SCMP_CMP_EQ", 2)),
            Rule("kill", "SCMP_ACT_LOG", null, Arg(1, "SCMP_CMP_GT", 100)));
        Assert.Equal(Allow, BpfInterpreter.Run(p, 62, BpfInterpreter.ArchX86_64, 1, 9));
        Assert.Equal(Eperm, BpfInterpreter.Run(p, 62, BpfInterpreter.ArchX86_64, 1, 8));
        Assert.Equal(Errno(3), BpfInterpreter.Run(p, 62, BpfInterpreter.ArchX86_64, 2, 9));
        Assert.Equal(Log, BpfInterpreter.Run(p, 62, BpfInterpreter.ArchX86_64, 1, 101));
    }

    [Fact]
    public void Two_conditions_on_one_argument_become_separate_rules_like_runc()
    {
        var p = Compile("SCMP_ACT_ERRNO", Rule("read", "SCMP_ACT_ALLOW"),
            Rule("kill", "SCMP_ACT_ALLOW", null, Arg(0, "SCMP_CMP_EQ", 1), Arg(0, "SCMP_CMP_EQ", 2)));
        Assert.Equal(Allow, BpfInterpreter.Run(p, 62, BpfInterpreter.ArchX86_64, 1));
        Assert.Equal(Allow, BpfInterpreter.Run(p, 62, BpfInterpreter.ArchX86_64, 2));
        Assert.Equal(Eperm, BpfInterpreter.Run(p, 62, BpfInterpreter.ArchX86_64, 3));
    }

    [Fact]
    public void Without_architectures_only_native_x86_64_is_allowed_and_there_is_no_stub()
    {
        var f = SeccompCompiler.Compile(new LinuxSeccomp { DefaultAction = "SCMP_ACT_ERRNO", Syscalls = [Rule("read", "SCMP_ACT_ALLOW")] });
        Assert.Equal(Allow, BpfInterpreter.Run(f.Program, Nr64.Read));
        Assert.Equal(Eperm, BpfInterpreter.Run(f.Program, 1000));
        Assert.Equal(Eperm, BpfInterpreter.Run(f.Program, uint.MaxValue)); // -1 passes libseccomp's x32 check
        Assert.Equal(KillThread, BpfInterpreter.Run(f.Program, X32 | NrX32.Read));
        Assert.Equal(KillThread, BpfInterpreter.Run(f.Program, Nr32.Read, BpfInterpreter.ArchI386));
    }

    [Fact]
    public void X86_64_listed_without_x32_kills_x32_and_stubs_only_x86_64()
    {
        var f = SeccompCompiler.Compile(new LinuxSeccomp { DefaultAction = "SCMP_ACT_ERRNO", Architectures = ["SCMP_ARCH_X86_64"], Syscalls = [Rule("getpid", "SCMP_ACT_ALLOW")] });
        Assert.Equal(Allow, BpfInterpreter.Run(f.Program, Nr64.Getpid));
        Assert.Equal(Eperm, BpfInterpreter.Run(f.Program, Nr64.Read));
        Assert.Equal(Enosys, BpfInterpreter.Run(f.Program, Nr64.Getpid + 1));
        Assert.Equal(KillThread, BpfInterpreter.Run(f.Program, X32 | 39));
        Assert.Equal(Eperm, BpfInterpreter.Run(f.Program, uint.MaxValue));
    }

    [Fact]
    public void Flags_are_mapped()
    {
        var f = SeccompCompiler.Compile(new LinuxSeccomp
        {
            DefaultAction = "SCMP_ACT_ALLOW",
            Flags = ["SECCOMP_FILTER_FLAG_TSYNC", "SECCOMP_FILTER_FLAG_LOG", "SECCOMP_FILTER_FLAG_SPEC_ALLOW"],
        });
        Assert.Equal(7u, f.Flags);
        Assert.Equal(Allow, BpfInterpreter.Run(f.Program, Nr64.Mount));
    }

    [Fact]
    public void Unknown_names_are_skipped_with_a_warning()
    {
        var f = SeccompCompiler.Compile(new LinuxSeccomp
        {
            DefaultAction = "SCMP_ACT_ERRNO",
            Architectures = AllArches,
            Syscalls = [new LinuxSyscall { Names = ["read", "no_such_syscall", "s390_runtime_instr"], Action = "SCMP_ACT_ALLOW" }],
        });
        Assert.Equal(Allow, BpfInterpreter.Run(f.Program, Nr64.Read));
        Assert.Contains(f.Warnings, w => w.Contains("\"no_such_syscall\"", StringComparison.Ordinal) && w.Contains("syscalls[0].names[1]", StringComparison.Ordinal));
        Assert.Contains(f.Warnings, w => w.Contains("\"s390_runtime_instr\"", StringComparison.Ordinal));
    }

    [Fact]
    public void Arch_specific_names_apply_only_where_they_exist()
    {
        var p = Compile("SCMP_ACT_ERRNO", Rule("chown32", "SCMP_ACT_ALLOW"), Rule("arch_prctl", "SCMP_ACT_ALLOW"));
        Assert.Equal(Allow, BpfInterpreter.Run(p, Nr32.Chown32, BpfInterpreter.ArchI386));
        Assert.Equal(Eperm, BpfInterpreter.Run(p, 100)); // times: unlisted, below arch_prctl
        Assert.Equal(Enosys, BpfInterpreter.Run(p, Nr32.Chown32)); // 212 on x86_64: above arch_prctl (158)
        Assert.Equal(Allow, BpfInterpreter.Run(p, Nr64.ArchPrctl));
    }

    [Fact]
    public void Many_conditional_rules_need_long_jumps_and_still_decide_correctly()
    {
        // 250 syscalls, each allowed only for arg0 == its number: forces trampolines past 255.
        var names = Enumerable.Range(0, 260).Select(i => (Nr: (uint)i, Name: NameOf(i))).Where(t => t.Name is not null).Take(250).ToList();
        var rules = names.Select(t => Rule(t.Name!, "SCMP_ACT_ALLOW", null, Arg(0, "SCMP_CMP_EQ", t.Nr), Arg(1, "SCMP_CMP_NE", 0x1_0000_0000))).ToArray();
        var f = SeccompCompiler.Compile(new LinuxSeccomp { DefaultAction = "SCMP_ACT_KILL_PROCESS", Architectures = ["SCMP_ARCH_X86_64"], Syscalls = [.. rules] });
        Assert.InRange(f.InstructionCount, 250 * 8, 4096);
        Assert.Contains(": ja ", SeccompCompiler.Disassemble(f.Program), StringComparison.Ordinal); // trampolines were needed
        foreach (var (nr, _) in names)
        {
            Assert.Equal(Allow, BpfInterpreter.Run(f.Program, nr, BpfInterpreter.ArchX86_64, nr, 0));
            Assert.Equal(KillProcess, BpfInterpreter.Run(f.Program, nr, BpfInterpreter.ArchX86_64, nr + 1, 0));
            Assert.Equal(KillProcess, BpfInterpreter.Run(f.Program, nr, BpfInterpreter.ArchX86_64, nr, 0x1_0000_0000));
        }
    }

    private static string? NameOf(int nr)
    {
        // Names straight from the kernel header, independently of the compiler's generated table.
        foreach (var line in File.ReadLines("/usr/include/x86_64-linux-gnu/asm/unistd_64.h"))
        {
            var parts = line.Split(' ', StringSplitOptions.RemoveEmptyEntries);
            if (parts.Length == 3 && parts[0] == "#define" && parts[1].StartsWith("__NR_", StringComparison.Ordinal) && parts[2] == nr.ToString(System.Globalization.CultureInfo.InvariantCulture))
            {
                return parts[1][5..];
            }
        }

        return null;
    }

    [Fact]
    public void Too_many_rules_are_rejected()
    {
        var rules = Enumerable.Range(0, 700).Select(i => Rule("ioctl", "SCMP_ACT_ALLOW", null, Arg(1, "SCMP_CMP_EQ", (ulong)i), Arg(2, "SCMP_CMP_GT", 5))).ToArray();
        var e = Assert.Throws<BerthException>(() => Compile("SCMP_ACT_ERRNO", rules));
        Assert.Equal(ErrorKind.InvalidParameter, e.Kind);
        Assert.Contains("4096", e.Message, StringComparison.Ordinal);
    }

    public static TheoryData<string, string> InvalidSpecs => new()
    {
        { "action", "linux.seccomp.syscalls[1].action: unknown action \"SCMP_ACT_FOO\"" },
        { "default", "linux.seccomp.defaultAction: unknown action \"NOPE\"" },
        { "op", "linux.seccomp.syscalls[1].args[0].op: unknown operator \"SCMP_CMP_XX\"" },
        { "index", "linux.seccomp.syscalls[1].args[1].index: 6 is out of range" },
        { "notify", "linux.seccomp.syscalls[1].action: action \"SCMP_ACT_NOTIFY\" is not supported" },
        { "listener", "linux.seccomp.listenerPath:" },
        { "flag", "linux.seccomp.flags[0]: unknown flag \"SECCOMP_FILTER_FLAG_BOGUS\"" },
        { "waitkill", "linux.seccomp.flags[0]: flag \"SECCOMP_FILTER_FLAG_WAIT_KILLABLE_RECV\" is not supported" },
        { "arch", "linux.seccomp.architectures[1]: unknown architecture \"SCMP_ARCH_Z80\"" },
        { "errno", "linux.seccomp.syscalls[1].errnoRet: 70000 does not fit" },
        { "emptyname", "linux.seccomp.syscalls[1].names[0]: empty syscall name" },
    };

    [Theory]
    [MemberData(nameof(InvalidSpecs))]
    public void Invalid_input_names_the_field(string kind, string message)
    {
        var spec = new LinuxSeccomp
        {
            DefaultAction = kind == "default" ? "NOPE" : "SCMP_ACT_ERRNO",
            Architectures = kind == "arch" ? ["SCMP_ARCH_X86_64", "SCMP_ARCH_Z80"] : AllArches,
            Flags = kind switch { "flag" => ["SECCOMP_FILTER_FLAG_BOGUS"], "waitkill" => ["SECCOMP_FILTER_FLAG_WAIT_KILLABLE_RECV"], _ => null },
            ListenerPath = kind == "listener" ? "/run/agent.sock" : null,
            Syscalls =
            [
                Rule("read", "SCMP_ACT_ALLOW"),
                new LinuxSyscall
                {
                    Names = [kind == "emptyname" ? "" : "write"],
                    Action = kind switch { "action" => "SCMP_ACT_FOO", "notify" => "SCMP_ACT_NOTIFY", _ => "SCMP_ACT_ERRNO" },
                    ErrnoRet = kind == "errno" ? 70000u : 5,
                    Args = kind switch
                    {
                        "op" => [Arg(0, "SCMP_CMP_XX", 1)],
                        "index" => [Arg(0, "SCMP_CMP_EQ", 1), Arg(6, "SCMP_CMP_EQ", 1)],
                        _ => null,
                    },
                },
            ],
        };
        var e = Assert.Throws<BerthException>(() => SeccompCompiler.Compile(spec));
        Assert.Equal(ErrorKind.InvalidParameter, e.Kind);
        Assert.StartsWith(message, e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Foreign_architectures_warn_and_get_the_bad_arch_action()
    {
        var f = SeccompCompiler.Compile(new LinuxSeccomp { DefaultAction = "SCMP_ACT_ERRNO", Architectures = ["SCMP_ARCH_X86_64", "SCMP_ARCH_AARCH64"], Syscalls = [Rule("read", "SCMP_ACT_ALLOW")] });
        Assert.Contains(f.Warnings, w => w.Contains("architectures[1]", StringComparison.Ordinal));
        Assert.Equal(KillThread, BpfInterpreter.Run(f.Program, 63, BpfInterpreter.ArchAarch64));
    }

    [Fact]
    public void Docker_profile_errors_name_the_field()
    {
        var e = Assert.Throws<BerthException>(() => DockerSeccompProfile.ToOci(
            """{"defaultAction":"SCMP_ACT_ERRNO","syscalls":[{"names":["ptrace"],"action":"SCMP_ACT_ALLOW","includes":{"minKernel":"four"}}]}""",
            DockerDefaultCaps, "6.1.0"));
        Assert.Equal(ErrorKind.InvalidParameter, e.Kind);
        Assert.Contains("syscalls[0].includes.minKernel", e.Message, StringComparison.Ordinal);
        Assert.Throws<BerthException>(() => DockerSeccompProfile.ToOci("{not json", DockerDefaultCaps, "6.1.0"));
    }
}
