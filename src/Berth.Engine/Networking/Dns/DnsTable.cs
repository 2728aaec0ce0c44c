using System.Collections.Concurrent;
using System.Runtime.CompilerServices;

namespace Berth.Engine.Networking.Dns;

/// <summary>
/// What the embedded resolvers answer: for each user-defined network, the names of the containers on it (the
/// endpoints of running containers: name, network-scoped aliases incl. the short id, hostname and its first
/// label) → their addresses there. Immutable: the network manager builds a new one at every change (join,
/// leave, rename) and swaps it in, so that a lookup never waits for the manager's lock.
/// </summary>
public sealed class DnsTable
{
    public static readonly DnsTable Empty = new([], [], []);

    private readonly Dictionary<string, string[]> _networksOf;               // container id → network ids
    private readonly Dictionary<string, NetworkNames> _networks;            // network id → its names
    private readonly Dictionary<string, string> _networkIdByName;           // network name → id
    private readonly ConcurrentDictionary<string, StrongBox<int>> _turns = new(StringComparer.Ordinal);

    private sealed record NetworkNames(string Name, bool Internal, Dictionary<string, List<uint>> Names, Dictionary<uint, string> Reverse);

    private DnsTable(Dictionary<string, string[]> networksOf, Dictionary<string, NetworkNames> networks, Dictionary<string, string> byName)
    {
        _networksOf = networksOf;
        _networks = networks;
        _networkIdByName = byName;
    }

    /// <summary>One endpoint's names: its container's name, aliases and hostname.</summary>
    public readonly record struct Entry(string ContainerId, string ContainerName, IReadOnlyList<string> Aliases, string Hostname, uint Address);

    /// <summary>Builds a table from the user-defined networks and their endpoints; <paramref name="previous"/>
    /// lends its round-robin turns so that the rotation goes on across changes.</summary>
    public static DnsTable Build(IEnumerable<(string Id, string Name, bool Internal, IEnumerable<Entry> Endpoints)> networks, DnsTable? previous = null)
    {
        var of = new Dictionary<string, List<string>>(StringComparer.Ordinal);
        var nets = new Dictionary<string, NetworkNames>(StringComparer.Ordinal);
        var byName = new Dictionary<string, string>(StringComparer.Ordinal);
        foreach (var (id, name, isInternal, endpoints) in networks)
        {
            var names = new Dictionary<string, List<uint>>(StringComparer.Ordinal);
            var reverse = new Dictionary<uint, string>();
            foreach (var e in endpoints)
            {
                if (!of.TryGetValue(e.ContainerId, out var l)) of[e.ContainerId] = l = [];
                l.Add(id);
                void Add(string n)
                {
                    n = n.Trim().TrimEnd('.').ToLowerInvariant();
                    if (n.Length == 0) return;
                    if (!names.TryGetValue(n, out var a)) names[n] = a = [];
                    if (!a.Contains(e.Address)) a.Add(e.Address);
                }
                Add(e.ContainerName);
                foreach (var a in e.Aliases) Add(a);
                if (e.Hostname.Length > 0)
                {
                    Add(e.Hostname);
                    int dot = e.Hostname.IndexOf('.');
                    if (dot > 0) Add(e.Hostname[..dot]);
                }
                // Reverse lookups name the container as Docker does: "<name>.<network>".
                if (e.ContainerName.Length > 0) reverse.TryAdd(e.Address, e.ContainerName.ToLowerInvariant() + "." + name.ToLowerInvariant());
            }
            nets[id] = new NetworkNames(name.ToLowerInvariant(), isInternal, names, reverse);
            byName[name.ToLowerInvariant()] = id;
        }
        var t = new DnsTable(of.ToDictionary(kv => kv.Key, kv => kv.Value.ToArray(), StringComparer.Ordinal), nets, byName);
        if (previous is not null) foreach (var (k, v) in previous._turns) t._turns.TryAdd(k, v);
        return t;
    }

    /// <summary>Whether the container is on a user-defined network (its sandbox has a resolver).</summary>
    public bool Knows(string containerId) => _networksOf.ContainsKey(containerId);

    /// <summary>Whether every network of the container is --internal (then nothing is forwarded out).</summary>
    public bool OnlyInternal(string containerId) =>
        _networksOf.TryGetValue(containerId, out var ids) && ids.All(id => _networks[id].Internal);

    /// <summary>
    /// The addresses <paramref name="name"/> (lower case, no trailing dot) has for the container asking, on the
    /// networks it is on: "name" on any of them, or "name.network" on that one (as Docker's resolver). Several
    /// addresses come in an order that turns by one at each call (round robin). Null: not a name of those networks.
    /// </summary>
    public IReadOnlyList<uint>? Lookup(string containerId, string name, bool rotate = true)
    {
        if (!_networksOf.TryGetValue(containerId, out var ids)) return null;
        List<uint>? found = null;
        void From(string netId, string n)
        {
            if (!_networks[netId].Names.TryGetValue(n, out var a)) return;
            found ??= [];
            foreach (var ip in a) if (!found.Contains(ip)) found.Add(ip);
        }
        foreach (var id in ids) From(id, name);
        // name.network: every split "a.b.c" = ("a", "b.c"), ("a.b", "c") whose suffix is a network of the asker.
        for (int dot = name.IndexOf('.'); dot > 0; dot = name.IndexOf('.', dot + 1))
        {
            if (_networkIdByName.TryGetValue(name[(dot + 1)..], out var netId) && ids.Contains(netId)) From(netId, name[..dot]);
        }
        if (found is null || found.Count < 2 || !rotate) return found;
        var turn = _turns.GetOrAdd(containerId.Length > 0 ? string.Join(',', ids) + "/" + name : name, _ => new StrongBox<int>());
        int k = (int)((uint)Interlocked.Increment(ref turn.Value) % (uint)found.Count);
        return [.. found.Skip(k), .. found.Take(k)];
    }

    /// <summary>The name of an address on the asker's networks (PTR), or null.</summary>
    public string? Reverse(string containerId, uint address)
    {
        if (!_networksOf.TryGetValue(containerId, out var ids)) return null;
        foreach (var id in ids)
            if (_networks[id].Reverse.TryGetValue(address, out var n)) return n;
        return null;
    }
}
