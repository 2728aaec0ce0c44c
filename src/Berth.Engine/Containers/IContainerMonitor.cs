using System.Text.Json.Serialization;

namespace Berth.Engine.Containers;

/// <summary>The monitor's one-line answer on start (see src/monitor/README.md): the container's pid, or why the
/// create failed, with the failing syscall's errno and path and a kind ("not-found", "permission", "other").</summary>
public sealed class MonitorResult
{
    [JsonPropertyName("pid")] public int Pid { get; set; }
    [JsonPropertyName("error")] public string? Error { get; set; }
    [JsonPropertyName("exitCode")] public int ExitCode { get; set; }
    [JsonPropertyName("errno")] public int Errno { get; set; }
    [JsonPropertyName("syscall")] public string? Syscall { get; set; }
    [JsonPropertyName("path")] public string? Path { get; set; }
    [JsonPropertyName("kind")] public string? Kind { get; set; }
}

/// <summary>How a container ended, as the monitor recorded it (exit.json).</summary>
public sealed class ExitInfo
{
    [JsonPropertyName("exitCode")] public int ExitCode { get; set; }
    [JsonPropertyName("signal")] public int Signal { get; set; }
    [JsonPropertyName("oomKilled")] public bool OomKilled { get; set; }
    [JsonPropertyName("finishedAt")] public DateTime FinishedAt { get; set; }
}

/// <summary>What the monitor of one container (or of one exec process) is started with. An exec's monitor has no
/// log (<paramref name="LogPath"/> null) and joins the container's cgroup v1 <paramref name="CgroupJoin"/> "tasks"
/// files before it spawns.</summary>
public sealed record MonitorLaunch(string Id, string StateDir, string RuntimeRoot, string? LogPath, bool Tty, bool Stdin,
    string RuntimePath, byte[]? Spawn, IReadOnlyList<string>? CgroupJoin = null, Logs.LogSettings? Log = null);

/// <summary>
/// The per-container monitor (berth-monitor: holds the container's stdio, writes its log, serves attach and
/// records the exit). The engine talks to it only through this seam.
/// </summary>
public interface IContainerMonitor
{
    /// <summary>Starts the monitor, which creates the container; returns its answer (pid or failure).</summary>
    Task<MonitorResult> LaunchAsync(MonitorLaunch launch, CancellationToken ct);

    /// <summary>Completes when the monitor has recorded the exit (or is gone): the exit record, or null if none.</summary>
    Task<ExitInfo?> WaitExitAsync(string stateDir, CancellationToken ct);

    /// <summary>Sets the terminal's size; a monitor that is gone is not an error.</summary>
    Task ResizeAsync(string stateDir, int height, int width);

    /// <summary>Waits (bounded) until a failed monitor has gone.</summary>
    Task WaitGoneAsync(string stateDir);
}

[JsonSerializable(typeof(ExitInfo))]
[JsonSerializable(typeof(MonitorResult))]
internal sealed partial class MonitorJsonContext : JsonSerializerContext;
