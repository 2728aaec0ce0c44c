using System.Net.Sockets;
using System.Runtime.InteropServices;
using System.Text;
using System.Text.Json;
using Berth.Cli.Http;

namespace Berth.Cli.Commands;

/// <summary>run, create, start, ps, logs, inspect, stop, kill, restart, rm, wait: the docker CLI's flows.</summary>
internal static class ContainerCommands
{
    private static readonly string[] RunValued =
        ["name", "env", "env-file", "workdir", "user", "hostname", "entrypoint", "memory", "cpus", "pids-limit", "network"];
    private static readonly string[] RunBools = ["detach", "interactive", "tty", "rm"];
    private static readonly Dictionary<char, string> RunShorts = new()
    {
        ['d'] = "detach", ['i'] = "interactive", ['t'] = "tty", ['e'] = "env", ['w'] = "workdir", ['u'] = "user",
        ['h'] = "hostname", ['m'] = "memory",
    };

    private static string Q(string s) => Uri.EscapeDataString(s);

    public static int Run(ApiClient api, string[] argv, bool create)
    {
        string cmd = create ? "create" : "run";
        Args a;
        try
        {
            a = Args.Parse(argv, RunValued, RunBools, RunShorts, interspersed: false);
        }
        catch (CliException e)
        {
            throw new CliException($"{e.Message}\nSee 'berth {cmd} --help'.", 125);
        }
        if (a.Positional.Count == 0) throw new CliException($"\"berth {cmd}\" requires at least 1 argument.\nSee 'berth {cmd} --help'.", 125);
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
            if (a.Value("workdir") is { } wd) w.WriteString("WorkingDir", wd);
            if (a.Value("entrypoint") is { } ep)
            {
                w.WriteStartArray("Entrypoint");
                if (ep.Length > 0) w.WriteStringValue(ep);
                w.WriteEndArray();
            }
            w.WriteStartObject("HostConfig");
            w.WriteString("NetworkMode", a.Value("network") ?? "default");
            w.WriteBoolean("AutoRemove", a.Bool("rm"));
            if (a.Value("memory") is { } mem) w.WriteNumber("Memory", ParseBytes(mem, cmd));
            if (a.Value("cpus") is { } cpus)
            {
                if (!double.TryParse(cpus, System.Globalization.NumberStyles.Float, System.Globalization.CultureInfo.InvariantCulture, out var c) || c < 0)
                    throw new CliException($"invalid argument \"{cpus}\" for \"--cpus\" flag: failed to parse {cpus} as a rational number\nSee 'berth {cmd} --help'.", 125);
                w.WriteNumber("NanoCpus", (long)(c * 1e9));
            }
            if (a.Value("pids-limit") is { } pl)
            {
                if (!long.TryParse(pl, out var p)) throw new CliException($"invalid argument \"{pl}\" for \"--pids-limit\" flag\nSee 'berth {cmd} --help'.", 125);
                w.WriteNumber("PidsLimit", p);
            }
            if (tty && Terminal.IsTerminal(1) && Terminal.Size(1) is (> 0, > 0) size)
            {
                w.WriteStartArray("ConsoleSize");
                w.WriteNumberValue(size.Rows);
                w.WriteNumberValue(size.Cols);
                w.WriteEndArray();
            }
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
                    throw new CliException($"berth: Error response from daemon: {msg} (berth has no pull yet: import the image).\nSee 'berth run --help'.", 125);
                }
                throw new CliException($"berth: Error response from daemon: {msg}.\nSee 'berth run --help'.", 125);
            }
            if (r.Status != 201)
                throw new CliException(create ? $"Error response from daemon: {r.ErrorMessage()}" : $"berth: Error response from daemon: {r.ErrorMessage()}.\nSee 'berth run --help'.", create ? 1 : 125);
            using var doc = JsonDocument.Parse(r.ReadAll());
            id = doc.RootElement.GetProperty("Id").GetString()!;
            foreach (var warning in doc.RootElement.GetProperty("Warnings").EnumerateArray()) Console.Error.WriteLine("WARNING: " + warning.GetString());
        }
        if (create)
        {
            Console.WriteLine(id);
            return 0;
        }
        return StartAndAttach(api, id, detach, interactive, tty, a.Bool("rm"), printId: detach);
    }

    private static long ParseBytes(string s, string cmd)
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
            throw new CliException($"invalid argument \"{s}\" for \"-m, --memory\" flag: invalid size: '{s}'\nSee 'berth {cmd} --help'.", 125);
        return (long)(v * mult);
    }

    /// <summary>attach (unless detached), wait, start; then the output until EOF and the exit code.</summary>
    private static int StartAndAttach(ApiClient api, string id, bool detach, bool interactive, bool tty, bool autoRemove, bool printId)
    {
        ApiResponse? attach = null, wait = null;
        if (!detach)
        {
            attach = api.Send("POST", $"/containers/{id}/attach?stream=1&stdout=1&stderr=1{(interactive ? "&stdin=1" : "")}", null, upgrade: true);
            if (attach.Status is not (101 or 200)) throw new CliException("Error response from daemon: " + attach.ErrorMessage(), 125);
            wait = api.Send("POST", $"/containers/{id}/wait?condition={(autoRemove ? "removed" : "next-exit")}", null);
        }
        using (var start = api.Send("POST", $"/containers/{id}/start", null))
        {
            if (start.Status is not (204 or 304))
            {
                var msg = start.ErrorMessage();
                attach?.Dispose();
                if (autoRemove && wait is not null) wait.ReadAll(); // the daemon removes it
                wait?.Dispose();
                int code = msg.Contains("executable file not found", StringComparison.Ordinal) || msg.Contains("no such file or directory", StringComparison.Ordinal) ? 127
                         : msg.Contains("permission denied", StringComparison.Ordinal) ? 126 : 125;
                throw new CliException($"berth: Error response from daemon: {msg}\n\nRun 'berth run --help' for more information", code);
            }
        }
        if (detach)
        {
            if (printId) Console.WriteLine(id);
            return 0;
        }
        Action restore = () => { };
        PosixSignalRegistration? winch = null;
        if (tty && Terminal.IsTerminal(1))
        {
            if (interactive && Terminal.IsTerminal(0)) restore = Terminal.MakeRaw(0);
            void Resize()
            {
                var (rows, cols) = Terminal.Size(1);
                if (rows > 0) using (api.Send("POST", $"/containers/{id}/resize?h={rows}&w={cols}", null)) { }
            }
            Resize();
            winch = PosixSignalRegistration.Create((PosixSignal)28, _ => Resize()); // SIGWINCH
        }
        try
        {
            var socket = attach!.Socket;
            if (interactive)
            {
                var input = new Thread(() =>
                {
                    try
                    {
                        using var stdin = Console.OpenStandardInput();
                        var buf = new byte[16 * 1024];
                        int n;
                        while ((n = stdin.Read(buf)) > 0) socket.Send(buf.AsSpan(0, n));
                    }
                    catch (Exception e) when (e is IOException or SocketException or ObjectDisposedException) { }
                    try { socket.Shutdown(SocketShutdown.Send); } catch (SocketException) { } catch (ObjectDisposedException) { }
                }) { IsBackground = true };
                input.Start();
            }
            else
            {
                socket.Shutdown(SocketShutdown.Send); // as the docker CLI: no stdin
            }
            CopyOutput(attach.Body, tty);
        }
        finally
        {
            restore();
            winch?.Dispose();
            attach?.Dispose();
        }
        using (wait)
        {
            var text = wait!.ReadAll();
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
    }

    /// <summary>Raw bytes for a tty; otherwise Docker's 8-byte frames, stream 1 to stdout and 2 to stderr.</summary>
    private static void CopyOutput(Stream from, bool raw)
    {
        using var stdout = Console.OpenStandardOutput();
        using var stderr = Console.OpenStandardError();
        var buf = new byte[32 * 1024];
        try
        {
            if (raw)
            {
                int n;
                while ((n = from.Read(buf)) > 0) { stdout.Write(buf, 0, n); stdout.Flush(); }
                return;
            }
            var header = new byte[8];
            while (ReadExactly(from, header, 8))
            {
                int len = (int)System.Buffers.Binary.BinaryPrimitives.ReadUInt32BigEndian(header.AsSpan(4));
                if (len > buf.Length) buf = new byte[len];
                if (!ReadExactly(from, buf, len)) return;
                var to = header[0] == 2 ? stderr : stdout;
                to.Write(buf, 0, len);
                to.Flush();
            }
        }
        catch (Exception e) when (e is IOException or SocketException) { }
    }

    private static bool ReadExactly(Stream s, byte[] buf, int count)
    {
        int off = 0;
        while (off < count)
        {
            int n = s.Read(buf, off, count - off);
            if (n == 0) return false;
            off += n;
        }
        return true;
    }

    public static int Start(ApiClient api, string[] argv)
    {
        var a = Args.Parse(argv, [], ["attach", "interactive"], new() { ['a'] = "attach", ['i'] = "interactive" });
        if (a.Positional.Count == 0) throw new CliException("\"berth start\" requires at least 1 argument.\nSee 'berth start --help'.", 1);
        if (a.Bool("attach") || a.Bool("interactive"))
        {
            using var doc = Inspected(api, a.Positional[0]);
            var id = doc.RootElement.GetProperty("Id").GetString()!;
            bool tty = doc.RootElement.GetProperty("Config").TryGetProperty("Tty", out var t) && t.ValueKind == JsonValueKind.True;
            return StartAndAttach(api, id, detach: false, a.Bool("interactive"), tty, autoRemove: false, printId: false);
        }
        int status = 0;
        foreach (var c in a.Positional)
        {
            using var r = api.Send("POST", $"/containers/{Q(c)}/start", null);
            if (r.Status is 204 or 304) Console.WriteLine(c);
            else { Console.Error.WriteLine($"Error response from daemon: {r.ErrorMessage()}"); status = 1; }
        }
        if (status != 0) Console.Error.WriteLine("Error: failed to start containers: " + string.Join(", ", a.Positional));
        return status;
    }

    private static JsonDocument Inspected(ApiClient api, string name)
    {
        using var r = api.Send("GET", $"/containers/{Q(name)}/json", null);
        if (r.Status != 200) throw new CliException("Error response from daemon: " + r.ErrorMessage(), 1);
        return JsonDocument.Parse(r.ReadAll());
    }

    /// <summary>stop, kill, restart, rm: each argument in turn, errors reported, exit 1 if any failed.</summary>
    public static int Each(ApiClient api, string[] argv, string verb)
    {
        var a = Args.Parse(argv, ["time", "signal"], ["force", "volumes"],
            new() { ['t'] = "time", ['s'] = "signal", ['f'] = "force", ['v'] = "volumes" });
        if (a.Positional.Count == 0) throw new CliException($"\"berth {verb}\" requires at least 1 argument.\nSee 'berth {verb} --help'.", 1);
        int status = 0;
        foreach (var c in a.Positional)
        {
            var (method, path) = verb switch
            {
                "stop" => ("POST", $"/containers/{Q(c)}/stop" + (a.Value("time") is { } t ? "?t=" + Q(t) : "")),
                "restart" => ("POST", $"/containers/{Q(c)}/restart" + (a.Value("time") is { } t ? "?t=" + Q(t) : "")),
                "kill" => ("POST", $"/containers/{Q(c)}/kill" + (a.Value("signal") is { } s ? "?signal=" + Q(s) : "")),
                _ => ("DELETE", $"/containers/{Q(c)}" + (a.Bool("force") ? "?force=1" : "")),
            };
            using var r = api.Send(method, path, null);
            if (r.Status is 204 or 304 or 200) Console.WriteLine(c);
            else { Console.Error.WriteLine("Error response from daemon: " + r.ErrorMessage()); status = 1; }
        }
        return status;
    }

    public static int Wait(ApiClient api, string[] argv)
    {
        int status = 0;
        foreach (var c in argv)
        {
            using var r = api.Send("POST", $"/containers/{Q(c)}/wait", null);
            if (r.Status != 200) { Console.Error.WriteLine("Error response from daemon: " + r.ErrorMessage()); status = 1; continue; }
            using var doc = JsonDocument.Parse(r.ReadAll());
            Console.WriteLine(doc.RootElement.GetProperty("StatusCode").GetInt32());
        }
        return status;
    }

    public static int Ps(ApiClient api, string[] argv)
    {
        var a = Args.Parse(argv, ["filter", "format", "last"], ["all", "quiet", "no-trunc", "latest"],
            new() { ['a'] = "all", ['q'] = "quiet", ['f'] = "filter", ['n'] = "last", ['l'] = "latest" });
        // As docker: the daemon filters; -n/-l become its limit.
        var filters = new Dictionary<string, List<string>>(StringComparer.Ordinal);
        foreach (var f in a.All("filter"))
        {
            int eq = f.IndexOf('=');
            if (eq < 0) throw new CliException($"invalid argument \"{f}\" for \"-f, --filter\" flag: bad format of filter (expected name=value)", 125);
            (filters.TryGetValue(f[..eq], out var values) ? values : filters[f[..eq]] = []).Add(f[(eq + 1)..]);
        }
        int limit = a.Bool("latest") ? 1 : int.TryParse(a.Value("last"), out var last) ? last : -1;
        var query = "/containers/json?all=" + (a.Bool("all") ? "1" : "0") + (limit > 0 ? "&limit=" + limit : "");
        if (filters.Count > 0) query += "&filters=" + Uri.EscapeDataString(FiltersJson(filters));
        using var doc = SystemCommands.GetJson(api, query, "Error response from daemon: ");
        var list = doc.RootElement.EnumerateArray().ToList();
        bool trunc = !a.Bool("no-trunc");
        if (a.Bool("quiet"))
        {
            foreach (var c in list) Console.WriteLine(trunc ? c.GetProperty("Id").GetString()![..12] : c.GetProperty("Id").GetString());
            return 0;
        }
        if (a.Value("format") is { } format)
        {
            foreach (var c in list) Console.WriteLine(Format.Template(format, PsRow(c, trunc)));
            return 0;
        }
        var rows = new List<string[]> { new[] { "CONTAINER ID", "IMAGE", "COMMAND", "CREATED", "STATUS", "PORTS", "NAMES" } };
        foreach (var c in list)
        {
            var row = PsRow(c, trunc);
            rows.Add([row.GetProperty("ID").GetString()!, row.GetProperty("Image").GetString()!, row.GetProperty("Command").GetString()!,
                      row.GetProperty("RunningFor").GetString()!, row.GetProperty("Status").GetString()!, "", row.GetProperty("Names").GetString()!]);
        }
        Console.Write(Format.Table(rows));
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

    /// <summary>One ps row with docker's --format field names (ID, Image, Command, RunningFor, Status, Names, ...).</summary>
    private static JsonElement PsRow(JsonElement c, bool trunc)
    {
        var id = c.GetProperty("Id").GetString()!;
        var command = c.GetProperty("Command").GetString()!;
        if (trunc && command.Length > 20) command = command[..19] + "…";
        var created = DateTimeOffset.FromUnixTimeSeconds(c.GetProperty("Created").GetInt64());
        var ms = new MemoryStream();
        using (var w = new Utf8JsonWriter(ms))
        {
            w.WriteStartObject();
            w.WriteString("ID", trunc ? id[..12] : id);
            w.WriteString("Image", c.GetProperty("Image").GetString());
            w.WriteString("Command", "\"" + command + "\"");
            w.WriteString("CreatedAt", created.ToString("yyyy-MM-dd HH:mm:ss zzz").Replace(":", "", StringComparison.Ordinal).Insert(13, ":").Insert(16, ":") + " UTC");
            w.WriteString("RunningFor", Format.Duration(DateTimeOffset.UtcNow - created) + " ago");
            w.WriteString("Status", c.GetProperty("Status").GetString());
            w.WriteString("State", c.GetProperty("State").GetString());
            w.WriteString("Ports", "");
            w.WriteString("Names", string.Join(',', c.GetProperty("Names").EnumerateArray().Select(n => n.GetString()!.TrimStart('/'))));
            w.WriteEndObject();
        }
        return JsonDocument.Parse(ms.ToArray()).RootElement.Clone();
    }

    public static int Logs(ApiClient api, string[] argv)
    {
        var a = Args.Parse(argv, ["tail", "since", "until"], ["follow", "timestamps", "details"],
            new() { ['f'] = "follow", ['t'] = "timestamps", ['n'] = "tail" });
        if (a.Positional.Count != 1) throw new CliException("\"berth logs\" requires exactly 1 argument.\nSee 'berth logs --help'.", 1);
        using var doc = Inspected(api, a.Positional[0]);
        bool tty = doc.RootElement.GetProperty("Config").TryGetProperty("Tty", out var t) && t.ValueKind == JsonValueKind.True;
        var q = new StringBuilder("?stdout=1&stderr=1");
        if (a.Bool("follow")) q.Append("&follow=1");
        if (a.Bool("timestamps")) q.Append("&timestamps=1");
        if (a.Value("tail") is { } tail) q.Append("&tail=").Append(Q(tail));
        if (a.Value("since") is { } since) q.Append("&since=").Append(Q(Timestamp(since)));
        if (a.Value("until") is { } until) q.Append("&until=").Append(Q(Timestamp(until)));
        using var r = api.Send("GET", $"/containers/{Q(a.Positional[0])}/logs{q}", null);
        if (r.Status != 200) throw new CliException("Error response from daemon: " + r.ErrorMessage(), 1);
        CopyOutput(r.Body, tty);
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

    public static int Inspect(ApiClient api, string[] argv)
    {
        var a = Args.Parse(argv, ["format", "type"], ["size"], new() { ['f'] = "format", ['s'] = "size" });
        if (a.Positional.Count == 0) throw new CliException("\"berth inspect\" requires at least 1 argument.\nSee 'berth inspect --help'.", 1);
        var found = new List<JsonDocument>();
        int status = 0;
        foreach (var name in a.Positional)
        {
            JsonDocument? doc = null;
            if (a.Value("type") is null or "container")
            {
                using var r = api.Send("GET", $"/containers/{Q(name)}/json", null);
                if (r.Status == 200) doc = JsonDocument.Parse(r.ReadAll());
            }
            if (doc is null && a.Value("type") is null or "image")
            {
                using var r = api.Send("GET", $"/images/{Q(name)}/json", null);
                if (r.Status == 200) doc = JsonDocument.Parse(r.ReadAll());
            }
            if (doc is null) { Console.Error.WriteLine($"Error: No such object: {name}"); status = 1; continue; }
            found.Add(doc);
        }
        if (a.Value("format") is { } f)
            foreach (var d in found) Console.WriteLine(Format.Template(f, d.RootElement));
        else
        {
            var ms = new MemoryStream();
            using (var w = new Utf8JsonWriter(ms))
            {
                w.WriteStartArray();
                foreach (var d in found) d.RootElement.WriteTo(w);
                w.WriteEndArray();
            }
            using var all = JsonDocument.Parse(ms.ToArray());
            Console.WriteLine(Format.Indent(all.RootElement));
        }
        return status;
    }
}
