using System.Text;
using System.Text.Json;

namespace Berth.Cli;

/// <summary>Docker's output helpers: human durations and sizes, tab-aligned tables, and a subset of Go templates.</summary>
internal static class Format
{
    /// <summary>go-units HumanDuration.</summary>
    public static string Duration(TimeSpan d) => Berth.Api.HumanDuration.Of(d);

    /// <summary>go-units HumanSizeWithPrecision(size, precision): decimal units, 3 (or 4: HumanSize) significant digits.</summary>
    public static string Size(double size, int precision = 3)
    {
        string[] units = ["B", "kB", "MB", "GB", "TB", "PB"];
        int i = 0;
        while (size >= 1000 && i < units.Length - 1) { size /= 1000; i++; }
        return size.ToString("G" + precision, System.Globalization.CultureInfo.InvariantCulture) + units[i];
    }

    /// <summary>
    /// Go's text/tabwriter as docker uses it (minwidth 10, padding 3, no flags): cells end at '\t'; a column's
    /// width holds over each run of lines that have a cell in it; the text after a line's last tab is not aligned.
    /// </summary>
    public static string Tabwriter(IReadOnlyList<string> lines)
    {
        var cells = lines.Select(l => l.Split('\t')).ToList();
        var sb = new StringBuilder();
        var widths = new List<int>();
        void WriteLines(int from, int to)
        {
            for (int i = from; i < to; i++)
            {
                var line = cells[i];
                for (int j = 0; j < line.Length; j++)
                {
                    sb.Append(line[j]);
                    if (j < widths.Count && j < line.Length - 1) sb.Append(' ', Math.Max(0, widths[j] - line[j].Length));
                }
                sb.Append('\n');
            }
        }
        int FormatBlock(int pos, int line0, int line1, int column)
        {
            for (int cur = line0; cur < line1; cur++)
            {
                if (column >= cells[cur].Length - 1) continue;
                WriteLines(pos, cur);
                pos = cur;
                int width = 10;
                int end = cur;
                for (; end < line1 && column < cells[end].Length - 1; end++) width = Math.Max(width, cells[end][column].Length + 3);
                widths.Add(width);
                pos = FormatBlock(pos, cur, end, column + 1);
                widths.RemoveAt(widths.Count - 1);
                cur = end - 1;
                line0 = end;
            }
            WriteLines(pos, line1);
            return line1;
        }
        FormatBlock(0, 0, cells.Count, 0);
        return sb.ToString();
    }

    /// <summary>Rows as a fixed table (the tab-separated cells of each row through <see cref="Tabwriter"/>).</summary>
    public static string Table(IReadOnlyList<string[]> rows) => rows.Count == 0 ? "" : Tabwriter(rows.Select(r => string.Join('\t', r)).ToList());

    /// <summary>
    /// docker's --format for listings: "table" (the default table), "table TEMPLATE" (a header row from the
    /// fields' names, then the rows, aligned), "json" (one object per line), or a template per row. -q without a
    /// format (or with "table") prints the quiet template.
    /// </summary>
    public static string Listing(string? format, bool quiet, string defaultTable, string quietFormat, IFields headerSource, IEnumerable<IFields> rows)
    {
        format = string.IsNullOrEmpty(format) ? "table" : format;
        if (format == "table") format = quiet ? quietFormat : defaultTable;
        else if (format == "json") format = "{{json .}}";
        bool table = format.StartsWith("table", StringComparison.Ordinal) && (format.Length == 5 || char.IsWhiteSpace(format[5]));
        if (table) format = format[5..];
        format = format.Trim(' ').Replace("\\t", "\t").Replace("\\n", "\n");
        var template = Template.Parse(format, listing: true);
        var lines = new List<string>();
        if (table) lines.Add(template.Execute(headerSource, header: true));
        foreach (var row in rows) lines.Add(template.Execute(row));
        if (!table) return string.Concat(lines.Select(l => l + "\n"));
        // A row's text may hold newlines of its own: the tabwriter sees lines.
        return Tabwriter(string.Join('\n', lines).Split('\n'));
    }

    /// <summary>JSON indented as docker inspect prints it (4 spaces), or on one line (inspect --format json).</summary>
    /// <summary>What `inspect` prints: each object through the template, else one JSON array (indented; on one line
    /// for --format json, as docker).</summary>
    public static void PrintInspected(IReadOnlyList<JsonDocument> found, Template? format, bool compact)
    {
        if (format is not null)
        {
            foreach (var d in found) Console.WriteLine(format.Execute(d.RootElement));
            return;
        }
        var ms = new MemoryStream();
        using (var w = new Utf8JsonWriter(ms))
        {
            w.WriteStartArray();
            foreach (var d in found) d.RootElement.WriteTo(w);
            w.WriteEndArray();
        }
        using var all = JsonDocument.Parse(ms.ToArray());
        Console.WriteLine(Indent(all.RootElement, indented: !compact));
    }

    public static string Indent(JsonElement e, bool indented = true)
    {
        var ms = new MemoryStream();
        using (var w = new Utf8JsonWriter(ms, new JsonWriterOptions
        {
            Indented = indented, IndentSize = 4, Encoder = System.Text.Encodings.Web.JavaScriptEncoder.UnsafeRelaxedJsonEscaping,
        }))
        {
            e.WriteTo(w); // as the daemon sent it (docker's CLI indents the raw bytes)
        }
        return Encoding.UTF8.GetString(ms.ToArray());
    }

    /// <summary>The properties of docker's inspect types that are Go maps (so encoded with sorted keys).</summary>
    private static readonly HashSet<string> MapProperties = new(StringComparer.Ordinal)
    {
        "Labels", "Options", "DriverOpts", "Data", "Networks", "Ports", "ExposedPorts", "Volumes", "PortBindings", "Sysctls",
        "StorageOpt", "Tmpfs", "Annotations", "LogConfig.Config",
    };

    /// <summary>
    /// An inspect document as docker's CLI re-encodes it from its Go types: struct fields in the daemon's order,
    /// the maps' keys sorted.
    /// </summary>
    public static void WriteGo(Utf8JsonWriter w, JsonElement e, string? property = null, string? parent = null)
    {
        switch (e.ValueKind)
        {
            case JsonValueKind.Object:
                w.WriteStartObject();
                var props = e.EnumerateObject();
                bool isMap = property is not null && (MapProperties.Contains(property) || MapProperties.Contains(parent + "." + property))
                             && property != "Config";
                if (property == "Config" && parent == "LogConfig") isMap = true;
                foreach (var p in isMap ? props.OrderBy(p => p.Name, StringComparer.Ordinal) : props.AsEnumerable())
                {
                    w.WritePropertyName(p.Name);
                    WriteGo(w, p.Value, isMap ? null : p.Name, property);
                }
                w.WriteEndObject();
                break;
            case JsonValueKind.Array:
                w.WriteStartArray();
                foreach (var x in e.EnumerateArray()) WriteGo(w, x, null, property);
                w.WriteEndArray();
                break;
            default:
                e.WriteTo(w);
                break;
        }
    }
}
