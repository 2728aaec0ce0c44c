using System.Text.Json;

namespace Berth.Cli.Commands;

/// <summary>docker exec's flow: inspect, create the exec, start it (hijacked, or detached), then its exit code.</summary>
internal static class ExecCommand
{
    private static string Q(string s) => Uri.EscapeDataString(s);

    public static int Run(Invocation inv)
    {
        var api = inv.Api;
        var a = inv.Args;
        var container = a.Positional[0];
        bool tty = a.Bool("tty"), interactive = a.Bool("interactive"), detach = a.Bool("detach");
        var keys = a.Value("detach-keys");
        if (!detach && keys is not null) AttachSession.ParseDetachKeys(keys);
        var env = new List<string>();
        foreach (var file in a.All("env-file"))
        {
            if (!File.Exists(file)) throw new CliException($"open {file}: no such file or directory", 1);
            foreach (var line in File.ReadAllLines(file))
            {
                var l = line.Trim();
                if (l.Length == 0 || l[0] == '#') continue;
                env.Add(l.Contains('=') ? l : l + "=" + Environment.GetEnvironmentVariable(l));
            }
        }
        foreach (var e in a.All("env")) env.Add(e.Contains('=') ? e : e + "=" + Environment.GetEnvironmentVariable(e));

        using (var r = api.Send("GET", $"/containers/{Q(container)}/json", null))
            if (r.Status != 200) throw new CliException("Error response from daemon: " + r.ErrorMessage(), 1);
        var body = new MemoryStream();
        using (var w = new Utf8JsonWriter(body))
        {
            w.WriteStartObject();
            w.WriteString("User", a.Value("user") ?? "");
            w.WriteBoolean("Privileged", a.Bool("privileged"));
            w.WriteBoolean("Tty", tty);
            w.WriteBoolean("AttachStdin", interactive && !detach);
            w.WriteBoolean("AttachStderr", !detach);
            w.WriteBoolean("AttachStdout", !detach);
            w.WriteBoolean("Detach", detach);
            w.WriteString("DetachKeys", keys ?? "");
            if (env.Count > 0)
            {
                w.WriteStartArray("Env");
                foreach (var e in env) w.WriteStringValue(e);
                w.WriteEndArray();
            }
            else
            {
                w.WriteNull("Env");
            }
            w.WriteString("WorkingDir", a.Value("workdir") ?? "");
            w.WriteStartArray("Cmd");
            foreach (var c in a.Positional.Skip(1)) w.WriteStringValue(c);
            w.WriteEndArray();
            w.WriteEndObject();
        }
        string execId;
        using (var r = api.Send("POST", $"/containers/{Q(container)}/exec", System.Text.Encoding.UTF8.GetString(body.ToArray())))
        {
            if (r.Status != 201) throw new CliException("Error response from daemon: " + r.ErrorMessage(), 1);
            using var doc = JsonDocument.Parse(r.ReadAll());
            execId = doc.RootElement.GetProperty("Id").GetString()!;
        }
        var start = $"{{\"Detach\":{(detach ? "true" : "false")},\"Tty\":{(tty ? "true" : "false")}}}";
        if (detach)
        {
            using var r = api.Send("POST", $"/exec/{execId}/start", start);
            if (r.Status != 200) throw new CliException("Error response from daemon: " + r.ErrorMessage(), 1);
            return 0;
        }
        using (var session = new AttachSession(api, execId, tty, interactive, keys) { ResizeBase = $"/exec/{execId}" })
        {
            using var hijack = api.Send("POST", $"/exec/{execId}/start", start, upgrade: true);
            if (hijack.Status is not (101 or 200)) throw new CliException("Error response from daemon: " + hijack.ErrorMessage(), 1);
            session.SetupInput();
            session.Monitor(sigProxy: false);
            session.Stream(hijack);
            session.Dispose();
            if (session.Detached) throw new CliException("read escape sequence", 1);
        }
        using (var r = api.Send("GET", $"/exec/{execId}/json", null))
        {
            if (r.Status != 200) throw new CliException("Error response from daemon: " + r.ErrorMessage(), 1);
            using var doc = JsonDocument.Parse(r.ReadAll());
            return doc.RootElement.GetProperty("ExitCode") is { ValueKind: JsonValueKind.Number } code ? code.GetInt32() : 0;
        }
    }
}
