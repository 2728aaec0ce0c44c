using Berth.Api;

namespace Berth.Engine.Events;

/// <summary>
/// Docker's events filter (daemon/events/filter.go): type, event (action), container, image, label, volume,
/// network, daemon, scope, ... Values of one key are alternatives, keys must all match. Containers, volumes,
/// networks and daemons match by ID or name prefix; images by ID or name, with or without the tag, and a
/// container's events match the image it runs.
/// </summary>
public sealed class EventFilter(FilterArgs args)
{
    public static readonly IReadOnlySet<string> Accepted = new HashSet<string>(StringComparer.Ordinal)
    {
        "config", "container", "daemon", "event", "image", "label", "network", "node", "plugin", "scope", "secret", "service", "type", "volume",
    };

    public static EventFilter Parse(string? json)
    {
        var args = FilterArgs.Parse(json);
        args.Validate(Accepted);
        return new EventFilter(args);
    }

    public bool Include(EngineEvent e) =>
        MatchEvent(e)
        && args.ExactMatch("type", e.Type)
        && args.ExactMatch("scope", e.Scope)
        && FuzzyName(e, EngineEvent.Daemon) && FuzzyName(e, EngineEvent.Container)
        && FuzzyName(e, "plugin") && FuzzyName(e, EngineEvent.Volume) && FuzzyName(e, EngineEvent.Network)
        && MatchImage(e)
        && FuzzyName(e, "node") && FuzzyName(e, "service") && FuzzyName(e, "secret") && FuzzyName(e, "config")
        && args.MatchKeyValues("label", e.Attributes);

    /// <summary>health_status, exec_create and exec_start carry a suffix (": cmd"): those match by prefix.</summary>
    private bool MatchEvent(EngineEvent e) =>
        args.Get("event").Any(v => v is "health_status" or "exec_create" or "exec_start")
            ? Fuzzy("event", e.Action)
            : args.ExactMatch("event", e.Action);

    /// <summary>As Docker: the actor's ID or name attribute starts with one of the key's values.</summary>
    private bool FuzzyName(EngineEvent e, string key)
    {
        if (args.Get(key).Count == 0) return true;
        return Fuzzy(key, e.Id) || Fuzzy(key, e.Name);
    }

    private bool Fuzzy(string key, string source)
    {
        var values = args.Get(key);
        if (values.Count == 0) return true;
        foreach (var v in values)
            if (source == v || (source.Length > 0 && source.StartsWith(v, StringComparison.Ordinal))) return true;
        return false;
    }

    private bool MatchImage(EngineEvent e)
    {
        if (args.Get("image").Count == 0) return true;
        var name = e.Attributes.TryGetValue(e.Type == EngineEvent.Image ? "name" : "image", out var n) ? n : "";
        return args.ExactMatch("image", e.Id) || args.ExactMatch("image", name)
            || args.ExactMatch("image", StripTag(e.Id)) || args.ExactMatch("image", StripTag(name));
    }

    /// <summary>"busybox:latest" → "busybox" (a registry's port stays: the tag is after the last '/').</summary>
    private static string StripTag(string image)
    {
        int at = image.IndexOf('@');
        if (at >= 0) image = image[..at];
        int slash = image.LastIndexOf('/');
        int colon = image.LastIndexOf(':');
        return colon > slash ? image[..colon] : image;
    }
}
