using Berth.Cgroups.V2;
using Berth.Core;

namespace Berth.Cgroups.Tests;

/// <summary>The generated device programs, run by a tiny eBPF interpreter (the subset the generator emits).</summary>
public class DeviceFilterTests
{
    private const int B = DeviceFilter.DevBlock, C = DeviceFilter.DevChar;
    private const int M = DeviceFilter.AccMknod, R = DeviceFilter.AccRead, W = DeviceFilter.AccWrite;

    /// <summary>Runs <paramref name="prog"/> on a bpf_cgroup_dev_ctx; returns r0. Fails on anything unknown.</summary>
    internal static ulong Run(BpfInsn[] prog, int type, int access, uint major, uint minor)
    {
        // Round-trip through the kernel encoding, so Encode is checked too.
        prog = prog.Select(i => BpfInsn.Decode(i.Encode())).ToArray();
        var ctx = new uint[] { (uint)((access << 16) | type), major, minor };
        var reg = new ulong[11];
        var pc = 0;
        for (var steps = 0; steps < 100_000; steps++)
        {
            Assert.InRange(pc, 0, prog.Length - 1);
            var i = prog[pc++];
            var cls = i.Code & 0x07;
            var op = i.Code & 0xf0;
            var useX = (i.Code & 0x08) != 0;
            switch (cls)
            {
                case Bpf.LDX:
                    Assert.Equal(Bpf.LDX | Bpf.MEM | Bpf.W, i.Code);
                    Assert.Equal(Bpf.R1, i.Src); // only the ctx pointer
                    Assert.True(i.Off % 4 == 0 && i.Off is >= 0 and < 12, $"ctx offset {i.Off}");
                    reg[i.Dst] = ctx[i.Off / 4];
                    break;
                case Bpf.ALU:
                    var src = useX ? (uint)reg[i.Src] : (uint)i.Imm;
                    var dst = (uint)reg[i.Dst];
                    reg[i.Dst] = op switch
                    {
                        Bpf.MOV => src,
                        Bpf.AND => dst & src,
                        Bpf.RSH => dst >> (int)(src & 31),
                        _ => throw new InvalidOperationException($"alu op {op:x}"),
                    };
                    break;
                case Bpf.JMP:
                    if (op == Bpf.EXIT)
                    {
                        return reg[0];
                    }

                    var rhs = useX ? reg[i.Src] : (ulong)(long)i.Imm;
                    var taken = op switch
                    {
                        Bpf.JA => true,
                        Bpf.JEQ => reg[i.Dst] == rhs,
                        Bpf.JNE => reg[i.Dst] != rhs,
                        _ => throw new InvalidOperationException($"jmp op {op:x}"),
                    };
                    if (taken)
                    {
                        Assert.True(i.Off >= 0, "backward jump");
                        pc += i.Off;
                    }

                    break;
                default:
                    throw new InvalidOperationException($"insn class {cls}");
            }
        }

        throw new InvalidOperationException("no exit");
    }

    private static bool Allowed(IReadOnlyList<DeviceRule> rules, int type, int access, uint major, uint minor)
    {
        var r0 = Run(DeviceFilter.Generate(rules), type, access, major, minor);
        Assert.True(r0 is 0 or 1, $"r0 = {r0}");
        return r0 == 1;
    }

    private static readonly DeviceRule DenyAll = new(false);

    [Fact]
    public void DenyAll_ThenAllowSome()
    {
        DeviceRule[] rules = [DenyAll, new(true, 'c', 1, 3, "rwm"), new(true, 'c', 1, 5, "r")];
        Assert.True(Allowed(rules, C, R | W, 1, 3));
        Assert.True(Allowed(rules, C, M, 1, 3));
        Assert.True(Allowed(rules, C, R, 1, 5));
        Assert.False(Allowed(rules, C, W, 1, 5));
        Assert.False(Allowed(rules, C, R | W, 1, 5));
        Assert.False(Allowed(rules, C, M, 1, 5));
        Assert.False(Allowed(rules, C, R, 1, 9));
        Assert.False(Allowed(rules, B, R, 1, 3)); // type matters
        Assert.False(Allowed(rules, C, R, 3, 1));
    }

    [Fact]
    public void Wildcards_MajorMinorAndTypeA()
    {
        DeviceRule[] rules = [DenyAll, new(true, 'c', 136, null, "rw"), new(true, 'c', null, null, "m"), new(true, 'b', null, 7, "r"), new(true, 'a', 10, 200, "rwm")];
        Assert.True(Allowed(rules, C, R | W, 136, 0));
        Assert.True(Allowed(rules, C, R, 136, 12345));
        Assert.False(Allowed(rules, C, R, 137, 0));
        Assert.True(Allowed(rules, C, M, 99, 99)); // c *:* m
        Assert.False(Allowed(rules, B, M, 99, 99));
        Assert.True(Allowed(rules, B, R, 8, 7));
        Assert.False(Allowed(rules, B, W, 8, 7));
        Assert.True(Allowed(rules, C, R | W | M, 10, 200)); // 'a' = any type
        Assert.True(Allowed(rules, B, R, 10, 200));
        Assert.False(Allowed(rules, B, R, 10, 201));
    }

    [Fact]
    public void LastMatchWins()
    {
        DeviceRule[] allowThenDeny = [DenyAll, new(true, 'c', 1, null, "rwm"), new(false, 'c', 1, 9, "rwm")];
        Assert.True(Allowed(allowThenDeny, C, R, 1, 8));
        Assert.False(Allowed(allowThenDeny, C, R, 1, 9));

        DeviceRule[] denyThenAllow = [DenyAll, new(false, 'c', 1, 9, "rwm"), new(true, 'c', 1, null, "rwm")];
        Assert.True(Allowed(denyThenAllow, C, R, 1, 9));

        // A later deny-all wipes out everything before it; a later allow-all likewise.
        DeviceRule[] resetDeny = [new(true, 'c', 1, 3, "rwm"), DenyAll];
        Assert.False(Allowed(resetDeny, C, R, 1, 3));
        DeviceRule[] resetAllow = [DenyAll, new(false, 'c', 1, 3, "rwm"), new(true)];
        Assert.True(Allowed(resetAllow, C, R, 1, 3));
        Assert.True(Allowed(resetAllow, B, M, 8, 0));
    }

    [Fact]
    public void AccessIsDecidedPerBit()
    {
        // Split allows combine (the v1 kernel merges such exceptions).
        DeviceRule[] split = [DenyAll, new(true, 'c', 1, 3, "r"), new(true, 'c', 1, 3, "w")];
        Assert.True(Allowed(split, C, R | W, 1, 3));
        Assert.False(Allowed(split, C, M, 1, 3));

        // A deny of one bit denies any request including it.
        DeviceRule[] partialDeny = [DenyAll, new(true, 'c', 1, 3, "rwm"), new(false, 'c', 1, 3, "w")];
        Assert.True(Allowed(partialDeny, C, R, 1, 3));
        Assert.True(Allowed(partialDeny, C, M, 1, 3));
        Assert.False(Allowed(partialDeny, C, W, 1, 3));
        Assert.False(Allowed(partialDeny, C, R | W, 1, 3));
    }

    [Fact]
    public void NoWildcardRule_DefaultsToDeny_LikeRunc()
    {
        DeviceRule[] rules = [new(true, 'c', 1, 3, "rwm")];
        Assert.True(Allowed(rules, C, R | W, 1, 3));
        Assert.False(Allowed(rules, C, R, 1, 8));
        Assert.False(Allowed(rules, B, R | W, 8, 0));
        Assert.False(Allowed([new(false, 'c', 1, 9, "rwm")], C, R, 1, 8));
        Assert.False(Allowed([], C, R, 1, 9));
        Assert.True(Allowed([new(true)], C, R, 1, 9));
        Assert.True(Allowed([new(true), new(false, 'c', 1, 9, "rwm")], C, R, 1, 8));
        Assert.False(Allowed([new(true), new(false, 'c', 1, 9, "rwm")], C, R, 1, 9));
        Assert.True(Allowed([DenyAll, new(true)], C, R, 1, 9));
        Assert.False(Allowed([DenyAll], C, M, 0, 0));
    }

    [Fact]
    public void NullOrEmptyAccess_MeansRwm()
    {
        DeviceRule[] rules = [DenyAll, new(true, 'c', 1, 3, null), new(true, 'c', 1, 5, "")];
        Assert.True(Allowed(rules, C, R | W, 1, 3));
        Assert.True(Allowed(rules, C, M, 1, 5));
    }

    [Fact]
    public void Program_ReadsTheContextAndEndsInExit()
    {
        var prog = DeviceFilter.Generate([DenyAll, new(true, 'c', 1, 3, "rwm")]);
        Assert.Equal(new BpfInsn(0x61, 2, 1, 0, 0), prog[0]); // ldxw r2, [r1+0]
        Assert.Equal(new BpfInsn(0x54, 2, 0, 0, 0xffff), prog[1]); // and32 r2, 0xffff
        Assert.Equal(new BpfInsn(0x95, 0, 0, 0, 0), prog[^1]); // exit
        Assert.Equal(0x0000ffff_00000254UL, prog[1].Encode());
    }

    [Fact]
    public void InvalidRules_AreRejected()
    {
        Assert.Throws<BerthException>(() => DeviceFilter.Generate([new(true, 'x', 1, 3, "rwm")]));
        Assert.Throws<BerthException>(() => DeviceFilter.Generate([new(true, 'c', 1, 3, "rwx")]));
        Assert.Throws<BerthException>(() => DeviceFilter.Generate([new(true, 'c', 1L << 32, 3, "rwm")]));
    }

    /// <summary>Exhaustive cross-check against a direct reading of the semantics, for many rule lists.</summary>
    [Fact]
    public void MatchesReferenceSemantics()
    {
        var rng = new Random(42);
        char[] types = ['a', 'c', 'b'];
        string[] accesses = ["r", "w", "m", "rw", "rm", "wm", "rwm"];
        for (var n = 0; n < 300; n++)
        {
            var rules = new List<DeviceRule>();
            var count = rng.Next(0, 7);
            for (var k = 0; k < count; k++)
            {
                long? major = rng.Next(3) == 0 ? null : rng.Next(1, 3);
                long? minor = rng.Next(3) == 0 ? null : rng.Next(1, 3);
                rules.Add(new DeviceRule(rng.Next(2) == 0, types[rng.Next(3)], major, minor, accesses[rng.Next(accesses.Length)]));
            }

            var prog = DeviceFilter.Generate(rules);
            foreach (var type in new[] { B, C })
            {
                for (var access = 1; access <= 7; access++)
                {
                    for (uint major = 1; major <= 3; major++)
                    {
                        for (uint minor = 1; minor <= 3; minor++)
                        {
                            var expected = Reference(rules, type, access, major, minor);
                            Assert.Equal(expected ? 1UL : 0UL, Run(prog, type, access, major, minor));
                        }
                    }
                }
            }
        }
    }

    private static bool Reference(List<DeviceRule> rules, int type, int access, uint major, uint minor)
    {
        foreach (var bit in new[] { M, R, W })
        {
            if ((access & bit) == 0)
            {
                continue;
            }

            var allowed = false; // runc's default: whitelist
            foreach (var r in rules)
            {
                var t = r.Type switch { 'c' => C, 'b' => B, _ => 0 };
                if ((t == 0 || t == type) && (r.Major is null || r.Major == major) && (r.Minor is null || r.Minor == minor)
                    && (DeviceFilter.AccessBits(r.Access) & bit) != 0)
                {
                    allowed = r.Allow;
                }
            }

            if (!allowed)
            {
                return false;
            }
        }

        return true;
    }
}
