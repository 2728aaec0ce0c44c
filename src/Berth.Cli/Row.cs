using System.Text.Json;

namespace Berth.Cli;

/// <summary>One line of a listing with docker's formatter fields (all strings), their headers, and .Label "k".</summary>
internal sealed class Row(string typeName, IReadOnlyDictionary<string, string>? labels = null) : IFields
{
    public string TypeName => typeName;

    private readonly SortedDictionary<string, (string? Value, string Header)> _fields = new(StringComparer.Ordinal);

    /// <param name="value">null: a nil pointer of docker's (printed &lt;nil&gt;, null in JSON).</param>
    public Row Set(string name, string header, string? value)
    {
        _fields[name] = (value, header);
        return this;
    }

    public string this[string name] => _fields[name].Value ?? "<nil>";

    public bool TryGet(string name, IReadOnlyList<object?> args, out object? value)
    {
        if (name == "Label" && labels is not null)
        {
            if (args.Count != 1) throw new CliException($"template: wrong number of args for Label: want 1 got {args.Count}", 1);
            value = labels.TryGetValue(Template.GoString(args[0]), out var v) ? v : "";
            return true;
        }
        if (!_fields.TryGetValue(name, out var f) || args.Count != 0)
        {
            value = null;
            return false;
        }
        value = f.Value ?? "<nil>";
        return true;
    }

    public string? Header(string name, IReadOnlyList<object?> args)
    {
        // docker's SubHeaderContext.Label: the key's last dotted part, '-' and '_' as spaces.
        if (name == "Label" && labels is not null && args.Count == 1)
            return Template.GoString(args[0]).Split('.')[^1].Replace('-', ' ').Replace('_', ' ');
        return _fields.TryGetValue(name, out var f) ? f.Header : null;
    }

    public void WriteJson(Utf8JsonWriter w)
    {
        w.WriteStartObject();
        foreach (var (name, (value, _)) in _fields)
        {
            if (value is null) w.WriteNull(name);
            else w.WriteString(name, value);
        }
        w.WriteEndObject();
    }
}
