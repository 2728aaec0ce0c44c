namespace Berth.Cli;

/// <summary>One flag of a command: long name, optional one-letter short, value type (null: a bool flag), help.</summary>
internal sealed record Flag(string Long, char Short, string? Type, string Help, string? Default = null, bool Hidden = false)
{
    public bool IsBool => Type is null;
}

/// <summary>
/// docker-style flags: `-d`, `--name x`, `--name=x`, `-e A=1 -e B=2`, combined short bools (`-it`). Flags end
/// at the first positional argument when <c>interspersed</c> is false (run/create: the rest is the command).
/// `--help` (and `-h` when the command has no other `-h`) is every command's.
/// </summary>
internal sealed class Args
{
    private readonly Dictionary<string, List<string>> _values = new(StringComparer.Ordinal);
    public List<string> Positional { get; } = [];
    public bool Help { get; private set; }

    public static Args Parse(IReadOnlyList<string> argv, IReadOnlyList<Flag> flags, bool interspersed = true)
    {
        var a = new Args();
        bool shortH = !flags.Any(f => f.Short == 'h');
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
                if (name == "help") { a.Help = true; continue; }
                var flag = flags.FirstOrDefault(f => f.Long == name) ?? throw new CliException($"unknown flag: --{name}", 125);
                if (!flag.IsBool)
                {
                    if (value is null)
                    {
                        if (i + 1 >= argv.Count) throw new CliException($"flag needs an argument: --{name}", 125);
                        value = argv[++i];
                    }
                    a.Add(flag, value);
                }
                else
                {
                    if (value is not null && value is not ("true" or "false" or "1" or "0" or "t" or "f" or "TRUE" or "FALSE" or "True" or "False"))
                        throw new CliException($"invalid argument \"{value}\" for \"{Names(flag)}\" flag: strconv.ParseBool: parsing \"{value}\": invalid syntax", 125);
                    a.Add(flag, value ?? "true");
                }
            }
            else if (s.Length > 1 && s[0] == '-')
            {
                for (int j = 1; j < s.Length; j++)
                {
                    if (s[j] == 'h' && shortH) { a.Help = true; continue; }
                    var flag = flags.FirstOrDefault(f => f.Short == s[j]) ?? throw new CliException($"unknown shorthand flag: '{s[j]}' in {s}", 125);
                    if (!flag.IsBool)
                    {
                        string value = j + 1 < s.Length ? s[(j + 1)..].TrimStart('=') : i + 1 < argv.Count ? argv[++i]
                            : throw new CliException($"flag needs an argument: '{s[j]}' in {s}", 125);
                        a.Add(flag, value);
                        break;
                    }
                    a.Add(flag, "true");
                }
            }
            else a.Positional.Add(s);
        }
        return a;
    }

    internal static string Names(Flag f) => f.Short != '\0' ? $"-{f.Short}, --{f.Long}" : $"--{f.Long}";

    private void Add(Flag flag, string value)
    {
        if (flag.Type == "int" && !long.TryParse(value, out _))
            throw new CliException($"invalid argument \"{value}\" for \"{Names(flag)}\" flag: strconv.ParseInt: parsing \"{value}\": invalid syntax", 125);
        if (!_values.TryGetValue(flag.Long, out var list)) _values[flag.Long] = list = [];
        list.Add(value);
    }

    public bool Has(string name) => _values.ContainsKey(name);
    public bool Bool(string name, bool dflt = false) => _values.TryGetValue(name, out var v) ? v[^1] is not ("false" or "0" or "f" or "FALSE" or "False") : dflt;
    public string? Value(string name) => _values.TryGetValue(name, out var v) ? v[^1] : null;
    public IReadOnlyList<string> All(string name) => _values.TryGetValue(name, out var v) ? v : [];
}
