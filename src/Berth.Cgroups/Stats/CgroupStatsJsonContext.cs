using System.Text.Json.Serialization;

namespace Berth.Cgroups;

/// <summary>Source-generated (AOT-safe) JSON for <see cref="CgroupStats"/> with runc's property names.</summary>
[JsonSerializable(typeof(CgroupStats))]
public sealed partial class CgroupStatsJsonContext : JsonSerializerContext
{
}
