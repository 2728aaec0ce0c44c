namespace Berth.Cgroups;

/// <summary>Block IO weights (v1 scale 10..1000) and per-device throttles.</summary>
public sealed class BlockIOResources
{
    public ushort? Weight { get; set; }
    public ushort? LeafWeight { get; set; }
    public IList<WeightDevice>? WeightDevice { get; set; }
    public IList<ThrottleDevice>? ThrottleReadBpsDevice { get; set; }
    public IList<ThrottleDevice>? ThrottleWriteBpsDevice { get; set; }
    public IList<ThrottleDevice>? ThrottleReadIOPSDevice { get; set; }
    public IList<ThrottleDevice>? ThrottleWriteIOPSDevice { get; set; }
}
