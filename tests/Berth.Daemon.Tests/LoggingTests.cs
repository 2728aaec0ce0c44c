using Berth.Core;
using Berth.Daemon.Server;
using Berth.Interop;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Logging;

namespace Berth.Daemon.Tests;

/// <summary>Errors classified at the boundary, and what the daemon logs for them.</summary>
[Collection("daemon-log")]
public sealed class LoggingTests
{
    [Theory]
    [InlineData(Libc.ENOENT, 404)]
    [InlineData(Libc.ESRCH, 404)]
    [InlineData(Libc.EINVAL, 400)]
    [InlineData(Libc.EEXIST, 409)]
    [InlineData(Libc.EBUSY, 409)]
    [InlineData(Libc.EPERM, 403)]
    [InlineData(Libc.EACCES, 403)]
    [InlineData(Libc.EIO, 500)]
    public void Unclassified_errno_is_mapped_once_in_ErrorMapping(int errno, int status)
    {
        var e = new ErrnoException(errno, "open", "/x");
        Assert.Equal(ErrorKind.System, e.Kind); // Interop carries errno, call and path; it does not classify
        Assert.Equal((errno, "open", "/x"), (e.Errno, e.Syscall, e.Path));
        Assert.Equal(status, ErrorMapping.StatusFor(e));
    }

    [Fact]
    public void A_classified_error_keeps_its_kind()
    {
        Assert.Equal(409, ErrorMapping.StatusFor(BerthException.Conflict("container with given ID already exists")));
        Assert.Equal(500, ErrorMapping.StatusFor(new InvalidOperationException("boom")));
    }

    [Fact]
    public void Format_is_one_dockerd_style_line_with_escapes()
    {
        var when = new DateTime(2026, 1, 2, 3, 4, 5, DateTimeKind.Utc);
        string line = LogfmtLoggerProvider.Format(when, LogLevel.Warning, new EventId(2000), "say \"hi\"\nthere", null);
        Assert.Equal("time=\"2026-01-02T03:04:05.0000000Z\" level=warning msg=\"say \\\"hi\\\"\\nthere\" event=2000", line);
    }

    [Fact]
    public async Task A_user_error_is_a_debug_line_without_stack_an_unexpected_error_is_logged_with_it()
    {
        var output = new StringWriter();
        DaemonLog.Configure(debug: true);
        DaemonLog.Provider.Output = output;
        try
        {
            string id = Guid.NewGuid().ToString("N");
            await Invoke($"/containers/{id}-404/json", () => throw BerthException.NotFound($"No such container: {id}"));
            await Invoke($"/containers/{id}-500/json", () => throw new InvalidOperationException($"unexpected {id}"));

            var lines = output.ToString().Split('\n').Where(l => l.Contains(id, StringComparison.Ordinal)).ToList();
            Assert.Equal(2, lines.Count);
            string rejected = lines.Single(l => l.Contains("-404", StringComparison.Ordinal));
            Assert.Contains("level=debug", rejected);
            Assert.Contains($"msg=\"Handler for GET /containers/{id}-404/json returned error: No such container: {id}\"", rejected);
            Assert.Contains("event=1041", rejected);
            Assert.DoesNotContain("error=", rejected);
            Assert.DoesNotContain(" at ", rejected);

            string failed = lines.Single(l => l.Contains("-500", StringComparison.Ordinal));
            Assert.Contains("level=error", failed);
            Assert.Contains("event=1042", failed);
            Assert.Contains("error=\"System.InvalidOperationException: unexpected", failed);
            Assert.Contains("\\n   at ", failed); // the stack, newlines escaped: one event, one line
        }
        finally
        {
            DaemonLog.Provider.Output = null;
        }
    }

    [Fact]
    public void Info_level_hides_debug_and_aspnetcore_below_warning()
    {
        var provider = new LogfmtLoggerProvider(LogLevel.Information);
        Assert.False(provider.CreateLogger("berthd").IsEnabled(LogLevel.Debug));
        Assert.True(provider.CreateLogger("berthd").IsEnabled(LogLevel.Information));
        Assert.False(provider.CreateLogger("Microsoft.Hosting.Lifetime").IsEnabled(LogLevel.Information));
        Assert.True(provider.CreateLogger("Microsoft.AspNetCore.Server.Kestrel").IsEnabled(LogLevel.Warning));
    }

    private static async Task Invoke(string path, Action fail)
    {
        var ctx = new DefaultHttpContext();
        ctx.Request.Method = "GET";
        ctx.Request.Path = path;
        ctx.Response.Body = new MemoryStream();
        var mapping = new ErrorMapping(_ =>
        {
            fail();
            return Task.CompletedTask;
        });
        await mapping.InvokeAsync(ctx);
    }
}
