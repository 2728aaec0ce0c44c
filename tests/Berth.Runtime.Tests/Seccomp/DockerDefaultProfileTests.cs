using Berth.Runtime.Seccomp;
using static Berth.Runtime.Tests.Seccomp.SeccompTestData;

namespace Berth.Runtime.Tests.Seccomp;

public sealed class DockerDefaultProfileTests
{
    private static readonly Lazy<CompiledFilter> Filter = new(() => SeccompCompiler.Compile(DockerDefault()));

    private static uint Run(uint nr, uint arch = BpfInterpreter.ArchX86_64, params ulong[] args) =>
        BpfInterpreter.Run(Filter.Value.Program, nr, arch, args);

    [Fact]
    public void Conversion_follows_dockerd_for_default_caps_on_amd64()
    {
        var oci = DockerDefault();
        Assert.Equal("SCMP_ACT_ERRNO", oci.DefaultAction);
        Assert.Null(oci.DefaultErrnoRet);
        Assert.Equal(["SCMP_ARCH_X86_64", "SCMP_ARCH_X86", "SCMP_ARCH_X32"], oci.Architectures);
        var names = oci.Syscalls!.SelectMany(s => s.Names).ToHashSet();
        Assert.Contains("arch_prctl", names);   // includes.arches amd64
        Assert.Contains("modify_ldt", names);
        Assert.Contains("chroot", names);       // CAP_SYS_CHROOT is a default cap
        Assert.Contains("ptrace", names);       // minKernel 4.8 <= 6.18
        Assert.DoesNotContain("mount", names);  // CAP_SYS_ADMIN only
        Assert.DoesNotContain("reboot", names);
        Assert.DoesNotContain("s390_runtime_instr", names);
        Assert.DoesNotContain("sync_file_range2", names); // ppc64le only
        var clone = Assert.Single(oci.Syscalls!, s => s.Names.SequenceEqual(["clone"]));
        var arg = Assert.Single(clone.Args!);
        Assert.Equal((0u, 2114060288UL, "SCMP_CMP_MASKED_EQ"), (arg.Index, arg.Value, arg.Op));
        var clone3 = Assert.Single(oci.Syscalls!, s => s.Names.SequenceEqual(["clone3"]));
        Assert.Equal(("SCMP_ACT_ERRNO", (uint?)38), (clone3.Action, clone3.ErrnoRet));
    }

    [Fact]
    public void Conversion_respects_min_kernel_and_caps()
    {
        var old = DockerDefault("4.4.0-210-generic");
        Assert.DoesNotContain("ptrace", old.Syscalls!.SelectMany(s => s.Names));

        var admin = DockerDefault(caps: [.. DockerDefaultCaps, "SYS_ADMIN"]);
        var names = admin.Syscalls!.SelectMany(s => s.Names).ToList();
        Assert.Contains("mount", names);
        Assert.DoesNotContain(admin.Syscalls!, s => s.Names.Contains("clone") && s.Args is not null); // excludes.caps
        Assert.DoesNotContain(admin.Syscalls!, s => s.Names.Contains("clone3") && s.Action == "SCMP_ACT_ERRNO");
    }

    [Fact]
    public void Filter_size_is_reasonable()
    {
        var f = Filter.Value;
        Assert.InRange(f.InstructionCount, 100, 1500);
        Assert.Equal(0u, f.Flags);
        Assert.Contains(f.Warnings, w => w.Contains("\"send\" is unknown", StringComparison.Ordinal)); // i386 has it only via socketcall
    }

    [Theory]
    [InlineData(Nr64.Read)]
    [InlineData(Nr64.Write)]
    [InlineData(Nr64.Execve)]
    [InlineData(Nr64.Getpid)]
    [InlineData(Nr64.ArchPrctl)]
    [InlineData(Nr64.Chroot)]
    [InlineData(Nr64.Ptrace)]
    [InlineData(Nr64.FutexWaitv)]
    public void Common_syscalls_are_allowed(uint nr) => Assert.Equal(Allow, Run(nr));

    [Theory]
    [InlineData(Nr64.Mount)]
    [InlineData(Nr64.Unshare)]
    [InlineData(Nr64.Keyctl)]
    [InlineData(Nr64.Reboot)]
    [InlineData(Nr64.Syslog)]
    [InlineData(Nr64.OpenByHandleAt)]
    [InlineData(Nr64.Bpf)]
    public void Privileged_syscalls_get_eperm(uint nr) => Assert.Equal(Eperm, Run(nr));

    [Fact]
    public void Ptrace_needs_kernel_4_8()
    {
        var old = SeccompCompiler.Compile(DockerDefault("4.4.0"));
        Assert.Equal(Eperm, BpfInterpreter.Run(old.Program, Nr64.Ptrace));
    }

    [Fact]
    public void Personality_argument_rules()
    {
        Assert.Equal(Allow, Run(Nr64.Personality, args: 0));
        Assert.Equal(Allow, Run(Nr64.Personality, args: 8));
        Assert.Equal(Allow, Run(Nr64.Personality, args: 0x20000));
        Assert.Equal(Allow, Run(Nr64.Personality, args: 0x20008));
        Assert.Equal(Allow, Run(Nr64.Personality, args: 0xffffffff));
        Assert.Equal(Eperm, Run(Nr64.Personality, args: 0x12345));
        Assert.Equal(Eperm, Run(Nr64.Personality, args: 0x1_0000_0000)); // high word is compared on x86_64
        Assert.Equal(Eperm, Run(Nr64.Personality, args: 0xffffffff_ffffffff));
    }

    [Fact]
    public void Clone_namespace_flags_are_denied()
    {
        const ulong sigchld = 17, newUser = 0x10000000, newNs = 0x00020000, newNet = 0x40000000, thread = 0x00010000 | 0x100 | 0x800;
        Assert.Equal(Allow, Run(Nr64.Clone, args: sigchld));
        Assert.Equal(Allow, Run(Nr64.Clone, args: thread));
        Assert.Equal(Eperm, Run(Nr64.Clone, args: newUser | sigchld));
        Assert.Equal(Eperm, Run(Nr64.Clone, args: newNs));
        Assert.Equal(Eperm, Run(Nr64.Clone, args: newNet));
        Assert.Equal(Allow, Run(Nr64.Clone, args: 0xffff_ffff_0000_0011)); // the mask's high word is 0
    }

    [Fact]
    public void Clone3_gets_enosys_from_its_explicit_rule() => Assert.Equal(Enosys, Run(Nr64.Clone3));

    [Fact]
    public void Socket_is_unrestricted_in_20_10_including_vsock() => Assert.Equal(Allow, Run(Nr64.Socket, args: [40, 1, 0]));

    [Theory]
    [InlineData(450u)]   // set_mempolicy_home_node: above futex_waitv (449), the profile's highest x86_64 syscall
    [InlineData(451u)]
    [InlineData(1000u)]
    [InlineData(0x3fffffffu)]
    [InlineData(0x80000000u)]
    public void Syscalls_above_the_highest_listed_get_enosys(uint nr) => Assert.Equal(Enosys, Run(nr));

    [Fact]
    public void Unlisted_syscalls_below_the_highest_get_the_default_action()
    {
        Assert.Equal(Eperm, Run(Nr64.Mount));
        Assert.Equal(Eperm, Run(174)); // create_module
    }

    [Fact]
    public void X32_syscalls_are_filtered_by_the_x32_rules()
    {
        Assert.Equal(Allow, Run(X32 | NrX32.Read));
        Assert.Equal(Allow, Run(X32 | NrX32.Execve));
        Assert.Equal(Allow, Run(X32 | NrX32.FutexWaitv));
        Assert.Equal(Allow, Run(X32 | NrX32.Pwritev2));
        Assert.Equal(Eperm, Run(X32 | NrX32.Mount));
        Assert.Equal(Eperm, Run(X32 | 450)); // below x32's highest (pwritev2 = 547) and not listed
        Assert.Equal(Enosys, Run(X32 | 548));
        Assert.Equal(Enosys, Run(uint.MaxValue)); // -1 has bit 30 set: runc's x32 stub answers ENOSYS
    }

    [Fact]
    public void I386_syscalls_use_the_i386_table()
    {
        const uint a = BpfInterpreter.ArchI386;
        Assert.Equal(Allow, Run(Nr32.Read, a));
        Assert.Equal(Allow, Run(Nr32.Execve, a));
        Assert.Equal(Allow, Run(Nr32.Getpid, a));
        Assert.Equal(Allow, Run(Nr32.Socketcall, a));
        Assert.Equal(Allow, Run(Nr32.Chown32, a));
        Assert.Equal(Allow, Run(Nr32.FutexWaitv, a));
        Assert.Equal(Eperm, Run(Nr32.Mount, a));
        Assert.Equal(Eperm, Run(Nr32.Unshare, a));
        Assert.Equal(Eperm, Run(Nr32.Keyctl, a));
        Assert.Equal(Enosys, Run(Nr32.Clone3, a));
        Assert.Equal(Allow, Run(Nr32.Personality, a, 8));
        Assert.Equal(Eperm, Run(Nr32.Personality, a, 0x12345));
        Assert.Equal(Allow, Run(Nr32.Clone, a, 17));
        Assert.Equal(Eperm, Run(Nr32.Clone, a, 0x10000000));
        Assert.Equal(Enosys, Run(450, a));
        // x86_64's mount number (165) is getresuid on i386, which Docker allows.
        Assert.Equal(Allow, Run(Nr64.Mount, a));
    }

    [Fact]
    public void Unknown_architecture_is_killed()
    {
        Assert.Equal(KillThread, Run(Nr64.Read, BpfInterpreter.ArchAarch64));
        Assert.Equal(KillThread, Run(Nr64.Read, 0));
    }

    [Fact]
    public void Disassembly_lists_every_instruction()
    {
        var text = SeccompCompiler.Disassemble(Filter.Value.Program);
        Assert.Equal(Filter.Value.InstructionCount, text.Split('\n', StringSplitOptions.RemoveEmptyEntries).Length);
        Assert.StartsWith("0000: ld  [4] arch", text, StringComparison.Ordinal);
        Assert.Contains("ERRNO(38)", text, StringComparison.Ordinal);
    }
}
