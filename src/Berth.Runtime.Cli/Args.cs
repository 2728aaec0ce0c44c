using Berth.Core;

namespace Berth.Runtime.Cli;

/// <summary>
/// A small urfave/cli-like argument reader: `--name value`, `--name=value`, `-n value`, boolean flags,
/// repeatable flags, and positionals. Flags stop at the first positional for verbs that pass a command on.
/// </summary>
public sealed class Args
{
    private readonly Dictionary<string, List<string>> _values = new();
    private readonly HashSet<string> _bools = new();

    public List<string> Positionals { get; } = [];

    /// <param name="valueFlags">flags that take a value, as "long|s" (s = short alias, optional)</param>
    /// <param name="boolFlags">boolean flags, same form</param>
    public static Args Parse(IReadOnlyList<string> argv, string[] valueFlags, string[] boolFlags, bool stopAtFirstPositional = false)
    {
        var result = new Args();
        var valueNames = Names(valueFlags);
        var boolNames = Names(boolFlags);
        for (int i = 0; i < argv.Count; i++)
        {
            var a = argv[i];
            if (a == "--")
            {
                result.Positionals.AddRange(argv.Skip(i + 1));
                break;
            }
            if (a.Length > 1 && a[0] == '-' && !(stopAtFirstPositional && result.Positionals.Count > 0))
            {
                var name = a.TrimStart('-');
                string? inline = null;
                int eq = name.IndexOf('=');
                if (eq >= 0)
                {
                    inline = name[(eq + 1)..];
                    name = name[..eq];
                }
                if (valueNames.TryGetValue(name, out var canonical))
                {
                    var v = inline ?? (i + 1 < argv.Count ? argv[++i] : throw BerthException.Invalid($"flag needs an argument: {a}"));
                    if (!result._values.TryGetValue(canonical, out var list)) result._values[canonical] = list = [];
                    list.Add(v);
                }
                else if (boolNames.TryGetValue(name, out canonical))
                {
                    if (inline is null || inline is "true" or "1") result._bools.Add(canonical);
                    else result._bools.Remove(canonical);
                }
                else
                {
                    throw BerthException.Invalid($"flag provided but not defined: {a}");
                }
                continue;
            }
            result.Positionals.Add(a);
        }
        return result;
    }

    private static Dictionary<string, string> Names(string[] specs)
    {
        var d = new Dictionary<string, string>();
        foreach (var s in specs)
        {
            var parts = s.Split('|');
            foreach (var p in parts) d[p] = parts[0];
        }
        return d;
    }

    public string? Value(string name) => _values.TryGetValue(name, out var l) ? l[^1] : null;
    public IReadOnlyList<string> Values(string name) => _values.TryGetValue(name, out var l) ? l : [];
    public bool Has(string name) => _bools.Contains(name);

    public int Int(string name, int fallback)
    {
        var v = Value(name);
        if (v is null) return fallback;
        return int.TryParse(v, out int n) ? n : throw BerthException.Invalid($"invalid value \"{v}\" for flag --{name}");
    }

    /// <summary>The single container id positional, with runc's message when it is missing.</summary>
    public string ContainerId(string verb)
    {
        if (Positionals.Count < 1)
            throw new UsageException($"\"{verb}\" requires a minimum of 1 argument");
        return Positionals[0];
    }
}

/// <summary>Wrong command-line usage (exit status 1 with a usage hint, like runc).</summary>
public sealed class UsageException(string message) : BerthException(ErrorKind.InvalidParameter, message);
