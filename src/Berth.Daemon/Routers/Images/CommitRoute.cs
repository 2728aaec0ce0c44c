using System.Text.Json;
using Berth.Core;
using Berth.Daemon.Server;
using Berth.Engine.Backends;

namespace Berth.Daemon.Routers.Images;

/// <summary>docker commit (POST /commit?container=&amp;repo=&amp;tag=&amp;comment=&amp;author=&amp;pause=&amp;changes=): 201 {"Id": …}.</summary>
public static class CommitRoute
{
    public static void Map(IEndpointRouteBuilder app, DaemonState state)
    {
        app.MapPost("/commit", async ctx =>
        {
            var images = state.Images ?? throw new BerthException(ErrorKind.Unavailable, "the image store is not running");
            var containers = state.Containers ?? throw new BerthException(ErrorKind.Unavailable, "the engine is not running");
            var q = ctx.Request.Query;
            var name = q["container"].FirstOrDefault() ?? throw BerthException.Invalid("container must be given");
            var repo = q["repo"].FirstOrDefault();
            var tag = q["tag"].FirstOrDefault();
            string? repoTag = string.IsNullOrEmpty(repo) ? null : string.IsNullOrEmpty(tag) ? repo : $"{repo}:{tag}";
            bool pause = q["pause"].FirstOrDefault() is not ("0" or "false"); // dockerd: pause unless told not to
            var changes = q["changes"].Select(s => s ?? "").Where(s => s.Length > 0).ToList();
            // The body is a container config to merge (docker CLI: none). Berth does not merge one: refused, never ignored.
            using (var reader = new StreamReader(ctx.Request.Body))
            {
                var body = (await reader.ReadToEndAsync(ctx.RequestAborted)).Trim();
                if (body.Length > 0 && body is not ("null" or "{}"))
                    throw BerthException.Invalid("commit: a config in the request body is not supported by Berth: use changes (docker commit --change)");
            }
            var c = containers.Get(name);
            bool paused = false;
            if (pause && c.State.Status == "running" && !c.State.Paused)
            {
                await containers.PauseAsync(c.Id);
                paused = true;
            }
            string id;
            try
            {
                id = await Task.Run(() => images.Commit(containers.Get(c.Id), repoTag, q["comment"].FirstOrDefault(), q["author"].FirstOrDefault(), changes), ctx.RequestAborted);
            }
            finally
            {
                if (paused) await containers.UnpauseAsync(c.Id);
            }
            ctx.Response.StatusCode = StatusCodes.Status201Created;
            ctx.Response.ContentType = "application/json";
            var ms = new MemoryStream();
            using (var w = new Utf8JsonWriter(ms))
            {
                w.WriteStartObject();
                w.WriteString("Id", id);
                w.WriteEndObject();
            }
            ms.Write("\n"u8);
            await ctx.Response.Body.WriteAsync(ms.ToArray(), ctx.RequestAborted);
        });
    }
}
