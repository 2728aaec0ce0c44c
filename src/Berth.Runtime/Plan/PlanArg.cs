using System.Text;

namespace Berth.Runtime.Plan;

/// <summary>One positional argument of a plan operation: an integer or a byte string.</summary>
public readonly record struct PlanArg
{
    private PlanArg(ulong value, byte[]? bytes)
    {
        Value = value;
        Bytes = bytes;
    }

    public ulong Value { get; }
    public byte[]? Bytes { get; }
    public bool IsBytes => Bytes is not null;

    public static PlanArg Int(long v) => new((ulong)v, null);
    public static PlanArg UInt(ulong v) => new(v, null);
    public static PlanArg Str(string? s) => new(0, Encoding.UTF8.GetBytes(s ?? ""));
    public static PlanArg Raw(byte[] b) => new(0, b);

    /// <summary>A NUL-separated list (every entry NUL-terminated), as argv/envp are passed to the native side.</summary>
    public static PlanArg List(IEnumerable<string> items)
    {
        var ms = new MemoryStream();
        foreach (var s in items)
        {
            ms.Write(Encoding.UTF8.GetBytes(s));
            ms.WriteByte(0);
        }
        return new(0, ms.ToArray());
    }

    public static PlanArg U32Array(IEnumerable<uint> items)
    {
        var list = items.ToArray();
        var b = new byte[list.Length * 4];
        for (int i = 0; i < list.Length; i++) BitConverter.TryWriteBytes(b.AsSpan(i * 4), list[i]);
        return new(0, b);
    }

    public override string ToString() => Bytes is null ? Value.ToString() : '"' + Encoding.UTF8.GetString(Bytes).Replace("\0", "\\0") + '"';
}

/// <summary>One step the native child performs.</summary>
public sealed record PlanStep(PlanOp Op, PlanFlags Flags, IReadOnlyList<PlanArg> Args)
{
    public override string ToString() =>
        $"{Op}{(Flags == PlanFlags.None ? "" : "[" + Flags + "]")}({string.Join(", ", Args)})";
}
