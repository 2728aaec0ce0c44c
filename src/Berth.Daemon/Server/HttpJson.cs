using System.Text.Json;
using System.Text.Json.Serialization.Metadata;

namespace Berth.Daemon.Server;

/// <summary>JSON responses as dockerd sends them: compact, one trailing newline, application/json.</summary>
public static class HttpJson
{
    public static Task Write<T>(HttpContext ctx, T value, JsonTypeInfo<T> type)
    {
        byte[] json = JsonSerializer.SerializeToUtf8Bytes(value, type);
        var body = new byte[json.Length + 1];
        json.CopyTo(body, 0);
        body[^1] = (byte)'\n';
        ctx.Response.ContentType = "application/json";
        ctx.Response.ContentLength = body.Length;
        return ctx.Response.Body.WriteAsync(body, ctx.RequestAborted).AsTask();
    }
}
