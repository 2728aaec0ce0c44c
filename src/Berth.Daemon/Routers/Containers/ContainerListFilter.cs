using System.Globalization;
using Berth.Api;
using Berth.Core;
using Berth.Engine.Containers;

namespace Berth.Daemon.Routers.Containers;

/// <summary>
/// <c>GET /containers/json</c>'s selection, as dockerd 20.10: <c>all</c>, <c>limit</c>, and the filters
/// ancestor, before, exited, health, id, is-task, isolation, label, name, network, publish, expose, since, status,
/// volume. The list comes newest first; before/since are positions in that order.
/// </summary>
public sealed class ContainerListFilter
{
    private static readonly HashSet<string> Accepted =
    [
        "ancestor", "before", "exited", "health", "id", "is-task", "isolation", "label", "name", "network",
        "publish", "expose", "since", "status", "volume",
    ];

    private static readonly HashSet<string> States = ["created", "restarting", "running", "removing", "paused", "exited", "dead"];

    private readonly FilterArgs _filters;
    private readonly bool _all;
    private readonly int _limit;
    private readonly List<int> _exited = [];
    private readonly HashSet<string>? _ancestors;
    private readonly string? _before;
    private readonly string? _since;

    /// <param name="lookupContainer">name or id → container id (throws NotFound as dockerd does).</param>
    /// <param name="lookupImage">image reference → image id, or null when there is no such image.</param>
    public ContainerListFilter(bool all, int limit, FilterArgs filters, Func<string, string> lookupContainer, Func<string, string?> lookupImage)
    {
        filters.Validate(Accepted);
        _filters = filters;
        _all = all;
        _limit = limit;
        foreach (var v in filters.Get("exited"))
        {
            if (!int.TryParse(v, NumberStyles.AllowLeadingSign, CultureInfo.InvariantCulture, out var code))
                throw BerthException.Invalid($"invalid filter 'exited={v}'");
            _exited.Add(code);
        }
        foreach (var v in filters.Get("status"))
        {
            if (!States.Contains(v)) throw BerthException.Invalid($"Invalid filter 'status={v}'");
            _all = true; // asking for a state shows stopped containers too
        }
        foreach (var v in filters.Get("health"))
            if (v is not ("starting" or "healthy" or "unhealthy" or "none")) throw BerthException.Invalid($"Unrecognised filter value for health: {v}");
        foreach (var v in filters.Get("is-task"))
            if (v is not ("true" or "false")) throw BerthException.Invalid($"Invalid filter 'is-task={v}'");
        foreach (var v in filters.Get("before")) _before = lookupContainer(v);
        foreach (var v in filters.Get("since")) _since = lookupContainer(v);
        if (filters.Contains("ancestor"))
        {
            // Imported images have no parents: an image's "descendants" are itself.
            _ancestors = [];
            foreach (var v in filters.Get("ancestor"))
                if (lookupImage(v) is { } id) _ancestors.Add(id);
        }
    }

    /// <summary>Selects from <paramref name="newestFirst"/> (the store's order).</summary>
    public List<ContainerRecord> Apply(IEnumerable<ContainerRecord> newestFirst)
    {
        var result = new List<ContainerRecord>();
        bool beforeSeen = _before is null;
        foreach (var c in newestFirst)
        {
            if (_since is not null && c.Id == _since) break;
            if (!beforeSeen)
            {
                beforeSeen = c.Id == _before;
                continue;
            }
            if (!c.State.Running && !_all && _limit <= 0) continue;
            if (!Matches(c)) continue;
            result.Add(c);
            if (_limit > 0 && result.Count == _limit) break;
        }
        return result;
    }

    private bool Matches(ContainerRecord c)
    {
        if (!_filters.Match("name", "/" + c.Name)) return false;
        if (!_filters.Match("id", c.Id)) return false;
        if (!_filters.MatchKeyValues("label", c.Labels)) return false;
        if (!_filters.Match("isolation", "default")) return false;
        if (_exited.Count > 0 && (c.State.Running || c.State.StartedAt == default || !_exited.Contains(c.State.ExitCode))) return false;
        if (!_filters.ExactMatch("status", c.State.DockerStatus)) return false;
        if (!_filters.ExactMatch("health", c.State.Health?.Status ?? "none")) return false;
        if (!_filters.ExactMatch("is-task", "false")) return false;
        if (_ancestors is not null && !_ancestors.Contains(c.Image)) return false;
        // Every container is on --network none (the only network for now); none has volumes or ports.
        if (_filters.Contains("network") && !_filters.Get("network").Contains("none")) return false;
        if (_filters.Contains("volume") || _filters.Contains("publish") || _filters.Contains("expose")) return false;
        return true;
    }
}
