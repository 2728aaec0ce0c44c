using System.Text.RegularExpressions;
using Berth.Core;

namespace Berth.Api;

/// <summary>
/// The Engine API's <c>filters</c> query parameter (Docker's <c>filters.Args</c>): JSON of
/// <c>{"key":{"value":true}}</c>, or the legacy <c>{"key":["value"]}</c>. Values of one key are alternatives (OR);
/// different keys must all match (AND).
/// </summary>
public sealed class FilterArgs
{
    private readonly Dictionary<string, List<string>> _fields;

    private FilterArgs(Dictionary<string, List<string>> fields) => _fields = fields;

    public static FilterArgs Empty { get; } = new(new());

    /// <summary>Parses the query value; bad JSON is a 400 as with dockerd.</summary>
    public static FilterArgs Parse(string? json)
    {
        if (string.IsNullOrWhiteSpace(json)) return Empty;
        var fields = new Dictionary<string, List<string>>(StringComparer.Ordinal);
        try
        {
            using var doc = JsonDocument.Parse(json);
            if (doc.RootElement.ValueKind != JsonValueKind.Object) throw BerthException.Invalid("invalid filter: the filters must be a JSON object");
            foreach (var field in doc.RootElement.EnumerateObject())
            {
                var values = new List<string>();
                switch (field.Value.ValueKind)
                {
                    case JsonValueKind.Object:
                        foreach (var v in field.Value.EnumerateObject())
                            if (v.Value.ValueKind == JsonValueKind.True) values.Add(v.Name);
                        break;
                    case JsonValueKind.Array:
                        foreach (var v in field.Value.EnumerateArray())
                            if (v.ValueKind == JsonValueKind.String) values.Add(v.GetString()!);
                        break;
                    default:
                        throw BerthException.Invalid($"invalid filter '{field.Name}': its values must be an object or an array");
                }
                fields[field.Name] = values;
            }
        }
        catch (JsonException e)
        {
            throw BerthException.Invalid($"invalid filter: {e.Message}");
        }
        return new FilterArgs(fields);
    }

    public bool Contains(string key) => _fields.ContainsKey(key);

    public IReadOnlyList<string> Get(string key) => _fields.TryGetValue(key, out var v) ? v : [];

    /// <summary>Every key must be one of <paramref name="accepted"/>: else "invalid filter 'key'" (400).</summary>
    public void Validate(IReadOnlySet<string> accepted)
    {
        foreach (var key in _fields.Keys)
            if (!accepted.Contains(key)) throw BerthException.Invalid($"invalid filter '{key}'");
    }

    /// <summary>True when the key is absent, or <paramref name="source"/> equals one of its values.</summary>
    public bool ExactMatch(string key, string source) =>
        !_fields.TryGetValue(key, out var values) || values.Count == 0 || values.Contains(source, StringComparer.Ordinal);

    /// <summary>
    /// True when the key is absent, or one of its values equals <paramref name="source"/> or matches it as an
    /// (unanchored) regular expression, as Docker's <c>Match</c>; an invalid expression matches nothing.
    /// </summary>
    public bool Match(string key, string source)
    {
        if (!_fields.TryGetValue(key, out var values) || values.Count == 0) return true;
        foreach (var v in values)
        {
            if (v == source) return true;
            try
            {
                if (Regex.IsMatch(source, v, RegexOptions.CultureInvariant, TimeSpan.FromMilliseconds(100))) return true;
            }
            catch (ArgumentException) { }
            catch (RegexMatchTimeoutException) { }
        }
        return false;
    }

    /// <summary>
    /// True when the key is absent, or every value ("k" or "k=v") is satisfied by <paramref name="labels"/>, as
    /// Docker's <c>MatchKVList</c>.
    /// </summary>
    public bool MatchKeyValues(string key, IReadOnlyDictionary<string, string> labels)
    {
        if (!_fields.TryGetValue(key, out var values) || values.Count == 0) return true;
        foreach (var v in values)
        {
            int eq = v.IndexOf('=');
            if (eq < 0)
            {
                if (!labels.ContainsKey(v)) return false;
            }
            else if (!labels.TryGetValue(v[..eq], out var have) || have != v[(eq + 1)..])
            {
                return false;
            }
        }
        return true;
    }
}
