namespace Berth.Engine.Backends;

/// <summary>The counts <c>/info</c> shows.</summary>
public readonly record struct SystemCounts(int Containers, int Running, int Stopped, int Images);

/// <summary>What the daemon's system router needs from the engine (moby's router/system Backend, the part Berth has).</summary>
public interface ISystemBackend
{
    SystemCounts Counts();
}

/// <summary><see cref="ISystemBackend"/> over the container and image backends.</summary>
public sealed class SystemBackend(IContainerBackend containers, IImageBackend images) : ISystemBackend
{
    public SystemCounts Counts()
    {
        var list = containers.List();
        int running = list.Count(c => c.State.Running);
        return new SystemCounts(list.Count, running, list.Count - running, images.List().Count);
    }
}
