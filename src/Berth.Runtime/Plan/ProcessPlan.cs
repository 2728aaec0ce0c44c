using System.Buffers.Binary;

namespace Berth.Runtime.Plan;

/// <summary>
/// An ordered list of steps for the native child (src/native/berth.h), plus the clone flags and the
/// namespaces to join. Built by <see cref="PlanBuilder"/>, encoded by <see cref="Encode"/>.
/// </summary>
public sealed class ProcessPlan
{
    public const uint Magic = 0x4e4c5042; // "BPLN"
    public const uint Version = 1;

    public List<PlanStep> Steps { get; } = [];
    public ulong CloneFlags { get; set; }

    /// <summary>Namespaces to join: (CLONE_NEW* type, path), user namespace first.</summary>
    public List<(int NsType, string Path)> Joins { get; } = [];

    public ProcessPlan Add(PlanOp op, params PlanArg[] args) => Add(op, PlanFlags.None, args);

    public ProcessPlan Add(PlanOp op, PlanFlags flags, params PlanArg[] args)
    {
        Steps.Add(new PlanStep(op, flags, args));
        return this;
    }

    public byte[] Encode()
    {
        var ms = new MemoryStream();
        var b = new byte[8];
        void U16(ushort v) { BinaryPrimitives.WriteUInt16LittleEndian(b, v); ms.Write(b, 0, 2); }
        void U32(uint v) { BinaryPrimitives.WriteUInt32LittleEndian(b, v); ms.Write(b, 0, 4); }
        void U64(ulong v) { BinaryPrimitives.WriteUInt64LittleEndian(b, v); ms.Write(b, 0, 8); }
        U32(Magic);
        U32(Version);
        U32((uint)Steps.Count);
        foreach (var s in Steps)
        {
            U16((ushort)s.Op);
            U16((ushort)s.Flags);
            U32((uint)s.Args.Count);
            foreach (var a in s.Args)
            {
                if (a.Bytes is { } bytes)
                {
                    ms.WriteByte(1);
                    U32((uint)bytes.Length);
                    ms.Write(bytes);
                }
                else
                {
                    ms.WriteByte(0);
                    U64(a.Value);
                }
            }
        }
        return ms.ToArray();
    }

    public override string ToString() => string.Join('\n', Steps);
}
