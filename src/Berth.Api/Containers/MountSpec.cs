namespace Berth.Api.Containers;

// Docker's api/types/mount (API v1.41): one entry of HostConfig.Mounts (`--mount`), in Go's field order; Go's
// omitempty fields are skipped when empty, so that inspect echoes the request as dockerd does.

/// <summary>Docker's mount.Mount: type=bind|volume|tmpfs, source, target and the options of each type.</summary>
public sealed class MountSpec
{
    [JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingDefault)] public string? Type { get; set; }
    [JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingDefault)] public string? Source { get; set; }
    [JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingDefault)] public string? Target { get; set; }
    [JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingDefault)] public bool ReadOnly { get; set; }
    [JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingDefault)] public string? Consistency { get; set; }
    [JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)] public MountBindOptions? BindOptions { get; set; }
    [JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)] public MountVolumeOptions? VolumeOptions { get; set; }
    [JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)] public MountTmpfsOptions? TmpfsOptions { get; set; }

    public MountSpec Clone() => new()
    {
        Type = Type, Source = Source, Target = Target, ReadOnly = ReadOnly, Consistency = Consistency,
        BindOptions = BindOptions is null ? null : new MountBindOptions { Propagation = BindOptions.Propagation, NonRecursive = BindOptions.NonRecursive },
        VolumeOptions = VolumeOptions is null ? null : new MountVolumeOptions
        {
            NoCopy = VolumeOptions.NoCopy, Labels = VolumeOptions.Labels is null ? null : new(VolumeOptions.Labels),
            DriverConfig = VolumeOptions.DriverConfig is null ? null : new MountDriver
            {
                Name = VolumeOptions.DriverConfig.Name,
                Options = VolumeOptions.DriverConfig.Options is null ? null : new(VolumeOptions.DriverConfig.Options),
            },
        },
        TmpfsOptions = TmpfsOptions is null ? null : new MountTmpfsOptions { SizeBytes = TmpfsOptions.SizeBytes, Mode = TmpfsOptions.Mode },
    };
}

public sealed class MountBindOptions
{
    [JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingDefault)] public string? Propagation { get; set; }
    [JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingDefault)] public bool NonRecursive { get; set; }
}

public sealed class MountVolumeOptions
{
    [JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingDefault)] public bool NoCopy { get; set; }
    [JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)] public Dictionary<string, string>? Labels { get; set; }
    [JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)] public MountDriver? DriverConfig { get; set; }
}

public sealed class MountDriver
{
    [JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingDefault)] public string? Name { get; set; }
    [JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)] public Dictionary<string, string>? Options { get; set; }
}

public sealed class MountTmpfsOptions
{
    [JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingDefault)] public long SizeBytes { get; set; }

    /// <summary>Go's os.FileMode: the permission bits (with setuid/setgid/sticky as Go encodes them).</summary>
    [JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingDefault)] public uint Mode { get; set; }
}
