using System.Text.Json;
using System.Text.Json.Serialization;

namespace Berth.Daemon;

/// <summary>Everything berthd is told at start: dockerd-style flags over /etc/berth/daemon.json over defaults.</summary>
public sealed class DaemonOptions
{
    public const string DefaultHost = "unix:///run/berth.sock";
    public const string DefaultConfigFile = "/etc/berth/daemon.json";
    public const string DefaultRuntimeName = "berth-runtime";

    public List<string> Hosts { get; set; } = [DefaultHost];
    public string DataRoot { get; set; } = "/var/lib/berth";
    public string ExecRoot { get; set; } = "/run/berth";
    public string PidFile { get; set; } = "/run/berth.pid";
    public string ConfigFile { get; set; } = DefaultConfigFile;
    /// <summary>Name of the default runtime, or a path to it.</summary>
    public string Runtime { get; set; } = DefaultRuntimeName;
    /// <summary>Runtimes declared in daemon.json: name → path.</summary>
    public Dictionary<string, string> Runtimes { get; set; } = new(StringComparer.Ordinal);
    public bool Debug { get; set; }
    /// <summary>--init-path: the docker-init binary of --init ("" = Debian's tini-static, found at start).</summary>
    public string InitPath { get; set; } = "";
    /// <summary>--bip / "bip": the default bridge's address and prefix ("" = the first free pool).</summary>
    public string Bip { get; set; } = "";
    /// <summary>--default-address-pool / "default-address-pools": where networks take subnets from (empty = Docker's).</summary>
    public List<Engine.Networking.AddressPool> DefaultAddressPools { get; set; } = [];

    /// <summary>--log-driver / --log-opt (daemon.json "log-driver", "log-opts"): a container's defaults.</summary>
    public string LogDriver { get; set; } = "json-file";
    public Dictionary<string, string> LogOpts { get; set; } = new(StringComparer.Ordinal);

    public static string Usage => """
        Usage: berthd [OPTIONS]

        A container engine that speaks Docker's Engine API v1.41.

        Options:
          -H, --host list          Daemon socket(s) to listen on (default unix:///run/berth.sock)
              --data-root string   Root directory of persistent state (default "/var/lib/berth")
              --exec-root string   Root directory for execution state (default "/run/berth")
          -p, --pidfile string     Path to use for the daemon PID file (default "/run/berth.pid")
              --config-file string Daemon configuration file (default "/etc/berth/daemon.json")
              --runtime string     Default OCI runtime: a name or a path (default "berth-runtime")
          -D, --debug              Log every request to stderr
              --log-driver string  Default driver for container logs (default "json-file")
              --log-opt map        Default log driver options for containers (default map[])
              --init-path string   The docker-init binary of --init (default: tini-static)
              --bip string         Specify network bridge IP (the default bridge's address/prefix)
              --default-address-pool pool-options
                                   Default address pools for node specific local networks
                                   (base=CIDR,size=N; repeatable)
          -v, --version            Print version information and quit
          -h, --help               Print usage
        """;

    /// <summary>Parses the command line, then fills what the flags did not set from the config file.
    /// Throws <see cref="BerthException"/> (InvalidParameter) on a bad flag or file.</summary>
    public static DaemonOptions Parse(IReadOnlyList<string> args, out bool exitEarly, TextWriter? stdout = null)
    {
        exitEarly = false;
        var o = new DaemonOptions();
        var hosts = new List<string>();
        string? dataRoot = null, execRoot = null, pidFile = null, runtime = null, logDriver = null, bip = null;
        var logOpts = new Dictionary<string, string>(StringComparer.Ordinal);
        var pools = new List<Engine.Networking.AddressPool>();

        for (int i = 0; i < args.Count; i++)
        {
            string arg = args[i];
            string name = arg;
            string? value = null;
            if (arg.StartsWith("--", StringComparison.Ordinal) && arg.IndexOf('=') is int eq and > 0)
            {
                name = arg[..eq];
                value = arg[(eq + 1)..];
            }
            string Next()
            {
                if (value is not null) return value;
                if (i + 1 >= args.Count) throw BerthException.Invalid($"flag needs an argument: {name}");
                return args[++i];
            }
            switch (name)
            {
                case "-H": case "--host": hosts.Add(Next()); break;
                case "--data-root": case "-g": case "--graph": dataRoot = Next(); break;
                case "--exec-root": execRoot = Next(); break;
                case "-p": case "--pidfile": pidFile = Next(); break;
                case "--config-file": o.ConfigFile = Next(); break;
                case "--runtime": case "--default-runtime": runtime = Next(); break;
                case "-D": case "--debug": o.Debug = true; break;
                case "--init-path": o.InitPath = Path.GetFullPath(Next()); break;
                case "--log-driver": logDriver = Next(); break;
                case "--log-opt":
                {
                    var kv = Next();
                    int sep = kv.IndexOf('=');
                    if (sep <= 0) throw BerthException.Invalid($"invalid argument \"{kv}\" for \"--log-opt\" flag: invalid key value pair format");
                    logOpts[kv[..sep]] = kv[(sep + 1)..];
                    break;
                }
                case "--bip": bip = Next(); break;
                case "--default-address-pool": pools.Add(Engine.Networking.AddressPool.ParseFlag(Next())); break;
                case "-v": case "--version":
                    (stdout ?? Console.Out).WriteLine($"Berth version {BuildInfo.Version}, build {BuildInfo.GitCommit}");
                    exitEarly = true;
                    return o;
                case "-h": case "--help":
                    (stdout ?? Console.Out).WriteLine(Usage);
                    exitEarly = true;
                    return o;
                default:
                    if (arg.StartsWith("-H", StringComparison.Ordinal) && arg.Length > 2) { hosts.Add(arg[2..]); break; }
                    throw BerthException.Invalid($"unknown flag: {arg}");
            }
        }

        DaemonConfigFile? file = DaemonConfigFile.Load(o.ConfigFile);
        if (file is not null)
        {
            if (hosts.Count == 0 && file.Hosts is { Count: > 0 }) hosts.AddRange(file.Hosts);
            dataRoot ??= file.DataRoot;
            execRoot ??= file.ExecRoot;
            pidFile ??= file.PidFile;
            runtime ??= file.DefaultRuntime;
            if (file.Runtimes is not null)
                foreach (var (rtName, rt) in file.Runtimes)
                    if (!string.IsNullOrEmpty(rt.Path)) o.Runtimes[rtName] = rt.Path;
            o.Debug |= file.Debug ?? false;
            logDriver ??= file.LogDriver;
            if (logOpts.Count == 0 && file.LogOpts is not null) foreach (var (k, v) in file.LogOpts) logOpts[k] = v;
            bip ??= file.Bip;
            if (pools.Count == 0 && file.DefaultAddressPools is not null)
                foreach (var p in file.DefaultAddressPools)
                    pools.Add(Engine.Networking.AddressPool.Create(p.Base ?? "", p.Size ?? 0));
        }

        if (hosts.Count > 0) o.Hosts = hosts;
        if (dataRoot is not null) o.DataRoot = Path.GetFullPath(dataRoot);
        if (execRoot is not null) o.ExecRoot = Path.GetFullPath(execRoot);
        if (pidFile is not null) o.PidFile = pidFile.Length == 0 ? "" : Path.GetFullPath(pidFile);
        if (runtime is not null) o.Runtime = runtime;
        if (logDriver is not null) o.LogDriver = logDriver;
        o.LogOpts = logOpts;
        if (!string.IsNullOrEmpty(bip))
        {
            Engine.Networking.NetworkConfig.ParseBip(bip);
            o.Bip = bip;
        }
        o.DefaultAddressPools = pools;
        return o;
    }
}

/// <summary>/etc/berth/daemon.json: dockerd's key names for what berthd understands. Unknown keys are ignored.</summary>
public sealed class DaemonConfigFile
{
    [JsonPropertyName("hosts")] public List<string>? Hosts { get; set; }
    [JsonPropertyName("data-root")] public string? DataRoot { get; set; }
    [JsonPropertyName("exec-root")] public string? ExecRoot { get; set; }
    [JsonPropertyName("pidfile")] public string? PidFile { get; set; }
    [JsonPropertyName("default-runtime")] public string? DefaultRuntime { get; set; }
    [JsonPropertyName("runtimes")] public Dictionary<string, DaemonConfigRuntime>? Runtimes { get; set; }
    [JsonPropertyName("debug")] public bool? Debug { get; set; }
    [JsonPropertyName("log-driver")] public string? LogDriver { get; set; }
    [JsonPropertyName("log-opts")] public Dictionary<string, string>? LogOpts { get; set; }
    [JsonPropertyName("bip")] public string? Bip { get; set; }
    [JsonPropertyName("default-address-pools")] public List<DaemonConfigPool>? DefaultAddressPools { get; set; }

    /// <summary>Reads the file; a missing file is no configuration (null), a malformed one is an error.</summary>
    public static DaemonConfigFile? Load(string path)
    {
        if (string.IsNullOrEmpty(path) || !File.Exists(path)) return null;
        try
        {
            byte[] bytes = File.ReadAllBytes(path);
            if (bytes.AsSpan().Trim(" \t\r\n"u8).IsEmpty) return null;
            return JsonSerializer.Deserialize(bytes, DaemonConfigJsonContext.Default.DaemonConfigFile);
        }
        catch (JsonException e)
        {
            throw BerthException.Invalid($"unable to configure the daemon with file {path}: {e.Message}");
        }
    }
}

/// <summary>One entry of "default-address-pools": {"base": "172.80.0.0/16", "size": 24}.</summary>
public sealed class DaemonConfigPool
{
    [JsonPropertyName("base")] public string? Base { get; set; }
    [JsonPropertyName("size")] public int? Size { get; set; }
}

public sealed class DaemonConfigRuntime
{
    [JsonPropertyName("path")] public string? Path { get; set; }
}

[JsonSourceGenerationOptions(ReadCommentHandling = JsonCommentHandling.Skip, AllowTrailingCommas = true)]
[JsonSerializable(typeof(DaemonConfigFile))]
internal sealed partial class DaemonConfigJsonContext : JsonSerializerContext
{
}
