namespace Berth.Cgroups;

/// <summary>A device cgroup rule. <see cref="Type"/> is 'a', 'c' or 'b'; null major/minor is a wildcard.</summary>
public sealed record DeviceRule(bool Allow, char Type = 'a', long? Major = null, long? Minor = null, string? Access = "rwm");
