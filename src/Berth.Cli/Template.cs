using System.Globalization;
using System.Text;
using System.Text.Json;

namespace Berth.Cli;

/// <summary>A row of a listing (ps, images): docker's formatter fields, their table headers, and methods (.Label "k").</summary>
internal interface IFields
{
    /// <summary>docker's Go type in error messages (*formatter.ContainerContext).</summary>
    string TypeName { get; }
    bool TryGet(string name, IReadOnlyList<object?> args, out object? value);
    /// <summary>The table header of a field (with its arguments: .Label "com.x.y" heads "y").</summary>
    string? Header(string name, IReadOnlyList<object?> args);
    /// <summary>`{{json .}}`: the fields as one JSON object.</summary>
    void WriteJson(Utf8JsonWriter w);
}

/// <summary>
/// The Go text/template subset docker's --format takes: text and actions; fields (.A.B), `.`, `$`, variables;
/// pipelines with `|`; if/else if/else, range (with `$k, $v :=`), with, end; comments; `{{-`/`-}}` trimming;
/// docker's functions (json, join, split, lower, upper, title, truncate, pad) and Go's (index, len, print, printf,
/// println, eq, ne, lt, le, gt, ge, not, and, or). Values are JsonElements (inspect), strings, and IFields rows.
/// </summary>
internal sealed class Template
{
    private abstract record Node;
    private sealed record TextNode(string Text) : Node;
    private sealed record ActionNode(Pipeline Pipe) : Node;
    private sealed record IfNode(string Kind, Pipeline Pipe, List<Node> Then, List<Node>? Else) : Node; // if, with, range
    private sealed record Pipeline(string[] Decl, List<Cmd> Cmds);
    private sealed record Cmd(List<Operand> Args);
    private abstract record Operand;
    private sealed record FieldOp(string? Var, string[] Path, string Text, int Pos) : Operand; // Var null: the dot; Pos: offset in the template
    private sealed record LiteralOp(object? Value) : Operand;
    private sealed record FuncOp(string Name) : Operand;
    private sealed record SubOp(Pipeline Pipe) : Operand;

    private readonly List<Node> _root;
    private readonly string _source;
    private readonly bool _listing;

    private Template(string source, List<Node> root, bool listing) { _source = source; _root = root; _listing = listing; }

    /// <param name="listing">ps/images (docker's formatter: "failed to parse/execute template: ...") rather than
    /// inspect ("template parsing error: ...").</param>
    public static Template Parse(string text, bool listing = false)
    {
        try
        {
            var parser = new Parser(text);
            var nodes = parser.ParseList(out var end);
            if (end is not null) throw new TemplateError($"template: :1: unexpected {{{{{end}}}}}");
            return new Template(text, nodes, listing);
        }
        catch (TemplateError e)
        {
            throw new CliException((listing ? "failed to parse template: " : "template parsing error: ") + e.Message, 1);
        }
    }

    private static TemplateError Error(string template, string message) => new($"template: :1: {message}");

    private sealed class TemplateError(string message) : Exception(message);
    private sealed class FieldError(string message) : Exception(message);

    /// <summary>Runs the template on <paramref name="dot"/>; <paramref name="header"/> runs it for a table's header row.</summary>
    public string Execute(object? dot, bool header = false)
    {
        var sb = new StringBuilder();
        var ctx = new Exec(_source, dot, header);
        try
        {
            ctx.Run(_root, dot, sb);
        }
        catch (TemplateError e)
        {
            throw new CliException((_listing ? "failed to execute template: " : "template parsing error: ") + e.Message, 1);
        }
        return sb.ToString();
    }

    // ---------------------------------------------------------------- parsing

    private sealed class Parser(string text)
    {
        private int _pos, _elseStart, _offset;
        private readonly List<int> _positions = [];

        /// <summary>Nodes up to an {{end}} / {{else ...}} (returned in <paramref name="end"/>) or the end of the text.</summary>
        public List<Node> ParseList(out string? end)
        {
            var nodes = new List<Node>();
            end = null;
            while (_pos < text.Length)
            {
                int open = text.IndexOf("{{", _pos, StringComparison.Ordinal);
                string literal = open < 0 ? text[_pos..] : text[_pos..open];
                bool trimLeft = open >= 0 && open + 2 < text.Length && text[open + 2] == '-' && open + 3 < text.Length && char.IsWhiteSpace(text[open + 3]);
                if (trimLeft) literal = literal.TrimEnd();
                if (literal.Length > 0) nodes.Add(new TextNode(literal));
                if (open < 0) { _pos = text.Length; break; }
                int close = text.IndexOf("}}", open + 2, StringComparison.Ordinal);
                if (close < 0) throw Error(text, "unclosed action");
                var inner = text[(open + 2)..close];
                int innerStart = open + 2;
                bool trimRight = inner.Length > 1 && inner[^1] == '-' && char.IsWhiteSpace(inner[^2]);
                if (trimLeft) { inner = inner[1..]; innerStart++; }
                if (trimRight) inner = inner[..^1];
                _pos = close + 2;
                if (trimRight) while (_pos < text.Length && char.IsWhiteSpace(text[_pos])) _pos++;
                innerStart += inner.Length - inner.TrimStart().Length;
                inner = inner.Trim();
                if (inner.StartsWith("/*", StringComparison.Ordinal)) continue;
                var word = inner.Split([' ', '\t', '\n'], 2)[0];
                switch (word)
                {
                    case "end":
                        end = "end";
                        return nodes;
                    case "else":
                        _elseStart = innerStart;
                        end = inner;
                        return nodes;
                    case "if" or "with" or "range":
                    {
                        var pipe = ParsePipeline(inner[word.Length..], innerStart + word.Length);
                        var then = ParseList(out var e);
                        List<Node>? elseNodes = null;
                        if (e is null) throw Error(text, $"unexpected EOF in {word}");
                        if (e.StartsWith("else", StringComparison.Ordinal))
                        {
                            var rest = e[4..].Trim();
                            if (rest.StartsWith("if ", StringComparison.Ordinal) || rest.StartsWith("with ", StringComparison.Ordinal))
                            {
                                // {{else if x}}: a nested if that shares this {{end}}
                                var kind = rest.Split(' ', 2)[0];
                                var nestedPipe = ParsePipeline(rest[kind.Length..], _elseStart + (e.Length - rest.Length) + kind.Length);
                                var nestedThen = ParseList(out var e2);
                                List<Node>? nestedElse = null;
                                if (e2 is not null && e2.StartsWith("else", StringComparison.Ordinal) && e2.Trim() == "else")
                                {
                                    nestedElse = ParseList(out e2);
                                }
                                if (e2 != "end") throw Error(text, $"expected end in {word}");
                                elseNodes = [new IfNode(kind, nestedPipe, nestedThen, nestedElse)];
                            }
                            else
                            {
                                elseNodes = ParseList(out var e3);
                                if (e3 != "end") throw Error(text, $"expected end in {word}");
                            }
                        }
                        nodes.Add(new IfNode(word, pipe, then, elseNodes));
                        break;
                    }
                    default:
                        nodes.Add(new ActionNode(ParsePipeline(inner, innerStart)));
                        break;
                }
            }
            return nodes;
        }

        private Pipeline ParsePipeline(string s, int offset)
        {
            _positions.Clear();
            var tokens = Tokenize(s);
            _offset = offset;
            int i = 0;
            string[] decl = [];
            int assign = tokens.IndexOf(":=");
            if (assign < 0) assign = tokens.IndexOf("=");
            if (assign > 0)
            {
                decl = tokens.Take(assign).Where(t => t != ",").ToArray();
                i = assign + 1;
            }
            var p = ParseCommands(tokens, ref i, false);
            return new Pipeline(decl, p);
        }

        private List<Cmd> ParseCommands(List<string> tokens, ref int i, bool inParen)
        {
            var cmds = new List<Cmd>();
            var args = new List<Operand>();
            for (; i < tokens.Count; i++)
            {
                var t = tokens[i];
                if (t == ")" && inParen) break;
                if (t == "|")
                {
                    if (args.Count == 0) throw Error(text, "missing command before |");
                    cmds.Add(new Cmd(args));
                    args = [];
                    continue;
                }
                if (t == "(")
                {
                    i++;
                    var sub = ParseCommands(tokens, ref i, true);
                    var op = (Operand)new SubOp(new Pipeline([], sub));
                    // (x).Field
                    if (i + 1 < tokens.Count && tokens[i + 1].StartsWith('.') && tokens[i + 1].Length > 1)
                        throw Error(text, "field access on a parenthesized pipeline is not supported");
                    args.Add(op);
                    continue;
                }
                args.Add(Operand(t, _offset + _positions[i]));
            }
            if (args.Count == 0) throw Error(text, "missing value for command");
            cmds.Add(new Cmd(args));
            return cmds;
        }

        private Operand Operand(string t, int pos)
        {
            if (t[0] == '"') return new LiteralOp(Unquote(t));
            if (t[0] == '`') return new LiteralOp(t[1..^1]);
            if (t == ".") return new FieldOp(null, [], t, pos);
            if (t[0] == '.') return new FieldOp(null, t[1..].Split('.'), t, pos);
            if (t[0] == '$')
            {
                var parts = t.Split('.');
                return new FieldOp(parts[0], parts[1..], t, pos);
            }
            if (t is "true" or "false") return new LiteralOp(t == "true");
            if (t == "nil") return new LiteralOp(null);
            if (char.IsDigit(t[0]) || (t[0] == '-' && t.Length > 1))
            {
                if (long.TryParse(t, NumberStyles.Integer, CultureInfo.InvariantCulture, out var l)) return new LiteralOp(l);
                if (double.TryParse(t, NumberStyles.Float, CultureInfo.InvariantCulture, out var d)) return new LiteralOp(d);
            }
            if (char.IsLetter(t[0]) || t[0] == '_') return new FuncOp(t);
            throw Error(text, $"unexpected \"{t}\" in command");
        }

        private string Unquote(string t)
        {
            var sb = new StringBuilder();
            for (int i = 1; i < t.Length - 1; i++)
            {
                if (t[i] != '\\') { sb.Append(t[i]); continue; }
                char c = t[++i];
                sb.Append(c switch { 'n' => '\n', 't' => '\t', 'r' => '\r', '0' => '\0', _ => c });
            }
            return sb.ToString();
        }

        private List<string> Tokenize(string s)
        {
            var tokens = new List<string>();
            int i = 0;
            while (i < s.Length)
            {
                char c = s[i];
                if (char.IsWhiteSpace(c)) { i++; continue; }
                if (c is '|' or '(' or ')' or ',') { _positions.Add(i); tokens.Add(c.ToString()); i++; continue; }
                if (c == ':' && i + 1 < s.Length && s[i + 1] == '=') { _positions.Add(i); tokens.Add(":="); i += 2; continue; }
                if (c == '=') { _positions.Add(i); tokens.Add("="); i++; continue; }
                if (c is '"' or '`')
                {
                    int j = i + 1;
                    while (j < s.Length && s[j] != c) { if (c == '"' && s[j] == '\\') j++; j++; }
                    if (j >= s.Length) throw Error(text, "unterminated quoted string");
                    _positions.Add(i);
                    tokens.Add(s[i..(j + 1)]);
                    i = j + 1;
                    continue;
                }
                int k = i;
                while (k < s.Length && !char.IsWhiteSpace(s[k]) && s[k] is not ('|' or '(' or ')' or ',' or '"')
                       && !(s[k] == ':' && k + 1 < s.Length && s[k + 1] == '=')) k++;
                _positions.Add(i);
                tokens.Add(s[i..k]);
                i = k;
            }
            return tokens;
        }
    }

    // ---------------------------------------------------------------- execution

    private sealed class Exec(string source, object? root, bool header)
    {
        private readonly List<(string Name, object? Value)> _vars = [("$", root)];
        private (string Name, string? Parent)? _pipeHint;

        public void Run(List<Node> nodes, object? dot, StringBuilder sb)
        {
            foreach (var n in nodes)
            {
                switch (n)
                {
                    case TextNode text:
                        sb.Append(text.Text);
                        break;
                    case ActionNode a:
                    {
                        var v = Eval(a.Pipe, dot);
                        if (a.Pipe.Decl.Length == 0) sb.Append(GoString(v));
                        break;
                    }
                    case IfNode f:
                        RunControl(f, dot, sb);
                        break;
                }
            }
        }

        private void RunControl(IfNode f, object? dot, StringBuilder sb)
        {
            int mark = _vars.Count;
            if (f.Kind == "range")
            {
                var v = Eval(new Pipeline([], f.Pipe.Cmds), dot);
                var items = new List<(object? Key, object? Value)>();
                if (v is JsonElement { ValueKind: JsonValueKind.Array } arr)
                {
                    int i = 0;
                    foreach (var e in arr.EnumerateArray()) items.Add((i++, e));
                }
                else if (v is JsonElement { ValueKind: JsonValueKind.Object } obj)
                    foreach (var p in obj.EnumerateObject().OrderBy(p => p.Name, StringComparer.Ordinal)) items.Add((p.Name, p.Value));
                else if (v is IReadOnlyList<object?> list)
                    for (int i = 0; i < list.Count; i++) items.Add((i, list[i]));
                else if (v is long n)
                    for (long i = 0; i < n; i++) items.Add((i, i));
                else if (!(v is null || v is JsonElement { ValueKind: JsonValueKind.Null or JsonValueKind.Undefined }))
                    throw new TemplateError($"template: range can't iterate over {GoString(v)}");
                if (items.Count == 0)
                {
                    if (f.Else is not null) Run(f.Else, dot, sb);
                    return;
                }
                foreach (var (key, value) in items)
                {
                    _vars.RemoveRange(mark, _vars.Count - mark);
                    if (f.Pipe.Decl.Length == 1) _vars.Add((f.Pipe.Decl[0], value));
                    else if (f.Pipe.Decl.Length == 2) { _vars.Add((f.Pipe.Decl[0], key)); _vars.Add((f.Pipe.Decl[1], value)); }
                    Run(f.Then, value, sb);
                }
                _vars.RemoveRange(mark, _vars.Count - mark);
                return;
            }
            var cond = Eval(f.Pipe, dot);
            if (Truth(cond)) Run(f.Then, f.Kind == "with" ? cond : dot, sb);
            else if (f.Else is not null) Run(f.Else, dot, sb);
            _vars.RemoveRange(mark, _vars.Count - mark);
        }

        private object? Eval(Pipeline p, object? dot)
        {
            object? value = null;
            bool first = true;
            foreach (var cmd in p.Cmds)
            {
                _pipeHint = first ? null : _pipeHint;
                value = EvalCmd(cmd, dot, first ? null : [value]);
                first = false;
                // what the value was called (.Config.Labels: a map), for json's key order
                _pipeHint = cmd.Args is [FieldOp { Path.Length: > 0 } f] ? (f.Path[^1], f.Path.Length > 1 ? f.Path[^2] : null) : null;
            }
            foreach (var name in p.Decl) _vars.Add((name, value));
            return value;
        }

        private object? EvalCmd(Cmd cmd, object? dot, object?[]? piped)
        {
            var head = cmd.Args[0];
            var hint = cmd.Args.Count > 1 && cmd.Args[1] is FieldOp { Path.Length: > 0 } fa ? (fa.Path[^1], fa.Path.Length > 1 ? fa.Path[^2] : null)
                     : piped is not null ? _pipeHint : null;
            var rest = cmd.Args.Skip(1).Select(o => EvalOperand(o, dot, null)).ToList();
            if (piped is not null) rest.AddRange(piped);
            return head switch
            {
                FuncOp f => Call(f.Name, rest, hint),
                FieldOp fo => EvalField(fo, dot, rest),
                _ when rest.Count > 0 => throw new TemplateError($"template: can't give argument to non-function {Describe(head)}"),
                _ => EvalOperand(head, dot, null),
            };
        }

        private static string Describe(Operand o) => o switch { LiteralOp l => GoString(l.Value), _ => o.ToString() ?? "" };

        private object? EvalOperand(Operand o, object? dot, List<object?>? args) => o switch
        {
            LiteralOp l => l.Value,
            FieldOp f => EvalField(f, dot, args ?? []),
            SubOp s => Eval(s.Pipe, dot),
            FuncOp f => Call(f.Name, [], null),
            _ => null,
        };

        private object? EvalField(FieldOp f, object? dot, List<object?> args)
        {
            object? v = dot;
            if (f.Var is not null)
            {
                int idx = _vars.FindLastIndex(x => x.Name == f.Var);
                if (idx < 0) throw new TemplateError($"template: undefined variable \"{f.Var}\"");
                v = _vars[idx].Value;
            }
            try
            {
                for (int i = 0; i < f.Path.Length; i++)
                    v = Field(v, f.Path[i], i == f.Path.Length - 1 ? args : []);
            }
            catch (FieldError e)
            {
                int nl = source.LastIndexOf('\n', Math.Max(0, f.Pos - 1));
                int line = 1 + source[..f.Pos].Count(c => c == '\n');
                throw new TemplateError($"template: :{line}:{f.Pos - nl - 1}: executing \"\" at <{f.Text}>: {e.Message}");
            }
            if (f.Path.Length == 0 && args.Count > 0) throw new TemplateError("template: can't give argument to non-function");
            return v;
        }

        private object? Field(object? v, string name, List<object?> args)
        {
            switch (v)
            {
                case IFields row:
                    if (header) return row.Header(name, args) ?? "";
                    if (row.TryGet(name, args, out var value)) return value;
                    throw new FieldError($"can't evaluate field {name} in type {row.TypeName}");
                case JsonElement { ValueKind: JsonValueKind.Object } obj:
                    // docker's inspect runs templates with missingkey=error
                    return obj.TryGetProperty(name, out var p) ? p : throw new FieldError($"map has no entry for key \"{name}\"");
                case null or JsonElement { ValueKind: JsonValueKind.Null or JsonValueKind.Undefined }:
                    return null;
                default:
                    throw new FieldError($"can't evaluate field {name} in type {TypeName(v)}");
            }
        }

        private static string TypeName(object v) => v switch
        {
            string => "string", bool => "bool", long => "int", double => "float64",
            JsonElement { ValueKind: JsonValueKind.Array } => "[]interface {}", JsonElement { ValueKind: JsonValueKind.String } => "string",
            JsonElement { ValueKind: JsonValueKind.Number } => "float64", JsonElement => "bool", _ => "interface {}",
        };

        private static readonly string[] HeaderPassThrough = ["json", "join", "split", "lower", "upper", "title", "truncate", "pad"];

        private object? Call(string name, List<object?> a, (string Name, string? Parent)? hint)
        {
            // A table's header row: docker's header functions hand the header through.
            if (header && HeaderPassThrough.Contains(name)) return a.Count > 0 ? GoString(a[0]) : "";
            switch (name)
            {
                case "json": Need(name, a, 1); return Json(a[0], hint?.Name, hint?.Parent);
                case "join": Need(name, a, 2); return string.Join(Str(a[1]), Items(a[0]).Select(GoString));
                case "split": Need(name, a, 2); return Str(a[0]).Split(Str(a[1])).Cast<object?>().ToList();
                case "lower": Need(name, a, 1); return Str(a[0]).ToLowerInvariant();
                case "upper": Need(name, a, 1); return Str(a[0]).ToUpperInvariant();
                case "title": Need(name, a, 1); return Title(Str(a[0]));
                case "truncate":
                {
                    Need(name, a, 2);
                    var s = Str(a[0]);
                    int n = (int)Num(a[1]);
                    return s.Length > n ? s[..n] : s;
                }
                case "pad": Need(name, a, 3); return new string(' ', (int)Num(a[1])) + Str(a[0]) + new string(' ', (int)Num(a[2]));
                case "len":
                    Need(name, a, 1);
                    return (long)(a[0] switch
                    {
                        string s => s.Length, IReadOnlyList<object?> l => l.Count,
                        JsonElement { ValueKind: JsonValueKind.Array } e => e.GetArrayLength(),
                        JsonElement { ValueKind: JsonValueKind.Object } e => e.EnumerateObject().Count(),
                        JsonElement { ValueKind: JsonValueKind.String } e => e.GetString()!.Length,
                        _ => throw new TemplateError($"template: error calling len: len of type {GoString(a[0])}"),
                    });
                case "index":
                {
                    if (a.Count < 1) Need(name, a, 1);
                    object? v = a[0];
                    foreach (var k in a.Skip(1))
                    {
                        v = v switch
                        {
                            JsonElement { ValueKind: JsonValueKind.Object } o => o.TryGetProperty(Str(k), out var p) ? p : null,
                            JsonElement { ValueKind: JsonValueKind.Array } arr => (int)Num(k) < arr.GetArrayLength() && Num(k) >= 0 ? arr[(int)Num(k)]
                                : throw new TemplateError($"template: error calling index: index out of range: {GoString(k)}"),
                            IReadOnlyList<object?> l => (int)Num(k) < l.Count && Num(k) >= 0 ? l[(int)Num(k)]
                                : throw new TemplateError($"template: error calling index: index out of range: {GoString(k)}"),
                            null or JsonElement { ValueKind: JsonValueKind.Null } => null,
                            _ => throw new TemplateError($"template: error calling index: can't index item of type {TypeName(v!)}"),
                        };
                    }
                    return v;
                }
                case "print": return GoSprint(a);
                case "println": return string.Join(' ', a.Select(GoString)) + "\n";
                case "printf": if (a.Count < 1) Need(name, a, 1); return Printf(Str(a[0]), a.Skip(1).ToList());
                case "not": Need(name, a, 1); return !Truth(a[0]);
                case "and": { object? last = null; foreach (var x in a) { last = x; if (!Truth(x)) return x; } return last; }
                case "or": { object? last = null; foreach (var x in a) { last = x; if (Truth(x)) return x; } return last; }
                case "eq": if (a.Count < 2) Need(name, a, 2); return a.Skip(1).Any(x => Compare(a[0], x) == 0);
                case "ne": Need(name, a, 2); return Compare(a[0], a[1]) != 0;
                case "lt": Need(name, a, 2); return Compare(a[0], a[1]) < 0;
                case "le": Need(name, a, 2); return Compare(a[0], a[1]) <= 0;
                case "gt": Need(name, a, 2); return Compare(a[0], a[1]) > 0;
                case "ge": Need(name, a, 2); return Compare(a[0], a[1]) >= 0;
                default: throw new TemplateError($"template: :1: function \"{name}\" not defined");
            }
        }

        private static void Need(string name, List<object?> a, int n)
        {
            if (a.Count != n) throw new TemplateError($"template: wrong number of args for {name}: want {n} got {a.Count}");
        }
    }

    // ---------------------------------------------------------------- values

    private static IEnumerable<object?> Items(object? v) => v switch
    {
        JsonElement { ValueKind: JsonValueKind.Array } e => e.EnumerateArray().Select(x => (object?)x),
        IReadOnlyList<object?> l => l,
        null or JsonElement { ValueKind: JsonValueKind.Null } => [],
        _ => throw new TemplateError($"template: error calling join: {GoString(v)} is not a list"),
    };

    private static string Str(object? v) => v switch { string s => s, JsonElement { ValueKind: JsonValueKind.String } e => e.GetString()!, _ => GoString(v) };

    private static double Num(object? v) => v switch
    {
        long l => l, double d => d, JsonElement { ValueKind: JsonValueKind.Number } e => e.GetDouble(),
        string s when double.TryParse(s, NumberStyles.Float, CultureInfo.InvariantCulture, out var d) => d,
        _ => throw new TemplateError($"template: expected a number, got {GoString(v)}"),
    };

    private static object? Scalar(object? v) => v switch
    {
        JsonElement { ValueKind: JsonValueKind.String } e => e.GetString(),
        JsonElement { ValueKind: JsonValueKind.Number } e => e.TryGetInt64(out var l) ? l : e.GetDouble(),
        JsonElement { ValueKind: JsonValueKind.True } => true,
        JsonElement { ValueKind: JsonValueKind.False } => false,
        JsonElement { ValueKind: JsonValueKind.Null or JsonValueKind.Undefined } => null,
        _ => v,
    };

    private static int Compare(object? x, object? y)
    {
        x = Scalar(x);
        y = Scalar(y);
        if (x is long or double && y is long or double) return Num(x).CompareTo(Num(y));
        if (x is string sx && y is string sy) return string.CompareOrdinal(sx, sy);
        if (x is bool bx && y is bool by) return bx == by ? 0 : bx ? 1 : -1;
        if (x is null && y is null) return 0;
        throw new TemplateError($"template: error calling eq: incompatible types for comparison");
    }

    private static bool Truth(object? v) => Scalar(v) switch
    {
        null => false, bool b => b, string s => s.Length > 0, long l => l != 0, double d => d != 0,
        IReadOnlyList<object?> l => l.Count > 0,
        JsonElement { ValueKind: JsonValueKind.Array } e => e.GetArrayLength() > 0,
        JsonElement { ValueKind: JsonValueKind.Object } e => e.EnumerateObject().Any(),
        _ => true,
    };

    private static string Title(string s)
    {
        var sb = new StringBuilder(s.Length);
        bool start = true;
        foreach (var c in s)
        {
            sb.Append(start && char.IsLetter(c) ? char.ToUpperInvariant(c) : c);
            start = !char.IsLetterOrDigit(c);
        }
        return sb.ToString();
    }

    /// <summary>Go's fmt.Sprint: spaces between operands when neither is a string.</summary>
    private static string GoSprint(List<object?> a)
    {
        var sb = new StringBuilder();
        for (int i = 0; i < a.Count; i++)
        {
            if (i > 0 && Scalar(a[i]) is not string && Scalar(a[i - 1]) is not string) sb.Append(' ');
            sb.Append(GoString(a[i]));
        }
        return sb.ToString();
    }

    private static string Printf(string format, List<object?> args)
    {
        var sb = new StringBuilder();
        int next = 0;
        for (int i = 0; i < format.Length; i++)
        {
            if (format[i] != '%' || i + 1 >= format.Length) { sb.Append(format[i]); continue; }
            int j = i + 1;
            while (j < format.Length && "+-# 0123456789.".Contains(format[j])) j++;
            if (j >= format.Length) { sb.Append(format[i..]); break; }
            var spec = format[(i + 1)..j];
            char verb = format[j];
            i = j;
            if (verb == '%') { sb.Append('%'); continue; }
            if (next >= args.Count) { sb.Append($"%!{verb}(MISSING)"); continue; }
            var arg = args[next++];
            string s = verb switch
            {
                'q' => GoQuote(Str(arg)),
                'd' => ((long)Num(arg)).ToString(CultureInfo.InvariantCulture),
                'f' => Num(arg).ToString("F" + (spec.Contains('.') ? spec[(spec.IndexOf('.') + 1)..] : "6"), CultureInfo.InvariantCulture),
                _ => GoString(arg),
            };
            var widthText = new string(spec.TakeWhile(c => c != '.').Where(char.IsDigit).ToArray());
            if (int.TryParse(widthText, out var width)) s = spec.StartsWith('-') ? s.PadRight(width) : s.PadLeft(width);
            sb.Append(s);
        }
        return sb.ToString();
    }

    /// <summary>Go's strconv.Quote (ASCII control characters escaped).</summary>
    public static string GoQuote(string s)
    {
        var sb = new StringBuilder("\"");
        foreach (var c in s)
        {
            switch (c)
            {
                case '"': sb.Append("\\\""); break;
                case '\\': sb.Append("\\\\"); break;
                case '\n': sb.Append("\\n"); break;
                case '\t': sb.Append("\\t"); break;
                case '\r': sb.Append("\\r"); break;
                default:
                    if (c < 0x20 || c == 0x7f) sb.Append($"\\x{(int)c:x2}");
                    else sb.Append(c);
                    break;
            }
        }
        return sb.Append('"').ToString();
    }

    /// <summary>How Go's template prints a value: strings bare, arrays [a b], maps map[k:v] (sorted), nil &lt;no value&gt;.</summary>
    public static string GoString(object? v) => v switch
    {
        null => "<no value>",
        string s => s,
        bool b => b ? "true" : "false",
        long l => l.ToString(CultureInfo.InvariantCulture),
        double d => d.ToString(CultureInfo.InvariantCulture),
        IReadOnlyList<object?> list => "[" + string.Join(' ', list.Select(GoString)) + "]",
        IFields => "{...}",
        JsonElement e => e.ValueKind switch
        {
            JsonValueKind.String => e.GetString()!,
            JsonValueKind.Number => e.GetRawText(),
            JsonValueKind.True => "true",
            JsonValueKind.False => "false",
            JsonValueKind.Null or JsonValueKind.Undefined => "<no value>",
            JsonValueKind.Array => "[" + string.Join(' ', e.EnumerateArray().Select(x => GoString(x))) + "]",
            _ => "map[" + string.Join(' ', e.EnumerateObject().OrderBy(p => p.Name, StringComparer.Ordinal).Select(p => p.Name + ":" + GoString(p.Value))) + "]",
        },
        _ => v.ToString() ?? "",
    };

    /// <summary>The json function: compact JSON as Go's encoder writes it (&lt; &gt; &amp; escaped).</summary>
    /// <param name="property">the name the value had (Labels: a map, so its keys sorted).</param>
    public static string Json(object? v, string? property = null, string? parent = null)
    {
        var ms = new MemoryStream();
        using (var w = new Utf8JsonWriter(ms, new JsonWriterOptions { Encoder = System.Text.Encodings.Web.JavaScriptEncoder.UnsafeRelaxedJsonEscaping }))
            WriteJson(w, v, property, parent);
        var s = Encoding.UTF8.GetString(ms.ToArray());
        return s.Replace("<", "\\u003c").Replace(">", "\\u003e").Replace("&", "\\u0026");
    }

    private static void WriteJson(Utf8JsonWriter w, object? v, string? property, string? parent = null)
    {
        switch (v)
        {
            case null: w.WriteNullValue(); break;
            case string s: w.WriteStringValue(s); break;
            case bool b: w.WriteBooleanValue(b); break;
            case long l: w.WriteNumberValue(l); break;
            case double d: w.WriteNumberValue(d); break;
            case JsonElement { ValueKind: JsonValueKind.Undefined }: w.WriteNullValue(); break;
            case JsonElement e: Format.WriteGo(w, e, property, parent); break;
            case IFields row: row.WriteJson(w); break;
            case IReadOnlyList<object?> list:
                w.WriteStartArray();
                foreach (var x in list) WriteJson(w, x, null);
                w.WriteEndArray();
                break;
            default: w.WriteStringValue(v.ToString()); break;
        }
    }
}
