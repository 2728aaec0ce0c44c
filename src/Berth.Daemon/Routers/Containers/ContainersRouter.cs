using System.Net.Sockets;
using System.Text;
using System.Text.Json;
using Berth.Core;
using Berth.Daemon.Server;
using Berth.Engine.Containers;
using Berth.Engine.Logs;
using Microsoft.AspNetCore.Http.Features;

namespace Berth.Daemon.Routers.Containers;

/// <summary>
/// The container routes the CLI's run/create/start/attach/wait/logs/ps/inspect/stop/kill/rm use.
/// Hijacked attach relays the connection to the container's monitor (berth-monitor's attach.sock).
/// </summary>
public static class ContainersRouter
{
    public static void Map(IEndpointRouteBuilder app, DaemonState state)
    {
        ContainerManager Engine() => state.Containers ?? throw new BerthException(ErrorKind.Unavailable, "the container engine is not running");
        app.MapPost("/containers/create", ctx => Create(ctx, Engine(), state.Options.Runtime));
        app.MapGet("/containers/json", ctx => List(ctx, Engine(), state.Images));
        app.MapGet("/containers/{id}/json", ctx => Inspect(ctx, Engine(), state.Images, Id(ctx)));
        app.MapPost("/containers/{id}/start", async ctx =>
        {
            await Engine().StartAsync(Id(ctx), ctx.RequestAborted);
            ctx.Response.StatusCode = StatusCodes.Status204NoContent;
        });
        app.MapPost("/containers/{id}/wait", ctx => Wait(ctx, Engine(), Id(ctx)));
        app.MapPost("/containers/{id}/attach", ctx => Attach(ctx, Engine(), Id(ctx)));
        app.MapGet("/containers/{id}/logs", ctx => Logs(ctx, Engine(), Id(ctx)));
        app.MapPost("/containers/{id}/resize", ctx => Resize(ctx, Engine(), Id(ctx)));
        app.MapPost("/containers/{id}/kill", async ctx =>
        {
            await Engine().KillAsync(Id(ctx), ctx.Request.Query["signal"].FirstOrDefault() is { Length: > 0 } s ? s : "KILL", ctx.RequestAborted);
            ctx.Response.StatusCode = StatusCodes.Status204NoContent;
        });
        app.MapPost("/containers/{id}/stop", async ctx =>
        {
            await Engine().StopAsync(Id(ctx), Timeout(ctx), ctx.RequestAborted);
            ctx.Response.StatusCode = StatusCodes.Status204NoContent;
        });
        app.MapPost("/containers/{id}/restart", async ctx =>
        {
            int? t = Timeout(ctx);
            try { await Engine().StopAsync(Id(ctx), t, ctx.RequestAborted); }
            catch (BerthException e) when (e.Kind == ErrorKind.NotModified) { }
            await Engine().StartAsync(Id(ctx), ctx.RequestAborted);
            ctx.Response.StatusCode = StatusCodes.Status204NoContent;
        });
        app.MapDelete("/containers/{id}", async ctx =>
        {
            await Engine().RemoveAsync(Id(ctx), Flag(ctx, "force"), ctx.RequestAborted);
            ctx.Response.StatusCode = StatusCodes.Status204NoContent;
        });
    }

    private static string Id(HttpContext ctx) => (string)ctx.Request.RouteValues["id"]!;

    /// <summary>stop/restart's t: seconds (negative: wait for ever); absent: the container's StopTimeout or 10 s.</summary>
    private static int? Timeout(HttpContext ctx)
    {
        var t = ctx.Request.Query["t"].FirstOrDefault();
        if (string.IsNullOrEmpty(t)) return null;
        return int.TryParse(t, global::System.Globalization.NumberStyles.AllowLeadingSign, global::System.Globalization.CultureInfo.InvariantCulture, out var v)
            ? v : throw BerthException.Invalid($"strconv.Atoi: parsing \"{t}\": invalid syntax");
    }

    private static bool Flag(HttpContext ctx, string name) =>
        ctx.Request.Query[name].FirstOrDefault() is { } v && v is "1" or "true" or "True";

    private static async Task Create(HttpContext ctx, ContainerManager engine, string runtimeName)
    {
        var body = await ReadBody(ctx);
        var input = CreateRequest.Parse(body.Span, ctx.Request.Query["name"].FirstOrDefault(), ctx.Request.Query["platform"].FirstOrDefault(), runtimeName);
        var created = engine.Create(input);
        ctx.Response.StatusCode = StatusCodes.Status201Created;
        await WriteJson(ctx, w =>
        {
            w.WriteStartObject();
            w.WriteString("Id", created.Container.Id);
            w.WriteStartArray("Warnings");
            foreach (var warning in created.Warnings) w.WriteStringValue(warning);
            w.WriteEndArray();
            w.WriteEndObject();
        });
    }

    /// <summary>The whole body (bounded by <see cref="RequestLimits"/>: a JSON body over 4 MiB is a 413).</summary>
    private static async Task<ReadOnlyMemory<byte>> ReadBody(HttpContext ctx)
    {
        var ms = new MemoryStream();
        await ctx.Request.Body.CopyToAsync(ms, ctx.RequestAborted);
        return ms.GetBuffer().AsMemory(0, (int)ms.Length);
    }

    private static async Task Wait(HttpContext ctx, ContainerManager engine, string id)
    {
        var c = engine.Store.Get(id);
        var condition = ctx.Request.Query["condition"].FirstOrDefault() is { Length: > 0 } cond ? cond : "not-running";
        if (condition is not ("not-running" or "next-exit" or "removed"))
            throw BerthException.Invalid($"invalid condition: \"{condition}\"");
        var waiting = engine.WaitAsync(c.Id, condition, ctx.RequestAborted);
        // Headers go out at once; the body when the container exits (the CLI sends wait before start).
        ctx.Response.StatusCode = 200;
        ctx.Response.ContentType = "application/json";
        await ctx.Response.StartAsync(ctx.RequestAborted);
        await ctx.Response.Body.FlushAsync(ctx.RequestAborted);
        int code = await waiting;
        await WriteJson(ctx, w =>
        {
            w.WriteStartObject();
            w.WriteNull("Error");
            w.WriteNumber("StatusCode", code);
            w.WriteEndObject();
        }, setLength: false);
    }

    private static async Task Attach(HttpContext ctx, ContainerManager engine, string id)
    {
        var c = engine.Store.Get(id);
        bool tty = Tty(c);
        bool stdin = Flag(ctx, "stdin");
        // After the upgrade the client half-closes when it has no (more) stdin, and Kestrel then signals
        // RequestAborted: so from here on only a failed write ends the relay, never RequestAborted.
        var client = await Hijack.UpgradeAsync(ctx);

        // The monitor's socket exists from just before the process starts: connect then (or now, if running).
        var connected = new TaskCompletionSource<Socket?>(TaskCreationOptions.RunContinuationsAsynchronously);
        async Task Connect()
        {
            var s = await Berth.Interop.UnixSocket.ConnectAsync(engine.AttachSocket(c.Id));
            if (!connected.TrySetResult(s)) s.Dispose();
        }
        if (engine.Store.Get(c.Id).State.Running)
        {
            try { await Connect(); }
            catch (SocketException) { connected.TrySetResult(null); } // exited meanwhile
        }
        else
        {
            // A start that fails (or a run that ends before we connect) ends this attach.
            _ = engine.NextExit(c.Id).ContinueWith(_ => connected.TrySetResult(null), TaskScheduler.Default);
            engine.OnBeforeStart(c.Id, Connect);
        }
        var monitor = await connected.Task;
        if (monitor is null)
        {
            await client.DisposeAsync();
            return;
        }
        using (monitor)
        await using (var ms = new NetworkStream(monitor, ownsSocket: false))
        {
            // The client's input is always read (Kestrel needs its end consumed); without stdin it is dropped.
            _ = Task.Run(async () =>
            {
                var buf = new byte[16 * 1024];
                int n;
                try
                {
                    while ((n = await client.ReadAsync(buf)) > 0)
                        if (stdin) await ms.WriteAsync(buf.AsMemory(0, n));
                    if (stdin) monitor.Shutdown(SocketShutdown.Send); // the client's half-close closes the container's stdin
                }
                catch (Exception e) when (e is IOException or SocketException or ObjectDisposedException or OperationCanceledException) { }
            });
            await CopyOutput(ms, client, tty, CancellationToken.None);
        }
        try { await client.FlushAsync(); }
        catch (Exception e) when (e is IOException or ObjectDisposedException or OperationCanceledException) { }
        await client.DisposeAsync();
    }

    /// <summary>Monitor frames to the client: as they are for non-tty, payloads only (raw) for a tty.</summary>
    private static async Task CopyOutput(Stream from, Stream to, bool raw, CancellationToken ct)
    {
        var header = new byte[8];
        var payload = new byte[32 * 1024];
        try
        {
            while (true)
            {
                if (!await ReadExactly(from, header, ct)) return;
                int len = (int)global::System.Buffers.Binary.BinaryPrimitives.ReadUInt32BigEndian(header.AsSpan(4));
                if (len > payload.Length) payload = new byte[len];
                if (!await ReadExactly(from, payload.AsMemory(0, len), ct)) return;
                if (!raw) await to.WriteAsync(header, ct);
                await to.WriteAsync(payload.AsMemory(0, len), ct);
                await to.FlushAsync(ct);
            }
        }
        catch (Exception e) when (e is IOException or OperationCanceledException or SocketException) { }
    }

    private static async Task<bool> ReadExactly(Stream s, Memory<byte> buf, CancellationToken ct)
    {
        int off = 0;
        while (off < buf.Length)
        {
            int n = await s.ReadAsync(buf[off..], ct);
            if (n == 0) return false;
            off += n;
        }
        return true;
    }

    private static async Task Logs(HttpContext ctx, ContainerManager engine, string id)
    {
        var c = engine.Store.Get(id);
        var q = ctx.Request.Query;
        var query = new LogQuery
        {
            Stdout = Flag(ctx, "stdout"), Stderr = Flag(ctx, "stderr"), Follow = Flag(ctx, "follow"), Timestamps = Flag(ctx, "timestamps"),
            Tail = int.TryParse(q["tail"], out var tail) ? tail : null,
            Since = long.TryParse(q["since"].FirstOrDefault()?.Split('.')[0], out var since) && since > 0 ? DateTimeOffset.FromUnixTimeSeconds(since).UtcDateTime : null,
            Until = long.TryParse(q["until"].FirstOrDefault()?.Split('.')[0], out var until) && until > 0 ? DateTimeOffset.FromUnixTimeSeconds(until).UtcDateTime : null,
        };
        if (!query.Stdout && !query.Stderr)
            throw BerthException.Invalid("Bad parameters: you must choose at least one stream");
        bool tty = Tty(c);
        ctx.Response.StatusCode = 200;
        await ctx.Response.StartAsync(ctx.RequestAborted);
        await foreach (var e in JsonFileLog.ReadAsync(c.LogPath, query, () => engine.Store.TryGet(c.Id, out var now) && now!.State.Running, ctx.RequestAborted))
        {
            var bytes = Encoding.UTF8.GetBytes(JsonFileLog.Text(e, query.Timestamps));
            await ctx.Response.Body.WriteAsync(tty ? bytes : JsonFileLog.Frame(e.Stream, bytes), ctx.RequestAborted);
            if (query.Follow) await ctx.Response.Body.FlushAsync(ctx.RequestAborted);
        }
    }

    private static async Task Resize(HttpContext ctx, ContainerManager engine, string id)
    {
        var c = engine.Store.Get(id);
        if (!int.TryParse(ctx.Request.Query["h"], out var h) || !int.TryParse(ctx.Request.Query["w"], out var w))
            throw BerthException.Invalid("invalid resize parameters");
        if (c.State.Running && Tty(c)) await engine.ResizeAsync(c.Id, h, w);
        ctx.Response.StatusCode = 200;
    }

    private static bool Tty(ContainerRecord c) => c.Tty;

    private static async Task List(HttpContext ctx, ContainerManager engine, Berth.Engine.Images.ImageBackend? images)
    {
        int limit = int.TryParse(ctx.Request.Query["limit"], out var n) ? n : -1;
        var filter = new ContainerListFilter(Flag(ctx, "all"), limit, Berth.Api.FilterArgs.Parse(ctx.Request.Query["filters"].FirstOrDefault()),
            lookupContainer: name => engine.Store.Get(name).Id,
            lookupImage: reference =>
            {
                try { return images?.Resolve(reference).ImageId; }
                catch (BerthException e) when (e.Kind == ErrorKind.NotFound) { return null; }
            });
        var list = filter.Apply(engine.Store.List());
        await WriteJson(ctx, w =>
        {
            w.WriteStartArray();
            foreach (var c in list)
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
                w.WriteEndArray();
                w.WriteStartObject("Labels");
                foreach (var (k, v) in c.Labels) w.WriteString(k, v);
                w.WriteEndObject();
                w.WriteString("State", c.State.Status);
                w.WriteString("Status", StatusText(c));
                w.WriteStartObject("HostConfig");
                w.WriteString("NetworkMode", c.HostConfig.NetworkMode);
                w.WriteEndObject();
                w.WriteStartObject("NetworkSettings");
                w.WriteStartObject("Networks");
                w.WriteEndObject();
                w.WriteEndObject();
                w.WriteStartArray("Mounts");
                w.WriteEndArray();
                w.WriteEndObject();
            }
            w.WriteEndArray();
        });
    }

    /// <summary>dockerd's list Command: the path, then the args, each quoted in '' when it has a space.</summary>
    public static string CommandText(ContainerRecord c) =>
        c.Args.Count == 0 ? c.Path : c.Path + " " + string.Join(' ', c.Args.Select(a => a.Contains(' ') ? $"'{a}'" : a));

    /// <summary>ps's STATUS column: "Created", "Up 3 seconds", "Exited (0) 2 minutes ago".</summary>
    public static string StatusText(ContainerRecord c) => c.State.Status switch
    {
        "running" => "Up " + Human(DateTime.UtcNow - c.State.StartedAt),
        "exited" => $"Exited ({c.State.ExitCode}) {Human(DateTime.UtcNow - c.State.FinishedAt)} ago",
        "created" => "Created",
        var s => char.ToUpperInvariant(s[0]) + s[1..],
    };

    /// <summary>Docker's units.HumanDuration.</summary>
    public static string Human(TimeSpan d)
    {
        double s = d.TotalSeconds;
        if (s < 1) return "Less than a second";
        if (s < 2) return "1 second";
        if (s < 60) return $"{(int)s} seconds";
        double m = d.TotalMinutes;
        if (m < 2) return "About a minute";
        if (m < 60) return $"{(int)m} minutes";
        double h = d.TotalHours;
        if (h < 2) return "About an hour";
        if (h < 48) return $"{(int)h} hours";
        if (h < 24 * 7 * 2) return $"{(int)(h / 24)} days";
        if (h < 24 * 30 * 2) return $"{(int)(h / 24 / 7)} weeks";
        if (h < 24 * 365 * 2) return $"{(int)(h / 24 / 30)} months";
        return $"{(int)(h / 24 / 365)} years";
    }

    private static async Task Inspect(HttpContext ctx, ContainerManager engine, Berth.Engine.Images.ImageBackend? images, string id)
    {
        var c = engine.Store.Get(id);
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
            w.WriteString("Status", c.State.Status);
            w.WriteBoolean("Running", c.State.Running);
            w.WriteBoolean("Paused", false);
            w.WriteBoolean("Restarting", false);
            w.WriteBoolean("OOMKilled", c.State.OOMKilled);
            w.WriteBoolean("Dead", c.State.Status == "dead");
            w.WriteNumber("Pid", c.State.Running ? c.State.Pid : 0);
            w.WriteNumber("ExitCode", c.State.ExitCode);
            w.WriteString("Error", c.State.Error);
            w.WriteString("StartedAt", c.State.StartedAt == default ? "0001-01-01T00:00:00Z" : c.State.StartedAt.ToString("O"));
            w.WriteString("FinishedAt", c.State.FinishedAt == default ? "0001-01-01T00:00:00Z" : c.State.FinishedAt.ToString("O"));
            w.WriteEndObject();
            w.WriteString("Image", c.Image);
            var dir = engine.Store.DirectoryOf(c.Id);
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
            w.WriteNull("ExecIDs");
            w.WritePropertyName("HostConfig");
            JsonSerializer.Serialize(w, c.HostConfig, Berth.Api.Containers.ContainersJsonContext.Default.HostConfig);
            w.WriteStartObject("GraphDriver");
            w.WriteStartObject("Data");
            foreach (var (k, v) in images?.GraphDriverData(c.Id) ?? []) w.WriteString(k, v);
            w.WriteEndObject();
            w.WriteString("Name", "overlay2");
            w.WriteEndObject();
            w.WriteStartArray("Mounts");
            w.WriteEndArray();
            w.WritePropertyName("Config");
            JsonSerializer.Serialize(w, c.Config, Berth.Api.Containers.ContainersJsonContext.Default.ContainerConfig);
            w.WriteStartObject("NetworkSettings");
            w.WriteStartObject("Networks");
            w.WriteEndObject();
            w.WriteEndObject();
            w.WriteEndObject();
        });
    }

    private static Task WriteJson(HttpContext ctx, Action<Utf8JsonWriter> write, bool setLength = true)
    {
        var ms = new MemoryStream();
        // Go's encoder: quotes, plus signs and non-ASCII stay as they are.
        using (var w = new Utf8JsonWriter(ms, new JsonWriterOptions { Encoder = global::System.Text.Encodings.Web.JavaScriptEncoder.UnsafeRelaxedJsonEscaping })) write(w);
        ms.WriteByte((byte)'\n');
        if (!ctx.Response.HasStarted)
        {
            ctx.Response.ContentType = "application/json";
            if (setLength) ctx.Response.ContentLength = ms.Length;
        }
        return ctx.Response.Body.WriteAsync(ms.GetBuffer().AsMemory(0, (int)ms.Length), ctx.RequestAborted).AsTask();
    }
}
