using System.Text.Json;
using Berth.Engine.Backends;
using Berth.Engine.Containers;

namespace Berth.Daemon.Routers.Containers;

/// <summary>The list (ps) and inspect answers, in Docker's keys and order.</summary>
public static partial class ContainersRouter
{
    private static async Task List(HttpContext ctx, IContainerBackend engine)
    {
        int limit = int.TryParse(ctx.Request.Query["limit"], out var n) ? n : -1;
        var filter = new ContainerListFilter(Flag(ctx, "all"), limit, Berth.Api.FilterArgs.Parse(ctx.Request.Query["filters"].FirstOrDefault()),
            lookupContainer: name => engine.Get(name).Id,
            lookupImage: engine.ResolveImageId);
        var list = filter.Apply(engine.List());
        await WriteJson(ctx, w =>
        {
            w.WriteStartArray();
            foreach (var c in list) WriteSummary(w, c);
            w.WriteEndArray();
        });
    }

    /// <summary>One container of the list (Docker's types.Container); SizeRw and SizeRootFs where computed (system
    /// df, ps -s), omitted when 0 as dockerd's omitempty.</summary>
    internal static void WriteSummary(Utf8JsonWriter w, ContainerRecord c, long sizeRw = 0, long sizeRootFs = 0)
    {
        w.WriteStartObject();
        w.WriteString("Id", c.Id);
        w.WriteStartArray("Names");
        w.WriteStringValue("/" + c.Name);
        w.WriteEndArray();
        w.WriteString("Image", c.ImageRef);
        w.WriteString("ImageID", c.Image);
        w.WriteString("Command", CommandText(c));
        w.WriteNumber("Created", new DateTimeOffset(c.Created).ToUnixTimeSeconds());
        w.WriteStartArray("Ports");
        foreach (var (key, maps) in PublishedPorts.Of(c))
        {
            var slash = key.IndexOf('/');
            int priv = int.Parse(key[..slash]);
            var proto = key[(slash + 1)..];
            // dockerd's types.Port: IP and PublicPort only for a published port.
            foreach (var m in maps ?? [null!])
            {
                w.WriteStartObject();
                if (m is not null) w.WriteString("IP", m.HostIp);
                w.WriteNumber("PrivatePort", priv);
                if (m is not null) w.WriteNumber("PublicPort", m.HostPort);
                w.WriteString("Type", proto);
                w.WriteEndObject();
            }
        }
        w.WriteEndArray();
        if (sizeRw != 0) w.WriteNumber("SizeRw", sizeRw);
        if (sizeRootFs != 0) w.WriteNumber("SizeRootFs", sizeRootFs);
        w.WriteStartObject("Labels");
        foreach (var (k, v) in c.Labels) w.WriteString(k, v);
        w.WriteEndObject();
        w.WriteString("State", c.State.DockerStatus);
        w.WriteString("Status", StatusText(c));
        w.WriteStartObject("HostConfig");
        w.WriteString("NetworkMode", c.HostConfig.NetworkMode);
        w.WriteEndObject();
        w.WriteStartObject("NetworkSettings");
        WriteNetworks(w, c);
        w.WriteEndObject();
        WriteMounts(w, c);
        w.WriteEndObject();
    }

    /// <summary>Docker's types.MountPoint for each of the container's mount points (HostConfig.Tmpfs mounts are not
    /// among them, as with dockerd); Type, Name and Driver are omitted when empty.</summary>
    private static void WriteMounts(Utf8JsonWriter w, ContainerRecord c)
    {
        w.WriteStartArray("Mounts");
        foreach (var m in c.MountPoints.OrderBy(m => m.Destination, StringComparer.Ordinal))
        {
            w.WriteStartObject();
            if (m.Type.Length > 0) w.WriteString("Type", m.Type);
            if (m.Name.Length > 0) w.WriteString("Name", m.Name);
            w.WriteString("Source", m.Source);
            w.WriteString("Destination", m.Destination);
            if (m.Driver.Length > 0) w.WriteString("Driver", m.Driver);
            w.WriteString("Mode", m.Mode);
            w.WriteBoolean("RW", m.RW);
            w.WriteString("Propagation", m.Propagation);
            w.WriteEndObject();
        }
        w.WriteEndArray();
    }

    /// <summary>dockerd's list Command: the path, then the args, each quoted in '' when it has a space.</summary>
    public static string CommandText(ContainerRecord c) =>
        c.Args.Count == 0 ? c.Path : c.Path + " " + string.Join(' ', c.Args.Select(a => a.Contains(' ') ? $"'{a}'" : a));

    /// <summary>ps's STATUS column: "Created", "Up 3 seconds", "Exited (0) 2 minutes ago".</summary>
    public static string StatusText(ContainerRecord c) => c.State.DockerStatus switch
    {
        "running" => "Up " + Human(DateTime.UtcNow - c.State.StartedAt) + c.State.Health?.Status switch
        {
            null => "",
            "starting" => " (health: starting)",
            var h => $" ({h})",
        },
        "paused" => "Up " + Human(DateTime.UtcNow - c.State.StartedAt) + " (Paused)",
        "restarting" => $"Restarting ({c.State.ExitCode}) {Human(DateTime.UtcNow - c.State.FinishedAt)} ago",
        "exited" => $"Exited ({c.State.ExitCode}) {Human(DateTime.UtcNow - c.State.FinishedAt)} ago",
        "created" => "Created",
        var s => char.ToUpperInvariant(s[0]) + s[1..],
    };

    /// <summary>Docker's State.Health: Status, FailingStreak, Log (Start, End, ExitCode, Output).</summary>
    private static void WriteHealth(Utf8JsonWriter w, Berth.Engine.Containers.Health.HealthState h)
    {
        w.WriteStartObject("Health");
        w.WriteString("Status", h.Status);
        w.WriteNumber("FailingStreak", h.FailingStreak);
        w.WriteStartArray("Log");
        foreach (var e in h.Log.ToList())
        {
            w.WriteStartObject();
            w.WriteString("Start", e.Start.ToString("O"));
            w.WriteString("End", e.End.ToString("O"));
            w.WriteNumber("ExitCode", e.ExitCode);
            w.WriteString("Output", e.Output);
            w.WriteEndObject();
        }
        w.WriteEndArray();
        w.WriteEndObject();
    }

    /// <summary>Docker's units.HumanDuration.</summary>
    public static string Human(TimeSpan d) => Berth.Api.HumanDuration.Of(d);

    private static async Task Inspect(HttpContext ctx, IContainerBackend engine, string id)
    {
        var c = engine.Get(id);
        await WriteJson(ctx, w =>
        {
            w.WriteStartObject();
            w.WriteString("Id", c.Id);
            w.WriteString("Created", c.Created.ToString("O"));
            w.WriteString("Path", c.Path);
            w.WriteStartArray("Args");
            foreach (var a in c.Args) w.WriteStringValue(a);
            w.WriteEndArray();
            w.WriteStartObject("State");
            w.WriteString("Status", c.State.DockerStatus);
            w.WriteBoolean("Running", c.State.Running || c.State.Restarting); // as dockerd: a restarting container "runs"
            w.WriteBoolean("Paused", c.State.Running && c.State.Paused);
            w.WriteBoolean("Restarting", c.State.Restarting);
            w.WriteBoolean("OOMKilled", c.State.OOMKilled);
            w.WriteBoolean("Dead", c.State.Status == "dead");
            w.WriteNumber("Pid", c.State.Running ? c.State.Pid : 0);
            w.WriteNumber("ExitCode", c.State.ExitCode);
            w.WriteString("Error", c.State.Error);
            w.WriteString("StartedAt", c.State.StartedAt == default ? "0001-01-01T00:00:00Z" : c.State.StartedAt.ToString("O"));
            w.WriteString("FinishedAt", c.State.FinishedAt == default ? "0001-01-01T00:00:00Z" : c.State.FinishedAt.ToString("O"));
            if (c.State.Health is { } health) WriteHealth(w, health);
            w.WriteEndObject();
            w.WriteString("Image", c.Image);
            var dir = engine.RecordDirectory(c.Id);
            w.WriteString("ResolvConfPath", Path.Combine(dir, "resolv.conf"));
            w.WriteString("HostnamePath", Path.Combine(dir, "hostname"));
            w.WriteString("HostsPath", Path.Combine(dir, "hosts"));
            w.WriteString("LogPath", c.LogPath);
            w.WriteString("Name", "/" + c.Name);
            w.WriteNumber("RestartCount", c.RestartCount);
            w.WriteString("Driver", "overlay2");
            w.WriteString("Platform", "linux");
            w.WriteString("MountLabel", "");
            w.WriteString("ProcessLabel", "");
            w.WriteString("AppArmorProfile", "");
            // dockerd: the container's exec instances (kept until it is removed), null when there are none.
            if ((engine as IExecBackend)?.ExecIdsOf(c.Id) is { Count: > 0 } execIds)
            {
                w.WriteStartArray("ExecIDs");
                foreach (var e in execIds) w.WriteStringValue(e);
                w.WriteEndArray();
            }
            else
            {
                w.WriteNull("ExecIDs");
            }
            w.WritePropertyName("HostConfig");
            JsonSerializer.Serialize(w, c.HostConfig, Berth.Api.Containers.ContainersJsonContext.Default.HostConfig);
            w.WriteStartObject("GraphDriver");
            w.WriteStartObject("Data");
            foreach (var (k, v) in engine.GraphDriverData(c.Id)) w.WriteString(k, v);
            w.WriteEndObject();
            w.WriteString("Name", "overlay2");
            w.WriteEndObject();
            WriteMounts(w, c);
            w.WritePropertyName("Config");
            JsonSerializer.Serialize(w, c.Config, Berth.Api.Containers.ContainersJsonContext.Default.ContainerConfig);
            WriteNetworkSettings(w, c, c.State.Running ? engine.SandboxKey(c.Id) : "");
            w.WriteEndObject();
        });
    }

    /// <summary>inspect's NetworkSettings: the top-level (deprecated) address fields are the default bridge's, as dockerd fills them.</summary>
    private static void WriteNetworkSettings(Utf8JsonWriter w, ContainerRecord c, string sandboxKey)
    {
        var b = c.Networks.TryGetValue("bridge", out var br) ? br : null;
        w.WriteStartObject("NetworkSettings");
        w.WriteString("Bridge", "");
        w.WriteString("SandboxID", sandboxKey == "" ? "" : c.Id);
        w.WriteBoolean("HairpinMode", false);
        w.WriteString("LinkLocalIPv6Address", "");
        w.WriteNumber("LinkLocalIPv6PrefixLen", 0);
        w.WriteStartObject("Ports");
        foreach (var (key, maps) in PublishedPorts.Of(c))
        {
            if (maps is null)
            {
                w.WriteNull(key);
                continue;
            }
            w.WriteStartArray(key);
            foreach (var m in maps)
            {
                w.WriteStartObject();
                w.WriteString("HostIp", m.HostIp);
                w.WriteString("HostPort", m.HostPort.ToString(global::System.Globalization.CultureInfo.InvariantCulture));
                w.WriteEndObject();
            }
            w.WriteEndArray();
        }
        w.WriteEndObject();
        w.WriteString("SandboxKey", sandboxKey);
        w.WriteNull("SecondaryIPAddresses");
        w.WriteNull("SecondaryIPv6Addresses");
        w.WriteString("EndpointID", b?.EndpointID ?? "");
        w.WriteString("Gateway", b?.Gateway ?? "");
        w.WriteString("GlobalIPv6Address", "");
        w.WriteNumber("GlobalIPv6PrefixLen", 0);
        w.WriteString("IPAddress", b?.IPAddress ?? "");
        w.WriteNumber("IPPrefixLen", b?.IPPrefixLen ?? 0);
        w.WriteString("IPv6Gateway", "");
        w.WriteString("MacAddress", b?.MacAddress ?? "");
        WriteNetworks(w, c);
        w.WriteEndObject();
    }

    private static void WriteNetworks(Utf8JsonWriter w, ContainerRecord c)
    {
        w.WriteStartObject("Networks");
        foreach (var (name, s) in c.Networks)
        {
            w.WriteStartObject(name);
            if (s.RequestedIPv4 is null) w.WriteNull("IPAMConfig");
            else
            {
                w.WriteStartObject("IPAMConfig");
                w.WriteString("IPv4Address", s.RequestedIPv4);
                w.WriteEndObject();
            }
            w.WriteNull("Links");
            if (s.Aliases is { Count: > 0 })
            {
                w.WriteStartArray("Aliases");
                foreach (var a in s.Aliases) w.WriteStringValue(a);
                w.WriteEndArray();
            }
            else w.WriteNull("Aliases");
            w.WriteString("NetworkID", s.NetworkID);
            w.WriteString("EndpointID", s.EndpointID);
            w.WriteString("Gateway", s.Gateway);
            w.WriteString("IPAddress", s.IPAddress);
            w.WriteNumber("IPPrefixLen", s.IPPrefixLen);
            w.WriteString("IPv6Gateway", "");
            w.WriteString("GlobalIPv6Address", "");
            w.WriteNumber("GlobalIPv6PrefixLen", 0);
            w.WriteString("MacAddress", s.MacAddress);
            w.WriteNull("DriverOpts");
            w.WriteEndObject();
        }
        w.WriteEndObject();
    }
}
