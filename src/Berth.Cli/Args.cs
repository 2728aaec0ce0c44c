namespace Berth.Cli;

/// <summary>
/// docker-style flags: `-d`, `--name x`, `--name=x`, `-e A=1 -e B=2`, combined short bools (`-it`). Flags end
/// at the first positional argument when <c>interspersed</c> is false (run/create: the rest is the command).
/// </summary>
internal sealed class Args
{
    private readonly Dictionary<string, List<string>> _values = new(StringComparer.Ordinal);
    public List<string> Positional { get; } = [];

    /// <param name="valued">long names (without --) of flags taking a value; aliases map short to long.</param>
    public static Args Parse(IReadOnlyList<string> argv, string[] valued, string[] bools, Dictionary<char, string> shorts, bool interspersed = true)
    {
        var a = new Args();
        for (int i = 0; i < argv.Count; i++)
        {
            var s = argv[i];
            if (a.Positional.Count > 0 && !interspersed) { a.Positional.Add(s); continue; }
            if (s == "--") { a.Positional.AddRange(argv.Skip(i + 1)); break; }
            if (s.StartsWith("--", StringComparison.Ordinal))
            {
                var name = s[2..];
                string? value = null;
                int eq = name.IndexOf('=');
                if (eq >= 0) { value = name[(eq + 1)..]; name = name[..eq]; }
                if (valued.Contains(name))
                {
                    if (value is null)
                    {
                        if (i + 1 >= argv.Count) throw new CliException($"flag needs an argument: --{name}", 125);
                        value = argv[++i];
                    }
                    a.Add(name, value);
                }
                else if (bools.Contains(name)) a.Add(name, value ?? "true");
                else throw new CliException($"unknown flag: --{name}", 125);
            }
            else if (s.Length > 1 && s[0] == '-')
            {
                for (int j = 1; j < s.Length; j++)
                {
                    if (!shorts.TryGetValue(s[j], out var name)) throw new CliException($"unknown shorthand flag: '{s[j]}' in {s}", 125);
                    if (valued.Contains(name))
                    {
                        string value = j + 1 < s.Length ? s[(j + 1)..].TrimStart('=') : i + 1 < argv.Count ? argv[++i]
                            : throw new CliException($"flag needs an argument: '{s[j]}' in {s}", 125);
                        a.Add(name, value);
                        break;
                    }
                    a.Add(name, "true");
                }
            }
            else a.Positional.Add(s);
        }
        return a;
    }

    private void Add(string name, string value)
    {
        if (!_values.TryGetValue(name, out var list)) _values[name] = list = [];
        list.Add(value);
    }

    public bool Has(string name) => _values.ContainsKey(name);
    public bool Bool(string name) => _values.TryGetValue(name, out var v) && v[^1] is not ("false" or "0");
    public string? Value(string name) => _values.TryGetValue(name, out var v) ? v[^1] : null;
    public IReadOnlyList<string> All(string name) => _values.TryGetValue(name, out var v) ? v : [];
}
