namespace Berth.Cgroups;

/// <summary>A per-device block IO weight.</summary>
public sealed record WeightDevice(long Major, long Minor, ushort? Weight, ushort? LeafWeight = null);
