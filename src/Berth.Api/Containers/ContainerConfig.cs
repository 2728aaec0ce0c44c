using System.Text.Json;

namespace Berth.Api.Containers;

// Docker's container configuration types (moby api/types/container, API v1.41), property for property in Go's
// field order, so that serializing them gives dockerd's key order. Fields that Go marks omitempty are null when
// absent and skipped when written.

/// <summary>An empty JSON object: the value type of Docker's "set" maps (ExposedPorts, Volumes).</summary>
public sealed class EmptyObject;

/// <summary>Docker's container.Config: what runs, as the request gave it and, once created, merged with the
/// image's defaults (Cmd, Env, Entrypoint, WorkingDir, User, Labels...).</summary>
public sealed class ContainerConfig
{
    public string Hostname { get; set; } = "";
    public string Domainname { get; set; } = "";
    public string User { get; set; } = "";
    public bool AttachStdin { get; set; }
    public bool AttachStdout { get; set; }
    public bool AttachStderr { get; set; }
    [JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)]
    public Dictionary<string, EmptyObject>? ExposedPorts { get; set; }
    public bool Tty { get; set; }
    public bool OpenStdin { get; set; }
    public bool StdinOnce { get; set; }
    public List<string>? Env { get; set; }
    [JsonConverter(typeof(StrSliceConverter))]
    public List<string>? Cmd { get; set; }
    [JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)]
    public JsonElement? Healthcheck { get; set; }
    [JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingDefault)]
    public bool ArgsEscaped { get; set; }
    public string Image { get; set; } = "";
    public Dictionary<string, EmptyObject>? Volumes { get; set; }
    public string WorkingDir { get; set; } = "";
    [JsonConverter(typeof(StrSliceConverter))]
    public List<string>? Entrypoint { get; set; }
    [JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingDefault)]
    public bool NetworkDisabled { get; set; }
    [JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)]
    public string? MacAddress { get; set; }
    public List<string>? OnBuild { get; set; }
    public Dictionary<string, string>? Labels { get; set; }
    [JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)]
    public string? StopSignal { get; set; }
    [JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)]
    public int? StopTimeout { get; set; }
    [JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)]
    [JsonConverter(typeof(StrSliceConverter))]
    public List<string>? Shell { get; set; }
}

public sealed class LogConfig
{
    public string Type { get; set; } = "";
    public Dictionary<string, string>? Config { get; set; }
}

public sealed class RestartPolicy
{
    public string Name { get; set; } = "";
    public int MaximumRetryCount { get; set; }
}

public sealed class PortBinding
{
    public string HostIp { get; set; } = "";
    public string HostPort { get; set; } = "";
}

public sealed class Ulimit
{
    public string Name { get; set; } = "";
    public long Soft { get; set; }
    public long Hard { get; set; }
}

public sealed class WeightDevice
{
    public string Path { get; set; } = "";
    public ushort Weight { get; set; }
}

public sealed class ThrottleDevice
{
    public string Path { get; set; } = "";
    public ulong Rate { get; set; }
}

public sealed class DeviceMapping
{
    public string PathOnHost { get; set; } = "";
    public string PathInContainer { get; set; } = "";
    public string CgroupPermissions { get; set; } = "";
}

/// <summary>Docker's container.HostConfig (with its embedded Resources) in Go's field order.</summary>
public sealed class HostConfig
{
    public List<string>? Binds { get; set; }
    public string ContainerIDFile { get; set; } = "";
    public LogConfig LogConfig { get; set; } = new();
    public string NetworkMode { get; set; } = "";
    public Dictionary<string, List<PortBinding>?>? PortBindings { get; set; }
    public RestartPolicy RestartPolicy { get; set; } = new();
    public bool AutoRemove { get; set; }
    public string VolumeDriver { get; set; } = "";
    public List<string>? VolumesFrom { get; set; }
    [JsonConverter(typeof(StrSliceConverter))]
    public List<string>? CapAdd { get; set; }
    [JsonConverter(typeof(StrSliceConverter))]
    public List<string>? CapDrop { get; set; }
    public string CgroupnsMode { get; set; } = "";
    public List<string>? Dns { get; set; }
    public List<string>? DnsOptions { get; set; }
    public List<string>? DnsSearch { get; set; }
    public List<string>? ExtraHosts { get; set; }
    public List<string>? GroupAdd { get; set; }
    public string IpcMode { get; set; } = "";
    public string Cgroup { get; set; } = "";
    public List<string>? Links { get; set; }
    public int OomScoreAdj { get; set; }
    public string PidMode { get; set; } = "";
    public bool Privileged { get; set; }
    public bool PublishAllPorts { get; set; }
    public bool ReadonlyRootfs { get; set; }
    public List<string>? SecurityOpt { get; set; }
    [JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)]
    public Dictionary<string, string>? StorageOpt { get; set; }
    [JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)]
    public Dictionary<string, string>? Tmpfs { get; set; }
    public string UTSMode { get; set; } = "";
    public string UsernsMode { get; set; } = "";
    public long ShmSize { get; set; }
    [JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)]
    public Dictionary<string, string>? Sysctls { get; set; }
    [JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)]
    public string? Runtime { get; set; }
    public uint[] ConsoleSize { get; set; } = [0, 0];
    public string Isolation { get; set; } = "";

    // Resources
    public long CpuShares { get; set; }
    public long Memory { get; set; }
    public long NanoCpus { get; set; }
    public string CgroupParent { get; set; } = "";
    public ushort BlkioWeight { get; set; }
    public List<WeightDevice>? BlkioWeightDevice { get; set; }
    public List<ThrottleDevice>? BlkioDeviceReadBps { get; set; }
    public List<ThrottleDevice>? BlkioDeviceWriteBps { get; set; }
    public List<ThrottleDevice>? BlkioDeviceReadIOps { get; set; }
    public List<ThrottleDevice>? BlkioDeviceWriteIOps { get; set; }
    public long CpuPeriod { get; set; }
    public long CpuQuota { get; set; }
    public long CpuRealtimePeriod { get; set; }
    public long CpuRealtimeRuntime { get; set; }
    public string CpusetCpus { get; set; } = "";
    public string CpusetMems { get; set; } = "";
    public List<DeviceMapping>? Devices { get; set; }
    public List<string>? DeviceCgroupRules { get; set; }
    public List<JsonElement>? DeviceRequests { get; set; }
    public long KernelMemory { get; set; }
    public long KernelMemoryTCP { get; set; }
    public long MemoryReservation { get; set; }
    public long MemorySwap { get; set; }
    public long? MemorySwappiness { get; set; }
    public bool? OomKillDisable { get; set; }
    public long? PidsLimit { get; set; }
    public List<Ulimit>? Ulimits { get; set; }
    public long CpuCount { get; set; }
    public long CpuPercent { get; set; }
    public ulong IOMaximumIOps { get; set; }
    public ulong IOMaximumBandwidth { get; set; }

    [JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)]
    public List<MountSpec>? Mounts { get; set; }
    public List<string>? MaskedPaths { get; set; }
    public List<string>? ReadonlyPaths { get; set; }
    [JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)]
    public bool? Init { get; set; }
}

public sealed class NetworkingConfig
{
    public Dictionary<string, JsonElement>? EndpointsConfig { get; set; }
}

/// <summary>POST /containers/create's body: the container config with HostConfig and NetworkingConfig beside it.</summary>
public sealed class ContainerCreateBody
{
    public string Hostname { get; set; } = "";
    public string Domainname { get; set; } = "";
    public string User { get; set; } = "";
    public bool AttachStdin { get; set; }
    public bool AttachStdout { get; set; }
    public bool AttachStderr { get; set; }
    public Dictionary<string, EmptyObject>? ExposedPorts { get; set; }
    public bool Tty { get; set; }
    public bool OpenStdin { get; set; }
    public bool StdinOnce { get; set; }
    public List<string>? Env { get; set; }
    [JsonConverter(typeof(StrSliceConverter))]
    public List<string>? Cmd { get; set; }
    public JsonElement? Healthcheck { get; set; }
    public bool ArgsEscaped { get; set; }
    public string Image { get; set; } = "";
    public Dictionary<string, EmptyObject>? Volumes { get; set; }
    public string WorkingDir { get; set; } = "";
    [JsonConverter(typeof(StrSliceConverter))]
    public List<string>? Entrypoint { get; set; }
    public bool NetworkDisabled { get; set; }
    public string? MacAddress { get; set; }
    public List<string>? OnBuild { get; set; }
    public Dictionary<string, string>? Labels { get; set; }
    public string? StopSignal { get; set; }
    public int? StopTimeout { get; set; }
    [JsonConverter(typeof(StrSliceConverter))]
    public List<string>? Shell { get; set; }

    public HostConfig? HostConfig { get; set; }
    public NetworkingConfig? NetworkingConfig { get; set; }

    public ContainerConfig ToConfig() => new()
    {
        Hostname = Hostname, Domainname = Domainname, User = User, AttachStdin = AttachStdin, AttachStdout = AttachStdout,
        AttachStderr = AttachStderr, ExposedPorts = ExposedPorts, Tty = Tty, OpenStdin = OpenStdin, StdinOnce = StdinOnce,
        Env = Env, Cmd = Cmd, Healthcheck = Healthcheck, ArgsEscaped = ArgsEscaped, Image = Image, Volumes = Volumes,
        WorkingDir = WorkingDir, Entrypoint = Entrypoint, NetworkDisabled = NetworkDisabled, MacAddress = MacAddress,
        OnBuild = OnBuild, Labels = Labels, StopSignal = StopSignal, StopTimeout = StopTimeout, Shell = Shell,
    };
}

/// <summary>Docker's strslice.StrSlice: a JSON string or an array of strings (null stays null).</summary>
public sealed class StrSliceConverter : JsonConverter<List<string>?>
{
    public override bool HandleNull => true;

    public override List<string>? Read(ref Utf8JsonReader reader, Type typeToConvert, JsonSerializerOptions options)
    {
        switch (reader.TokenType)
        {
            case JsonTokenType.Null: return null;
            case JsonTokenType.String: return [reader.GetString()!];
            case JsonTokenType.StartArray:
                var list = new List<string>();
                while (reader.Read() && reader.TokenType != JsonTokenType.EndArray)
                {
                    if (reader.TokenType != JsonTokenType.String) throw new JsonException("expected a string or an array of strings");
                    list.Add(reader.GetString()!);
                }
                return list;
            default: throw new JsonException("expected a string or an array of strings");
        }
    }

    public override void Write(Utf8JsonWriter writer, List<string>? value, JsonSerializerOptions options)
    {
        if (value is null) { writer.WriteNullValue(); return; }
        writer.WriteStartArray();
        foreach (var s in value) writer.WriteStringValue(s);
        writer.WriteEndArray();
    }
}
