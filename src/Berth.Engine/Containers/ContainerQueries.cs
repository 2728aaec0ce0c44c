using Berth.Core;
using Berth.Engine.Logs;

namespace Berth.Engine.Containers;

/// <summary>The read side of <see cref="Backends.IContainerBackend"/>: records, paths, logs.</summary>
public sealed partial class ContainerManager
{
    public ContainerRecord Get(string idOrName) => Store.Get(idOrName);

    public IReadOnlyList<ContainerRecord> List() => Store.List();

    public string? ResolveImageId(string reference)
    {
        try { return _images.Resolve(reference).ImageId; }
        catch (BerthException e) when (e.Kind == ErrorKind.NotFound) { return null; }
    }

    public string RecordDirectory(string id) => Store.DirectoryOf(id);

    public IReadOnlyList<KeyValuePair<string, string>> GraphDriverData(string id) => _rootfs.GraphDriverData(id);

    /// <summary>The json-file log; with Follow, read until the container is not running any more.</summary>
    public IAsyncEnumerable<LogEntry> Logs(string idOrName, LogQuery query, CancellationToken ct)
    {
        var c = Store.Get(idOrName);
        if (c.HostConfig.LogConfig.Type == "none")
            throw new BerthException(ErrorKind.NotImplemented, "configured logging driver does not support reading");
        return JsonFileLog.ReadAsync(c.LogPath, query, () => Store.TryGet(c.Id, out var now) && now!.State.Running, ct);
    }
}
