using System.Net.Sockets;
using System.Text;
using System.Text.Json;
using Berth.Api.Streams;
using Berth.Core;
using Berth.Daemon.Routers.Containers;
using Berth.Daemon.Server;
using Berth.Engine.Backends;
using Berth.Engine.Containers;

namespace Berth.Daemon.Routers.Exec;

/// <summary>
/// docker exec over <see cref="IExecBackend"/>: create (<c>POST /containers/{id}/exec</c>), start (hijacked like
/// attach; <c>Detach:true</c> answers an empty 200 at once), resize, inspect. As dockerd, a start that fails after
/// the upgrade (command not found, ...) writes its message into the stream and the exit code (127/126) is in the
/// inspect the CLI asks for next; the stream ends only once the exit code is recorded.
/// </summary>
public static class ExecRouter
{
    public static void Map(IEndpointRouteBuilder app, DaemonState state)
    {
        IExecBackend Engine() => state.Exec ?? throw new BerthException(ErrorKind.Unavailable, "the container engine is not running");
        app.MapPost("/containers/{id}/exec", ctx => Create(ctx, Engine()));
        app.MapPost("/exec/{id}/start", ctx => Start(ctx, Engine()));
        app.MapPost("/exec/{id}/resize", ctx => Resize(ctx, Engine()));
        app.MapGet("/exec/{id}/json", ctx => Inspect(ctx, Engine()));
    }

    /// <summary>The JSON body; an upgrade request's was moved into a header by <see cref="UpgradeBody"/> (its body
    /// stream is the raw connection: it is not read here).</summary>
    private static async Task<JsonElement> ReadBody(HttpContext ctx)
    {
        byte[] bytes;
        if (Hijack.IsRequested(ctx))
        {
            bytes = UpgradeBody.Of(ctx) ?? [];
        }
        else
        {
            using var ms = new MemoryStream();
            await ctx.Request.Body.CopyToAsync(ms, ctx.RequestAborted);
            bytes = ms.ToArray();
        }
        if (bytes.Length == 0) return default;
        try
        {
            using var doc = JsonDocument.Parse(bytes);
            return doc.RootElement.Clone();
        }
        catch (JsonException e)
        {
            throw BerthException.Invalid($"invalid JSON: {e.Message}");
        }
    }

    private static string Str(JsonElement body, string name) =>
        body.ValueKind == JsonValueKind.Object && body.TryGetProperty(name, out var v) && v.ValueKind != JsonValueKind.Null
            ? v.ValueKind == JsonValueKind.String ? v.GetString()! : throw BerthException.Invalid($"json: cannot unmarshal {Kind(v)} into Go struct field ExecConfig.{name} of type string")
            : "";

    private static bool Bool(JsonElement body, string name) =>
        body.ValueKind == JsonValueKind.Object && body.TryGetProperty(name, out var v) && v.ValueKind != JsonValueKind.Null
        && (v.ValueKind is JsonValueKind.True or JsonValueKind.False ? v.GetBoolean()
            : throw BerthException.Invalid($"json: cannot unmarshal {Kind(v)} into Go struct field ExecConfig.{name} of type bool"));

    private static List<string>? Strings(JsonElement body, string name)
    {
        if (body.ValueKind != JsonValueKind.Object || !body.TryGetProperty(name, out var v) || v.ValueKind == JsonValueKind.Null) return null;
        if (v.ValueKind != JsonValueKind.Array)
            throw BerthException.Invalid($"json: cannot unmarshal {Kind(v)} into Go struct field ExecConfig.{name} of type []string");
        return [.. v.EnumerateArray().Select(e => e.ValueKind == JsonValueKind.String ? e.GetString()!
            : throw BerthException.Invalid($"json: cannot unmarshal {Kind(e)} into Go struct field ExecConfig.{name} of type string"))];
    }

    private static List<uint>? ConsoleSize(JsonElement body)
    {
        if (body.ValueKind != JsonValueKind.Object || !body.TryGetProperty("ConsoleSize", out var v) || v.ValueKind == JsonValueKind.Null) return null;
        if (v.ValueKind != JsonValueKind.Array || v.GetArrayLength() != 2 || v.EnumerateArray().Any(e => e.ValueKind != JsonValueKind.Number || !e.TryGetUInt32(out _)))
            throw BerthException.Invalid("json: cannot unmarshal ConsoleSize: an array of two unsigned integers was expected");
        return [.. v.EnumerateArray().Select(e => e.GetUInt32())];
    }

    private static string Kind(JsonElement v) => v.ValueKind switch
    {
        JsonValueKind.String => "string", JsonValueKind.Number => "number", JsonValueKind.Array => "array",
        JsonValueKind.Object => "object", _ => "bool",
    };

    private static async Task Create(HttpContext ctx, IExecBackend engine)
    {
        var body = await ReadBody(ctx);
        var cmd = Strings(body, "Cmd") ?? [];
        var config = new ExecCreate
        {
            User = Str(body, "User"), Privileged = Bool(body, "Privileged"), Tty = Bool(body, "Tty"),
            AttachStdin = Bool(body, "AttachStdin"), AttachStdout = Bool(body, "AttachStdout"), AttachStderr = Bool(body, "AttachStderr"),
            DetachKeys = Str(body, "DetachKeys"), Env = Strings(body, "Env"), WorkingDir = Str(body, "WorkingDir"), Cmd = cmd,
            ConsoleSize = ConsoleSize(body),
        };
        var id = engine.CreateExec(ContainersRouter.Id(ctx), config);
        ctx.Response.StatusCode = StatusCodes.Status201Created;
        await ContainersRouter.WriteJson(ctx, w =>
        {
            w.WriteStartObject();
            w.WriteString("Id", id);
            w.WriteEndObject();
        });
    }

    private static async Task Start(HttpContext ctx, IExecBackend engine)
    {
        var exec = engine.GetExec(ContainersRouter.Id(ctx)); // 404 before the upgrade, as dockerd
        var body = await ReadBody(ctx);
        bool detach = Bool(body, "Detach");
        bool tty = Bool(body, "Tty");
        if (detach)
        {
            await engine.StartExecAsync(exec.Id, detach: true, ctx.RequestAborted);
            ctx.Response.StatusCode = StatusCodes.Status200OK;
            ctx.Response.ContentLength = 0;
            return;
        }
        var client = await Hijack.UpgradeAsync(ctx);
        try
        {
            ExecSession session;
            try
            {
                session = await engine.StartExecAsync(exec.Id, detach: false, CancellationToken.None);
            }
            catch (BerthException e)
            {
                // dockerd writes the error on the stream's stdout and ends it; the CLI then reads the exit code.
                var text = Encoding.UTF8.GetBytes(e.Message + "\r\n");
                await client.WriteAsync(tty ? text : StdCopy.Frame(StdCopy.Stdout, text));
                return;
            }
            bool detached;
            using (var monitor = session.Attach!)
                detached = await StdioRelay.RunAsync(client, monitor, raw: tty, stdin: exec.Config.AttachStdin,
                    detachKeys: exec.Config.Tty ? exec.DetachKeySequence : null,
                    stdout: exec.Config.AttachStdout, stderr: exec.Config.AttachStderr);
            // The CLI asks for the exit code as soon as the stream ends: it is recorded first.
            if (!detached)
            {
                try { await session.Exited.WaitAsync(TimeSpan.FromSeconds(10)); }
                catch (TimeoutException) { }
            }
        }
        catch (Exception e) when (e is IOException or ObjectDisposedException or OperationCanceledException or SocketException) { }
        finally
        {
            try { await client.FlushAsync(); }
            catch (Exception e) when (e is IOException or ObjectDisposedException or OperationCanceledException) { }
            await client.DisposeAsync();
        }
    }

    private static async Task Resize(HttpContext ctx, IExecBackend engine)
    {
        var exec = engine.GetExec(ContainersRouter.Id(ctx));
        if (!int.TryParse(ctx.Request.Query["h"], out var h) || !int.TryParse(ctx.Request.Query["w"], out var w) || h < 0 || w < 0)
            throw BerthException.Invalid("invalid resize parameters");
        await engine.ResizeExecAsync(exec.Id, h, w);
        ctx.Response.StatusCode = StatusCodes.Status200OK;
        ctx.Response.ContentLength = 0;
    }

    /// <summary>Docker 20.10's ExecInspect, in its key order (ExitCode null while running; user only when set).</summary>
    private static Task Inspect(HttpContext ctx, IExecBackend engine)
    {
        var e = engine.GetExec(ContainersRouter.Id(ctx));
        var cfg = e.Config;
        return ContainersRouter.WriteJson(ctx, w =>
        {
            w.WriteStartObject();
            w.WriteString("ID", e.Id);
            w.WriteBoolean("Running", e.Running);
            if (e.ExitCode is int code) w.WriteNumber("ExitCode", code);
            else w.WriteNull("ExitCode");
            w.WriteStartObject("ProcessConfig");
            w.WriteBoolean("tty", cfg.Tty);
            w.WriteString("entrypoint", cfg.Cmd.Count > 0 ? cfg.Cmd[0] : "");
            w.WriteStartArray("arguments");
            foreach (var a in cfg.Cmd.Skip(1)) w.WriteStringValue(a);
            w.WriteEndArray();
            w.WriteBoolean("privileged", cfg.Privileged);
            if (cfg.User.Length > 0) w.WriteString("user", cfg.User);
            w.WriteEndObject();
            w.WriteBoolean("OpenStdin", cfg.AttachStdin);
            w.WriteBoolean("OpenStderr", cfg.AttachStderr);
            w.WriteBoolean("OpenStdout", cfg.AttachStdout);
            w.WriteBoolean("CanRemove", e.CanRemove);
            w.WriteString("ContainerID", e.ContainerId);
            w.WriteString("DetachKeys", cfg.DetachKeys);
            w.WriteNumber("Pid", e.Pid);
            w.WriteEndObject();
        });
    }
}
