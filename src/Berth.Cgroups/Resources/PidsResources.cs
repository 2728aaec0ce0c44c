namespace Berth.Cgroups;

/// <summary>Pids limit; a value &lt;= 0 means unlimited ("max").</summary>
public sealed class PidsResources
{
    public long? Limit { get; set; }
}
