using System.Net;

namespace Berth.Daemon.Tests;

/// <summary>Restart policies with the real docker CLI: on-failure:N, always, unless-stopped, the user's stop, and
/// a restart that berthd's crash interrupted.</summary>
public sealed class RestartPolicyTests(DaemonFixture fx) : IClassFixture<DaemonFixture>
{
    private (int Code, string Stdout, string Stderr) Docker(params string[] args) => fx.Docker(args);
    private string Ok(params string[] args) => fx.Ok(args);
    private string Inspect(string name, string format) => fx.Inspect(name, format);
    private void WaitFor(Func<bool> condition, TimeSpan timeout, string what) => fx.WaitFor(condition, timeout, what);

    /// <summary>An --until that takes every event so far: the CLI sends whole seconds (a "0s" would cut the
    /// current second off), so the next second, which the stream waits for.</summary>
    private static string UntilNow() => (DateTimeOffset.UtcNow.ToUnixTimeSeconds() + 1).ToString();

    [Fact]
    public void OnFailure_RestartsUpToTheMaximum_WithAGrowingDelay()
    {
        var id = Ok("run", "-d", "--name", "rp-fail", "--restart", "on-failure:3", "busybox", "sh", "-c", "exit 2").Trim();
        try
        {
            WaitFor(() => Inspect(id, "{{.RestartCount}} {{.State.Status}}") == "3 exited", TimeSpan.FromSeconds(20), "3 restarts");
            Thread.Sleep(2000);
            Assert.Equal("3 exited 2", Inspect(id, "{{.RestartCount}} {{.State.Status}} {{.State.ExitCode}}"));
            var starts = Ok("events", "--since", "1m", "--until", UntilNow(), "--filter", "container=rp-fail", "--filter", "event=start",
                "--format", "{{.TimeNano}}").Split('\n', StringSplitOptions.RemoveEmptyEntries).Select(long.Parse).ToList();
            Assert.Equal(4, starts.Count);
            // 100 ms, 200 ms, 400 ms: each gap longer than the one before.
            var gaps = starts.Zip(starts.Skip(1), (a, b) => (b - a) / 1_000_000).ToList();
            Assert.True(gaps[0] >= 100 && gaps[1] >= 200 && gaps[2] >= 400, string.Join(",", gaps));
            Assert.Equal("on-failure 3", Inspect(id, "{{.HostConfig.RestartPolicy.Name}} {{.HostConfig.RestartPolicy.MaximumRetryCount}}"));
        }
        finally
        {
            Docker("rm", "-f", id);
        }
    }

    [Fact]
    public void Always_RestartsAfterAnExit_ButNotAfterTheUsersStop()
    {
        var id = Ok("run", "-d", "--name", "rp-always", "--restart", "always", "busybox", "sh", "-c", "sleep 0.3").Trim();
        try
        {
            WaitFor(() => int.Parse(Inspect(id, "{{.RestartCount}}")) >= 2, TimeSpan.FromSeconds(20), "two restarts");
            Ok("stop", "-t", "1", id);
            var count = Inspect(id, "{{.RestartCount}}");
            Thread.Sleep(1500);
            Assert.Equal("exited false", Inspect(id, "{{.State.Status}} {{.State.Restarting}}"));
            Assert.Equal(count, Inspect(id, "{{.RestartCount}}"));
            // The user's start resets the count.
            Ok("start", id);
            Assert.Equal("0", Inspect(id, "{{.RestartCount}}"));
        }
        finally
        {
            Docker("rm", "-f", id);
        }
    }

    [Fact]
    public void UnlessStopped_KillByTheUserIsNotRestarted()
    {
        var id = Ok("run", "-d", "--name", "rp-unless", "--restart", "unless-stopped", "busybox", "sleep", "60").Trim();
        try
        {
            Ok("kill", id);
            Thread.Sleep(1000);
            Assert.Equal("exited 0", Inspect(id, "{{.State.Status}} {{.RestartCount}}"));
        }
        finally
        {
            Docker("rm", "-f", id);
        }
    }

    [Fact]
    public void AnExitWhileBerthdIsDown_IsRestartedWhenItComesBack()
    {
        var id = Ok("run", "-d", "--name", "rp-crash", "--restart", "unless-stopped", "busybox", "sh", "-c", "sleep 1; exit 1").Trim();
        try
        {
            fx.Crash(); // kill -9; the container exits while no berthd runs, or just after
            WaitFor(() => int.Parse(Inspect(id, "{{.RestartCount}}")) >= 1, TimeSpan.FromSeconds(20), "a restart after the crash");
        }
        finally
        {
            Docker("rm", "-f", id);
        }
    }

    [Fact]
    public async Task Validation_DockersMessages()
    {
        var client = EngineCalls.Client(fx.Dir.Socket);
        var (status, body) = await client.CallAsync("POST", "/v1.41/containers/create",
            """{"Image":"busybox","HostConfig":{"RestartPolicy":{"Name":"bogus"}}}""");
        Assert.Equal(HttpStatusCode.BadRequest, status);
        Assert.Contains("invalid restart policy 'bogus'", body);
        (status, body) = await client.CallAsync("POST", "/v1.41/containers/create",
            """{"Image":"busybox","HostConfig":{"RestartPolicy":{"Name":"always","MaximumRetryCount":3}}}""");
        Assert.Equal(HttpStatusCode.BadRequest, status);
        Assert.Contains("maximum retry count cannot be used with restart policy 'always'", body);
        (status, body) = await client.CallAsync("POST", "/v1.41/containers/create",
            """{"Image":"busybox","HostConfig":{"AutoRemove":true,"RestartPolicy":{"Name":"always"}}}""");
        Assert.Equal(HttpStatusCode.BadRequest, status);
        Assert.Contains("can't create 'AutoRemove' container with restart policy", body);
        var (code, _, stderr) = Docker("run", "--rm", "--restart", "always", "busybox", "true");
        Assert.NotEqual(0, code);
        Assert.Contains("--restart", stderr); // the CLI's own check: "Conflicting options: --restart and --rm" (20.10's words)
        Assert.Contains("--rm", stderr);
    }
}
