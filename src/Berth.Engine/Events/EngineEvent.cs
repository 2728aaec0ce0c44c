using System.Text.Json;

namespace Berth.Engine.Events;

/// <summary>
/// One event of the engine, Docker's events.Message: a Type (container, image, volume, network, daemon), an
/// Action (create, start, die, tag, ...), the Actor (its ID and attributes such as name, image, exitCode), the
/// scope ("local") and the time. Containers and images also carry the legacy status/id/from fields on the wire.
/// </summary>
public sealed record EngineEvent(string Type, string Action, string Id, IReadOnlyDictionary<string, string> Attributes, long TimeNano)
{
    public const string Container = "container", Image = "image", Volume = "volume", Network = "network", Daemon = "daemon";

    public string Scope { get; init; } = "local";

    public DateTime Time => DateTime.UnixEpoch.AddTicks(TimeNano / 100);

    /// <summary>The actor's name attribute (a container's name), or "".</summary>
    public string Name => Attributes.TryGetValue("name", out var n) ? n : "";

    /// <summary>Nanoseconds since the epoch, now.</summary>
    public static long NowNano() => (DateTime.UtcNow.Ticks - DateTime.UnixEpoch.Ticks) * 100;

    /// <summary>Docker's JSON of the message (keys in Go's order, attributes sorted as Go's map encoding).</summary>
    public void Write(Utf8JsonWriter w)
    {
        w.WriteStartObject();
        if (Type is Container or Image)
        {
            w.WriteString("status", Action);
            w.WriteString("id", Id);
            if (Type == Container && Attributes.TryGetValue("image", out var from) && from.Length > 0) w.WriteString("from", from);
        }
        w.WriteString("Type", Type);
        w.WriteString("Action", Action);
        w.WriteStartObject("Actor");
        w.WriteString("ID", Id);
        w.WriteStartObject("Attributes");
        foreach (var (k, v) in Attributes.OrderBy(a => a.Key, StringComparer.Ordinal)) w.WriteString(k, v);
        w.WriteEndObject();
        w.WriteEndObject();
        w.WriteString("scope", Scope);
        w.WriteNumber("time", TimeNano / 1_000_000_000);
        w.WriteNumber("timeNano", TimeNano);
        w.WriteEndObject();
    }
}
