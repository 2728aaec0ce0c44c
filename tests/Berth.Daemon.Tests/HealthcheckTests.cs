namespace Berth.Daemon.Tests;

/// <summary>Health checks with the real docker CLI: --health-* flags, the probe run as an exec inside the
/// container, State.Health in inspect, ps's status and health filter, health_status events.</summary>
public sealed class HealthcheckTests(DaemonFixture fx) : IClassFixture<DaemonFixture>
{
    private (int Code, string Stdout, string Stderr) Docker(params string[] args) => fx.Docker(args);
    private string Ok(params string[] args) => fx.Ok(args);
    private string Inspect(string name, string format) => fx.Inspect(name, format);
    private void WaitFor(Func<bool> condition, TimeSpan timeout, string what) => fx.WaitFor(condition, timeout, what);

    private static string UntilNow() => (DateTimeOffset.UtcNow.ToUnixTimeSeconds() + 1).ToString();

    [Fact]
    public void PassingProbe_MakesItHealthy_WithLogPsColumnFilterAndEvent()
    {
        var id = Ok("run", "-d", "--name", "hc-ok", "--health-cmd", "echo probe-$HOSTNAME; test -e /proc/1", "--health-interval", "200ms",
            "busybox", "sleep", "30").Trim();
        try
        {
            Assert.Equal("{\"Test\":[\"CMD-SHELL\",\"echo probe-$HOSTNAME; test -e /proc/1\"],\"Interval\":200000000}", Inspect(id, "{{json .Config.Healthcheck}}"));
            WaitFor(() => Inspect(id, "{{.State.Health.Status}}") == "healthy", TimeSpan.FromSeconds(10), "healthy");
            Assert.Equal("0", Inspect(id, "{{.State.Health.FailingStreak}}"));
            var log = Inspect(id, "{{range .State.Health.Log}}{{.ExitCode}}:{{.Output}}{{end}}");
            Assert.StartsWith("0:probe-" + id[..12], log);
            Assert.Matches(@"^Up .* \(healthy\)$", Ok("ps", "--filter", "name=hc-ok", "--format", "{{.Status}}").Trim());
            Assert.Contains("hc-ok", Ok("ps", "--filter", "health=healthy", "--format", "{{.Names}}"));
            Assert.DoesNotContain("hc-ok", Ok("ps", "--filter", "health=none", "--format", "{{.Names}}"));
            var events = Ok("events", "--since", "1m", "--until", UntilNow(), "--filter", "container=hc-ok", "--format", "{{.Action}}");
            Assert.Contains("health_status: healthy", events);
            Assert.Contains("exec_create: /bin/sh -c echo probe-$HOSTNAME; test -e /proc/1", events);
            Assert.Contains("exec_die", events);
            // Five entries at most.
            WaitFor(() => Inspect(id, "{{len .State.Health.Log}}") == "5", TimeSpan.FromSeconds(10), "5 log entries");
            Thread.Sleep(600);
            Assert.Equal("5", Inspect(id, "{{len .State.Health.Log}}"));
        }
        finally
        {
            Docker("rm", "-f", id);
        }
    }

    [Fact]
    public void FailingProbe_TurnsUnhealthyAfterTheRetries()
    {
        var id = Ok("run", "-d", "--name", "hc-bad", "--health-cmd", "echo nope; exit 1", "--health-interval", "200ms", "--health-retries", "2",
            "busybox", "sleep", "30").Trim();
        try
        {
            Assert.Matches(@"\(health: starting\)$", Ok("ps", "--filter", "name=hc-bad", "--format", "{{.Status}}").Trim());
            Assert.Equal("starting", Inspect(id, "{{.State.Health.Status}}"));
            WaitFor(() => Inspect(id, "{{.State.Health.Status}}") == "unhealthy", TimeSpan.FromSeconds(10), "unhealthy");
            var streak = int.Parse(Inspect(id, "{{.State.Health.FailingStreak}}"));
            Assert.True(streak >= 2, streak.ToString());
            Assert.Equal("1:nope\n", Inspect(id, "{{with index .State.Health.Log 0}}{{.ExitCode}}:{{.Output}}{{end}}") + "\n");
            Assert.Contains("hc-bad", Ok("ps", "--filter", "health=unhealthy", "--format", "{{.Names}}"));
            Assert.Contains("health_status: unhealthy",
                Ok("events", "--since", "1m", "--until", UntilNow(), "--filter", "container=hc-bad", "--format", "{{.Action}}"));
        }
        finally
        {
            Docker("rm", "-f", id);
        }
    }

    [Fact]
    public void SlowProbe_IsKilledAtTheTimeout()
    {
        var id = Ok("run", "-d", "--name", "hc-slow", "--health-cmd", "sleep 5", "--health-interval", "200ms", "--health-timeout", "300ms",
            "--health-retries", "1", "busybox", "sleep", "30").Trim();
        try
        {
            WaitFor(() => Inspect(id, "{{.State.Health.Status}}") == "unhealthy", TimeSpan.FromSeconds(10), "unhealthy");
            Assert.Equal("-1:Health check exceeded timeout (300ms)",
                Inspect(id, "{{with index .State.Health.Log 0}}{{.ExitCode}}:{{.Output}}{{end}}"));
            var (s, e) = (DateTime.Parse(Inspect(id, "{{with index .State.Health.Log 0}}{{.Start.Format \"2006-01-02T15:04:05.000Z07:00\"}}{{end}}")),
                DateTime.Parse(Inspect(id, "{{with index .State.Health.Log 0}}{{.End.Format \"2006-01-02T15:04:05.000Z07:00\"}}{{end}}")));
            Assert.True((e - s).TotalSeconds < 3, $"{s:O} {e:O}");
            // The killed probe is gone from the container.
            WaitFor(() => !Ok("top", id).Contains("sleep 5"), TimeSpan.FromSeconds(5), "the probe to be gone");
        }
        finally
        {
            Docker("rm", "-f", id);
        }
    }

    [Fact]
    public void HangingProbe_LogEntryEndsAtTheTimeout_NotAfterTheOutputDrain()
    {
        // The probe hangs and leaves a child holding its output open: the monitor drains that output for 2 s after the
        // kill. As dockerd, the entry ends when the probe is killed at the timeout (1 s), not after the drain (>= 3 s).
        var id = Ok("run", "-d", "--name", "hc-hang1s", "--health-cmd", "sleep 1000 & sleep 1000", "--health-interval", "300ms",
            "--health-timeout", "1s", "--health-retries", "1", "busybox", "sleep", "60").Trim();
        try
        {
            WaitFor(() => Inspect(id, "{{.State.Health.Status}}") == "unhealthy", TimeSpan.FromSeconds(20), "unhealthy");
            var f = Inspect(id, "{{with index .State.Health.Log 0}}{{.ExitCode}}|{{.Output}}|{{.Start.UnixNano}}|{{.End.UnixNano}}{{end}}").Split('|');
            Assert.Equal("-1", f[0]);
            Assert.Equal("Health check exceeded timeout (1s)", f[1]);
            var took = TimeSpan.FromTicks((long.Parse(f[3]) - long.Parse(f[2])) / 100);
            // At least the timeout; well below timeout + the 2 s drain (the slack is for a loaded machine).
            Assert.True(took >= TimeSpan.FromMilliseconds(990) && took < TimeSpan.FromMilliseconds(2600),
                $"the probe's entry took {took.TotalMilliseconds} ms (timeout 1 s)");
        }
        finally
        {
            Docker("rm", "-f", id);
        }
    }

    [Fact]
    public void StartPeriod_FailuresDoNotCount()
    {
        var id = Ok("run", "-d", "--name", "hc-sp", "--health-cmd", "exit 1", "--health-interval", "200ms", "--health-retries", "1",
            "--health-start-period", "3s", "busybox", "sleep", "30").Trim();
        try
        {
            WaitFor(() => Inspect(id, "{{len .State.Health.Log}}") == "3", TimeSpan.FromSeconds(10), "3 probes");
            Assert.Equal("starting 0", Inspect(id, "{{.State.Health.Status}} {{.State.Health.FailingStreak}}"));
            WaitFor(() => Inspect(id, "{{.State.Health.Status}}") == "unhealthy", TimeSpan.FromSeconds(10), "unhealthy after the start period");
        }
        finally
        {
            Docker("rm", "-f", id);
        }
    }

    [Fact]
    public void NoHealthcheck_AndNone_RunNoProbe_AndInvalidValuesAreRefused()
    {
        var id = Ok("run", "-d", "--name", "hc-none", "--no-healthcheck", "busybox", "sleep", "30").Trim();
        try
        {
            Assert.Equal("{\"Test\":[\"NONE\"]}", Inspect(id, "{{json .Config.Healthcheck}}"));
            Thread.Sleep(500);
            Assert.Equal("<nil>", Inspect(id, "{{.State.Health}}"));
            Assert.Matches(@"^Up [^(]*$", Ok("ps", "--filter", "name=hc-none", "--format", "{{.Status}}").Trim());
            Assert.Contains("hc-none", Ok("ps", "--filter", "health=none", "--format", "{{.Names}}"));
        }
        finally
        {
            Docker("rm", "-f", id);
        }
        var (code, _, err) = Docker("create", "--health-cmd", "true", "--health-interval", "500us", "busybox");
        Assert.NotEqual(0, code);
        Assert.Contains("Interval in Healthcheck cannot be less than 1ms", err);
        (code, _, err) = Docker("create", "--health-cmd", "true", "--health-timeout", "10us", "busybox");
        Assert.NotEqual(0, code);
        Assert.Contains("Timeout in Healthcheck cannot be less than 1ms", err);
    }

    [Fact]
    public void Stop_EndsTheProbes_AndStartResetsToStarting()
    {
        // The probe fails while /tmp/hold exists; with 1000 retries a failing probe never turns the status to
        // unhealthy, so after the restart the status stays "starting" until the test removes the file (no race with
        // the 200 ms interval however slow the CLI is).
        var id = Ok("run", "-d", "--name", "hc-stop", "--health-cmd", "test ! -e /tmp/hold", "--health-interval", "200ms",
            "--health-retries", "1000", "busybox", "sleep", "30").Trim();
        try
        {
            WaitFor(() => Inspect(id, "{{.State.Health.Status}}") == "healthy", TimeSpan.FromSeconds(10), "healthy");
            Ok("exec", id, "touch", "/tmp/hold");
            Ok("stop", "-t", "0", id);
            var n = Inspect(id, "{{len .State.Health.Log}}");
            Thread.Sleep(700);
            Assert.Equal(n, Inspect(id, "{{len .State.Health.Log}}"));
            Ok("start", id);
            Assert.Equal("starting", Inspect(id, "{{.State.Health.Status}}"));
            Thread.Sleep(600);
            Assert.Equal("starting", Inspect(id, "{{.State.Health.Status}}"));
            Ok("exec", id, "rm", "/tmp/hold");
            WaitFor(() => Inspect(id, "{{.State.Health.Status}}") == "healthy", TimeSpan.FromSeconds(10), "healthy again");
        }
        finally
        {
            Docker("rm", "-f", id);
        }
    }
}
