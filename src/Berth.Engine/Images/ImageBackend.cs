using Berth.Engine.Containers;
using Berth.Engine.Specs;
using Berth.Images;

namespace Berth.Engine.Images;

/// <summary>
/// The image store seen by the container lifecycle: image references resolve to an id and the defaults a
/// container inherits; a container's rootfs is an overlay snapshot over its image's layers.
/// </summary>
public sealed class ImageBackend(ImageStore store, OverlaySnapshotter snapshots) : IImageResolver, IRootfsProvider
{
    public ImageStore Store { get; } = store;

    public (string ImageId, ImageDefaults Defaults) Resolve(string reference)
    {
        var id = Store.Resolve(reference);
        var cfg = Store.GetConfig(id).Config;
        return (id.ToString(), new ImageDefaults
        {
            Entrypoint = cfg?.Entrypoint, Cmd = cfg?.Cmd, Env = cfg?.Env, WorkingDir = cfg?.WorkingDir, User = cfg?.User,
        });
    }

    public void Prepare(string containerId, string imageId) => snapshots.Prepare(containerId, Store.TopLayer(imageId));

    public string Mount(string containerId)
    {
        var mount = snapshots.Mounts(containerId);
        if (!MountHelper.IsMounted(mount.Target)) MountHelper.Mount(mount);
        return mount.Target;
    }

    public void Unmount(string containerId)
    {
        if (!snapshots.Exists(containerId)) return;
        var target = snapshots.MergedDir(containerId);
        if (MountHelper.IsMounted(target)) MountHelper.Unmount(target);
    }

    public void Remove(string containerId) => snapshots.Remove(containerId);
}
