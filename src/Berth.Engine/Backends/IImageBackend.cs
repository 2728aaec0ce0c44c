using Berth.Api.Images;
using Berth.Engine.Containers;
using Berth.Images;

namespace Berth.Engine.Backends;

/// <summary>What the daemon's images router needs from the engine (as moby's router/image Backend). Implemented
/// by <see cref="Images.ImageBackend"/>.</summary>
public interface IImageBackend : IImageResolver
{
    IReadOnlyList<ImageSummary> List();

    /// <summary>NotFound: "No such image: X".</summary>
    ImageInspect Inspect(string nameOrId);

    /// <summary>docker import: a rootfs tar read (synchronously) as it arrives; the new image's id.</summary>
    string Import(Stream tar, string? repoTag, ImageConfigChanges? changes);

    void Tag(string source, string repo, string? tag);

    /// <summary>Untags or deletes; an image a container uses is a Conflict unless forced.</summary>
    IReadOnlyList<ImageDeleteItem> Remove(string nameOrId, bool force);

    /// <summary>system df: the bytes of all layers, each image with SharedSize and its number of containers.</summary>
    (long LayersSize, IReadOnlyList<ImageSummary> Images) DiskUsage(Func<string, int> containersOf) =>
        throw new Core.BerthException(Core.ErrorKind.NotImplemented, "system data usage is not implemented in Berth yet");

    /// <summary>docker image prune (filters dangling, until, label, label!).</summary>
    ImagesPruneReport Prune(Berth.Api.FilterArgs filters) =>
        throw new Core.BerthException(Core.ErrorKind.NotImplemented, "image prune is not implemented in Berth yet");

    /// <summary>docker pull: fetches the manifest (errors here answer with a status code); the session then
    /// streams the progress and registers the image.</summary>
    Task<Berth.Images.Pull.PullSession> BeginPull(Berth.Images.Pull.PullRequest request, CancellationToken ct) =>
        throw new Core.BerthException(Core.ErrorKind.NotImplemented, "image pull is not implemented in Berth yet");

    /// <summary>After a pull ran: the image event ("pull", name = the reference).</summary>
    void PullDone(Berth.Images.Pull.PullSession session, string imageId) { }

    /// <summary>docker save: the images <paramref name="names"/> name as a docker-archive tar; the call
    /// fails before anything is written (unknown names), the returned writer streams the archive.</summary>
    Action<Stream> Save(IReadOnlyList<string> names) =>
        throw new Core.BerthException(Core.ErrorKind.NotImplemented, "image save is not implemented in Berth yet");

    /// <summary>docker load: a docker-archive or OCI layout tar read (synchronously) from <paramref name="archive"/>.</summary>
    void Load(Stream archive, Berth.Images.Archive.ILoadProgress progress) =>
        throw new Core.BerthException(Core.ErrorKind.NotImplemented, "image load is not implemented in Berth yet");

    /// <summary>docker history: the config's history entries, newest first.</summary>
    List<Berth.Api.Images.HistoryResponseItem> History(string nameOrId) =>
        throw new Core.BerthException(Core.ErrorKind.NotImplemented, "image history is not implemented in Berth yet");

    /// <summary>docker commit: the container's writable layer as a new image; its id.</summary>
    string Commit(Containers.ContainerRecord container, string? repoTag, string? comment, string? author, IReadOnlyList<string> changes) =>
        throw new Core.BerthException(Core.ErrorKind.NotImplemented, "image commit is not implemented in Berth yet");
}
