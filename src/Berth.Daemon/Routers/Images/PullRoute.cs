using System.Threading.Channels;
using Berth.Core;
using Berth.Engine.Backends;
using Berth.Images.Pull;

namespace Berth.Daemon.Routers.Images;

/// <summary>
/// POST /images/create?fromImage=&amp;tag=&amp;platform= (docker pull). The manifest is fetched before anything
/// is written, so an unknown manifest answers 404 {"message"}; after that the answer is 200 and a stream of
/// JSON messages ("\r\n" each), a failure ending it with {"errorDetail":{"message"},"error"}.
/// </summary>
public static class PullRoute
{
    public static async Task Handle(HttpContext ctx, IImageBackend images, string fromImage)
    {
        var q = ctx.Request.Query;
        var request = PullRequest.FromApi(fromImage, q["tag"].FirstOrDefault(), q["platform"].FirstOrDefault(),
            ctx.Request.Headers["X-Registry-Auth"].FirstOrDefault());
        using var session = await images.BeginPull(request, ctx.RequestAborted);

        ctx.Response.StatusCode = StatusCodes.Status200OK;
        ctx.Response.ContentType = "application/json";
        var messages = Channel.CreateUnbounded<byte[]>(new UnboundedChannelOptions { SingleReader = true });
        var run = Task.Run(async () =>
        {
            try
            {
                var id = await session.RunAsync(m => messages.Writer.TryWrite(m.ToBytes()), ctx.RequestAborted);
                images.PullDone(session, id);
            }
            catch (Exception e)
            {
                // The 200 is sent: every failure (a registry's, a corrupt layer's, a bug's) ends the stream.
                messages.Writer.TryWrite(JsonMessage.Error(e is OperationCanceledException ? "context canceled" : e.Message));
            }
            finally
            {
                messages.Writer.TryComplete();
            }
        });
        try
        {
            await foreach (var bytes in messages.Reader.ReadAllAsync(ctx.RequestAborted))
            {
                await ctx.Response.Body.WriteAsync(bytes, ctx.RequestAborted);
                await ctx.Response.Body.FlushAsync(ctx.RequestAborted);
            }
        }
        catch (OperationCanceledException) { /* client went away: the pull is cancelled by RequestAborted */ }
        await run;
    }
}
