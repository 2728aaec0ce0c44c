using Berth.Core;
using Berth.Runtime.Linux;

namespace Berth.Runtime.Lifecycle;

/// <summary>Checks a spec before anything is created; every error names the offending field.</summary>
public static class SpecValidator
{
    public static void Validate(Spec.Spec spec)
    {
        if (string.IsNullOrEmpty(spec.OciVersion)) throw Invalid("ociVersion", "missing");
        if (spec.Root is null || string.IsNullOrEmpty(spec.Root.Path)) throw Invalid("root.path", "missing");
        var p = spec.Process ?? throw Invalid("process", "missing");
        if (p.Args is not { Count: > 0 } || string.IsNullOrEmpty(p.Args[0])) throw Invalid("process.args", "must not be empty");
        if (string.IsNullOrEmpty(p.Cwd) || !p.Cwd.StartsWith('/')) throw Invalid("process.cwd", $"must be an absolute path, got \"{p.Cwd}\"");
        for (int i = 0; i < (p.Rlimits?.Count ?? 0); i++)
        {
            var r = p.Rlimits![i];
            if (!Rlimits.TryParse(r.Type, out _)) throw Invalid($"process.rlimits[{i}].type", $"unknown rlimit \"{r.Type}\"");
            if (r.Soft > r.Hard) throw Invalid($"process.rlimits[{i}]", $"soft limit {r.Soft} is above the hard limit {r.Hard}");
        }
        var seen = new HashSet<string>();
        var namespaces = spec.Linux?.Namespaces ?? [];
        for (int i = 0; i < namespaces.Count; i++)
        {
            var ns = namespaces[i];
            if (!Namespaces.TryGet(ns.Type, out _, out _)) throw Invalid($"linux.namespaces[{i}].type", $"unknown namespace \"{ns.Type}\"");
            if (!seen.Add(ns.Type)) throw Invalid($"linux.namespaces[{i}].type", $"duplicate namespace \"{ns.Type}\"");
            if (!string.IsNullOrEmpty(ns.Path) && !File.Exists(ns.Path))
                throw Invalid($"linux.namespaces[{i}].path", $"namespace path \"{ns.Path}\" does not exist");
        }
        bool userns = seen.Contains("user");
        if (userns && (spec.Linux?.UidMappings is not { Count: > 0 } || spec.Linux?.GidMappings is not { Count: > 0 })
            && !namespaces.Any(n => n.Type == "user" && !string.IsNullOrEmpty(n.Path)))
            throw Invalid("linux.uidMappings", "a new user namespace needs uid and gid mappings");
        if (!userns && (spec.Linux?.UidMappings is { Count: > 0 } || spec.Linux?.GidMappings is { Count: > 0 }))
            throw Invalid("linux.uidMappings", "mappings need a user namespace");
        if (!string.IsNullOrEmpty(spec.Hostname) && !seen.Contains("uts"))
            throw Invalid("hostname", "unable to set hostname without a private UTS namespace");
        var mounts = spec.Mounts ?? [];
        for (int i = 0; i < mounts.Count; i++)
        {
            if (string.IsNullOrEmpty(mounts[i].Destination) || !mounts[i].Destination.StartsWith('/'))
                throw Invalid($"mounts[{i}].destination", $"must be an absolute path, got \"{mounts[i].Destination}\"");
        }
        foreach (var key in spec.Linux?.Sysctl?.Keys ?? Enumerable.Empty<string>())
        {
            if (key.Length == 0 || key.Contains("..") || key.StartsWith('/') || key.StartsWith('.'))
                throw Invalid("linux.sysctl", $"invalid sysctl name \"{key}\"");
        }
        if (p.OomScoreAdj is < -1000 or > 1000) throw Invalid("process.oomScoreAdj", $"{p.OomScoreAdj} is outside -1000..1000");
        _ = MountFlags.RootPropagation(spec.Linux?.RootfsPropagation);
    }

    private static BerthException Invalid(string field, string message) => BerthException.Invalid($"{field}: {message}");
}
