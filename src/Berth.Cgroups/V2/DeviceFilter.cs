using Berth.Core;

namespace Berth.Cgroups.V2;

/// <summary>
/// Compiles OCI device cgroup rules into a BPF_PROG_TYPE_CGROUP_DEVICE program (the cgroup v2 replacement
/// for devices.allow/devices.deny), like runc's libcontainer/cgroups/devices/devicefilter.go.
/// </summary>
/// <remarks>
/// <para>Semantics: the rules are applied in order and the <b>last</b> matching rule wins. A rule matches a
/// device when its type ('a' = any), major and minor (null = any) match. Access is decided per requested
/// access bit (m, r, w): for every bit the kernel asks for, the last rule that matches the device and lists
/// that bit decides; the request is allowed only when every requested bit is allowed. So "allow c 1:3 r" then
/// "allow c 1:3 w" allows an open for read+write (the kernel's v1 devices cgroup merges such exceptions too),
/// and "deny c 1:3 w" denies a read+write open.</para>
/// <para>When no rule matches, the default is deny, like runc (its emulator "defaults to a white-list" on v1 and
/// v2): a rule list is a whitelist unless it contains an allow-all rule ("a", no major/minor, "rwm"), after
/// which everything is allowed until a later rule says otherwise. OCI configs start with a deny-all rule
/// anyway. (Berth's v1 path writes the rules into a cgroup that starts allow-all without resetting it, so a
/// list without a leading "a" rule is a blacklist there — a v1 difference from runc, not copied here.)
/// No rules → no program: Set does not attach or detach anything.</para>
/// <para>Program shape: r2 = type, r3 = access, r4 = major, r5 = minor from struct bpf_cgroup_dev_ctx; then
/// one block per access bit that walks the rules in reverse: a matching deny returns 0, a matching allow
/// jumps to the next bit's block; after the last block return 1.</para>
/// </remarks>
internal static class DeviceFilter
{
    // include/uapi/linux/bpf.h
    public const int DevBlock = 1, DevChar = 2;
    public const int AccMknod = 1, AccRead = 2, AccWrite = 4;
    public const int AccAll = AccMknod | AccRead | AccWrite;

    /// <summary>The license string passed to BPF_PROG_LOAD (runc uses "GPL"; the program uses no GPL-only helpers).</summary>
    public const string License = "Apache";

    /// <summary>Parses "rwm"-style access into BPF_DEVCG_ACC_* bits; null/empty means all.</summary>
    public static int AccessBits(string? access)
    {
        if (string.IsNullOrEmpty(access))
        {
            return AccAll;
        }

        var bits = 0;
        foreach (var ch in access)
        {
            bits |= ch switch
            {
                'r' => AccRead,
                'w' => AccWrite,
                'm' => AccMknod,
                _ => throw BerthException.Invalid($"cgroup devices: invalid device access \"{access}\" (must be a combination of r, w, m)"),
            };
        }

        return bits;
    }

    /// <summary>BPF_DEVCG_DEV_* for a rule type, 0 for 'a' (any type).</summary>
    public static int TypeCode(char type) => type switch
    {
        'a' => 0,
        'c' => DevChar,
        'b' => DevBlock,
        _ => throw BerthException.Invalid($"cgroup devices: invalid device type '{type}' (must be a, c or b)"),
    };

    private static int Number(long? n, string what)
    {
        if (n is not { } v)
        {
            return -1;
        }

        // JNE compares the zero-extended u32 register with a sign-extended imm: keep imm non-negative.
        if (v is < 0 or > int.MaxValue)
        {
            throw BerthException.Invalid($"cgroup devices: invalid device {what} {v}");
        }

        return (int)v;
    }

    /// <summary>Generates the program for <paramref name="rules"/> (in OCI order).</summary>
    public static BpfInsn[] Generate(IReadOnlyList<DeviceRule> rules, bool defaultAllow = false)
    {
        ArgumentNullException.ThrowIfNull(rules);
        var parsed = rules.Select(r => (r.Allow, Type: TypeCode(r.Type), Major: Number(r.Major, "major"), Minor: Number(r.Minor, "minor"), Access: AccessBits(r.Access))).ToList();

        var asm = new BpfAssembler();

        // struct bpf_cgroup_dev_ctx { u32 access_type; u32 major; u32 minor; }
        asm.LdxW(Bpf.R2, Bpf.R1, 0);
        asm.And32Imm(Bpf.R2, 0xffff); // r2 = type
        asm.LdxW(Bpf.R3, Bpf.R1, 0);
        asm.Rsh32Imm(Bpf.R3, 16); // r3 = access
        asm.LdxW(Bpf.R4, Bpf.R1, 4); // r4 = major
        asm.LdxW(Bpf.R5, Bpf.R1, 8); // r5 = minor

        foreach (var bit in (ReadOnlySpan<int>)[AccMknod, AccRead, AccWrite])
        {
            var nextBit = asm.NewLabel();

            // if (!(access & bit)) goto nextBit
            asm.Mov32Reg(Bpf.R1, Bpf.R3);
            asm.And32Imm(Bpf.R1, bit);
            asm.JeqImm(Bpf.R1, 0, nextBit);

            var decided = false;
            for (var i = parsed.Count - 1; i >= 0 && !decided; i--)
            {
                var r = parsed[i];
                if ((r.Access & bit) == 0)
                {
                    continue;
                }

                var nextRule = asm.NewLabel();
                if (r.Type != 0)
                {
                    asm.JneImm(Bpf.R2, r.Type, nextRule);
                }

                if (r.Major >= 0)
                {
                    asm.JneImm(Bpf.R4, r.Major, nextRule);
                }

                if (r.Minor >= 0)
                {
                    asm.JneImm(Bpf.R5, r.Minor, nextRule);
                }

                if (r.Allow)
                {
                    asm.Ja(nextBit);
                }
                else
                {
                    asm.Return(0);
                }

                asm.Mark(nextRule);

                // A rule matching every device decides this bit: earlier rules are unreachable.
                decided = r.Type == 0 && r.Major < 0 && r.Minor < 0;
            }

            if (!decided && !defaultAllow)
            {
                asm.Return(0);
            }

            asm.Mark(nextBit);
        }

        asm.Return(1);
        return asm.Build();
    }
}
