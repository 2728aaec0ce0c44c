using System.Threading.Channels;

namespace Berth.Engine.Events;

/// <summary>
/// The engine's one event stream: containers, images, volumes and networks publish here; the /events endpoint,
/// restart policies and health checks subscribe. Each subscriber gets its own bounded channel (one that does not
/// keep up loses its oldest events, never blocks the engine). The last <see cref="HistorySize"/> events are kept
/// for <c>since</c> (Docker keeps 256).
/// </summary>
public sealed class EngineEvents
{
    public const int HistorySize = 256;

    private readonly Lock _lock = new();
    private readonly List<Channel<EngineEvent>> _subscribers = [];
    private readonly Queue<EngineEvent> _history = new(HistorySize);
    private long _lastNano;

    public void Publish(EngineEvent e)
    {
        lock (_lock)
        {
            // Times strictly increase: the order of the history is the order of publication.
            if (e.TimeNano <= _lastNano) e = e with { TimeNano = _lastNano + 1 };
            _lastNano = e.TimeNano;
            if (_history.Count == HistorySize) _history.Dequeue();
            _history.Enqueue(e);
            foreach (var s in _subscribers) s.Writer.TryWrite(e);
        }
    }

    /// <summary>The hook volume and network components publish through.</summary>
    public void Publish(string type, string action, string id, IReadOnlyDictionary<string, string> attributes) =>
        Publish(new EngineEvent(type, action, id, new Dictionary<string, string>(attributes, StringComparer.Ordinal), EngineEvent.NowNano()));

    /// <summary>A new subscription; dispose it to stop receiving.</summary>
    public Subscription Subscribe(int capacity = 1024) => Subscribe(out _, capacity);

    /// <summary>A new subscription and, taken at the same instant, the events kept so far (oldest first): none is
    /// missed nor seen twice between the two.</summary>
    public Subscription Subscribe(out IReadOnlyList<EngineEvent> history, int capacity = 1024)
    {
        var ch = Channel.CreateBounded<EngineEvent>(new BoundedChannelOptions(capacity)
        {
            FullMode = BoundedChannelFullMode.DropOldest, SingleReader = true,
        });
        lock (_lock)
        {
            history = _history.ToArray();
            _subscribers.Add(ch);
        }
        return new Subscription(this, ch);
    }

    public sealed class Subscription(EngineEvents owner, Channel<EngineEvent> channel) : IDisposable
    {
        public ChannelReader<EngineEvent> Reader => channel.Reader;

        public void Dispose()
        {
            lock (owner._lock) owner._subscribers.Remove(channel);
            channel.Writer.TryComplete();
        }
    }
}
