using System.Text.Json;
using Berth.Cli.Http;

namespace Berth.Cli.Commands;

/// <summary>images, import, tag, rmi.</summary>
internal static class ImageCommands
{
    private static string Q(string s) => Uri.EscapeDataString(s);

    /// <summary>
    /// An image reference in a URL path as docker's CLI puts it: '/' and ':' (and '@') left as they are
    /// (localhost:5000/ns/app:1 -> /images/localhost:5000/ns/app:1/json); anything else escaped.
    /// </summary>
    public static string ImagePath(string reference)
    {
        var sb = new System.Text.StringBuilder();
        foreach (var part in reference.Split('/'))
        {
            if (sb.Length > 0) sb.Append('/');
            sb.Append(Uri.EscapeDataString(part).Replace("%3A", ":").Replace("%40", "@"));
        }
        return sb.ToString();
    }

    private const string ImagesTable = "table {{.Repository}}\\t{{.Tag}}\\t{{.ID}}\\t{{.CreatedSince}}\\t{{.Size}}";

    public static int Images(Invocation inv)
    {
        var a = inv.Args;
        using var doc = SystemCommands.GetJson(inv.Api, "/images/json", "Error response from daemon: ");
        bool trunc = !a.Bool("no-trunc");
        var filter = a.Positional.Count > 0 ? a.Positional[0] : null;
        var rows = new List<Row>();
        var seen = new HashSet<string>(StringComparer.Ordinal);
        foreach (var img in doc.RootElement.EnumerateArray().OrderByDescending(i => i.GetProperty("Created").GetInt64()))
        {
            var tags = img.TryGetProperty("RepoTags", out var rt) && rt.ValueKind == JsonValueKind.Array && rt.GetArrayLength() > 0
                ? rt.EnumerateArray().Select(t => t.GetString()!).ToList() : ["<none>:<none>"];
            foreach (var tag in tags)
            {
                int colon = tag.LastIndexOf(':');
                var (repo, t) = (tag[..colon], tag[(colon + 1)..]);
                if (filter is not null && !Matches(filter, repo, t)) continue;
                var row = ImageRow(img, repo, t, trunc);
                // -q: each image once
                if (a.Bool("quiet") && a.Value("format") is null && !seen.Add(row["ID"])) continue;
                rows.Add(row);
            }
        }
        Console.Write(Format.Listing(a.Value("format"), a.Bool("quiet"), ImagesTable, "{{.ID}}", ImageRow(default, "", "", trunc), rows));
        return 0;
    }

    /// <summary>`images REPOSITORY[:TAG]`: the repository (and the tag when given), '*' as a wildcard.</summary>
    private static bool Matches(string filter, string repo, string tag)
    {
        int colon = filter.LastIndexOf(':');
        string? ftag = null;
        if (colon > filter.LastIndexOf('/') && colon > 0) { ftag = filter[(colon + 1)..]; filter = filter[..colon]; }
        static bool Glob(string pattern, string text) => System.Text.RegularExpressions.Regex.IsMatch(text,
            "^" + System.Text.RegularExpressions.Regex.Escape(pattern).Replace("\\*", "[^/]*").Replace("\\?", "[^/]") + "$");
        return Glob(filter, repo) && (ftag is null || Glob(ftag, tag));
    }

    private static Row ImageRow(JsonElement img, string repo, string tag, bool trunc)
    {
        if (img.ValueKind == JsonValueKind.Undefined) return ImageRow(JsonDocument.Parse("""{"Id":"","Created":0,"Size":0}""").RootElement, repo, tag, trunc);
        var id = img.GetProperty("Id").GetString()!;
        var created = DateTimeOffset.FromUnixTimeSeconds(img.GetProperty("Created").GetInt64());
        var size = Format.Size(img.GetProperty("Size").GetInt64());
        long L(string name) => img.TryGetProperty(name, out var v) && v.ValueKind == JsonValueKind.Number ? v.GetInt64() : -1;
        var digest = img.TryGetProperty("RepoDigests", out var rd) && rd.ValueKind == JsonValueKind.Array
            ? rd.EnumerateArray().Select(d => d.GetString() ?? "").FirstOrDefault(d => d.StartsWith(repo + "@", StringComparison.Ordinal)) : null;
        return new Row("*formatter.ImageContext")
            .Set("ID", "IMAGE ID", trunc ? (id.StartsWith("sha256:", StringComparison.Ordinal) ? id[7..] : id) is var s && s.Length > 12 ? s[..12] : s : id)
            .Set("Repository", "REPOSITORY", repo)
            .Set("Tag", "TAG", tag)
            .Set("Digest", "DIGEST", digest is null ? "<none>" : digest[(digest.IndexOf('@') + 1)..])
            .Set("CreatedSince", "CREATED", Format.Duration(DateTimeOffset.UtcNow - created) + " ago")
            .Set("CreatedAt", "CREATED AT", ContainerCommands.GoTime(created))
            .Set("Size", "SIZE", size)
            .Set("VirtualSize", "SIZE", Format.Size(img.GetProperty("Size").GetInt64(), 4))
            .Set("Containers", "CONTAINERS", L("Containers") is var n && n >= 0 ? n.ToString() : "N/A")
            .Set("SharedSize", "SHARED SIZE", L("SharedSize") is var sh && sh >= 0 ? Format.Size(sh) : "N/A")
            .Set("UniqueSize", "UNIQUE SIZE", L("SharedSize") is var sh2 && sh2 >= 0 ? Format.Size(img.GetProperty("Size").GetInt64() - sh2) : "N/A");
    }

    public static int Import(Invocation inv)
    {
        var api = inv.Api;
        var a = inv.Args;
        var q = "?fromSrc=-";
        if (a.Positional.Count == 2)
        {
            var reference = a.Positional[1];
            int colon = reference.LastIndexOf(':');
            q += colon > reference.LastIndexOf('/') && colon > 0
                ? $"&repo={Q(reference[..colon])}&tag={Q(reference[(colon + 1)..])}" : $"&repo={Q(reference)}";
        }
        foreach (var c in a.All("change")) q += "&changes=" + Q(c);
        if (a.Value("message") is { } m) q += "&message=" + Q(m);
        using Stream input = a.Positional[0] == "-" ? new FdStream(0)
            : File.Exists(a.Positional[0]) ? File.OpenRead(a.Positional[0])
            : throw new CliException($"open {a.Positional[0]}: no such file or directory", 1);
        using var r = api.SendStream("POST", "/images/create" + q, input, "application/x-tar");
        var text = r.ReadAll();
        if (r.Status != 200) throw new CliException("Error response from daemon: " + ErrorOf(text), 1);
        // A progress stream: lines of JSON; the last has the ID in "status" (or an "error").
        foreach (var line in text.Split('\n', StringSplitOptions.RemoveEmptyEntries))
        {
            using var doc = JsonDocument.Parse(line);
            if (doc.RootElement.TryGetProperty("error", out var e)) throw new CliException(e.GetString() ?? "import failed", 1);
            if (doc.RootElement.TryGetProperty("status", out var s) && s.GetString() is { } st && st.StartsWith("sha256:", StringComparison.Ordinal))
                Console.WriteLine(st);
        }
        return 0;
    }

    private static string ErrorOf(string text)
    {
        try
        {
            using var doc = JsonDocument.Parse(text);
            return doc.RootElement.TryGetProperty("message", out var m) ? m.GetString() ?? text : text;
        }
        catch (JsonException) { return text.Trim(); }
    }

    public static int Tag(Invocation inv)
    {
        var argv = inv.Args.Positional;
        var target = argv[1];
        int colon = target.LastIndexOf(':');
        var (repo, tag) = colon > target.LastIndexOf('/') && colon > 0 ? (target[..colon], target[(colon + 1)..]) : (target, "latest");
        using var r = inv.Api.Send("POST", $"/images/{ImagePath(argv[0])}/tag?repo={Q(repo)}&tag={Q(tag)}", null);
        if (r.Status is not (200 or 201)) throw new CliException("Error response from daemon: " + r.ErrorMessage(), 1);
        return 0;
    }

    public static int Rmi(Invocation inv)
    {
        var api = inv.Api;
        var a = inv.Args;
        int status = 0;
        foreach (var image in a.Positional)
        {
            using var r = api.Send("DELETE", $"/images/{ImagePath(image)}" + (a.Bool("force") ? "?force=1" : ""), null);
            var text = r.ReadAll();
            if (r.Status != 200) { Console.Error.WriteLine("Error response from daemon: " + ErrorOf(text)); status = 1; continue; }
            using var doc = JsonDocument.Parse(text);
            foreach (var item in doc.RootElement.EnumerateArray())
                foreach (var p in item.EnumerateObject()) Console.WriteLine($"{p.Name}: {p.Value.GetString()}");
        }
        return status;
    }
}

[System.Text.Json.Serialization.JsonSerializable(typeof(Dictionary<string, string>))]
internal sealed partial class CliJsonContext : System.Text.Json.Serialization.JsonSerializerContext;
