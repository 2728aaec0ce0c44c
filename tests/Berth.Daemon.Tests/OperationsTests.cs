using System.Text.Json;

namespace Berth.Daemon.Tests;

/// <summary>stats, top, rename, pause/unpause and wait conditions with the real docker CLI against berthd.</summary>
public sealed class OperationsTests(DaemonFixture fx) : IClassFixture<DaemonFixture>
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

    [Fact]
    public async Task Stats_BusyContainerShowsCpuAndTheMemoryLimit()
    {
        var id = Ok("run", "-d", "--name", "st-busy", "-m", "64m", "busybox", "sh", "-c", "while :; do :; done").Trim();
        try
        {
            await Task.Delay(500);
            var line = Ok("stats", "--no-stream", "--format", "{{.CPUPerc}}|{{.MemUsage}}|{{.PIDs}}|{{.Name}}", "st-busy").Trim();
            var parts = line.Split('|');
            var cpu = double.Parse(parts[0].TrimEnd('%'), System.Globalization.CultureInfo.InvariantCulture);
            // > 90 on an idle machine; under a load of 45 on 2 cores a busy loop gets ~4 %: the check is that CPU is
            // measured at all (a broken delta shows 0.00%), not the machine's quietness.
            Assert.True(cpu > 0, $"CPU % of a busy loop: {line}");
            Assert.EndsWith("/ 64MiB", parts[1]);
            Assert.Equal("1", parts[2]);
            Assert.Equal("st-busy", parts[3]);

            // The API's JSON: one reading, Docker's keys.
            var client = EngineCalls.Client(fx.Dir.Socket);
            var (status, body) = await client.CallAsync("GET", $"/v1.41/containers/{id}/stats?stream=0");
            Assert.Equal(System.Net.HttpStatusCode.OK, status);
            var s = JsonDocument.Parse(body).RootElement;
            Assert.Equal("/st-busy", s.GetProperty("name").GetString());
            Assert.Equal(64L << 20, s.GetProperty("memory_stats").GetProperty("limit").GetInt64());
            Assert.True(s.GetProperty("memory_stats").GetProperty("usage").GetInt64() > 0);
            Assert.True(s.GetProperty("cpu_stats").GetProperty("system_cpu_usage").GetInt64() > s.GetProperty("precpu_stats").GetProperty("system_cpu_usage").GetInt64());
            Assert.True(s.GetProperty("cpu_stats").GetProperty("online_cpus").GetInt32() > 0);
            Assert.Equal(1, s.GetProperty("pids_stats").GetProperty("current").GetInt32());
            Assert.Equal(JsonValueKind.Object, s.GetProperty("blkio_stats").ValueKind);
            Assert.NotEqual("0001-01-01T00:00:00Z", s.GetProperty("preread").GetString());
        }
        finally
        {
            Docker("rm", "-f", id);
        }
    }

    [Fact]
    public async Task Stats_StreamsOneReadingASecond_AndAStoppedContainerHasZeros()
    {
        var id = Ok("run", "-d", "--name", "st-stream", "busybox", "sleep", "60").Trim();
        try
        {
            var client = EngineCalls.Client(fx.Dir.Socket);
            var (status, oneShot) = await client.CallAsync("GET", $"/v1.41/containers/{id}/stats?stream=0&one-shot=1");
            Assert.Equal(System.Net.HttpStatusCode.OK, status);
            Assert.Equal("0001-01-01T00:00:00Z", JsonDocument.Parse(oneShot).RootElement.GetProperty("preread").GetString());

            using var http = UnixHttp.Client(fx.Dir.Socket);
            using var resp = await http.GetAsync($"/v1.41/containers/{id}/stats", HttpCompletionOption.ResponseHeadersRead);
            using var reader = new StreamReader(await resp.Content.ReadAsStreamAsync());
            var started = DateTime.UtcNow;
            var first = JsonDocument.Parse((await reader.ReadLineAsync())!).RootElement;
            var second = JsonDocument.Parse((await reader.ReadLineAsync())!).RootElement;
            var third = JsonDocument.Parse((await reader.ReadLineAsync())!).RootElement;
            Assert.InRange((DateTime.UtcNow - started).TotalSeconds, 1.5, 5);
            Assert.Equal(second.GetProperty("read").GetString(), third.GetProperty("preread").GetString());
            Assert.Equal(id, first.GetProperty("id").GetString());

            Ok("stop", "-t", "0", id);
            var (_, stopped) = await client.CallAsync("GET", $"/v1.41/containers/{id}/stats?stream=0");
            var z = JsonDocument.Parse(stopped).RootElement;
            Assert.Equal("0001-01-01T00:00:00Z", z.GetProperty("read").GetString());
            Assert.Equal(0, z.GetProperty("cpu_stats").GetProperty("cpu_usage").GetProperty("total_usage").GetInt64());
            Assert.Equal("/st-stream", z.GetProperty("name").GetString());
        }
        finally
        {
            Docker("rm", "-f", id);
        }
    }

    [Fact]
    public void Top_ListsTheContainersProcesses_ConflictWhenStopped()
    {
        var id = Ok("run", "-d", "--name", "top-c", "busybox", "sh", "-c", "sleep 61 & sleep 62").Trim();
        try
        {
            var top = Ok("top", "top-c");
            Assert.Contains("UID", top.Split('\n')[0]);
            Assert.Contains("PID", top.Split('\n')[0]);
            Assert.Contains("sleep 61", top);
            Assert.Contains("sleep 62", top);
            Assert.DoesNotContain("berthd", top);
            var aux = Ok("top", "top-c", "aux");
            Assert.Contains("%CPU", aux.Split('\n')[0]);
            Assert.InRange(aux.Split('\n', StringSplitOptions.RemoveEmptyEntries).Length, 3, 4); // header, (sh,) 2 sleeps
            Ok("kill", id);
            var (code, _, stderr) = Docker("top", "top-c");
            Assert.NotEqual(0, code);
            Assert.Contains($"Container {id} is not running", stderr);
        }
        finally
        {
            Docker("rm", "-f", id);
        }
    }

    [Fact]
    public void Rename_ChangesTheName_ConflictWhenTaken_EventHasOldName()
    {
        var a = Ok("create", "--name", "rn-a", "busybox", "true").Trim();
        var b = Ok("create", "--name", "rn-b", "busybox", "true").Trim();
        try
        {
            var (code, _, stderr) = Docker("rename", "rn-a", "rn-b");
            Assert.NotEqual(0, code);
            Assert.Contains($"Conflict. The container name \"/rn-b\" is already in use by container \"{b}\". You have to remove (or rename) that container to be able to reuse that name.", stderr);
            Ok("rename", "rn-a", "rn-c");
            Assert.Equal("/rn-c", Ok("inspect", "-f", "{{.Name}}", a).Trim());
            (code, _, _) = Docker("inspect", "rn-a");
            Assert.NotEqual(0, code);
            Ok("create", "--name", "rn-a", "busybox", "true"); // the old name is free
            var ev = Ok("events", "--since", "1m", "--until", UntilNow(), "--filter", "event=rename", "--format", "{{json .Actor.Attributes}}");
            Assert.Contains("\"oldName\":\"/rn-a\"", ev);
            Assert.Contains("\"name\":\"rn-c\"", ev);
        }
        finally
        {
            Docker("rm", "-f", a, b, "rn-a");
        }
    }

    [Fact]
    public void PauseUnpause_FreezesTheContainer()
    {
        var id = Ok("run", "-d", "--name", "pz", "busybox", "sh", "-c", "while :; do date +%s%N > /tmp/t; done").Trim();
        try
        {
            Ok("pause", "pz");
            Assert.Equal("paused true", Ok("inspect", "-f", "{{.State.Status}} {{.State.Paused}}", "pz").Trim());
            Assert.Contains("(Paused)", Ok("ps", "--filter", "name=pz"));
            Assert.Contains("pz", Ok("ps", "--filter", "status=paused"));
            var cg = $"/sys/fs/cgroup/freezer/berth/{id}/freezer.state";
            if (File.Exists(cg)) Assert.Equal("FROZEN", File.ReadAllText(cg).Trim());
            var (code, _, stderr) = Docker("pause", "pz");
            Assert.NotEqual(0, code);
            Assert.Contains($"Container {id} is already paused", stderr);
            Ok("unpause", "pz");
            Assert.Equal("running false", Ok("inspect", "-f", "{{.State.Status}} {{.State.Paused}}", "pz").Trim());
            (code, _, stderr) = Docker("unpause", "pz");
            Assert.NotEqual(0, code);
            Assert.Contains($"Container {id} is not paused", stderr);
            // A paused container stops (dockerd thaws it for the signal).
            Ok("pause", "pz");
            Ok("stop", "-t", "1", "pz");
            Assert.Equal("exited false", Ok("inspect", "-f", "{{.State.Status}} {{.State.Paused}}", "pz").Trim());
            var ev = Ok("events", "--since", "1m", "--until", UntilNow(), "--filter", "container=pz", "--format", "{{.Action}}");
            Assert.Contains("pause\nunpause\npause\n", ev);
        }
        finally
        {
            Docker("rm", "-f", id);
        }
    }

    [Fact]
    public void Update_ChangesTheRunningCgroupAndTheRestartPolicy()
    {
        var id = Ok("run", "-d", "--name", "upd", "-m", "32m", "busybox", "sleep", "60").Trim();
        try
        {
            Ok("update", "--memory", "96m", "--memory-swap", "192m", "--pids-limit", "50", "--cpu-shares", "512", "--restart", "on-failure:2", "upd");
            Assert.Equal("100663296 201326592 50 512 on-failure 2",
                Ok("inspect", "-f", "{{.HostConfig.Memory}} {{.HostConfig.MemorySwap}} {{.HostConfig.PidsLimit}} {{.HostConfig.CpuShares}} {{.HostConfig.RestartPolicy.Name}} {{.HostConfig.RestartPolicy.MaximumRetryCount}}", "upd").Trim());
            var memory = $"/sys/fs/cgroup/memory/berth/{id}/memory.limit_in_bytes";
            if (File.Exists(memory))
            {
                Assert.Equal("100663296", File.ReadAllText(memory).Trim());
                Assert.Equal("50", File.ReadAllText($"/sys/fs/cgroup/pids/berth/{id}/pids.max").Trim());
                Assert.Equal("512", File.ReadAllText($"/sys/fs/cgroup/cpu/berth/{id}/cpu.shares").Trim());
            }
            var (code, _, stderr) = Docker("update", "--restart", "always:3", "upd");
            Assert.NotEqual(0, code);
            Assert.Contains("maximum retry count", stderr); // the daemon's words, or the newer CLI's own check
            var ev = Ok("events", "--since", "1m", "--until", UntilNow(), "--filter", "container=upd", "--filter", "event=update", "--format", "{{.Action}}");
            Assert.Equal("update", ev.Trim());
        }
        finally
        {
            Docker("rm", "-f", id);
        }
    }

    [Fact]
    public async Task Wait_Conditions()
    {
        var client = EngineCalls.Client(fx.Dir.Socket);
        var id = Ok("create", "--name", "wt", "busybox", "sh", "-c", "exit 5").Trim();
        try
        {
            // not-running on a created container: at once.
            var (_, body) = await client.CallAsync("POST", $"/v1.41/containers/{id}/wait?condition=not-running");
            Assert.Contains("\"StatusCode\":0", body);
            var next = client.CallAsync("POST", $"/v1.41/containers/{id}/wait?condition=next-exit");
            var removed = client.CallAsync("POST", $"/v1.41/containers/{id}/wait?condition=removed");
            await Task.Delay(200);
            Ok("start", id);
            Assert.Contains("\"StatusCode\":5", (await next.WaitAsync(TimeSpan.FromSeconds(10))).Body);
            Assert.False(removed.IsCompleted);
            Ok("rm", id);
            Assert.Contains("\"StatusCode\":5", (await removed.WaitAsync(TimeSpan.FromSeconds(10))).Body);
            var (status, bad) = await client.CallAsync("POST", $"/v1.41/containers/nope/wait?condition=bogus");
            Assert.Equal(System.Net.HttpStatusCode.NotFound, status);
            _ = bad;
        }
        finally
        {
            Docker("rm", "-f", id);
        }
    }
}
