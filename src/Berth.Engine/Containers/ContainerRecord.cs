using System.Text.Json.Serialization;

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

    [JsonIgnore] public bool Running => Status == "running";
}

/// <summary>
/// One container as persisted in &lt;data-root&gt;/containers/&lt;id&gt;/container.json: identity, the request it
/// was created from (kept verbatim as JSON so newer fields survive), the image, and its state.
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

    /// <summary>What the engine builds the OCI spec from (a <c>ContainerSpecInput</c>, as JSON).</summary>
    public string SpecJson { get; set; } = "{}";

    /// <summary>The API's create request body (Docker's container config + HostConfig), kept verbatim for inspect.</summary>
    public string CreateRequestJson { get; set; } = "{}";

    /// <summary>Config.Labels, kept apart from the request so that listing does not parse every request.</summary>
    public Dictionary<string, string> Labels { get; set; } = [];

    public ContainerStateRecord State { get; set; } = new();
    public int RestartCount { get; set; }
    public bool OpenStdin { get; set; }
    public bool AutoRemove { get; set; }
    public string LogPath { get; set; } = "";
}

[JsonSourceGenerationOptions(WriteIndented = false)]
[JsonSerializable(typeof(ContainerRecord))]
public sealed partial class ContainerJsonContext : JsonSerializerContext;
