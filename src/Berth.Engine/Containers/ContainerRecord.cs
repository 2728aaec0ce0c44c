using System.Text.Json.Serialization;
using Berth.Api.Containers;

namespace Berth.Engine.Containers;

/// <summary>A container's state as the engine keeps it (Docker's State object).</summary>
public sealed class ContainerStateRecord
{
    public string Status { get; set; } = "created"; // created | running | paused | restarting | removing | exited | dead
    public int Pid { get; set; }
    public int ExitCode { get; set; }
    public bool OOMKilled { get; set; }
    public string Error { get; set; } = "";
    public DateTime StartedAt { get; set; }
    public DateTime FinishedAt { get; set; }

    /// <summary>Frozen by docker pause (Status stays "running", as dockerd's Running + Paused).</summary>
    public bool Paused { get; set; }

    /// <summary>Waiting for a restart policy's next start (Status "exited" meanwhile, shown as "restarting").</summary>
    public bool Restarting { get; set; }

    /// <summary>The health check's state (Docker's State.Health), null for a container without one (never started
    /// with a check); kept across stops and starts, reset to starting on each start.</summary>
    [JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)]
    public Health.HealthState? Health { get; set; }

    [JsonIgnore] public bool Running => Status == "running";

    /// <summary>Docker's State.Status: "paused" and "restarting" over the recorded status.</summary>
    [JsonIgnore] public string DockerStatus => Running && Paused ? "paused" : Restarting ? "restarting" : Status;
}

/// <summary>
/// One container as persisted in &lt;data-root&gt;/containers/&lt;id&gt;/container.json: identity, its typed
/// configuration (the request merged with the image's defaults at create: what inspect shows is what runs),
/// the image, and its state. Nothing re-parses the request.
/// </summary>
public sealed class ContainerRecord
{
    public string Id { get; set; } = "";
    public string Name { get; set; } = "";
    public DateTime Created { get; set; }
    public string Image { get; set; } = "";
    public string ImageRef { get; set; } = "";
    public string Path { get; set; } = "";
    public List<string> Args { get; set; } = [];

    public ContainerConfig Config { get; set; } = new();
    public HostConfig HostConfig { get; set; } = new();

    /// <summary>The container's binds, volumes and `--mount type=tmpfs` mounts, resolved at create (Docker's
    /// MountPoints); HostConfig.Tmpfs mounts are not among them, as in Docker.</summary>
    public List<Volumes.MountPoint> MountPoints { get; set; } = [];

    public ContainerStateRecord State { get; set; } = new();
    public int RestartCount { get; set; }

    /// <summary>The user stopped it (stop, kill, a restart's stop): a restart policy leaves it alone until it is
    /// started again (dockerd's HasBeenManuallyStopped).</summary>
    public bool ManuallyStopped { get; set; }

    /// <summary>Network name → what was asked for it and, while the container runs, its endpoint (inspect's
    /// NetworkSettings.Networks).</summary>
    public Dictionary<string, Networking.EndpointSettings> Networks { get; set; } = [];
    public string LogPath { get; set; } = "";

    /// <summary>The raw create body that records of Berth before the typed config kept (read once, at start-up,
    /// to migrate the record: see <c>ContainerManager.Recover</c>); never written.</summary>
    [JsonPropertyName("CreateRequestJson")]
    [JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)]
    public string? LegacyCreateRequestJson { get; set; }

    [JsonIgnore] public IReadOnlyDictionary<string, string> Labels => Config.Labels ?? [];
    [JsonIgnore] public bool OpenStdin => Config.OpenStdin;
    [JsonIgnore] public bool Tty => Config.Tty;
    [JsonIgnore] public bool AutoRemove => HostConfig.AutoRemove;
}

[JsonSourceGenerationOptions(WriteIndented = false)]
[JsonSerializable(typeof(ContainerRecord))]
public sealed partial class ContainerJsonContext : JsonSerializerContext;
