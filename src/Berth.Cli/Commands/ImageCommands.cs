using System.Text.Json;
using Berth.Cli.Http;

namespace Berth.Cli.Commands;

/// <summary>images, import, tag, rmi.</summary>
internal static class ImageCommands
{
    private static string Q(string s) => Uri.EscapeDataString(s);

    public static int Images(ApiClient api, string[] argv)
    {
        var a = Args.Parse(argv, ["format"], ["quiet", "all", "no-trunc"], new() { ['q'] = "quiet", ['a'] = "all" });
        using var doc = SystemCommands.GetJson(api, "/images/json", "Error response from daemon: ");
        var rows = new List<string[]> { new[] { "REPOSITORY", "TAG", "IMAGE ID", "CREATED", "SIZE" } };
        var quiet = new List<string>();
        foreach (var img in doc.RootElement.EnumerateArray().OrderByDescending(i => i.GetProperty("Created").GetInt64()))
        {
            var id = img.GetProperty("Id").GetString()!;
            var shortId = a.Bool("no-trunc") ? id : id.Replace("sha256:", "")[..12];
            var created = Format.Duration(DateTimeOffset.UtcNow - DateTimeOffset.FromUnixTimeSeconds(img.GetProperty("Created").GetInt64())) + " ago";
            var size = Format.Size(img.GetProperty("Size").GetInt64());
            var tags = img.TryGetProperty("RepoTags", out var rt) && rt.ValueKind == JsonValueKind.Array && rt.GetArrayLength() > 0
                ? rt.EnumerateArray().Select(t => t.GetString()!).ToList() : ["<none>:<none>"];
            if (a.Bool("quiet")) { if (!quiet.Contains(shortId)) quiet.Add(shortId); continue; }
            foreach (var tag in tags)
            {
                int colon = tag.LastIndexOf(':');
                rows.Add([tag[..colon], tag[(colon + 1)..], shortId, created, size]);
            }
        }
        if (a.Bool("quiet")) { foreach (var q in quiet) Console.WriteLine(q); return 0; }
        if (a.Value("format") is { } f)
        {
            foreach (var r in rows.Skip(1))
            {
                using var row = JsonDocument.Parse(JsonSerializer.Serialize(new Dictionary<string, string>
                {
                    ["Repository"] = r[0], ["Tag"] = r[1], ["ID"] = r[2], ["CreatedSince"] = r[3], ["Size"] = r[4],
                }, CliJsonContext.Default.DictionaryStringString));
                Console.WriteLine(Format.Template(f, row.RootElement));
            }
            return 0;
        }
        Console.Write(Format.Table(rows));
        return 0;
    }

    public static int Import(ApiClient api, string[] argv)
    {
        var a = Args.Parse(argv, ["change", "message"], [], new() { ['c'] = "change", ['m'] = "message" });
        if (a.Positional.Count is < 1 or > 2) throw new CliException("\"berth import\" requires at least 1 and at most 2 arguments.\nSee 'berth import --help'.", 1);
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
        using Stream input = a.Positional[0] == "-" ? Console.OpenStandardInput()
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

    public static int Tag(ApiClient api, string[] argv)
    {
        if (argv.Length != 2) throw new CliException("\"berth tag\" requires exactly 2 arguments.\nSee 'berth tag --help'.", 1);
        var target = argv[1];
        int colon = target.LastIndexOf(':');
        var (repo, tag) = colon > target.LastIndexOf('/') && colon > 0 ? (target[..colon], target[(colon + 1)..]) : (target, "latest");
        using var r = api.Send("POST", $"/images/{Q(argv[0])}/tag?repo={Q(repo)}&tag={Q(tag)}", null);
        if (r.Status is not (200 or 201)) throw new CliException("Error response from daemon: " + r.ErrorMessage(), 1);
        return 0;
    }

    public static int Rmi(ApiClient api, string[] argv)
    {
        var a = Args.Parse(argv, [], ["force", "no-prune"], new() { ['f'] = "force" });
        if (a.Positional.Count == 0) throw new CliException("\"berth rmi\" requires at least 1 argument.\nSee 'berth rmi --help'.", 1);
        int status = 0;
        foreach (var image in a.Positional)
        {
            using var r = api.Send("DELETE", $"/images/{Q(image)}" + (a.Bool("force") ? "?force=1" : ""), null);
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
