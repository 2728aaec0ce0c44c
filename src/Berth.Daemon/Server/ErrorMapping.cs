using System.Text;
using Berth.Interop;

namespace Berth.Daemon.Server;

/// <summary>The one place errors become HTTP responses: <see cref="BerthException.Kind"/> → status, body
/// <c>{"message":...}</c> as application/json (HEAD: same status and headers, Kestrel drops the body).</summary>
public sealed class ErrorMapping(RequestDelegate next)
{
    public async Task InvokeAsync(HttpContext ctx)
    {
        try
        {
            await next(ctx);
        }
        catch (Exception e) when (!ctx.Response.HasStarted && !ctx.RequestAborted.IsCancellationRequested)
        {
            int status = StatusFor(e);
            // Only the unexpected (5xx) is an error worth a stack; a user's mistake (4xx) is a debug line.
            if (status >= 500) DaemonLog.Logger.RequestFailed(ctx.Request.Method, ctx.Request.Path.ToString(), e.Message, e);
            else DaemonLog.Logger.RequestRejected(ctx.Request.Method, ctx.Request.Path.ToString(), e.Message);
            ctx.Response.Clear();
            RestoreIdentityHeaders(ctx);
            await WriteError(ctx, status, e.Message);
        }
    }

    public static int StatusFor(Exception e) => e switch
    {
        BerthException b => StatusFor(KindOf(b)),
        BadHttpRequestException bad => bad.StatusCode,
        _ => StatusCodes.Status500InternalServerError,
    };

    /// <summary>
    /// The kind of a Berth error. A failed system call that no caller classified (<see cref="ErrnoException"/>
    /// carries only errno, call and path) is classified here, by errno: the one place that does so.
    /// </summary>
    public static ErrorKind KindOf(BerthException e) => e is ErrnoException errno ? KindOfErrno(errno.Errno) : e.Kind;

    public static ErrorKind KindOfErrno(int errno) => errno switch
    {
        Libc.ENOENT or Libc.ESRCH => ErrorKind.NotFound,
        Libc.EINVAL => ErrorKind.InvalidParameter,
        Libc.EEXIST or Libc.EBUSY => ErrorKind.Conflict,
        Libc.EPERM or Libc.EACCES => ErrorKind.Forbidden,
        _ => ErrorKind.System,
    };

    public static int StatusFor(ErrorKind kind) => kind switch
    {
        ErrorKind.NotFound => StatusCodes.Status404NotFound,
        ErrorKind.InvalidParameter => StatusCodes.Status400BadRequest,
        ErrorKind.Conflict => StatusCodes.Status409Conflict,
        ErrorKind.Forbidden => StatusCodes.Status403Forbidden,
        ErrorKind.Unauthorized => StatusCodes.Status401Unauthorized,
        ErrorKind.Unavailable => StatusCodes.Status503ServiceUnavailable,
        ErrorKind.NotImplemented => StatusCodes.Status501NotImplemented,
        ErrorKind.NotModified => StatusCodes.Status304NotModified,
        _ => StatusCodes.Status500InternalServerError,
    };

    public static Task WriteError(HttpContext ctx, int status, string message)
    {
        ctx.Response.StatusCode = status;
        return HttpJson.Write(ctx, new ErrorResponse(message), ApiJsonContext.Api.ErrorResponse);
    }

    public static Task WritePlain(HttpContext ctx, int status, string text)
    {
        ctx.Response.StatusCode = status;
        ctx.Response.ContentType = "text/plain; charset=utf-8";
        ctx.Response.Headers["X-Content-Type-Options"] = "nosniff";
        byte[] body = Encoding.UTF8.GetBytes(text + "\n");
        ctx.Response.ContentLength = body.Length;
        return ctx.Response.Body.WriteAsync(body).AsTask();
    }

    /// <summary>Terminal handler: no route matched.</summary>
    public static Task NotFound(HttpContext ctx) => WriteError(ctx, StatusCodes.Status404NotFound, "page not found");

    private static void RestoreIdentityHeaders(HttpContext ctx)
    {
        IHeaderDictionary h = ctx.Response.Headers;
        h["Api-Version"] = ApiVersions.Max;
        h["Ostype"] = "linux";
        h["Docker-Experimental"] = "false";
        h["Server"] = VersionMiddleware.ServerHeader;
    }
}
