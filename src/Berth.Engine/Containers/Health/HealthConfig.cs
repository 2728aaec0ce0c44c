using System.Globalization;
using System.Text.Json;
using Berth.Core;

namespace Berth.Engine.Containers.Health;

/// <summary>
/// Docker's container.HealthConfig read from Config.Healthcheck (kept as the request's JSON in the record):
/// Test (["CMD", args...] | ["CMD-SHELL", "cmd"] | ["NONE"] | [] = inherit), Interval, Timeout, StartPeriod in
/// nanoseconds (0 = default) and Retries (0 = default). Defaults as dockerd: 30s, 30s, 0s, 3.
/// </summary>
public sealed class HealthConfig
{
    public static readonly TimeSpan DefaultInterval = TimeSpan.FromSeconds(30), DefaultTimeout = TimeSpan.FromSeconds(30);
    public const int DefaultRetries = 3;
    private const long MinimumNs = 1_000_000; // containertypes.MinimumDuration: 1ms

    public List<string> Test { get; init; } = [];
    public long Interval { get; init; }
    public long Timeout { get; init; }
    public long StartPeriod { get; init; }
    public int Retries { get; init; }

    public static HealthConfig? From(JsonElement? e)
    {
        if (e is not { ValueKind: JsonValueKind.Object } o) return null;
        List<string> test = [];
        if (o.TryGetProperty("Test", out var t) && t.ValueKind == JsonValueKind.Array)
            foreach (var s in t.EnumerateArray()) test.Add(s.GetString() ?? "");
        return new HealthConfig
        {
            Test = test, Interval = Ns(o, "Interval"), Timeout = Ns(o, "Timeout"), StartPeriod = Ns(o, "StartPeriod"),
            Retries = (int)Ns(o, "Retries"),
        };
    }

    private static long Ns(JsonElement o, string name) =>
        o.TryGetProperty(name, out var v) && v.ValueKind == JsonValueKind.Number && v.TryGetInt64(out var n) ? n : 0;

    /// <summary>dockerd's validateHealthCheck messages.</summary>
    public static void Validate(JsonElement? e)
    {
        if (e is { ValueKind: not (JsonValueKind.Object or JsonValueKind.Null) })
            throw BerthException.Invalid("Config.Healthcheck: expected an object");
        var h = From(e);
        if (h is null) return;
        if (h.Interval != 0 && h.Interval < MinimumNs) throw BerthException.Invalid("Interval in Healthcheck cannot be less than 1ms");
        if (h.Timeout != 0 && h.Timeout < MinimumNs) throw BerthException.Invalid("Timeout in Healthcheck cannot be less than 1ms");
        if (h.Retries < 0) throw BerthException.Invalid("Retries in Healthcheck cannot be negative");
        if (h.StartPeriod != 0 && h.StartPeriod < MinimumNs) throw BerthException.Invalid("StartPeriod in Healthcheck cannot be less than 1ms");
        if (h.Test is [var kind, ..] && kind is not ("CMD" or "CMD-SHELL" or "NONE"))
            throw BerthException.Invalid($"Config.Healthcheck.Test: unknown type \"{kind}\" (CMD, CMD-SHELL or NONE)");
        if (h.Test is ["CMD-SHELL"] or ["CMD"]) throw BerthException.Invalid("Config.Healthcheck.Test: no command given");
    }

    /// <summary>The request's healthcheck merged with the image's, field by field (moby's daemon.merge).</summary>
    public static JsonElement? Merge(JsonElement? request, JsonElement? image)
    {
        var img = From(image);
        if (img is null) return request;
        var req = From(request);
        if (req is null) return image;
        return ToJson(new HealthConfig
        {
            Test = req.Test.Count == 0 ? img.Test : req.Test,
            Interval = req.Interval == 0 ? img.Interval : req.Interval,
            Timeout = req.Timeout == 0 ? img.Timeout : req.Timeout,
            StartPeriod = req.StartPeriod == 0 ? img.StartPeriod : req.StartPeriod,
            Retries = req.Retries == 0 ? img.Retries : req.Retries,
        });
    }

    public static JsonElement ToJson(HealthConfig h)
    {
        using var ms = new MemoryStream();
        using (var w = new Utf8JsonWriter(ms))
        {
            w.WriteStartObject();
            w.WriteStartArray("Test");
            foreach (var s in h.Test) w.WriteStringValue(s);
            w.WriteEndArray();
            if (h.Interval != 0) w.WriteNumber("Interval", h.Interval);
            if (h.Timeout != 0) w.WriteNumber("Timeout", h.Timeout);
            if (h.StartPeriod != 0) w.WriteNumber("StartPeriod", h.StartPeriod);
            if (h.Retries != 0) w.WriteNumber("Retries", h.Retries);
            w.WriteEndObject();
        }
        return JsonDocument.Parse(ms.ToArray()).RootElement.Clone();
    }

    /// <summary>The probe's command, or null when there is none (no test, or NONE): dockerd's getProbe.</summary>
    public IReadOnlyList<string>? ProbeCommand() => Test switch
    {
        ["CMD", _, ..] => Test.Skip(1).ToList(),
        ["CMD-SHELL", var cmd, ..] => ["/bin/sh", "-c", cmd],
        _ => null,
    };

    public TimeSpan IntervalOrDefault => Interval > 0 ? TimeSpan.FromTicks(Interval / 100) : DefaultInterval;
    public TimeSpan TimeoutOrDefault => Timeout > 0 ? TimeSpan.FromTicks(Timeout / 100) : DefaultTimeout;
    public TimeSpan StartPeriodOrDefault => TimeSpan.FromTicks(StartPeriod / 100);
    public int RetriesOrDefault => Retries > 0 ? Retries : DefaultRetries;

    /// <summary>Go's time.Duration.String() for whole milliseconds and up ("200ms", "1.5s", "1m30s").</summary>
    public static string GoDuration(TimeSpan d)
    {
        if (d < TimeSpan.FromSeconds(1))
            return (d.Ticks / 10_000.0).ToString("0.###", CultureInfo.InvariantCulture) + "ms";
        var sb = new System.Text.StringBuilder();
        if (d.TotalHours >= 1) sb.Append((long)d.TotalHours).Append('h');
        if (d.TotalMinutes >= 1) sb.Append(d.Minutes).Append('m');
        double secs = d.Seconds + d.Milliseconds / 1000.0;
        sb.Append(secs.ToString("0.###", CultureInfo.InvariantCulture)).Append('s');
        return sb.ToString();
    }
}

/// <summary>Docker's State.Health: starting | healthy | unhealthy, the failing streak and the last 5 probes.</summary>
public sealed class HealthState
{
    public const string Starting = "starting", Healthy = "healthy", Unhealthy = "unhealthy";
    public const int MaxLogEntries = 5, MaxOutputLen = 4096;

    public string Status { get; set; } = Starting;
    public int FailingStreak { get; set; }
    public List<HealthLogEntry> Log { get; set; } = [];
}

/// <summary>One probe's result (Docker's HealthcheckResult).</summary>
public sealed class HealthLogEntry
{
    public DateTime Start { get; set; }
    public DateTime End { get; set; }
    public int ExitCode { get; set; }
    public string Output { get; set; } = "";
}
