using Berth.Api.Images;
using Berth.Api.Volumes;
using Berth.Engine.Containers;

namespace Berth.Engine.Backends;

/// <summary>The counts <c>/info</c> shows.</summary>
public readonly record struct SystemCounts(int Containers, int Running, int Stopped, int Images);

/// <summary>A container in system df: its writable layer's bytes and its whole root's (the image's included).</summary>
public sealed record ContainerDiskUsage(ContainerRecord Container, long SizeRw, long SizeRootFs);

/// <summary>GET /system/df (dockerd 20.10's SystemDiskUsage): layers, images, containers, volumes. Berth has no
/// builder, so no build cache.</summary>
public sealed record DiskUsageReport(long LayersSize, IReadOnlyList<ImageSummary> Images, IReadOnlyList<ContainerDiskUsage> Containers,
    IReadOnlyList<Volume> Volumes);

/// <summary>What the daemon's system router needs from the engine (moby's router/system Backend, the part Berth has).</summary>
public interface ISystemBackend
{
    SystemCounts Counts();

    DiskUsageReport DiskUsage() => throw new Core.BerthException(Core.ErrorKind.NotImplemented, "system data usage is not implemented in Berth yet");
}

/// <summary><see cref="ISystemBackend"/> over the container, image and volume backends.</summary>
public sealed class SystemBackend(IContainerBackend containers, IImageBackend images, Volumes.VolumeStore? volumes = null) : ISystemBackend
{
    public SystemCounts Counts()
    {
        var list = containers.List();
        int running = list.Count(c => c.State.Running);
        return new SystemCounts(list.Count, running, list.Count - running, images.List().Count);
    }

    public DiskUsageReport DiskUsage()
    {
        var list = containers.List();
        var byImage = list.GroupBy(c => c.Image, StringComparer.Ordinal).ToDictionary(g => g.Key, g => g.Count(), StringComparer.Ordinal);
        var (layersSize, imageList) = images.DiskUsage(id => byImage.GetValueOrDefault(id));
        var imageSize = imageList.ToDictionary(i => i.Id, i => i.Size, StringComparer.Ordinal);
        var usage = list.Select(c =>
        {
            long rw = containers.SizeRw(c.Id);
            return new ContainerDiskUsage(c, rw, rw + imageSize.GetValueOrDefault(c.Image));
        }).ToList();
        return new DiskUsageReport(layersSize, imageList, usage, volumes?.DiskUsage() ?? []);
    }
}
