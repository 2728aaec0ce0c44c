using System.Text;
using System.Text.Json;
using Berth.Cli.Http;

namespace Berth.Cli.Commands;

/// <summary>run, create, start, ps, logs, inspect, stop, kill, restart, rm, wait: the docker CLI's flows.</summary>
internal static class ContainerCommands
{
    private static string Q(string s) => Uri.EscapeDataString(s);

    public static int Run(Invocation inv, bool create)
    {
        var api = inv.Api;
        var a = inv.Args;
        string cmd = inv.Path;
        string image = a.Positional[0];
        bool tty = a.Bool("tty"), interactive = a.Bool("interactive"), detach = a.Bool("detach") || create;
        var env = new List<string>();
        foreach (var file in a.All("env-file"))
        {
            if (!File.Exists(file)) throw new CliException($"open {file}: no such file or directory", 125);
            foreach (var line in File.ReadAllLines(file))
            {
                var l = line.Trim();
                if (l.Length == 0 || l[0] == '#') continue;
                env.Add(l.Contains('=') ? l : l + "=" + Environment.GetEnvironmentVariable(l));
            }
        }
        foreach (var e in a.All("env")) env.Add(e.Contains('=') ? e : e + "=" + Environment.GetEnvironmentVariable(e));

        var (portBindings, exposedPorts) = RunPortFlags.Parse(a, cmd);
        var body = new MemoryStream();
        using (var w = new Utf8JsonWriter(body))
        {
            w.WriteStartObject();
            if (a.Value("hostname") is { } hn) w.WriteString("Hostname", hn);
            if (a.Value("user") is { } u) w.WriteString("User", u);
            w.WriteBoolean("AttachStdin", interactive && !detach);
            w.WriteBoolean("AttachStdout", !detach);
            w.WriteBoolean("AttachStderr", !detach);
            w.WriteBoolean("Tty", tty);
            w.WriteBoolean("OpenStdin", interactive);
            w.WriteBoolean("StdinOnce", interactive && !detach);
            w.WriteStartArray("Env");
            foreach (var e in env) w.WriteStringValue(e);
            w.WriteEndArray();
            if (a.Positional.Count > 1)
            {
                w.WriteStartArray("Cmd");
                foreach (var c in a.Positional.Skip(1)) w.WriteStringValue(c);
                w.WriteEndArray();
            }
            w.WriteString("Image", image);
            RunPortFlags.WriteExposed(w, portBindings, exposedPorts);
            if (a.Value("workdir") is { } wd) w.WriteString("WorkingDir", wd);
            if (a.All("label").Count > 0)
            {
                w.WriteStartObject("Labels");
                foreach (var l in a.All("label"))
                {
                    int eq = l.IndexOf('=');
                    w.WriteString(eq < 0 ? l : l[..eq], eq < 0 ? "" : l[(eq + 1)..]);
                }
                w.WriteEndObject();
            }
            if (a.Value("entrypoint") is { } ep)
            {
                w.WriteStartArray("Entrypoint");
                if (ep.Length > 0) w.WriteStringValue(ep);
                w.WriteEndArray();
            }
            // As the docker CLI: `-v /path` (no host part) is an anonymous volume in Config.Volumes, the rest binds.
            var anonymous = a.All("volume").Where(v => !v.Contains(':')).ToList();
            if (anonymous.Count > 0)
            {
                w.WriteStartObject("Volumes");
                foreach (var v in anonymous) { w.WriteStartObject(v); w.WriteEndObject(); }
                w.WriteEndObject();
            }
            w.WriteStartObject("HostConfig");
            w.WriteString("NetworkMode", a.Value("network") ?? "default");
            w.WriteBoolean("AutoRemove", a.Bool("rm"));
            if (a.Value("memory") is { } mem) w.WriteNumber("Memory", ParseBytes(mem, cmd));
            if (a.Value("cpus") is { } cpus)
            {
                if (!double.TryParse(cpus, System.Globalization.NumberStyles.Float, System.Globalization.CultureInfo.InvariantCulture, out var c) || c < 0)
                    throw new CliException($"invalid argument \"{cpus}\" for \"--cpus\" flag: failed to parse {cpus} as a rational number\nSee '{cmd} --help'.", 125);
                w.WriteNumber("NanoCpus", (long)(c * 1e9));
            }
            if (a.Value("pids-limit") is { } pl)
            {
                if (!long.TryParse(pl, out var p)) throw new CliException($"invalid argument \"{pl}\" for \"--pids-limit\" flag\nSee '{cmd} --help'.", 125);
                w.WriteNumber("PidsLimit", p);
            }
            if (tty && Terminal.IsTerminal(1) && Terminal.Size(1) is (> 0, > 0) size)
            {
                w.WriteStartArray("ConsoleSize");
                w.WriteNumberValue(size.Rows);
                w.WriteNumberValue(size.Cols);
                w.WriteEndArray();
            }
            RunStorageFlags.Write(w, a, cmd);
            RunIsolationFlags.Write(w, a, cmd);
            RunPortFlags.WriteHost(w, a, portBindings);
            RunResourceFlags.Write(w, a, cmd);
            w.WriteEndObject();
            w.WriteEndObject();
        }
        var name = a.Value("name");
        string id;
        using (var r = api.Send("POST", "/containers/create" + (name is null ? "" : "?name=" + Q(name)), Encoding.UTF8.GetString(body.ToArray())))
        {
            if (r.Status == 404 && !create)
            {
                var msg = r.ErrorMessage();
                if (msg.StartsWith("No such image", StringComparison.Ordinal))
                {
                    Console.Error.WriteLine($"Unable to find image '{(image.Contains(':') ? image : image + ":latest")}' locally");
                    throw new CliException($"berth: Error response from daemon: {msg} (berth has no pull yet: import the image).\nSee '{cmd} --help'.", 125);
                }
                throw new CliException($"berth: Error response from daemon: {msg}.\nSee '{cmd} --help'.", 125);
            }
            if (r.Status != 201)
                throw new CliException(create ? $"Error response from daemon: {r.ErrorMessage()}" : $"berth: Error response from daemon: {r.ErrorMessage()}.\nSee '{cmd} --help'.", create ? 1 : 125);
            using var doc = JsonDocument.Parse(r.ReadAll());
            id = doc.RootElement.GetProperty("Id").GetString()!;
            foreach (var warning in doc.RootElement.GetProperty("Warnings").EnumerateArray()) Console.Error.WriteLine("WARNING: " + warning.GetString());
        }
        if (create)
        {
            Console.WriteLine(id);
            return 0;
        }
        if (!detach) AttachSession.ParseDetachKeys(a.Value("detach-keys") ?? AttachSession.DefaultDetachKeys); // refused before it starts
        return StartAndAttach(inv, id, detach, interactive, tty, a.Bool("rm"), printId: detach, a.Value("detach-keys"), a.Bool("sig-proxy", true));
    }

    internal static long ParseBytes(string s, string cmd)
    {
        var t = s.Trim().ToLowerInvariant();
        long mult = 1;
        if (t.EndsWith('b')) t = t[..^1];
        if (t.Length > 0 && "kmgt".Contains(t[^1]))
        {
            mult = t[^1] switch { 'k' => 1L << 10, 'm' => 1L << 20, 'g' => 1L << 30, _ => 1L << 40 };
            t = t[..^1];
        }
        if (!double.TryParse(t, System.Globalization.NumberStyles.Float, System.Globalization.CultureInfo.InvariantCulture, out var v) || v < 0)
            throw new CliException($"invalid argument \"{s}\" for \"-m, --memory\" flag: invalid size: '{s}'\nSee '{cmd} --help'.", 125);
        return (long)(v * mult);
    }

    /// <summary>attach (unless detached), wait, start; then the streams until EOF (or the detach keys) and the exit code.</summary>
    private static int StartAndAttach(Invocation inv, string id, bool detach, bool interactive, bool tty, bool autoRemove, bool printId,
                                      string? detachKeys, bool sigProxy)
    {
        var api = inv.Api;
        ApiResponse? attach = null, wait = null;
        using var session = new AttachSession(api, id, tty, interactive, detachKeys);
        if (!detach)
        {
            attach = api.Send("POST", $"/containers/{id}/attach?stream=1&stdout=1&stderr=1{(interactive ? "&stdin=1" : "")}", null, upgrade: true);
            if (attach.Status is not (101 or 200)) throw new CliException("Error response from daemon: " + attach.ErrorMessage(), 125);
            wait = api.Send("POST", $"/containers/{id}/wait?condition={(autoRemove ? "removed" : "next-exit")}", null);
            session.SetupInput();
        }
        using (var start = api.Send("POST", $"/containers/{id}/start", null))
        {
            if (start.Status is not (204 or 304))
            {
                var msg = start.ErrorMessage();
                session.Dispose();
                attach?.Dispose();
                if (autoRemove && wait is not null) wait.ReadAll(); // the daemon removes it
                wait?.Dispose();
                int code = msg.Contains("executable file not found", StringComparison.Ordinal) || msg.Contains("no such file or directory", StringComparison.Ordinal) ? 127
                         : msg.Contains("permission denied", StringComparison.Ordinal) ? 126 : 125;
                throw new CliException($"berth: Error response from daemon: {msg}\n\nRun '{inv.Path} --help' for more information", code);
            }
        }
        if (detach)
        {
            if (printId) Console.WriteLine(id);
            return 0;
        }
        try
        {
            session.Monitor(sigProxy);
            session.Stream(attach!);
        }
        finally
        {
            session.Dispose();
            attach!.Dispose();
        }
        using (wait)
        {
            if (session.Detached) return 0; // the container runs on (as docker: nothing printed, exit 0)
            return ExitCode(wait!);
        }
    }

    private static int ExitCode(ApiResponse wait)
    {
        var text = wait.ReadAll();
        try
        {
            using var doc = JsonDocument.Parse(text);
            return doc.RootElement.GetProperty("StatusCode").GetInt32();
        }
        catch (Exception e) when (e is JsonException or KeyNotFoundException)
        {
            throw new CliException("berth: error waiting for the container: " + text.Trim(), 125);
        }
    }

    public static int Start(Invocation inv)
    {
        var api = inv.Api;
        var a = inv.Args;
        if (a.Bool("attach") || a.Bool("interactive"))
        {
            if (a.Positional.Count > 1) throw new CliException("you cannot start and attach multiple containers at once", 1);
            using var doc = Inspected(api, a.Positional[0]);
            var id = doc.RootElement.GetProperty("Id").GetString()!;
            var config = doc.RootElement.GetProperty("Config");
            bool tty = config.TryGetProperty("Tty", out var t) && t.ValueKind == JsonValueKind.True;
            bool stdin = a.Bool("interactive") && config.TryGetProperty("OpenStdin", out var o) && o.ValueKind == JsonValueKind.True;
            AttachSession.ParseDetachKeys(a.Value("detach-keys") ?? AttachSession.DefaultDetachKeys);
            return StartAndAttach(inv, id, detach: false, stdin, tty, autoRemove: false, printId: false, a.Value("detach-keys"), sigProxy: true);
        }
        int status = 0;
        var failed = new List<string>();
        foreach (var c in a.Positional)
        {
            using var r = api.Send("POST", $"/containers/{Q(c)}/start", null);
            if (r.Status is 204 or 304) Console.WriteLine(c);
            else { Console.Error.WriteLine($"Error response from daemon: {r.ErrorMessage()}"); status = 1; failed.Add(c); }
        }
        if (status != 0) Console.Error.WriteLine("Error: failed to start containers: " + string.Join(", ", failed));
        return status;
    }

    /// <summary>docker attach: the running container's streams (stdin if it has one open and --no-stdin is not given).</summary>
    public static int Attach(Invocation inv)
    {
        var api = inv.Api;
        var a = inv.Args;
        using var doc = Inspected(api, a.Positional[0]);
        var root = doc.RootElement;
        var id = root.GetProperty("Id").GetString()!;
        var state = root.GetProperty("State");
        if (!state.GetProperty("Running").GetBoolean()) throw new CliException("You cannot attach to a stopped container, start it first", 1);
        if (state.TryGetProperty("Paused", out var p) && p.ValueKind == JsonValueKind.True)
            throw new CliException("You cannot attach to a paused container, unpause it first", 1);
        var config = root.GetProperty("Config");
        bool tty = config.TryGetProperty("Tty", out var t) && t.ValueKind == JsonValueKind.True;
        bool stdin = !a.Bool("no-stdin") && config.TryGetProperty("OpenStdin", out var o) && o.ValueKind == JsonValueKind.True;
        using var session = new AttachSession(api, id, tty, stdin, a.Value("detach-keys"));
        using var attach = api.Send("POST", $"/containers/{id}/attach?stream=1&stdout=1&stderr=1{(stdin ? "&stdin=1" : "")}", null, upgrade: true);
        if (attach.Status is not (101 or 200)) throw new CliException("Error response from daemon: " + attach.ErrorMessage(), 1);
        using var wait = api.Send("POST", $"/containers/{id}/wait", null);
        session.SetupInput();
        session.Monitor(a.Bool("sig-proxy", true), redraw: true);
        session.Stream(attach);
        session.Dispose();
        // As docker attach (run -it and start -ai detach quietly with 0): the escape is reported, exit 1.
        if (session.Detached) throw new CliException("read escape sequence", 1);
        return ExitCode(wait);
    }

    private static JsonDocument Inspected(EngineClient api, string name)
    {
        using var r = api.Send("GET", $"/containers/{Q(name)}/json", null);
        if (r.Status != 200) throw new CliException("Error response from daemon: " + r.ErrorMessage(), 1);
        return JsonDocument.Parse(r.ReadAll());
    }

    /// <summary>stop, kill, restart, rm: each argument in turn, errors reported, exit 1 if any failed.</summary>
    public static int Each(Invocation inv, string verb)
    {
        var api = inv.Api;
        var a = inv.Args;
        int status = 0;
        var time = a.Value("timeout") ?? a.Value("time");
        var q = new StringBuilder();
        if (verb is "stop" or "restart")
        {
            if (time is not null) q.Append("&t=").Append(Q(time));
        }
        else if (verb == "kill" && a.Value("signal") is { } ks) q.Append("&signal=").Append(Q(ks));
        else if (verb == "rm")
        {
            if (a.Bool("force")) q.Append("&force=1");
            if (a.Bool("volumes")) q.Append("&v=1"); // the container's anonymous volumes go with it
        }
        var query = q.Length > 0 ? "?" + q.ToString(1, q.Length - 1) : "";
        foreach (var c in a.Positional)
        {
            var (method, path) = verb == "rm" ? ("DELETE", $"/containers/{Q(c)}{query}") : ("POST", $"/containers/{Q(c)}/{verb}{query}");
            using var r = api.Send(method, path, null);
            if (r.Status is 204 or 304 or 200) Console.WriteLine(c);
            else { Console.Error.WriteLine("Error response from daemon: " + r.ErrorMessage()); status = 1; }
        }
        return status;
    }

    public static int Wait(Invocation inv)
    {
        int status = 0;
        foreach (var c in inv.Args.Positional)
        {
            using var r = inv.Api.Send("POST", $"/containers/{Q(c)}/wait", null);
            if (r.Status != 200) { Console.Error.WriteLine("Error response from daemon: " + r.ErrorMessage()); status = 1; continue; }
            using var doc = JsonDocument.Parse(r.ReadAll());
            Console.WriteLine(doc.RootElement.GetProperty("StatusCode").GetInt32());
        }
        return status;
    }

    private const string PsTable = "table {{.ID}}\\t{{.Image}}\\t{{.Command}}\\t{{.RunningFor}}\\t{{.Status}}\\t{{.Ports}}\\t{{.Names}}";

    public static int Ps(Invocation inv)
    {
        var a = inv.Args;
        // As docker: the daemon filters; -n/-l become its limit.
        var filters = new Dictionary<string, List<string>>(StringComparer.Ordinal);
        foreach (var f in a.All("filter"))
        {
            int eq = f.IndexOf('=');
            if (eq < 0) throw inv.UsageError($"invalid argument \"{f}\" for \"-f, --filter\" flag: bad format of filter (expected name=value)", 125);
            (filters.TryGetValue(f[..eq], out var values) ? values : filters[f[..eq]] = []).Add(f[(eq + 1)..]);
        }
        int limit = a.Bool("latest") ? 1 : int.TryParse(a.Value("last"), out var last) ? last : -1;
        var format = a.Value("format");
        if (a.Bool("quiet") && !string.IsNullOrEmpty(format))
        {
            Console.Error.WriteLine("WARNING: Ignoring custom format, because both --format and --quiet are set.");
            format = null;
        }
        // As docker: sizes are asked for (they cost the daemon a walk) only with -s or a format that shows them.
        bool size = a.Bool("size") || (format is not null && (format.Contains(".Size", StringComparison.Ordinal) || format == "json"));
        var query = "/containers/json?all=" + (a.Bool("all") ? "1" : "0") + (limit > 0 ? "&limit=" + limit : "") + (size ? "&size=1" : "");
        if (filters.Count > 0) query += "&filters=" + Uri.EscapeDataString(FiltersJson(filters));
        using var doc = SystemCommands.GetJson(inv.Api, query, "Error response from daemon: ");
        bool trunc = !a.Bool("no-trunc");
        var rows = doc.RootElement.EnumerateArray().Select(c => PsRow(c, trunc)).ToList();
        var table = a.Bool("size") ? PsTable + "\\t{{.Size}}" : PsTable;
        Console.Write(Format.Listing(format, a.Bool("quiet"), table, "{{.ID}}", PsRow(default, trunc), rows));
        return 0;
    }

    /// <summary>The filters query value, docker's shape: {"key":{"value":true}}.</summary>
    private static string FiltersJson(Dictionary<string, List<string>> filters)
    {
        var ms = new MemoryStream();
        using (var w = new Utf8JsonWriter(ms))
        {
            w.WriteStartObject();
            foreach (var (k, values) in filters)
            {
                w.WriteStartObject(k);
                foreach (var v in values) w.WriteBoolean(v, true);
                w.WriteEndObject();
            }
            w.WriteEndObject();
        }
        return System.Text.Encoding.UTF8.GetString(ms.ToArray());
    }

    /// <summary>One ps row with docker's --format fields (ID, Image, Command, RunningFor, Status, Names, Labels, ...).
    /// <paramref name="c"/> undefined: the header source (every field, no values).</summary>
    internal static Row PsRow(JsonElement c, bool trunc)
    {
        if (c.ValueKind == JsonValueKind.Undefined) return PsRow(JsonDocument.Parse("""{"Id":"","Command":"","Created":0,"Names":[],"Labels":{}}""").RootElement, trunc);
        string S(string name) => c.TryGetProperty(name, out var v) && v.ValueKind == JsonValueKind.String ? v.GetString()! : "";
        long L(string name) => c.TryGetProperty(name, out var v) && v.ValueKind == JsonValueKind.Number ? v.GetInt64() : 0;
        var labels = new SortedDictionary<string, string>(StringComparer.Ordinal);
        if (c.TryGetProperty("Labels", out var ls) && ls.ValueKind == JsonValueKind.Object)
            foreach (var p in ls.EnumerateObject()) labels[p.Name] = p.Value.GetString() ?? "";
        var id = S("Id");
        var command = S("Command");
        if (trunc && command.Length > 20) command = command[..19] + "…";
        var created = DateTimeOffset.FromUnixTimeSeconds(L("Created"));
        var mounts = new List<string>();
        int localVolumes = 0;
        if (c.TryGetProperty("Mounts", out var ms) && ms.ValueKind == JsonValueKind.Array)
            foreach (var m in ms.EnumerateArray())
            {
                var name = m.TryGetProperty("Name", out var n) && n.GetString() is { Length: > 0 } nn ? nn : m.TryGetProperty("Source", out var src) ? src.GetString() ?? "" : "";
                if (trunc && name.Length > 15) name = name[..14] + "…";
                mounts.Add(name);
                if (m.TryGetProperty("Driver", out var d) && d.GetString() == "local") localVolumes++;
            }
        var networks = c.TryGetProperty("NetworkSettings", out var ns) && ns.ValueKind == JsonValueKind.Object && ns.TryGetProperty("Networks", out var nets)
                       && nets.ValueKind == JsonValueKind.Object ? nets.EnumerateObject().Select(p => p.Name).Order(StringComparer.Ordinal).ToList() : [];
        var size = Format.Size(L("SizeRw"));
        if (L("SizeRootFs") > 0) size += $" (virtual {Format.Size(L("SizeRootFs"))})";
        return new Row("*formatter.ContainerContext", labels)
            .Set("ID", "CONTAINER ID", trunc && id.Length > 12 ? id[..12] : id)
            .Set("Image", "IMAGE", S("Image"))
            .Set("Command", "COMMAND", Template.GoQuote(command))
            .Set("CreatedAt", "CREATED AT", GoTime(created))
            .Set("RunningFor", "CREATED", Format.Duration(DateTimeOffset.UtcNow - created) + " ago")
            .Set("Ports", "PORTS", Ports(c))
            .Set("State", "STATE", S("State"))
            .Set("Status", "STATUS", S("Status"))
            .Set("Size", "SIZE", size)
            .Set("Names", "NAMES", c.TryGetProperty("Names", out var names) && names.ValueKind == JsonValueKind.Array
                ? string.Join(',', names.EnumerateArray().Select(n => n.GetString()!.TrimStart('/'))) : "")
            .Set("Labels", "LABELS", string.Join(',', labels.Select(p => p.Key + "=" + p.Value)))
            .Set("Mounts", "MOUNTS", string.Join(',', mounts))
            .Set("LocalVolumes", "LOCAL VOLUMES", localVolumes.ToString())
            .Set("Networks", "NETWORKS", string.Join(',', networks))
            .Set("Platform", "PLATFORM", null); // docker's from the image manifest descriptor, which berth's list does not give
    }

    /// <summary>Go's time.Time.String() of a local time: "2006-01-02 15:04:05 -0700 MST" (UTC: "+0000 UTC").</summary>
    internal static string GoTime(DateTimeOffset t)
    {
        var local = t.ToLocalTime();
        var off = local.Offset;
        var sign = off < TimeSpan.Zero ? "-" : "+";
        var offText = $"{sign}{Math.Abs(off.Hours):00}{Math.Abs(off.Minutes):00}";
        return local.ToString("yyyy-MM-dd HH:mm:ss", System.Globalization.CultureInfo.InvariantCulture) + " " + offText + " " + (off == TimeSpan.Zero ? "UTC" : offText);
    }

    /// <summary>docker's port column: "0.0.0.0:8080->80/tcp, 443/tcp".</summary>
    private static string Ports(JsonElement c)
    {
        if (!c.TryGetProperty("Ports", out var ports) || ports.ValueKind != JsonValueKind.Array) return "";
        var list = new List<string>();
        foreach (var p in ports.EnumerateArray())
        {
            var type = p.TryGetProperty("Type", out var t) ? t.GetString() : "tcp";
            var priv = p.TryGetProperty("PrivatePort", out var pp) ? pp.GetInt32() : 0;
            if (p.TryGetProperty("PublicPort", out var pub) && pub.ValueKind == JsonValueKind.Number && pub.GetInt32() > 0)
            {
                var ip = p.TryGetProperty("IP", out var i) ? i.GetString() ?? "" : "";
                list.Add($"{(ip.Contains(':') ? "[" + ip + "]" : ip)}:{pub.GetInt32()}->{priv}/{type}");
            }
            else list.Add($"{priv}/{type}");
        }
        return string.Join(", ", list);
    }

    public static int Logs(Invocation inv)
    {
        var api = inv.Api;
        var a = inv.Args;
        using var doc = Inspected(api, a.Positional[0]);
        bool tty = doc.RootElement.GetProperty("Config").TryGetProperty("Tty", out var t) && t.ValueKind == JsonValueKind.True;
        var q = new StringBuilder("?stdout=1&stderr=1");
        if (a.Bool("follow")) q.Append("&follow=1");
        if (a.Bool("timestamps")) q.Append("&timestamps=1");
        if (a.Bool("details")) q.Append("&details=1");
        if (a.Value("tail") is { } tail) q.Append("&tail=").Append(Q(tail));
        if (a.Value("since") is { } since) q.Append("&since=").Append(Q(Timestamp(since)));
        if (a.Value("until") is { } until) q.Append("&until=").Append(Q(Timestamp(until)));
        using var r = api.Send("GET", $"/containers/{Q(a.Positional[0])}/logs{q}", null);
        if (r.Status != 200) throw new CliException("Error response from daemon: " + r.ErrorMessage(), 1);
        AttachSession.CopyOutput(r.Body, tty);
        return 0;
    }

    /// <summary>--since/--until: a unix time, an RFC 3339 time, or a duration before now (10m, 1h30s).</summary>
    private static string Timestamp(string v)
    {
        if (double.TryParse(v, System.Globalization.NumberStyles.Float, System.Globalization.CultureInfo.InvariantCulture, out _)) return v;
        if (DateTimeOffset.TryParse(v, System.Globalization.CultureInfo.InvariantCulture, System.Globalization.DateTimeStyles.AssumeUniversal, out var dt))
            return dt.ToUnixTimeSeconds().ToString();
        var m = System.Text.RegularExpressions.Regex.Matches(v, @"(\d+(?:\.\d+)?)(h|m|s|ms)");
        if (m.Count == 0) throw new CliException($"invalid value for time: {v}", 1);
        double seconds = m.Sum(x => double.Parse(x.Groups[1].Value, System.Globalization.CultureInfo.InvariantCulture)
                                   * (x.Groups[2].Value switch { "h" => 3600, "m" => 60, "s" => 1, _ => 0.001 }));
        return (DateTimeOffset.UtcNow.ToUnixTimeSeconds() - (long)seconds).ToString();
    }

    /// <summary>inspect (<paramref name="type"/> null: a container, else an image), container inspect, image inspect.</summary>
    public static int Inspect(Invocation inv, string? type)
    {
        var api = inv.Api;
        var a = inv.Args;
        type ??= a.Value("type");
        if (type is not (null or "container" or "image"))
            throw new CliException($"\"{type}\" is not a valid value for --type", 1);
        var found = new List<JsonDocument>();
        int status = 0;
        var format = a.Value("format") is { Length: > 0 } f && f != "json" ? Template.Parse(f) : null;
        bool compact = a.Value("format") == "json";
        foreach (var name in a.Positional)
        {
            JsonDocument? doc = null;
            if (type is null or "container")
            {
                using var r = api.Send("GET", $"/containers/{Q(name)}/json" + (a.Bool("size") ? "?size=1" : ""), null);
                if (r.Status == 200) doc = JsonDocument.Parse(r.ReadAll());
            }
            if (doc is null && type is null or "image")
            {
                using var r = api.Send("GET", $"/images/{ImageCommands.ImagePath(name)}/json", null);
                if (r.Status == 200) doc = JsonDocument.Parse(r.ReadAll());
            }
            if (doc is null)
            {
                Console.Error.WriteLine(type is null ? $"Error: No such object: {name}" : $"Error response from daemon: No such {type}: {name}");
                status = 1;
                continue;
            }
            found.Add(doc);
        }
        Format.PrintInspected(found, format, compact);
        return status;
    }
}
