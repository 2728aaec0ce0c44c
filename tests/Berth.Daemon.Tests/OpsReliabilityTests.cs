using System.Diagnostics;
using System.Text;
using System.Text.Json;
using Berth.Api.Streams;

namespace Berth.Daemon.Tests;

/// <summary>
/// Issue 11's reliability list, against a real berthd: 200 concurrent execs in one container (exit codes, nothing
/// left: processes, descriptors, threads), exec instances dropped as dockerd drops them, a container restarting in a
/// tight loop (growing delay, berthd's CPU low), a kill -9 of berthd while a restart is pending, a health check that
/// hangs. (Elsewhere: 50 concurrent execs through the CLI in DockerExecTests, a probe slower than its timeout in
/// HealthcheckTests, exits while berthd is down in RestartPolicyTests.)
/// </summary>
public sealed class OpsReliabilityTests(DaemonFixture fx) : IClassFixture<DaemonFixture>
{
    private (int Code, string Stdout, string Stderr) Docker(params string[] args) => fx.Docker(args);
    private string Ok(params string[] args) => fx.Ok(args);
    private string Inspect(string name, string format) => fx.Inspect(name, format);
    private void WaitFor(Func<bool> condition, TimeSpan timeout, string what) => fx.WaitFor(condition, timeout, what);

    private static int Count(string dir) => Directory.Exists(dir) ? Directory.GetFileSystemEntries(dir).Length : 0;

    /// <summary>berthd's user+system CPU time so far (/proc/PID/stat fields 14 and 15, in clock ticks of 10 ms).</summary>
    private static TimeSpan CpuTime(int pid)
    {
        var stat = File.ReadAllText($"/proc/{pid}/stat");
        var f = stat[(stat.LastIndexOf(')') + 2)..].Split(' ');
        return TimeSpan.FromMilliseconds((long.Parse(f[11]) + long.Parse(f[12])) * 10);
    }

    /// <summary>One exec through the API as docker-py and the CLI do it: create, start attached (hijacked), read the
    /// stream to its end, then the exit code from inspect.</summary>
    private static (int ExitCode, string Stdout, string Stderr) ApiExec(string socket, string container, string[] cmd)
    {
        var client = EngineCalls.Client(socket);
        string createBody = JsonSerializer.Serialize(new Dictionary<string, object>
        {
            ["AttachStdout"] = true, ["AttachStderr"] = true, ["Cmd"] = cmd,
        });
        string id;
        using (var r = client.Send("POST", $"/v1.41/containers/{container}/exec", createBody, versioned: false))
        {
            var body = r.ReadAll();
            if (r.Status != 201) throw new InvalidOperationException($"exec create: {r.Status} {body}");
            id = JsonDocument.Parse(body).RootElement.GetProperty("Id").GetString()!;
        }
        byte[] o, e;
        using (var r = client.Send("POST", $"/v1.41/exec/{id}/start", """{"Detach":false,"Tty":false}""", versioned: false, upgrade: true))
        {
            if (r.Status is not (101 or 200)) throw new InvalidOperationException($"exec start: {r.Status} {r.ReadAll()}");
            using var s = r.Hijacked();
            (o, e) = StdCopy.ReadAll(s);
        }
        using (var r = client.Send("GET", $"/v1.41/exec/{id}/json", (string?)null, versioned: false))
        {
            var j = JsonDocument.Parse(r.ReadAll()).RootElement;
            int code = j.GetProperty("ExitCode").ValueKind == JsonValueKind.Number ? j.GetProperty("ExitCode").GetInt32() : -1000;
            return (code, Encoding.UTF8.GetString(o), Encoding.UTF8.GetString(e));
        }
    }

    [Fact]
    public void Exec_TwoHundredConcurrent_ExitCodesRight_NoProcessFdOrThreadLeft()
    {
        var id = Ok("run", "-d", "busybox", "sleep", "1000").Trim();
        try
        {
            int pid = fx.Daemon.Pid;
            for (int i = 0; i < 3; i++) ApiExec(fx.Dir.Socket, id, ["true"]); // warm: the code paths, the pools
            Thread.Sleep(2000);
            int fdsBefore = Count($"/proc/{pid}/fd"), tasksBefore = Count($"/proc/{pid}/task");

            const int N = 200;
            var results = new (int ExitCode, string Stdout, string Stderr)[N];
            var errors = new Exception?[N];
            using var go = new ManualResetEventSlim();
            var threads = Enumerable.Range(0, N).Select(i => new Thread(() =>
            {
                go.Wait();
                try { results[i] = ApiExec(fx.Dir.Socket, id, ["sh", "-c", $"echo out{i}; echo err{i} >&2; exit {i % 7 + i % 3 * 40}"]); }
                catch (Exception e) { errors[i] = e; }
            }) { IsBackground = true }).ToList();
            threads.ForEach(t => t.Start());
            go.Set();
            foreach (var t in threads) Assert.True(t.Join(TimeSpan.FromMinutes(4)), "an exec did not finish in 4 minutes");
            for (int i = 0; i < N; i++)
            {
                Assert.True(errors[i] is null, $"exec {i}: {errors[i]}");
                Assert.True(results[i] == (i % 7 + i % 3 * 40, $"out{i}\n", $"err{i}\n"), $"exec {i}: {results[i]}");
            }

            // Nothing left: in the container only its sleep (and this ps), no exec monitor, no exec directory.
            var ps = Ok("exec", id, "ps", "-o", "pid,args").Split('\n', StringSplitOptions.RemoveEmptyEntries);
            Assert.True(ps.Length == 3, "processes left in the container:\n" + string.Join('\n', ps));
            var execRoot = Path.Combine(fx.Dir.ExecRoot, "exec");
            WaitFor(() => Count(execRoot) == 0, TimeSpan.FromSeconds(20), $"the exec directories to go ({Count(execRoot)} left)");
            var monitors = Directory.GetDirectories("/proc").Select(Path.GetFileName).Where(p => p!.All(char.IsAsciiDigit))
                .Where(p => { try { return File.ReadAllText($"/proc/{p}/cmdline").Contains(execRoot); } catch (IOException) { return false; } })
                .ToList();
            Assert.True(monitors.Count == 0, "exec monitors left: " + string.Join(' ', monitors));

            // berthd settles back: descriptors at once, threads once the thread pool has retired its extra workers.
            int fds = 0, tasks = 0;
            var end = DateTime.UtcNow.AddSeconds(90);
            do
            {
                Thread.Sleep(1000);
                fds = Count($"/proc/{pid}/fd");
                tasks = Count($"/proc/{pid}/task");
            } while ((fds > fdsBefore + 2 || tasks > tasksBefore + 4) && DateTime.UtcNow < end);
            Assert.True(fds <= fdsBefore + 2, $"berthd had {fdsBefore} descriptors before, {fds} after");
            Assert.True(tasks <= tasksBefore + 4, $"berthd had {tasksBefore} threads before, {tasks} after");
        }
        finally
        {
            Docker("rm", "-f", id);
        }
    }

    [Fact]
    public async Task ExecInstances_NeverStartedOrRunning_AreDroppedWhenTheContainerStops()
    {
        var id = Ok("run", "-d", "busybox", "sleep", "1000").Trim();
        try
        {
            var client = EngineCalls.Client(fx.Dir.Socket);
            async Task<string> Create(string cmd)
            {
                var (status, body) = await client.CallAsync("POST", $"/v1.41/containers/{id}/exec", $$"""{"Cmd":["sh","-c","{{cmd}}"]}""");
                Assert.Equal(System.Net.HttpStatusCode.Created, status);
                return JsonDocument.Parse(body).RootElement.GetProperty("Id").GetString()!;
            }
            var never = await Create("true");
            var running = await Create("sleep 600");
            var ended = await Create("exit 3");
            Assert.Equal(System.Net.HttpStatusCode.OK, (await client.CallAsync("POST", $"/v1.41/exec/{running}/start", """{"Detach":true}""")).Status);
            Assert.Equal(System.Net.HttpStatusCode.OK, (await client.CallAsync("POST", $"/v1.41/exec/{ended}/start", """{"Detach":true}""")).Status);
            for (int i = 0; !(await client.CallAsync("GET", $"/v1.41/exec/{ended}/json")).Body.Contains("\"ExitCode\":3"); i++)
            {
                Assert.True(i < 100, "the exec did not end");
                await Task.Delay(100);
            }
            // The container lists the one not started and the running one; the ended one has left its list (dockerd).
            var ids = Inspect(id, "{{json .ExecIDs}}");
            Assert.Contains(never, ids);
            Assert.Contains(running, ids);
            Assert.DoesNotContain(ended, ids);

            Ok("stop", "-t", "0", id);
            // dockerd's Cleanup: the execs still in the container's list (the one never started) are gone with its
            // run; the ended one is still inspectable (until the collector's second sweep).
            Assert.Equal(System.Net.HttpStatusCode.NotFound, (await client.CallAsync("GET", $"/v1.41/exec/{never}/json")).Status);
            // The running one died with the container: dropped, or (when its own exit was recorded first, as
            // containerd's exec exit comes before the init's with dockerd) ended and kept for the collector.
            var (rs, rb) = await client.CallAsync("GET", $"/v1.41/exec/{running}/json");
            Assert.True(rs == System.Net.HttpStatusCode.NotFound || (rb.Contains("\"Running\":false") && !rb.Contains("\"ExitCode\":null")), $"{rs} {rb}");
            var (st, body) = await client.CallAsync("GET", $"/v1.41/exec/{ended}/json");
            Assert.Equal(System.Net.HttpStatusCode.OK, st);
            Assert.Contains("\"ExitCode\":3", body);
            Assert.Equal("null", Inspect(id, "{{json .ExecIDs}}"));
            // Started again: the old instance cannot be started (it is unknown now).
            Ok("start", id);
            (st, body) = await client.CallAsync("POST", $"/v1.41/exec/{never}/start", """{"Detach":true}""");
            Assert.Equal(System.Net.HttpStatusCode.NotFound, st);
            Assert.Contains("No such exec instance", body);
        }
        finally
        {
            Docker("rm", "-f", id);
        }
    }

    [Fact]
    public async Task ExecInstances_ThatEnded_AreCollectedAtTheSecondSweep()
    {
        // A daemon whose collector runs every second (dockerd: every 5 minutes); an ended exec stays one to two periods.
        using var dir = new TempDir();
        using var d = BerthdProcess.StartIn(dir, new Dictionary<string, string> { ["BERTH_EXEC_GC_INTERVAL"] = "1s" });
        var (code, stdout, stderr) = DockerCli.Run(dir.Socket, dir.Path, "run", "-d", "busybox", "sleep", "1000");
        Assert.True(code == 0, stdout + stderr);
        var id = stdout.Trim();
        try
        {
            var client = EngineCalls.Client(dir.Socket);
            var (status, body) = await client.CallAsync("POST", $"/v1.41/containers/{id}/exec", """{"Cmd":["true"]}""");
            var pending = JsonDocument.Parse(body).RootElement.GetProperty("Id").GetString()!;
            (status, body) = await client.CallAsync("POST", $"/v1.41/containers/{id}/exec", """{"Cmd":["true"]}""");
            var ended = JsonDocument.Parse(body).RootElement.GetProperty("Id").GetString()!;
            Assert.Equal(System.Net.HttpStatusCode.OK, (await client.CallAsync("POST", $"/v1.41/exec/{ended}/start", """{"Detach":true}""")).Status);
            var sw = Stopwatch.StartNew();
            bool sawCanRemove = false;
            while (true)
            {
                (status, body) = await client.CallAsync("GET", $"/v1.41/exec/{ended}/json");
                if (status == System.Net.HttpStatusCode.NotFound) break;
                sawCanRemove |= body.Contains("\"CanRemove\":true");
                Assert.True(sw.Elapsed < TimeSpan.FromSeconds(15), "the ended exec was not collected: " + body);
                await Task.Delay(100);
            }
            Assert.True(sawCanRemove, "the ended exec was never marked CanRemove before it went");
            // The one never started is its container's: the collector leaves it.
            await Task.Delay(2500);
            Assert.Equal(System.Net.HttpStatusCode.OK, (await client.CallAsync("GET", $"/v1.41/exec/{pending}/json")).Status);
        }
        finally
        {
            DockerCli.Run(dir.Socket, dir.Path, "rm", "-f", id);
            d.Signal(BerthdProcess.SIGTERM);
            d.WaitForExit(TimeSpan.FromSeconds(15));
            foreach (var line in File.ReadAllLines("/proc/self/mountinfo"))
                if (line.Split(' ')[4] is var mp && mp.StartsWith(dir.Path, StringComparison.Ordinal)) Run.Command("umount", ["-l", mp]);
        }
    }

    [Fact]
    public void RestartLoop_DelayGrows_BerthdCpuStaysLow()
    {
        var start = DateTimeOffset.UtcNow;
        var id = Ok("run", "-d", "--name", "tight-loop", "--restart", "always", "busybox", "false").Trim();
        try
        {
            var cpu0 = CpuTime(fx.Daemon.Pid);
            Thread.Sleep(10_000);
            var cpu = CpuTime(fx.Daemon.Pid) - cpu0;
            int count = int.Parse(Inspect(id, "{{.RestartCount}}"));
            var starts = Ok("events", "--since", start.ToUnixTimeSeconds().ToString(), "--until", (DateTimeOffset.UtcNow.ToUnixTimeSeconds() + 1).ToString(),
                    "--filter", "container=tight-loop", "--filter", "event=start", "--format", "{{.TimeNano}}")
                .Split('\n', StringSplitOptions.RemoveEmptyEntries).Select(long.Parse).ToList();
            // dockerd's backoff: 100 ms doubling: in 10 s about 7 restarts (0.1+0.2+...+6.4 s), never dozens.
            Assert.True(count is >= 4 and <= 9, $"{count} restarts in 10 s");
            // Each gap (the delay, doubling, plus a start) longer than the one before; the fourth delay is 800 ms.
            var gaps = starts.Zip(starts.Skip(1), (a, b) => (b - a) / 1_000_000).ToList();
            for (int i = 1; i < gaps.Count; i++)
                Assert.True(gaps[i] > gaps[i - 1], "the delay does not grow: gaps (ms) " + string.Join(",", gaps));
            Assert.True(gaps.Count >= 4 && gaps[^1] >= 800, "gaps (ms) " + string.Join(",", gaps));
            // berthd's own CPU over those 10 s: a restart costs a few ms of it, waiting costs nothing.
            Assert.True(cpu < TimeSpan.FromSeconds(1), $"berthd used {cpu.TotalMilliseconds} ms of CPU in 10 s of a restart loop");
        }
        finally
        {
            Docker("rm", "-f", id);
        }
    }

    [Fact]
    public void KillNine_WhileARestartIsPending_TheRestartIsCarriedOutAfterStart()
    {
        // Exits at once with "always": after 5 restarts the next waits 1.6 s, then 3.2 s: time to kill berthd in it.
        var id = Ok("run", "-d", "--name", "pending-restart", "--restart", "always", "busybox", "false").Trim();
        try
        {
            string last = "";
            var end = DateTime.UtcNow + TimeSpan.FromSeconds(30);
            while (!((last = Inspect(id, "{{.RestartCount}} {{.State.Restarting}} {{.State.Status}} {{.State.ExitCode}} {{.State.Error}}"))
                       is var s && int.Parse(s.Split(' ')[0]) >= 5 && s.Split(' ')[1] == "true"))
            {
                Assert.True(DateTime.UtcNow < end, $"timed out waiting for a pending restart after 5; last seen (count restarting status exit error): {last}\n{fx.LogTail}");
                Thread.Sleep(100);
            }
            int before = int.Parse(Inspect(id, "{{.RestartCount}}"));
            var crashAt = DateTimeOffset.UtcNow;
            fx.Crash(); // kill -9, then a new berthd over the same roots
            WaitFor(() => int.Parse(Inspect(id, "{{.RestartCount}}")) > before, TimeSpan.FromSeconds(30),
                $"the pending restart (count was {before}) to be carried out after berthd came back");
            var starts = Ok("events", "--since", crashAt.ToUnixTimeSeconds().ToString(), "--until", (DateTimeOffset.UtcNow.ToUnixTimeSeconds() + 1).ToString(),
                "--filter", "container=pending-restart", "--filter", "event=start", "--format", "{{.Action}}");
            Assert.Contains("start", starts);
            // And the policy goes on as before (no second berthd-start burst, no stop).
            Assert.Equal("always", Inspect(id, "{{.HostConfig.RestartPolicy.Name}}"));
        }
        finally
        {
            Docker("rm", "-f", id);
        }
    }

    [Fact]
    public void HangingHealthCheck_TimeoutHonoured_ProbesGoOn()
    {
        // The probe never ends on its own, ignores SIGTERM, and leaves a child holding its output open.
        var id = Ok("run", "-d", "--name", "hc-hang", "--health-cmd", "trap '' TERM; sleep 1000 & sleep 1000",
            "--health-interval", "500ms", "--health-timeout", "400ms", "--health-retries", "2", "busybox", "sleep", "1000").Trim();
        try
        {
            WaitFor(() => Inspect(id, "{{.State.Health.Status}}") == "unhealthy", TimeSpan.FromSeconds(15), "unhealthy");
            // More probes keep coming: the hung ones do not stop the monitor.
            WaitFor(() => int.Parse(Inspect(id, "{{.State.Health.FailingStreak}}")) >= 4, TimeSpan.FromSeconds(15), "more probes");
            var log = Inspect(id, "{{range .State.Health.Log}}{{.ExitCode}}|{{.Output}}|{{.Start.UnixNano}}|{{.End.UnixNano}};{{end}}")
                .Split(';', StringSplitOptions.RemoveEmptyEntries);
            Assert.NotEmpty(log);
            foreach (var entry in log)
            {
                var f = entry.Split('|');
                Assert.Equal("-1", f[0]);
                Assert.Equal("Health check exceeded timeout (400ms)", f[1]);
                var took = TimeSpan.FromTicks((long.Parse(f[3]) - long.Parse(f[2])) / 100);
                // Killed at 400 ms, and the entry ends then, as dockerd's: not after the 2 s the monitor drains the
                // output the orphaned child holds (the slack is for a loaded machine).
                Assert.True(took >= TimeSpan.FromMilliseconds(390) && took < TimeSpan.FromMilliseconds(2000), $"a probe took {took.TotalMilliseconds} ms (timeout 400 ms)");
            }
            // berthd keeps no exec of them: the container's list is empty between probes.
            Assert.DoesNotContain(",", Inspect(id, "{{json .ExecIDs}}"));
        }
        finally
        {
            Docker("rm", "-f", id);
        }
    }
}
