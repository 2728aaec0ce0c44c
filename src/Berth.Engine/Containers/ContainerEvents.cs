using System.Threading.Channels;

namespace Berth.Engine.Containers;

/// <summary>One lifecycle transition (Docker's event: Type "container", an Action such as create, start, die,
/// kill, stop, destroy, and attributes such as name, image and exitCode).</summary>
public sealed record ContainerEvent(string Action, string Id, string Name, string Image, DateTime Time,
    IReadOnlyDictionary<string, string> Attributes);

/// <summary>
/// The engine's one internal event stream: every container transition is published here. Subscribers (the
/// /events endpoint, restart policies, health checks as they land) each get their own bounded channel; a
/// subscriber that does not keep up loses its oldest events, never blocks the engine.
/// </summary>
public sealed class ContainerEvents
{
    private readonly Lock _lock = new();
    private readonly List<Channel<ContainerEvent>> _subscribers = [];

    public void Publish(ContainerEvent e)
    {
        lock (_lock)
            foreach (var s in _subscribers) s.Writer.TryWrite(e);
    }

    /// <summary>A new subscription; dispose it to stop receiving.</summary>
    public Subscription Subscribe(int capacity = 1024)
    {
        var ch = Channel.CreateBounded<ContainerEvent>(new BoundedChannelOptions(capacity)
        {
            FullMode = BoundedChannelFullMode.DropOldest, SingleReader = true,
        });
        lock (_lock) _subscribers.Add(ch);
        return new Subscription(this, ch);
    }

    public sealed class Subscription(ContainerEvents owner, Channel<ContainerEvent> channel) : IDisposable
    {
        public ChannelReader<ContainerEvent> Reader => channel.Reader;

        public void Dispose()
        {
            lock (owner._lock) owner._subscribers.Remove(channel);
            channel.Writer.TryComplete();
        }
    }
}
