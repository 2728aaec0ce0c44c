using System.Text.Json;
using Berth.Core;
using Berth.Engine.Backends;
using Berth.Images;
using Berth.Images.Archive;
using Microsoft.AspNetCore.Http.Features;

namespace Berth.Daemon.Routers.Images;

/// <summary>docker save (GET /images/get?names=…, GET /images/{name}/get) and docker load (POST /images/load).</summary>
public static class ImageArchiveRoutes
{
    public static void Map(IEndpointRouteBuilder app, Func<IImageBackend> backend)
    {
        app.MapGet("/images/get", ctx => Save(ctx, backend(), ctx.Request.Query["names"].Where(n => !string.IsNullOrEmpty(n)).Select(n => n!).ToList()));
        app.MapPost("/images/load", ctx => Load(ctx, backend()));
    }

    public static async Task Save(HttpContext ctx, IImageBackend images, IReadOnlyList<string> names)
    {
        if (names.Count == 0) throw BerthException.Invalid("no images given to save");
        var write = images.Save(names); // fails (404, 400) before the first byte
        ctx.Response.ContentType = "application/x-tar";
        if (ctx.Features.Get<IHttpBodyControlFeature>() is { } body) body.AllowSynchronousIO = true;
        var output = ctx.Response.Body;
        await ctx.Response.StartAsync(ctx.RequestAborted);
        try
        {
            await Task.Run(() => write(output), ctx.RequestAborted);
        }
        catch (Exception)
        {
            ctx.Abort(); // the archive is cut off: the client must not take it for a whole one
            throw;
        }
    }

    /// <summary>Docker's answer: a JSON message stream; quiet leaves out the layer progress.</summary>
    private static async Task Load(HttpContext ctx, IImageBackend images)
    {
        bool quiet = ctx.Request.Query["quiet"].FirstOrDefault() is "1" or "true";
        if (ctx.Features.Get<IHttpBodyControlFeature>() is { } body) body.AllowSynchronousIO = true;
        var progress = new StreamProgress(ctx.Response, quiet);
        try
        {
            await Task.Run(() => images.Load(ctx.Request.Body, progress), ctx.RequestAborted);
        }
        catch (BerthException e) when (progress.Started)
        {
            progress.Error(e.Message); // the answer is already 200: the error goes into the stream, as dockerd does
        }
        progress.Flush();
        if (!progress.Started) // nothing loaded and nothing said
            ctx.Response.ContentType = "application/json";
    }

    private sealed class StreamProgress(HttpResponse response, bool quiet) : ILoadProgress
    {
        private readonly Lock _lock = new();
        public bool Started { get; private set; }

        private void Send(Action<Utf8JsonWriter> message)
        {
            var ms = new MemoryStream();
            using (var w = new Utf8JsonWriter(ms, new JsonWriterOptions { Encoder = global::System.Text.Encodings.Web.JavaScriptEncoder.UnsafeRelaxedJsonEscaping }))
            {
                w.WriteStartObject();
                message(w);
                w.WriteEndObject();
            }
            ms.Write("\r\n"u8);
            lock (_lock)
            {
                if (!Started)
                {
                    response.ContentType = "application/json";
                    Started = true;
                }
                response.Body.Write(ms.GetBuffer(), 0, (int)ms.Length);
                response.Body.Flush();
            }
        }

        public void Layer(Digest chainId, long current, long total)
        {
            if (quiet) return;
            Send(w =>
            {
                w.WriteString("status", "Loading layer");
                w.WriteStartObject("progressDetail");
                w.WriteNumber("current", current);
                w.WriteNumber("total", total);
                w.WriteEndObject();
                w.WriteString("progress", Bar(current, total));
                w.WriteString("id", chainId.Short);
            });
        }

        public void Message(string line) => Send(w => w.WriteString("stream", line + "\n"));

        public void Error(string message) => Send(w =>
        {
            w.WriteStartObject("errorDetail");
            w.WriteString("message", message);
            w.WriteEndObject();
            w.WriteString("error", message);
        });

        public void Flush() { }

        /// <summary>Docker's progress bar text: "[====>     ]  1.2MB/3.4MB".</summary>
        private static string Bar(long current, long total)
        {
            const int width = 50;
            int filled = total > 0 ? (int)Math.Min(width, current * width / total) : 0;
            var bar = new string('=', Math.Max(0, filled - 1)) + (filled > 0 ? (filled == width ? "=" : ">") : "") + new string(' ', width - filled);
            return $"[{bar}] {Size(current),8}/{Size(total)}";
        }

        private static string Size(long b)
        {
            string[] units = ["B", "kB", "MB", "GB", "TB"];
            double v = b;
            int u = 0;
            while (v >= 1000 && u < units.Length - 1) { v /= 1000; u++; }
            return u == 0 ? $"{b}B" : $"{v.ToString("0.###", global::System.Globalization.CultureInfo.InvariantCulture)}{units[u]}";
        }
    }
}
