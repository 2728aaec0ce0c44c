namespace Berth.Api;

/// <summary>GET /version (engine-api-v1.41.yaml: SystemVersion).</summary>
public sealed class SystemVersion
{
    public ComponentPlatform Platform { get; set; } = new();
    public List<ComponentVersion> Components { get; set; } = [];
    public string Version { get; set; } = "";
    public string ApiVersion { get; set; } = "";
    public string MinAPIVersion { get; set; } = "";
    public string GitCommit { get; set; } = "";
    public string GoVersion { get; set; } = "";
    public string Os { get; set; } = "";
    public string Arch { get; set; } = "";
    public string KernelVersion { get; set; } = "";
    public string BuildTime { get; set; } = "";
}

public sealed class ComponentPlatform
{
    public string Name { get; set; } = "";
}

public sealed class ComponentVersion
{
    public string Name { get; set; } = "";
    public string Version { get; set; } = "";
    /// <summary>Free-form string map; Docker sends keys in alphabetical order.</summary>
    public SortedDictionary<string, string> Details { get; set; } = new(StringComparer.Ordinal);
}
