using System.Globalization;
using System.Text;
using System.Text.RegularExpressions;
using Berth.Api.Containers;
using Berth.Core;
using Berth.Engine.Containers;

namespace Berth.Engine.Logs;

/// <summary>How berth-monitor writes a container's json-file log: rotation and the attributes of each entry.</summary>
/// <param name="MaxSize">Bytes before the file is rotated; -1: never.</param>
/// <param name="MaxFile">Files kept, the current one included (1: the file is truncated at rotation).</param>
/// <param name="AttrsJson">The "attrs" object of every entry (labels, env, tag options), or null.</param>
public sealed record LogSettings(long MaxSize, int MaxFile, string? AttrsJson);

/// <summary>
/// The log drivers and options of a container (HostConfig.LogConfig), as dockerd 20.10 checks them: the option
/// names at create (logger.ValidateLogOpts and json-file's ValidateLogOpt), their values when the container starts
/// (jsonfilelog.New: "failed to initialize logging driver: ..."). Drivers: json-file and none; the other drivers
/// Docker has built in are refused by name; any other name is looked up as a plugin (Berth has none).
/// </summary>
public static partial class LogOptions
{
    private static readonly string[] JsonFileOpts = ["max-file", "max-size", "compress", "labels", "labels-regex", "env", "env-regex", "tag"];

    private static readonly string[] DockerDrivers =
        ["local", "syslog", "journald", "gelf", "fluentd", "awslogs", "splunk", "etwlogs", "gcplogs", "logentries"];

    /// <summary>Daemon-wide defaults (daemon.json "log-driver" and "log-opts"), applied to a request without a driver.</summary>
    public static string DefaultDriver { get; set; } = "json-file";

    public static Dictionary<string, string> DefaultOpts { get; set; } = [];

    public static void Validate(LogConfig lc)
    {
        var type = lc.Type is "" ? DefaultDriver : lc.Type;
        if (type == "none") return; // dockerd: any option is accepted for "none"
        if (DockerDrivers.Contains(type))
            throw BerthException.Invalid($"HostConfig.LogConfig.Type: log driver \"{type}\" is not implemented in Berth yet");
        if (type != "json-file")
            throw BerthException.Invalid($"error looking up logging plugin {type}: plugin \"{type}\" not found");
        var cfg = lc.Config ?? [];
        var mode = cfg.GetValueOrDefault("mode", "");
        if (mode is not ("" or "blocking" or "non-blocking")) throw BerthException.Invalid($"logger: logging mode not supported: {mode}");
        if (cfg.ContainsKey("max-buffer-size") && mode != "non-blocking")
            throw BerthException.Invalid("logger: max-buffer-size option is only supported with 'mode=non-blocking'");
        if (mode == "non-blocking")
            throw BerthException.Invalid("HostConfig.LogConfig.Config: mode=non-blocking (a ring buffer that drops log lines) is not implemented in Berth yet");
        foreach (var key in cfg.Keys)
            if (key is not ("mode" or "max-buffer-size") && !JsonFileOpts.Contains(key))
                throw BerthException.Invalid($"unknown log opt '{key}' for json-file log driver");
        if (cfg.TryGetValue("compress", out var c) && ParseBool(c) == true)
            throw BerthException.Invalid("HostConfig.LogConfig.Config: compress=true (gzip of rotated files) is not implemented in Berth yet");
        if (cfg.TryGetValue("tag", out var tag) && !TagSupported(tag))
            throw BerthException.Invalid($"HostConfig.LogConfig.Config: tag template \"{tag}\" (fields other than .ID .FullID .Name .ImageID .ImageFullID .ImageName .DaemonName) is not implemented in Berth yet");
    }

    /// <summary>dockerd's defaults for a request without a driver: the daemon's driver and options (at create, so
    /// inspect shows them).</summary>
    public static void ApplyDefaults(LogConfig lc)
    {
        if (lc.Type is not "") return;
        lc.Type = DefaultDriver;
        if (lc.Config is not { Count: > 0 } && DefaultOpts.Count > 0) lc.Config = new Dictionary<string, string>(DefaultOpts);
    }

    /// <summary>The json-file settings at start; null for the "none" driver (no log file).</summary>
    public static LogSettings? AtStart(ContainerRecord r, string imageName)
    {
        var lc = r.HostConfig.LogConfig;
        if (lc.Type == "none") return null;
        var cfg = lc.Config ?? [];
        long maxSize = -1;
        int maxFile = 1;
        try
        {
            if (cfg.TryGetValue("max-size", out var ms))
            {
                maxSize = FromHumanSize(ms);
                if (maxSize <= 0) throw new FormatException("max-size must be a positive number");
            }
            if (cfg.TryGetValue("max-file", out var mf))
            {
                if (!int.TryParse(mf, NumberStyles.AllowLeadingSign, CultureInfo.InvariantCulture, out maxFile))
                    throw new FormatException($"strconv.Atoi: parsing \"{mf}\": invalid syntax");
                if (maxFile < 1) throw new FormatException("max-file cannot be less than 1");
            }
            if (cfg.TryGetValue("compress", out var c) && ParseBool(c) is null)
                throw new FormatException($"strconv.ParseBool: parsing \"{c}\": invalid syntax");
            return new LogSettings(maxSize, maxFile, AttrsJson(Attributes(r, cfg, imageName)));
        }
        catch (FormatException e)
        {
            throw BerthException.Invalid("failed to initialize logging driver: " + e.Message);
        }
    }

    /// <summary>logger.Info.ExtraAttributes plus the tag: labels and env named by the options (or matching the
    /// regexes).</summary>
    public static SortedDictionary<string, string> Attributes(ContainerRecord r, IReadOnlyDictionary<string, string> cfg, string imageName)
    {
        var extra = new SortedDictionary<string, string>(StringComparer.Ordinal);
        var labels = r.Config.Labels ?? [];
        if (cfg.TryGetValue("labels", out var ls) && ls.Length > 0)
        {
            foreach (var l in ls.Split(',')) if (labels.TryGetValue(l, out var v)) extra[l] = v;
            // dockerd reads labels-regex only when "labels" is set too (a quirk kept).
            if (cfg.TryGetValue("labels-regex", out var lre))
                foreach (var (k, v) in labels) if (Regex.IsMatch(k, lre)) extra[k] = v;
        }
        var env = new Dictionary<string, string>();
        foreach (var e in r.Config.Env ?? [])
        {
            int eq = e.IndexOf('=');
            if (eq > 0) env[e[..eq]] = e[(eq + 1)..];
        }
        if (cfg.TryGetValue("env", out var es) && es.Length > 0)
            foreach (var k in es.Split(',')) if (env.TryGetValue(k, out var v)) extra[k] = v;
        if (cfg.TryGetValue("env-regex", out var ere) && ere.Length > 0)
            foreach (var (k, v) in env) if (Regex.IsMatch(k, ere)) extra[k] = v;
        if (cfg.TryGetValue("tag", out var tag) && tag.Length > 0) extra["tag"] = Tag(tag, r, imageName);
        return extra;
    }

    [GeneratedRegex(@"\{\{\s*\.(\w+)\s*\}\}")]
    private static partial Regex TagField();

    private static readonly string[] TagFields = ["ID", "FullID", "Name", "ImageID", "ImageFullID", "ImageName", "DaemonName"];

    private static bool TagSupported(string tag) =>
        TagField().Matches(tag).All(m => TagFields.Contains(m.Groups[1].Value)) && !TagField().Replace(tag, "").Contains("{{");

    private static string Tag(string tag, ContainerRecord r, string imageName) => TagField().Replace(tag, m => m.Groups[1].Value switch
    {
        "ID" => r.Id[..12],
        "FullID" => r.Id,
        "Name" => r.Name.TrimStart('/'),
        "ImageID" => ShortImage(r.Image),
        "ImageFullID" => r.Image,
        "ImageName" => imageName,
        _ => "docker", // DaemonName: dockerd's value, which log processors key on
    });

    private static string ShortImage(string id)
    {
        var hex = id.StartsWith("sha256:", StringComparison.Ordinal) ? id[7..] : id;
        return hex[..Math.Min(12, hex.Length)];
    }

    private static bool? ParseBool(string s) => s switch
    {
        "1" or "t" or "T" or "TRUE" or "true" or "True" => true,
        "0" or "f" or "F" or "FALSE" or "false" or "False" => false,
        _ => null,
    };

    [GeneratedRegex(@"^(\d+(?:\.\d+)*) ?([kKmMgGtTpP])?[iI]?[bB]?$")]
    private static partial Regex HumanSize();

    /// <summary>go-units FromHumanSize: decimal multiples ("10m" = 10,000,000 bytes).</summary>
    public static long FromHumanSize(string s)
    {
        var m = HumanSize().Match(s);
        if (!m.Success || !double.TryParse(m.Groups[1].Value, NumberStyles.Float, CultureInfo.InvariantCulture, out var n))
            throw new FormatException($"invalid size: '{s}'");
        double mult = m.Groups[2].Value.ToLowerInvariant() switch
        {
            "k" => 1e3, "m" => 1e6, "g" => 1e9, "t" => 1e12, "p" => 1e15, _ => 1,
        };
        return (long)(n * mult);
    }

    /// <summary>Go's json.Marshal of a map[string]string: keys sorted, HTML characters escaped.</summary>
    public static string? AttrsJson(SortedDictionary<string, string> attrs)
    {
        if (attrs.Count == 0) return null;
        var sb = new StringBuilder("{");
        foreach (var (k, v) in attrs)
        {
            if (sb.Length > 1) sb.Append(',');
            GoString(sb, k);
            sb.Append(':');
            GoString(sb, v);
        }
        return sb.Append('}').ToString();
    }

    private static void GoString(StringBuilder sb, string s)
    {
        sb.Append('"');
        foreach (var ch in s)
        {
            switch (ch)
            {
                case '"': sb.Append("\\\""); break;
                case '\\': sb.Append("\\\\"); break;
                case '\n': sb.Append("\\n"); break;
                case '\r': sb.Append("\\r"); break;
                case '\t': sb.Append("\\t"); break;
                default:
                    if (ch < 0x20 || ch is '<' or '>' or '&' or '\u2028' or '\u2029') sb.Append("\\u").Append(((int)ch).ToString("x4", CultureInfo.InvariantCulture));
                    else sb.Append(ch);
                    break;
            }
        }
        sb.Append('"');
    }

    /// <summary>`docker logs --details`: the entry's attributes as "k=v,k2=v2" (sorted, query-escaped as Go's
    /// url.QueryEscape), then a space.</summary>
    public static string DetailsPrefix(IReadOnlyDictionary<string, string>? attrs)
    {
        if (attrs is not { Count: > 0 }) return " ";
        return string.Join(',', attrs.OrderBy(a => a.Key, StringComparer.Ordinal).Select(a => QueryEscape(a.Key) + "=" + QueryEscape(a.Value))) + " ";
    }

    private static string QueryEscape(string s)
    {
        var sb = new StringBuilder();
        foreach (var b in Encoding.UTF8.GetBytes(s))
        {
            char ch = (char)b;
            if (char.IsAsciiLetterOrDigit(ch) || ch is '-' or '_' or '.' or '~') sb.Append(ch);
            else if (ch == ' ') sb.Append('+');
            else sb.Append('%').Append(b.ToString("X2", CultureInfo.InvariantCulture));
        }
        return sb.ToString();
    }
}
