using System.Net.Sockets;
using Berth.Engine.Containers;
using Berth.Engine.Logs;

namespace Berth.Engine.Backends;

/// <summary>
/// What the daemon's containers router needs from the engine (as moby's router/container Backend): the router
/// parses and validates the request and writes the answer; the engine does the work. Implemented by
/// <see cref="ContainerManager"/>; the router tests run over a fake.
/// </summary>
/// <remarks>The interfaces live here, beside the engine, and not in the daemon's router folders: C# interfaces are
/// nominal, so the engine's classes can only implement what they can see, and the engine must not reference the
/// daemon (calls go down only).</remarks>
public interface IContainerBackend
{
    CreateResult Create(CreateInput input);
    Task StartAsync(string idOrName, CancellationToken ct = default);

    /// <summary>NotModified when the container is not running.</summary>
    Task StopAsync(string idOrName, int? timeoutSeconds = null, CancellationToken ct = default);

    /// <summary>InvalidParameter for an unknown signal, Conflict when the container is not running.</summary>
    Task KillAsync(string idOrName, string signal = "KILL", CancellationToken ct = default);

    /// <summary>With <paramref name="removeVolumes"/> (`rm -v`) the container's anonymous volumes go too.</summary>
    Task RemoveAsync(string idOrName, bool force, bool removeVolumes = false, CancellationToken ct = default);
    /// <summary>docker rm --link /parent/alias: removes one legacy link.</summary>
    void RemoveLink(string name);

    /// <summary>Docker's wait conditions: "not-running", "next-exit", "removed"; the exit code.</summary>
    Task<int> WaitAsync(string idOrName, string condition = "not-running", CancellationToken ct = default);

    /// <summary>The container's record (NotFound: "No such container: X").</summary>
    ContainerRecord Get(string idOrName);

    /// <summary>Every container, newest first.</summary>
    IReadOnlyList<ContainerRecord> List();

    /// <summary>The image id a reference names, or null when there is no such image (list's ancestor filter).</summary>
    string? ResolveImageId(string reference);

    /// <summary>The directory of the container's record, hostname, hosts and resolv.conf files.</summary>
    string RecordDirectory(string id);

    /// <summary>inspect's NetworkSettings.SandboxKey: the network namespace a running container's networks are in ("" when none).</summary>
    string SandboxKey(string id) => "";

    /// <summary>inspect's GraphDriver.Data (empty when the rootfs is not an overlay).</summary>
    IReadOnlyList<KeyValuePair<string, string>> GraphDriverData(string id);

    /// <summary>The container's log as the query selects (follows while the container runs when asked to).</summary>
    IAsyncEnumerable<LogEntry> Logs(string idOrName, LogQuery query, CancellationToken ct);

    /// <summary>Sets the terminal size of a running container's tty.</summary>
    Task ResizeAsync(string id, int height, int width);

    /// <summary>
    /// A connection to the container's monitor attach socket (8-byte stdcopy frames out, stdin in): at once when the
    /// container runs, else just before its process starts (so nothing is missed); null when the container exits or
    /// its start fails first.
    /// </summary>
    Task<Socket?> AttachAsync(string id);

    // Operations (docs/design/operations.md). Defaults for backends without them (the router tests' fakes).

    /// <summary>A stats reading of a running container; null when it does not run.</summary>
    Berth.Engine.Stats.StatsSample? Stats(string idOrName) => throw NotHere("container stats");

    /// <summary>docker top: ps run on the host with <paramref name="psArgs"/>, only the container's processes
    /// (Conflict "Container x is not running").</summary>
    TopResult Top(string idOrName, string psArgs) => throw NotHere("container top");

    /// <summary>docker rename (Conflict when the name is taken).</summary>
    void Rename(string idOrName, string newName) => throw NotHere("container rename");

    /// <summary>docker pause / unpause: the cgroup freezer.</summary>
    Task PauseAsync(string idOrName) => throw NotHere("container pause");
    Task UnpauseAsync(string idOrName) => throw NotHere("container unpause");

    /// <summary>docker update: resources of the cgroup and the restart policy; the warnings.</summary>
    IReadOnlyList<string> Update(string idOrName, Berth.Api.Containers.HostConfig update) => throw NotHere("container update");

    /// <summary>docker cp (Containers/Lifecycle/Archive.cs): HEAD, GET and PUT /containers/{id}/archive.</summary>
    Task<Containers.Archive.PathStat> ArchiveStatAsync(string idOrName, string path) => throw NotHere("container archive");
    Task ArchiveGetAsync(string idOrName, string path, Func<Containers.Archive.PathStat, Stream> begin, CancellationToken ct) =>
        throw NotHere("container archive");
    Task ArchivePutAsync(string idOrName, string path, Stream tar, bool noOverwriteDirNonDir, bool copyUidGid, CancellationToken ct) =>
        throw NotHere("container archive");

    /// <summary>docker diff (Lifecycle/Changes.cs), export and container prune (Lifecycle/ExportPrune.cs).</summary>
    IReadOnlyList<ContainerChange> Changes(string idOrName) => throw NotHere("container changes");
    Task ExportAsync(string idOrName, Func<Stream> begin, CancellationToken ct) => throw NotHere("container export");
    Task<PruneResult> PruneAsync(Berth.Api.FilterArgs filters, CancellationToken ct) => throw NotHere("container prune");

    /// <summary>The bytes of the container's writable layer (system df's SizeRw), 0 when unknown.</summary>
    long SizeRw(string id) => 0;

    private static Core.BerthException NotHere(string op) => new(Core.ErrorKind.NotImplemented, $"{op} is not implemented in Berth yet");
}

/// <summary>docker top's answer: ps's titles and each row of the container's processes.</summary>
public sealed record TopResult(IReadOnlyList<string> Titles, IReadOnlyList<IReadOnlyList<string>> Processes);
