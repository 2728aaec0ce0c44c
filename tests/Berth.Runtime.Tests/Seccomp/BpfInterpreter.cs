using System.Buffers.Binary;

namespace Berth.Runtime.Tests.Seccomp;

/// <summary>
/// A small classic-BPF interpreter over <c>struct seccomp_data</c>, written independently of the
/// compiler, with the kernel's checks (forward jumps only, in-bounds, must end in ret).
/// </summary>
internal static class BpfInterpreter
{
    public const uint ArchX86_64 = 0xC000003E;
    public const uint ArchI386 = 0x40000003;
    public const uint ArchAarch64 = 0xC00000B7;

    public static uint Run(byte[] program, uint nr, uint arch = ArchX86_64, params ulong[] args)
    {
        var data = new byte[64];
        BinaryPrimitives.WriteUInt32LittleEndian(data, nr);
        BinaryPrimitives.WriteUInt32LittleEndian(data.AsSpan(4), arch);
        BinaryPrimitives.WriteUInt64LittleEndian(data.AsSpan(8), 0x7fff_0000_1234UL);
        for (var i = 0; i < args.Length; i++)
        {
            BinaryPrimitives.WriteUInt64LittleEndian(data.AsSpan(16 + (8 * i)), args[i]);
        }

        var n = program.Length / 8;
        Assert.True(n is > 0 and <= 4096, $"program length {n}");
        uint a = 0, x = 0;
        var pc = 0;
        var steps = 0;
        while (true)
        {
            Assert.True(pc < n, $"pc {pc} ran off the end of a {n}-instruction program");
            Assert.True(++steps <= n, "more steps than instructions: a backward jump?");
            var s = program.AsSpan(pc * 8, 8);
            var code = BinaryPrimitives.ReadUInt16LittleEndian(s);
            var jt = s[2];
            var jf = s[3];
            var k = BinaryPrimitives.ReadUInt32LittleEndian(s[4..]);
            pc++;
            switch (code)
            {
                case 0x20: // ld [k]
                    Assert.True(k % 4 == 0 && k <= 60, $"bad load offset {k}");
                    a = BinaryPrimitives.ReadUInt32LittleEndian(data.AsSpan((int)k));
                    break;
                case 0x54: a &= k; break;
                case 0x05: pc += (int)k; break;
                case 0x15: pc += a == k ? jt : jf; break;
                case 0x25: pc += a > k ? jt : jf; break;
                case 0x35: pc += a >= k ? jt : jf; break;
                case 0x45: pc += (a & k) != 0 ? jt : jf; break;
                case 0x06: return k;
                case 0x16: return a;
                case 0x01: x = k; break; // ldx imm (unused by the compiler)
                default:
                    Assert.Fail($"unexpected opcode 0x{code:x4} at {pc - 1}");
                    break;
            }

            _ = x;
        }
    }
}
