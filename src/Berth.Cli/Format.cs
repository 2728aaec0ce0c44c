using System.Text;
using System.Text.Json;

namespace Berth.Cli;

/// <summary>Docker's output helpers: human durations and sizes, tab-aligned tables, and a subset of Go templates.</summary>
internal static class Format
{
    /// <summary>go-units HumanDuration.</summary>
    public static string Duration(TimeSpan d)
    {
        double s = d.TotalSeconds;
        if (s < 1) return "Less than a second";
        if (s < 2) return "1 second";
        if (s < 60) return $"{(int)s} seconds";
        double m = d.TotalMinutes;
        if (m < 2) return "About a minute";
        if (m < 60) return $"{(int)m} minutes";
        double h = d.TotalHours;
        if (h < 2) return "About an hour";
        if (h < 48) return $"{(int)h} hours";
        if (h < 24 * 7 * 2) return $"{(int)(h / 24)} days";
        if (h < 24 * 30 * 2) return $"{(int)(h / 24 / 7)} weeks";
        if (h < 24 * 365 * 2) return $"{(int)(h / 24 / 30)} months";
        return $"{(int)(h / 24 / 365)} years";
    }

    /// <summary>go-units HumanSizeWithPrecision(size, 3): decimal units, 3 significant digits.</summary>
    public static string Size(double size)
    {
        string[] units = ["B", "kB", "MB", "GB", "TB", "PB"];
        int i = 0;
        while (size >= 1000 && i < units.Length - 1) { size /= 1000; i++; }
        return size.ToString("G3", System.Globalization.CultureInfo.InvariantCulture) + units[i];
    }

    /// <summary>Go's text/tabwriter as docker uses it (minwidth 10, padding 3), the last column not padded.</summary>
    public static string Table(IReadOnlyList<string[]> rows)
    {
        if (rows.Count == 0) return "";
        int cols = rows.Max(r => r.Length);
        var width = new int[cols];
        foreach (var r in rows)
            for (int c = 0; c < r.Length - 1; c++) width[c] = Math.Max(width[c], r[c].Length);
        var sb = new StringBuilder();
        foreach (var r in rows)
        {
            for (int c = 0; c < r.Length; c++)
            {
                if (c < r.Length - 1) sb.Append(r[c].PadRight(Math.Max(width[c] + 3, 10)));
                else sb.Append(r[c]);
            }
            sb.Append('\n');
        }
        return sb.ToString();
    }

    /// <summary>
    /// The Go-template subset scripts use with --format: text with `{{.Field.Sub}}`, `{{json .Field}}` and
    /// `{{.Field}}` of arrays printed as Go does ([a b]).
    /// </summary>
    public static string Template(string template, JsonElement root)
    {
        var sb = new StringBuilder();
        int i = 0;
        while (i < template.Length)
        {
            int open = template.IndexOf("{{", i, StringComparison.Ordinal);
            if (open < 0) { sb.Append(Unescape(template[i..])); break; }
            sb.Append(Unescape(template[i..open]));
            int close = template.IndexOf("}}", open, StringComparison.Ordinal);
            if (close < 0) throw new CliException($"template: unclosed action in {template}", 1);
            var action = template[(open + 2)..close].Trim();
            bool json = false;
            if (action.StartsWith("json ", StringComparison.Ordinal)) { json = true; action = action[5..].Trim(); }
            if (!action.StartsWith('.')) throw new CliException($"template: unsupported action {{{{{action}}}}}", 1);
            var value = root;
            foreach (var part in action.Split('.', StringSplitOptions.RemoveEmptyEntries))
            {
                if (value.ValueKind != JsonValueKind.Object || !value.TryGetProperty(part, out value))
                {
                    if (json) { value = default; break; }
                    throw new CliException($"template: can't evaluate field {part}", 1);
                }
            }
            sb.Append(json ? (value.ValueKind == JsonValueKind.Undefined ? "null" : value.GetRawText()) : GoString(value));
            i = close + 2;
        }
        return sb.ToString();
    }

    private static string Unescape(string s) => s.Replace("\\n", "\n").Replace("\\t", "\t");

    private static string GoString(JsonElement v) => v.ValueKind switch
    {
        JsonValueKind.String => v.GetString()!,
        JsonValueKind.Number => v.GetRawText(),
        JsonValueKind.True => "true",
        JsonValueKind.False => "false",
        JsonValueKind.Null or JsonValueKind.Undefined => "<no value>",
        JsonValueKind.Array => "[" + string.Join(' ', v.EnumerateArray().Select(GoString)) + "]",
        _ => "map[" + string.Join(' ', v.EnumerateObject().OrderBy(p => p.Name, StringComparer.Ordinal).Select(p => p.Name + ":" + GoString(p.Value))) + "]",
    };

    /// <summary>JSON indented as docker inspect prints it (4 spaces).</summary>
    public static string Indent(JsonElement e)
    {
        var ms = new MemoryStream();
        using (var w = new Utf8JsonWriter(ms, new JsonWriterOptions
        {
            Indented = true, IndentSize = 4, Encoder = System.Text.Encodings.Web.JavaScriptEncoder.UnsafeRelaxedJsonEscaping,
        }))
        {
            e.WriteTo(w);
        }
        return Encoding.UTF8.GetString(ms.ToArray());
    }
}
