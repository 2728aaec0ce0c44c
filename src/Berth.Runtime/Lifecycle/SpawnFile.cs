using System.Buffers.Binary;
using Berth.Runtime.Plan;

namespace Berth.Runtime.Lifecycle;

/// <summary>
/// The spawn file: what another process (berth-monitor) needs to clone a process from a plan built here (format and
/// decoder in src/native/berth.h), little endian: u32 magic "BSPN", u32 version, u64 clone flags, i32 exec fifo fd
/// (-1: none), u32 length + exec fifo path, i32 console socket fd (-1: none), u32 length + cgroup v2 directory to
/// clone into (empty: none), u32 join count and per join i32 CLONE_NEW* type + u32 length + namespace path, u32
/// length + plan.
/// </summary>
public static class SpawnFile
{
    public const uint Magic = 0x4e505342; // "BSPN"
    public const uint Version = 1;

    public static byte[] Encode(ProcessPlan plan, int fifoFd, string? fifoPath, int consoleFd, string? cgroupV2Dir)
    {
        var ms = new MemoryStream();
        var b = new byte[8];
        void U32(uint v) { BinaryPrimitives.WriteUInt32LittleEndian(b, v); ms.Write(b, 0, 4); }
        void Bytes(ReadOnlySpan<byte> v) { U32((uint)v.Length); ms.Write(v); }
        void Str(string? v) => Bytes(v is null ? [] : System.Text.Encoding.UTF8.GetBytes(v));
        U32(Magic);
        U32(Version);
        BinaryPrimitives.WriteUInt64LittleEndian(b, plan.CloneFlags);
        ms.Write(b, 0, 8);
        U32(unchecked((uint)fifoFd));
        Str(fifoFd >= 0 ? fifoPath : null);
        U32(unchecked((uint)consoleFd));
        Str(cgroupV2Dir);
        U32((uint)plan.Joins.Count);
        foreach (var (type, path) in plan.Joins)
        {
            U32((uint)type);
            Str(path);
        }
        Bytes(plan.Encode());
        return ms.ToArray();
    }
}
