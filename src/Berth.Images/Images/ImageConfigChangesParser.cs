using System.Text;
using System.Text.Json;
using Berth.Core;

namespace Berth.Images;

/// <summary>
/// `docker import --change`: Dockerfile instructions CMD, ENTRYPOINT, ENV, EXPOSE, LABEL, USER, VOLUME,
/// WORKDIR, STOPSIGNAL applied to an empty config (JSON or shell form for CMD/ENTRYPOINT).
/// </summary>
public static class ImageConfigChangesParser
{
    public static ImageConfigChanges Parse(IEnumerable<string> changes, string? message = null)
    {
        List<string>? cmd = null, entrypoint = null, exposed = null, volumes = null;
        List<string>? env = null;
        Dictionary<string, string>? labels = null;
        string? user = null, workdir = null, stopSignal = null;
        foreach (var raw in changes)
        {
            var line = raw.Trim();
            if (line.Length == 0) continue;
            int sp = line.IndexOfAny([' ', '\t']);
            var instr = (sp < 0 ? line : line[..sp]).ToUpperInvariant();
            var rest = sp < 0 ? "" : line[(sp + 1)..].Trim();
            switch (instr)
            {
                case "CMD": cmd = CommandForm(rest); break;
                case "ENTRYPOINT": entrypoint = CommandForm(rest); break;
                case "ENV":
                    env ??= [];
                    foreach (var (k, v) in KeyValues(rest, "ENV"))
                    {
                        env.RemoveAll(e => e.StartsWith(k + "=", StringComparison.Ordinal));
                        env.Add(k + "=" + v);
                    }
                    break;
                case "LABEL":
                    labels ??= [];
                    foreach (var (k, v) in KeyValues(rest, "LABEL")) labels[k] = v;
                    break;
                case "EXPOSE": (exposed ??= []).AddRange(Words(rest)); break;
                case "VOLUME": (volumes ??= []).AddRange(rest.StartsWith('[') ? JsonArray(rest, "VOLUME") : Words(rest)); break;
                case "USER": user = rest; break;
                case "WORKDIR": workdir = rest; break;
                case "STOPSIGNAL": stopSignal = rest; break;
                default: throw BerthException.Invalid($"{instr} is not a valid change command");
            }
        }
        return new ImageConfigChanges
        {
            Cmd = cmd, Entrypoint = entrypoint, Env = env, Labels = labels, ExposedPorts = exposed, Volumes = volumes,
            User = user, WorkingDir = workdir, StopSignal = stopSignal, Comment = string.IsNullOrEmpty(message) ? null : message,
        };
    }

    private static List<string> CommandForm(string rest) =>
        rest.StartsWith('[') ? JsonArray(rest, "command") : ["/bin/sh", "-c", rest];

    private static List<string> JsonArray(string s, string what)
    {
        var list = new List<string>();
        try
        {
            var reader = new Utf8JsonReader(Encoding.UTF8.GetBytes(s));
            if (!reader.Read() || reader.TokenType != JsonTokenType.StartArray) throw new JsonException();
            while (reader.Read() && reader.TokenType != JsonTokenType.EndArray)
            {
                if (reader.TokenType != JsonTokenType.String) throw new JsonException();
                list.Add(reader.GetString()!);
            }
            if (reader.TokenType != JsonTokenType.EndArray || reader.Read()) throw new JsonException();
        }
        catch (JsonException)
        {
            throw BerthException.Invalid($"{what}: invalid JSON array {s}");
        }
        return list;
    }

    private static IEnumerable<string> Words(string s) => s.Split([' ', '\t'], StringSplitOptions.RemoveEmptyEntries);

    /// <summary>"k=v k2="v 2"" or the legacy "k v w" form.</summary>
    private static List<(string, string)> KeyValues(string s, string what)
    {
        var result = new List<(string, string)>();
        var words = SplitQuoted(s);
        if (words.Count == 0) throw BerthException.Invalid($"{what} requires at least one argument");
        if (!words[0].Contains('='))
        {
            int sp = s.IndexOfAny([' ', '\t']);
            if (sp < 0) throw BerthException.Invalid($"{what} must have two arguments");
            result.Add((words[0], Unquote(s[(sp + 1)..].Trim())));
            return result;
        }
        foreach (var w in words)
        {
            int eq = w.IndexOf('=');
            if (eq <= 0) throw BerthException.Invalid($"{what}: syntax error - can't find = in \"{w}\". Must be of the form: name=value");
            result.Add((Unquote(w[..eq]), Unquote(w[(eq + 1)..])));
        }
        return result;
    }

    private static List<string> SplitQuoted(string s)
    {
        var words = new List<string>();
        var sb = new StringBuilder();
        char quote = '\0';
        bool any = false;
        foreach (var c in s)
        {
            if (quote != '\0')
            {
                sb.Append(c);
                if (c == quote) quote = '\0';
            }
            else if (c is '"' or '\'')
            {
                quote = c;
                sb.Append(c);
                any = true;
            }
            else if (c is ' ' or '\t')
            {
                if (any || sb.Length > 0) words.Add(sb.ToString());
                sb.Clear();
                any = false;
            }
            else
            {
                sb.Append(c);
                any = true;
            }
        }
        if (any || sb.Length > 0) words.Add(sb.ToString());
        return words;
    }

    private static string Unquote(string s)
    {
        var sb = new StringBuilder();
        char quote = '\0';
        foreach (var c in s)
        {
            if (quote == '\0' && c is '"' or '\'') quote = c;
            else if (quote != '\0' && c == quote) quote = '\0';
            else sb.Append(c);
        }
        return sb.ToString();
    }
}
