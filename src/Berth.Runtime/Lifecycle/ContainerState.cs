using System.Text.Json.Serialization;

namespace Berth.Runtime.Lifecycle;

/// <summary>What berth-runtime keeps on disk for a container: &lt;root&gt;/&lt;id&gt;/state.json.</summary>
public sealed class ContainerState
{
    public string OciVersion { get; set; } = "";
    public string Id { get; set; } = "";
    public int Pid { get; set; }

    /// <summary>Start time of the init process (field 22 of /proc/PID/stat), to tell a reused pid apart.</summary>
    public ulong PidStartTime { get; set; }

    public string Bundle { get; set; } = "";
    public string Rootfs { get; set; } = "";
    public DateTime Created { get; set; }
    public string Owner { get; set; } = "";
    public Dictionary<string, string>? Annotations { get; set; }

    /// <summary>The spec the container was created from (exec and delete need it after the bundle may be gone).</summary>
    public Spec.Spec Config { get; set; } = new();

    /// <summary>The cgroup path the container was placed in (resolved cgroupsPath).</summary>
    public string CgroupsPath { get; set; } = "";
}

/// <summary>runc's `state` output: field names and order as runc prints them.</summary>
public sealed class StateOutput
{
    [JsonPropertyName("ociVersion")] public string OciVersion { get; set; } = "";
    [JsonPropertyName("id")] public string Id { get; set; } = "";
    [JsonPropertyName("pid")] public int Pid { get; set; }
    [JsonPropertyName("status")] public string Status { get; set; } = "";
    [JsonPropertyName("bundle")] public string Bundle { get; set; } = "";
    [JsonPropertyName("rootfs")] public string Rootfs { get; set; } = "";
    [JsonPropertyName("created")] public DateTime Created { get; set; }
    [JsonPropertyName("annotations"), JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)]
    public Dictionary<string, string>? Annotations { get; set; }
    [JsonPropertyName("owner")] public string Owner { get; set; } = "";
}

/// <summary>The state passed to hooks on stdin (OCI runtime-spec "state").</summary>
public sealed class HookState
{
    [JsonPropertyName("ociVersion")] public string OciVersion { get; set; } = "";
    [JsonPropertyName("id")] public string Id { get; set; } = "";
    [JsonPropertyName("status")] public string Status { get; set; } = "";
    [JsonPropertyName("pid"), JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingDefault)] public int Pid { get; set; }
    [JsonPropertyName("bundle")] public string Bundle { get; set; } = "";
    [JsonPropertyName("annotations"), JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)]
    public Dictionary<string, string>? Annotations { get; set; }
}


[JsonSourceGenerationOptions(WriteIndented = true)]
[JsonSerializable(typeof(StateOutput))]
public sealed partial class IndentedStateJsonContext : JsonSerializerContext;
