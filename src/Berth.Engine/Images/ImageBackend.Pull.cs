using Berth.Images.Pull;

namespace Berth.Engine.Images;

/// <summary>docker pull through <see cref="ImagePuller"/> (one per daemon: it clears interrupted pulls' staging when made).</summary>
public sealed partial class ImageBackend
{
    private ImagePuller? _puller;
    private readonly Lock _pullerLock = new();

    private ImagePuller Puller
    {
        get
        {
            lock (_pullerLock) return _puller ??= new ImagePuller(Store);
        }
    }

    public Task<PullSession> BeginPull(PullRequest request, CancellationToken ct) => Puller.BeginAsync(request, ct);

    /// <summary>dockerd's image event after a pull: action "pull", name the reference as pulled.</summary>
    public void PullDone(PullSession session, string imageId) => Publish(imageId, "pull", session.Reference.FamiliarString);
}
