namespace Berth.Engine.Networking;

/// <summary>
/// The environment a legacy link (<c>--link web:db</c> on the default bridge) gives the linking container, as
/// Docker 20.10's links.Link.ToEnv writes it: DB_PORT (the lowest exposed port, tcp first), for runs of three or
/// more contiguous ports DB_PORT_&lt;p&gt;_&lt;PROTO&gt;_START/_END/_PORT_START/_PORT_END, for each port
/// DB_PORT_&lt;p&gt;_&lt;PROTO&gt;[_ADDR|_PORT|_PROTO], DB_NAME=/parent/db, and DB_ENV_&lt;var&gt; for the target's
/// environment (HOME and PATH left out). The alias is upper-cased with '-' made '_'.
/// </summary>
public static class LinkEnv
{
    private readonly record struct Port(int Number, string Proto)
    {
        public static Port Parse(string s)
        {
            int slash = s.IndexOf('/');
            var num = slash < 0 ? s : s[..slash];
            var proto = slash < 0 ? "tcp" : s[(slash + 1)..].ToLowerInvariant();
            return new Port(int.TryParse(num, out var n) ? n : 0, proto);
        }
    }

    /// <param name="linkName">The link's full name, "/parent/alias".</param>
    /// <param name="exposedPorts">The target's Config.ExposedPorts keys ("80/tcp").</param>
    public static List<string> ToEnv(string linkName, string childIp, IEnumerable<string>? childEnv, IEnumerable<string>? exposedPorts)
    {
        var env = new List<string>();
        var alias = linkName[(linkName.LastIndexOf('/') + 1)..].ToUpperInvariant().Replace('-', '_');
        // Sorted by number, tcp before another protocol of the same number (dockerd's order for both uses).
        var ports = (exposedPorts ?? []).Select(Port.Parse)
            .OrderBy(p => p.Number).ThenBy(p => p.Proto == "tcp" ? 0 : 1).ThenBy(p => p.Proto, StringComparer.Ordinal).ToList();
        if (ports.Count > 0) env.Add($"{alias}_PORT={ports[0].Proto}://{childIp}:{ports[0].Number}");
        for (int i = 0; i < ports.Count;)
        {
            var p = ports[i];
            int j = NextContiguous(ports, p.Number, i);
            if (j > i + 1)
            {
                var up = p.Proto.ToUpperInvariant();
                env.Add($"{alias}_PORT_{p.Number}_{up}_START={p.Proto}://{childIp}:{p.Number}");
                env.Add($"{alias}_PORT_{p.Number}_{up}_ADDR={childIp}");
                env.Add($"{alias}_PORT_{p.Number}_{up}_PROTO={p.Proto}");
                env.Add($"{alias}_PORT_{p.Number}_{up}_PORT_START={p.Number}");
                var q = ports[j];
                var uq = q.Proto.ToUpperInvariant();
                env.Add($"{alias}_PORT_{p.Number}_{uq}_END={q.Proto}://{childIp}:{q.Number}");
                env.Add($"{alias}_PORT_{p.Number}_{uq}_PORT_END={q.Number}");
                i = j + 1;
            }
            else i++;
        }
        foreach (var p in ports)
        {
            var prefix = $"{alias}_PORT_{p.Number}_{p.Proto.ToUpperInvariant()}";
            env.Add($"{prefix}={p.Proto}://{childIp}:{p.Number}");
            env.Add($"{prefix}_ADDR={childIp}");
            env.Add($"{prefix}_PORT={p.Number}");
            env.Add($"{prefix}_PROTO={p.Proto}");
        }
        env.Add($"{alias}_NAME={linkName}");
        foreach (var v in childEnv ?? [])
        {
            int eq = v.IndexOf('=');
            if (eq < 0) continue;
            var key = v[..eq];
            if (key is "HOME" or "PATH") continue;
            env.Add($"{alias}_ENV_{key}={v[(eq + 1)..]}");
        }
        return env;
    }

    // dockerd's nextContiguous: the index of the last port of the run of consecutive numbers from index.
    private static int NextContiguous(List<Port> ports, int value, int index)
    {
        if (index + 1 == ports.Count) return index;
        for (int i = index + 1; i < ports.Count; i++)
        {
            if (ports[i].Number > value + 1) return i - 1;
            value++;
        }
        return ports.Count - 1;
    }

    /// <summary>Adds the link variables to a process environment after PATH, HOSTNAME and TERM, each unless the
    /// environment sets it already (dockerd: the container's own Env replaces them).</summary>
    public static void Merge(List<string> env, IReadOnlyList<string> links)
    {
        if (links.Count == 0) return;
        var keys = new HashSet<string>(env.Select(e => e.IndexOf('=') is var i and >= 0 ? e[..i] : e), StringComparer.Ordinal);
        int at = 0;
        while (at < env.Count && (env[at].StartsWith("PATH=", StringComparison.Ordinal) || env[at].StartsWith("HOSTNAME=", StringComparison.Ordinal)
                                   || env[at].StartsWith("TERM=", StringComparison.Ordinal))) at++;
        env.InsertRange(at, links.Where(l => !keys.Contains(l[..l.IndexOf('=')])));
    }
}
