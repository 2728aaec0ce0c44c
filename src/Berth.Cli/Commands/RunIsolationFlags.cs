using System.Text.Json;

namespace Berth.Cli.Commands;

/// <summary>run/create's isolation flags as the docker CLI sends them: --pid, --ipc, --uts, --userns, --cgroupns,
/// --cgroup-parent, --group-add, --security-opt (a seccomp profile file is read and sent as its JSON;
/// systempaths=unconfined empties MaskedPaths and ReadonlyPaths).</summary>
internal static class RunIsolationFlags
{
    public static readonly Flag[] Flags =
    [
        new("cgroup-parent", '\0', "string", "Optional parent cgroup for the container"),
        new("cgroupns", '\0', "string", """
            Cgroup namespace to use (host|private)
            'host':    Run the container in the Docker host's cgroup namespace
            'private': Run the container in its own private cgroup namespace
            '':        Use the cgroup namespace as configured by the
                       default-cgroupns-mode option on the daemon (default)
            """),
        new("group-add", '\0', "list", "Add additional groups to join"),
        new("ipc", '\0', "string", "IPC mode to use"),
        new("pid", '\0', "string", "PID namespace to use"),
        new("security-opt", '\0', "list", "Security Options"),
        new("userns", '\0', "string", "User namespace to use"),
        new("uts", '\0', "string", "UTS namespace to use"),
    ];

    private static bool HostOrContainer(string v) => v is "" or "host" || (v.StartsWith("container:", StringComparison.Ordinal) && v.Length > 10);

    /// <summary>The HostConfig fields, after the docker CLI's own checks (exit 125 with its messages).</summary>
    public static void Write(Utf8JsonWriter w, Args a, string cmd)
    {
        CliException Bad(string msg) => new($"berth: {msg}.\nSee '{cmd} --help'.", 125);
        string pid = a.Value("pid") ?? "", ipc = a.Value("ipc") ?? "", uts = a.Value("uts") ?? "";
        string userns = a.Value("userns") ?? "", cgroupns = a.Value("cgroupns") ?? "";
        if (!HostOrContainer(pid)) throw Bad("--pid: invalid PID mode");
        if (!(ipc is "none" or "private" or "shareable" || HostOrContainer(ipc))) throw Bad("--ipc: invalid IPC mode");
        if (uts is not ("" or "host")) throw Bad("--uts: invalid UTS mode");
        if (userns is not ("" or "host")) throw Bad("--userns: invalid USER mode");
        if (cgroupns is not ("" or "host" or "private")) throw Bad("--cgroupns: invalid CGROUP mode");
        if (pid.Length > 0) w.WriteString("PidMode", pid);
        if (ipc.Length > 0) w.WriteString("IpcMode", ipc);
        if (uts.Length > 0) w.WriteString("UTSMode", uts);
        if (userns.Length > 0) w.WriteString("UsernsMode", userns);
        if (cgroupns.Length > 0) w.WriteString("CgroupnsMode", cgroupns);
        if (a.Value("cgroup-parent") is { Length: > 0 } parent) w.WriteString("CgroupParent", parent);
        if (a.All("group-add").Count > 0)
        {
            w.WriteStartArray("GroupAdd");
            foreach (var g in a.All("group-add")) w.WriteStringValue(g);
            w.WriteEndArray();
        }
        bool systemPathsUnconfined = false;
        var opts = new List<string>();
        foreach (var opt in a.All("security-opt"))
        {
            if (opt == "systempaths=unconfined") { systemPathsUnconfined = true; continue; }
            int eq = opt.IndexOf('=');
            if (eq < 0 && opt != "no-new-privileges" && opt.IndexOf(':') is var colon and >= 0) eq = colon;
            else if (eq < 0 && opt != "no-new-privileges") throw Bad($"Invalid --security-opt: \"{opt}\"");
            if (eq > 0 && opt[..eq] == "seccomp" && opt[(eq + 1)..] != "unconfined")
            {
                var file = opt[(eq + 1)..];
                string json;
                try { json = File.ReadAllText(file); }
                catch (Exception e) when (e is IOException or UnauthorizedAccessException)
                {
                    throw Bad($"opening seccomp profile ({file}) failed: open {file}: {(e is FileNotFoundException or DirectoryNotFoundException ? "no such file or directory" : e.Message)}");
                }
                try { opts.Add("seccomp=" + Compact(json)); }
                catch (JsonException e) { throw Bad($"compacting json for seccomp profile ({file}) failed: {e.Message}"); }
                continue;
            }
            opts.Add(opt);
        }
        if (opts.Count > 0)
        {
            w.WriteStartArray("SecurityOpt");
            foreach (var o in opts) w.WriteStringValue(o);
            w.WriteEndArray();
        }
        if (systemPathsUnconfined)
        {
            w.WriteStartArray("MaskedPaths");
            w.WriteEndArray();
            w.WriteStartArray("ReadonlyPaths");
            w.WriteEndArray();
        }
    }

    /// <summary>json.Compact: the same document without insignificant whitespace.</summary>
    private static string Compact(string json)
    {
        using var doc = JsonDocument.Parse(json);
        using var ms = new MemoryStream();
        using (var jw = new Utf8JsonWriter(ms, new JsonWriterOptions { Encoder = System.Text.Encodings.Web.JavaScriptEncoder.UnsafeRelaxedJsonEscaping }))
            doc.WriteTo(jw);
        return System.Text.Encoding.UTF8.GetString(ms.ToArray());
    }
}
