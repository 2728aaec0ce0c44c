using System.Text.Json;
using System.Text.Json.Nodes;
using Berth.Interop;

namespace Berth.Privileged.Tests.Infrastructure;

/// <summary>
/// A throwaway OCI bundle under /tmp/berth-tests/&lt;guid&gt;: a copy of the busybox template rootfs
/// (with the probe at /probe) and a mutable config.json that starts as runc's default spec
/// (`runc spec`: root read-only, hostname "runc", pid/network/ipc/uts/mount namespaces,
/// 3 capabilities, RLIMIT_NOFILE 1024/1024, noNewPrivileges) with terminal=false.
/// Call <see cref="Save"/> after the With* tweaks (the runners call it for you).
/// Dispose deletes the bundle and fails if anything is still mounted under it.
/// </summary>
public sealed class Bundle : IDisposable
{
    private static readonly JsonSerializerOptions Indented = new() { WriteIndented = true };
    private bool _disposed;

    private Bundle(string dir, JsonObject config)
    {
        Dir = dir;
        Config = config;
        Id = "bt-" + Guid.NewGuid().ToString("N")[..12];
    }

    public string Dir { get; }

    public string RootFs => Path.Combine(Dir, "rootfs");

    public string ConfigPath => Path.Combine(Dir, "config.json");

    /// <summary>A unique container id suggested for this bundle (runners use it by default).</summary>
    public string Id { get; }

    /// <summary>The config being built; edit freely, then <see cref="Save"/>.</summary>
    public JsonObject Config { get; }

    public JsonObject Process => (JsonObject)Config["process"]!;

    public JsonObject Linux => Obj(Config, "linux");

    /// <summary>Creates a bundle running <paramref name="args"/> (default: the probe's usage, exit 2).</summary>
    public static Bundle Create(params string[] args)
    {
        TestAssets.Paths assets = TestAssets.Ensure();
        string dir = Path.Combine(TestAssets.BaseDir, Guid.NewGuid().ToString("N"));
        Directory.CreateDirectory(dir);
        HostCommand.Check("cp", ["-a", assets.TemplateRootfs, Path.Combine(dir, "rootfs")], TimeSpan.FromMinutes(1));
        var config = (JsonObject)JsonNode.Parse(File.ReadAllText(assets.DefaultConfigJson))!;
        var bundle = new Bundle(dir, config);
        bundle.WithTerminal(false).WithArgs(args.Length > 0 ? args : ["/probe"]);
        bundle.Save();
        return bundle;
    }

    /// <summary>Creates a bundle running the probe: Probe("id") runs `/probe id`.</summary>
    public static Bundle Probe(params string[] probeArgs) => Create(["/probe", .. probeArgs]);

    public Bundle WithArgs(params string[] args)
    {
        Process["args"] = StrArray(args);
        return this;
    }

    public Bundle WithTerminal(bool terminal)
    {
        Process["terminal"] = terminal;
        return this;
    }

    public Bundle WithHostname(string hostname)
    {
        Config["hostname"] = hostname;
        return this;
    }

    public Bundle WithCwd(string cwd)
    {
        Process["cwd"] = cwd;
        return this;
    }

    /// <summary>Replaces process.env with the given NAME=value entries.</summary>
    public Bundle WithEnv(params string[] env)
    {
        Process["env"] = StrArray(env);
        return this;
    }

    /// <summary>Adds (or replaces) one NAME=value entry in process.env.</summary>
    public Bundle AddEnv(string name, string value)
    {
        JsonArray env = Arr(Process, "env");
        string prefix = name + "=";
        for (int i = env.Count - 1; i >= 0; i--)
        {
            if (env[i]!.GetValue<string>().StartsWith(prefix, StringComparison.Ordinal))
            {
                env.RemoveAt(i);
            }
        }

        env.Add(prefix + value);
        return this;
    }

    public Bundle WithUser(uint uid, uint gid, params uint[] additionalGids)
    {
        var user = new JsonObject { ["uid"] = uid, ["gid"] = gid };
        if (additionalGids.Length > 0)
        {
            user["additionalGids"] = new JsonArray(additionalGids.Select(g => (JsonNode?)JsonValue.Create(g)).ToArray());
        }

        if (Process["user"] is JsonObject old && old["umask"] is JsonNode umask)
        {
            user["umask"] = umask.DeepClone();
        }

        Process["user"] = user;
        return this;
    }

    public Bundle WithUmask(uint umask)
    {
        Obj(Process, "user")["umask"] = umask;
        return this;
    }

    /// <summary>
    /// Sets bounding, effective and permitted to <paramref name="caps"/> (e.g. "CAP_KILL"); ambient too unless
    /// <paramref name="ambient"/> is false (runc spec puts the same list in ambient); inheritable is removed.
    /// </summary>
    public Bundle WithCapabilities(IEnumerable<string> caps, bool ambient = true)
    {
        string[] list = caps.ToArray();
        var obj = new JsonObject
        {
            ["bounding"] = StrArray(list),
            ["effective"] = StrArray(list),
            ["permitted"] = StrArray(list),
            ["ambient"] = StrArray(ambient ? list : []),
        };
        Process["capabilities"] = obj;
        return this;
    }

    public Bundle WithCapabilities(params string[] caps) => WithCapabilities(caps, ambient: true);

    public Bundle WithNoNewPrivileges(bool value)
    {
        Process["noNewPrivileges"] = value;
        return this;
    }

    public Bundle WithOomScoreAdj(int value)
    {
        Process["oomScoreAdj"] = value;
        return this;
    }

    /// <summary>Adds or replaces process.rlimits[type], e.g. ("RLIMIT_NOFILE", 4096, 2048).</summary>
    public Bundle WithRlimit(string type, ulong hard, ulong soft)
    {
        JsonArray rl = Arr(Process, "rlimits");
        RemoveWhere(rl, n => (string?)n?["type"] == type);
        rl.Add(new JsonObject { ["type"] = type, ["hard"] = hard, ["soft"] = soft });
        return this;
    }

    public Bundle WithoutRlimits()
    {
        Process.Remove("rlimits");
        return this;
    }

    /// <summary>Appends a mount, e.g. WithMount("/mnt", "tmpfs", "tmpfs", "nosuid", "size=1m").</summary>
    public Bundle WithMount(string destination, string type, string source, params string[] options)
    {
        var m = new JsonObject { ["destination"] = destination, ["type"] = type, ["source"] = source };
        if (options.Length > 0)
        {
            m["options"] = StrArray(options);
        }

        Arr(Config, "mounts").Add(m);
        return this;
    }

    /// <summary>Bind-mounts a host path: WithBindMount("/host/dir", "/data", "ro").</summary>
    public Bundle WithBindMount(string hostPath, string destination, params string[] extraOptions) =>
        WithMount(destination, "bind", hostPath, ["rbind", .. extraOptions]);

    public Bundle WithoutMount(string destination)
    {
        RemoveWhere(Arr(Config, "mounts"), n => (string?)n?["destination"] == destination);
        return this;
    }

    /// <summary>Adds a namespace (or replaces one of the same type), optionally joining <paramref name="path"/>.</summary>
    public Bundle WithNamespace(string type, string? path = null)
    {
        JsonArray ns = Arr(Linux, "namespaces");
        RemoveWhere(ns, n => (string?)n?["type"] == type);
        var entry = new JsonObject { ["type"] = type };
        if (path is not null)
        {
            entry["path"] = path;
        }

        ns.Add(entry);
        return this;
    }

    public Bundle WithoutNamespace(string type)
    {
        RemoveWhere(Arr(Linux, "namespaces"), n => (string?)n?["type"] == type);
        return this;
    }

    public Bundle WithCgroupsPath(string path)
    {
        Linux["cgroupsPath"] = path;
        return this;
    }

    /// <summary>Merges the given top-level keys (memory, cpu, pids, ...) into linux.resources.</summary>
    public Bundle WithResources(JsonObject resources)
    {
        JsonObject res = Obj(Linux, "resources");
        foreach ((string key, JsonNode? value) in resources)
        {
            res[key] = value?.DeepClone();
        }

        return this;
    }

    /// <summary>Sets linux.seccomp to an OCI-format profile (see <see cref="DockerSeccomp"/> to convert Docker's).</summary>
    public Bundle WithSeccomp(JsonNode? seccomp)
    {
        if (seccomp is null)
        {
            Linux.Remove("seccomp");
        }
        else
        {
            Linux["seccomp"] = seccomp.DeepClone();
        }

        return this;
    }

    /// <summary>Appends a hook: WithHook("prestart", "/bin/sh", ["sh", "-c", "..."], timeout: 5).</summary>
    public Bundle WithHook(string kind, string path, string[]? args = null, string[]? env = null, int? timeout = null)
    {
        var hook = new JsonObject { ["path"] = path };
        if (args is not null)
        {
            hook["args"] = StrArray(args);
        }

        if (env is not null)
        {
            hook["env"] = StrArray(env);
        }

        if (timeout is not null)
        {
            hook["timeout"] = timeout.Value;
        }

        Arr(Obj(Config, "hooks"), kind).Add(hook);
        return this;
    }

    /// <summary>Replaces config.hooks wholesale.</summary>
    public Bundle WithHooks(JsonObject hooks)
    {
        Config["hooks"] = hooks.DeepClone();
        return this;
    }

    public Bundle WithReadonlyRoot(bool readOnly = true)
    {
        Obj(Config, "root")["readonly"] = readOnly;
        return this;
    }

    public Bundle WithMaskedPaths(params string[] paths)
    {
        Linux["maskedPaths"] = StrArray(paths);
        return this;
    }

    public Bundle WithReadonlyPaths(params string[] paths)
    {
        Linux["readonlyPaths"] = StrArray(paths);
        return this;
    }

    public Bundle WithSysctl(string name, string value)
    {
        Obj(Linux, "sysctl")[name] = value;
        return this;
    }

    /// <summary>Arbitrary edit of the config.</summary>
    public Bundle Configure(Action<JsonObject> edit)
    {
        edit(Config);
        return this;
    }

    /// <summary>Writes config.json.</summary>
    public Bundle Save()
    {
        File.WriteAllText(ConfigPath, Config.ToJsonString(Indented) + "\n");
        return this;
    }

    /// <summary>Writes a file into the rootfs (path relative to the container's /).</summary>
    public Bundle WithFile(string containerPath, string contents, UnixFileMode? mode = null)
    {
        string hostPath = Path.Combine(RootFs, containerPath.TrimStart('/'));
        Directory.CreateDirectory(Path.GetDirectoryName(hostPath)!);
        File.WriteAllText(hostPath, contents);
        if (mode is not null)
        {
            File.SetUnixFileMode(hostPath, mode.Value);
        }

        return this;
    }

    public void Dispose()
    {
        if (_disposed)
        {
            return;
        }

        _disposed = true;
        // Never recurse into a live mount: rm -rf through a leaked bind mount would delete host files.
        List<string> leaked = MountInfo.Read()
            .Select(m => m.MountPoint)
            .Where(mp => mp == Dir || mp.StartsWith(Dir + "/", StringComparison.Ordinal))
            .OrderByDescending(mp => mp.Length)
            .ToList();
        foreach (string mp in leaked)
        {
            _ = Libc.umount2(mp, Libc.MNT_DETACH);
        }

        if (MountInfo.Read().Any(m => m.MountPoint.StartsWith(Dir, StringComparison.Ordinal)))
        {
            throw new InvalidOperationException(
                $"bundle {Dir} still has mounts after umount; not deleting it:\n  {string.Join("\n  ", leaked)}");
        }

        HostCommand.Run("rm", ["-rf", "--one-file-system", Dir], TimeSpan.FromMinutes(1));
        if (leaked.Count > 0)
        {
            throw new InvalidOperationException(
                $"mounts were left under bundle {Dir} (detached by the harness):\n  {string.Join("\n  ", leaked)}");
        }
    }

    private static JsonArray StrArray(IEnumerable<string> items) =>
        new(items.Select(s => (JsonNode?)JsonValue.Create(s)).ToArray());

    private static JsonObject Obj(JsonObject parent, string key)
    {
        if (parent[key] is JsonObject o)
        {
            return o;
        }

        var created = new JsonObject();
        parent[key] = created;
        return created;
    }

    private static JsonArray Arr(JsonObject parent, string key)
    {
        if (parent[key] is JsonArray a)
        {
            return a;
        }

        var created = new JsonArray();
        parent[key] = created;
        return created;
    }

    private static void RemoveWhere(JsonArray array, Func<JsonNode?, bool> predicate)
    {
        for (int i = array.Count - 1; i >= 0; i--)
        {
            if (predicate(array[i]))
            {
                array.RemoveAt(i);
            }
        }
    }
}
