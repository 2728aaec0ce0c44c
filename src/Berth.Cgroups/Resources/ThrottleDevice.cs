namespace Berth.Cgroups;

/// <summary>A per-device block IO throttle (bytes or IO operations per second).</summary>
public sealed record ThrottleDevice(long Major, long Minor, ulong Rate);
