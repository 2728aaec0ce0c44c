using System.Diagnostics;
using System.Text.Json;

namespace Berth.Daemon.Tests;

/// <summary>docker events against berthd: the kept history with --since/--until, filters, and the live stream.</summary>
public sealed class EventsTests(DaemonFixture fx) : IClassFixture<DaemonFixture>
{
    private (int Code, string Stdout, string Stderr) Docker(params string[] args) => DockerCli.Run(fx.Dir.Socket, fx.Dir.Path, args);

    /// <summary>An --until that takes every event so far: the CLI sends whole seconds (a "0s" would cut the
    /// current second off), so the next second, which the stream waits for.</summary>
    private static string UntilNow() => (DateTimeOffset.UtcNow.ToUnixTimeSeconds() + 1).ToString();

    private string Ok(params string[] args)
    {
        var (code, stdout, stderr) = Docker(args);
        Assert.True(code == 0, $"docker {string.Join(' ', args)} exited {code}: {stdout}{stderr}\n{fx.LogTail}");
        return stdout;
    }

    private static long Now() => DateTimeOffset.UtcNow.ToUnixTimeSeconds();

    [Fact]
    public void SinceUntil_ReplaysAContainersLifeWithDockersAttributes()
    {
        long since = Now() - 1;
        Assert.Equal(3, Docker("run", "--name", "ev-life", "-l", "tier=front", "busybox", "sh", "-c", "exit 3").Code);
        Ok("rm", "ev-life");
        var outp = Ok("events", "--since", since.ToString(), "--until", (Now() + 1).ToString(),
            "--filter", "container=ev-life", "--format", "{{json .}}");
        var events = outp.Split('\n', StringSplitOptions.RemoveEmptyEntries).Select(l => JsonDocument.Parse(l).RootElement).ToList();
        Assert.Equal(["create", "attach", "start", "die", "destroy"], events.Select(e => e.GetProperty("Action").GetString()));
        var die = events[3];
        Assert.Equal("container", die.GetProperty("Type").GetString());
        Assert.Equal("die", die.GetProperty("status").GetString());
        Assert.Equal("busybox", die.GetProperty("from").GetString());
        Assert.Equal("local", die.GetProperty("scope").GetString());
        var attrs = die.GetProperty("Actor").GetProperty("Attributes");
        Assert.Equal("3", attrs.GetProperty("exitCode").GetString());
        Assert.Equal("ev-life", attrs.GetProperty("name").GetString());
        Assert.Equal("busybox", attrs.GetProperty("image").GetString());
        Assert.Equal("front", attrs.GetProperty("tier").GetString());
        Assert.True(die.GetProperty("timeNano").GetInt64() / 1_000_000_000 == die.GetProperty("time").GetInt64());
    }

    [Fact]
    public void Exec_EmitsExecCreateStartAndDie()
    {
        long since = Now() - 1;
        Ok("run", "-d", "--name", "ev-exec", "busybox", "sleep", "60");
        try
        {
            Assert.Equal(4, Docker("exec", "ev-exec", "sh", "-c", "exit 4").Code);
            var outp = Ok("events", "--since", since.ToString(), "--until", UntilNow(),
                "--filter", "container=ev-exec", "--format", "{{json .}}");
            var events = outp.Split('\n', StringSplitOptions.RemoveEmptyEntries).Select(l => JsonDocument.Parse(l).RootElement).ToList();
            var actions = events.Select(e => e.GetProperty("Action").GetString()).ToList();
            Assert.Contains("exec_create: sh -c exit 4", actions);
            Assert.Contains("exec_start: sh -c exit 4", actions);
            var die = events.Single(e => e.GetProperty("Action").GetString() == "exec_die");
            var attrs = die.GetProperty("Actor").GetProperty("Attributes");
            Assert.Equal("4", attrs.GetProperty("exitCode").GetString());
            Assert.Equal(64, attrs.GetProperty("execID").GetString()!.Length);
            // A filter on the action's prefix matches the suffixed exec actions, as dockerd's does.
            var filtered = Ok("events", "--since", since.ToString(), "--until", UntilNow(),
                "--filter", "container=ev-exec", "--filter", "event=exec_start", "--format", "{{.Action}}");
            Assert.Equal("exec_start: sh -c exit 4", filtered.Trim());
        }
        finally
        {
            Docker("rm", "-f", "ev-exec");
        }
    }

    [Fact]
    public void Filters_EventTypeImageAndDurations()
    {
        Ok("run", "--rm", "--name", "ev-filter", "busybox", "true");
        Ok("tag", "busybox", "ev-img:v1");
        Ok("rmi", "ev-img:v1");
        // Durations relative to now, as the CLI sends them (unix seconds).
        var starts = Ok("events", "--since", "1m", "--until", UntilNow(), "--filter", "event=start", "--filter", "container=ev-filter");
        Assert.Single(starts.Split('\n', StringSplitOptions.RemoveEmptyEntries));
        Assert.Contains("container start", starts);
        var images = Ok("events", "--since", "1m", "--until", UntilNow(), "--filter", "type=image");
        Assert.Contains("image tag", images);
        Assert.Contains("name=ev-img:v1", images);
        Assert.Contains("image untag", images);
        Assert.DoesNotContain("container", images);
        var byImage = Ok("events", "--since", "1m", "--until", UntilNow(), "--filter", "image=busybox", "--filter", "event=destroy");
        Assert.Contains("container destroy", byImage);
        var (code, _, stderr) = Docker("events", "--since", "1m", "--until", UntilNow(), "--filter", "nope=1");
        Assert.NotEqual(0, code);
        Assert.Contains("invalid filter 'nope'", stderr);
    }

    [Fact]
    public async Task Stream_DeliversEventsAsTheyHappenAndEndsAtUntil()
    {
        var psi = new ProcessStartInfo(DockerCli.Path)
        {
            RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false,
        };
        foreach (var a in new[] { "events", "--filter", "container=ev-stream", "--until", (Now() + 8).ToString(), "--format", "{{.Action}}" })
            psi.ArgumentList.Add(a);
        psi.Environment["DOCKER_HOST"] = "unix://" + fx.Dir.Socket;
        psi.Environment["DOCKER_CONFIG"] = Path.Combine(fx.Dir.Path, "docker-config");
        using var p = Process.Start(psi)!;
        var lines = new List<string>();
        var gotStart = new TaskCompletionSource();
        p.OutputDataReceived += (_, e) =>
        {
            if (e.Data is null) return;
            lock (lines) lines.Add(e.Data);
            if (e.Data == "start") gotStart.TrySetResult();
        };
        p.BeginOutputReadLine();
        await Task.Delay(500);
        Ok("run", "-d", "--name", "ev-stream", "busybox", "sleep", "30");
        // The start arrives while the stream is open (not at its end).
        await gotStart.Task.WaitAsync(TimeSpan.FromSeconds(5));
        Ok("rm", "-f", "ev-stream");
        Assert.True(p.WaitForExit(15_000), "docker events did not end at --until");
        lock (lines) Assert.Equal(["create", "start", "kill", "die", "destroy"], lines);
    }
    [Fact]
    public void Network_CreateConnectDisconnectDestroyWithDockersAttributes()
    {
        long since = Now() - 1;
        var netId = Ok("network", "create", "ev-net").Trim();
        string cid = "";
        try
        {
            cid = Ok("run", "-d", "--network", "ev-net", "--name", "ev-netc", "busybox", "sleep", "60").Trim();
            Ok("rm", "-f", "ev-netc");
        }
        finally
        {
            Docker("rm", "-f", "ev-netc");
            Docker("network", "rm", "ev-net");
        }
        var outp = Ok("events", "--since", since.ToString(), "--until", UntilNow(),
            "--filter", "type=network", "--filter", "network=" + netId, "--format", "{{json .}}");
        var events = outp.Split('\n', StringSplitOptions.RemoveEmptyEntries).Select(l => JsonDocument.Parse(l).RootElement).ToList();
        Assert.Equal(["create", "connect", "disconnect", "destroy"], events.Select(e => e.GetProperty("Action").GetString()));
        foreach (var e in events)
        {
            Assert.Equal("network", e.GetProperty("Type").GetString());
            Assert.Equal(netId, e.GetProperty("Actor").GetProperty("ID").GetString());
            var attrs = e.GetProperty("Actor").GetProperty("Attributes");
            Assert.Equal("ev-net", attrs.GetProperty("name").GetString());
            Assert.Equal("bridge", attrs.GetProperty("type").GetString());
        }
        Assert.Equal(cid, events[1].GetProperty("Actor").GetProperty("Attributes").GetProperty("container").GetString());
        Assert.Equal(cid, events[2].GetProperty("Actor").GetProperty("Attributes").GetProperty("container").GetString());
    }
}
