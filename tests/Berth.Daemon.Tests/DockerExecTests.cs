using System.Text.Json;
using Berth.Interop;

namespace Berth.Daemon.Tests;

/// <summary>
/// docker exec end to end: the real docker CLI against berthd, with the kernel underneath (each exec's own monitor,
/// the native spawn joining the container). Plus attach's detach keys and the terminal size of run -it.
/// </summary>
public sealed class DockerExecTests(DaemonFixture fx) : IClassFixture<DaemonFixture>
{
    private (int Code, string Stdout, string Stderr) Docker(params string[] args) => DockerCli.Run(fx.Dir.Socket, fx.Dir.Path, args);

    private string Ok(params string[] args)
    {
        var (code, stdout, stderr) = Docker(args);
        Assert.True(code == 0, $"docker {string.Join(' ', args)} exited {code}: {stdout}{stderr}\nberthd:\n{fx.LogTail}");
        return stdout;
    }

    private string Sleeper(params string[] runArgs) => Ok(["run", "-d", .. runArgs, "busybox", "sleep", "1000"]).Trim();

    [Fact]
    public void Exec_OutputAndExitCodesPassThrough_126_127()
    {
        var id = Sleeper();
        try
        {
            Assert.Equal("hello\n", Ok("exec", id, "echo", "hello"));
            var (code, stdout, stderr) = Docker("exec", id, "sh", "-c", "echo out; echo err >&2; exit 3");
            Assert.Equal((3, "out\n", "err\n"), (code, stdout, stderr));
            (code, stdout, _) = Docker("exec", id, "nope");
            Assert.Equal(127, code);
            Assert.Contains("OCI runtime exec failed: exec failed: unable to start container process: exec: \"nope\": executable file not found in $PATH: unknown", stdout);
            (code, _, _) = Docker("exec", id, "/etc"); // a directory: it cannot be executed
            Assert.Equal(126, code);
            // The container is untouched by all this.
            Assert.Equal("true\n", Ok("inspect", "-f", "{{.State.Running}}", id));
        }
        finally
        {
            Docker("rm", "-f", id);
        }
    }

    [Fact]
    public async Task Exec_Errors_UnknownAndStoppedContainers_UnknownExec()
    {
        var (code, _, stderr) = Docker("exec", "no-such-container-x", "true");
        Assert.Equal(1, code);
        Assert.Contains("No such container: no-such-container-x", stderr);

        var id = Ok("create", "busybox", "true").Trim();
        try
        {
            (code, _, stderr) = Docker("exec", id, "true");
            Assert.Equal(1, code);
            Assert.Contains($"Error response from daemon: Container {id} is not running", stderr);
            var client = EngineCalls.Client(fx.Dir.Socket);
            var (status, body) = await client.CallAsync("POST", $"/v1.41/containers/{id}/exec", """{"Cmd":["true"]}""");
            Assert.Equal((System.Net.HttpStatusCode.Conflict, $"{{\"message\":\"Container {id} is not running\"}}\n"), (status, body));
            (status, body) = await client.CallAsync("GET", "/v1.41/exec/nope/json");
            Assert.Equal((System.Net.HttpStatusCode.NotFound, "{\"message\":\"No such exec instance: nope\"}\n"), (status, body));
            (status, _) = await client.CallAsync("POST", "/v1.41/exec/nope/start", """{"Detach":true}""");
            Assert.Equal(System.Net.HttpStatusCode.NotFound, status);
            (status, _) = await client.CallAsync("POST", "/v1.41/exec/nope/resize?h=1&w=1");
            Assert.Equal(System.Net.HttpStatusCode.NotFound, status);
        }
        finally
        {
            Docker("rm", "-f", id);
        }
    }

    [Fact]
    public void Exec_InAPausedContainer_IsDockers409()
    {
        var id = Sleeper();
        try
        {
            Ok("pause", id);
            var (code, _, stderr) = Docker("exec", id, "true");
            Assert.NotEqual(0, code);
            Assert.Contains($"Container {id} is paused, unpause the container before exec", stderr);
            Ok("unpause", id);
            Assert.Equal("ok\n", Ok("exec", id, "echo", "ok"));
        }
        finally
        {
            Docker("rm", "-f", id);
        }
    }

    [Fact]
    public void Exec_UserWorkdirEnvEnvFileStdin()
    {
        var id = Sleeper("-e", "CENV=from-container", "-w", "/tmp");
        var envFile = Path.Combine(fx.Dir.Path, "exec.env");
        File.WriteAllText(envFile, "A=1\nCENV=replaced-by-file\n");
        try
        {
            Assert.Equal("65534\n", Ok("exec", "-u", "nobody", id, "id", "-u"));
            Assert.Equal("0\n", Ok("exec", id, "id", "-u"));
            Assert.Equal("/etc\n", Ok("exec", "-w", "/etc", id, "pwd"));
            Assert.Equal("/tmp\n", Ok("exec", id, "pwd")); // the container's working directory
            Assert.Equal("bar from-container\n", Ok("exec", "-e", "FOO=bar", id, "sh", "-c", "echo $FOO $CENV"));
            Assert.Equal("1 replaced-by-file\n", Ok("exec", "--env-file", envFile, id, "sh", "-c", "echo $A $CENV"));
            var env = Ok("exec", id, "env").Split('\n', StringSplitOptions.RemoveEmptyEntries);
            Assert.Equal("PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin", env[0]);
            Assert.StartsWith("HOSTNAME=", env[1]);
            Assert.DoesNotContain("TERM=xterm", env);
            var (code, stdout, stderr) = DockerCli.Run(fx.Dir.Socket, fx.Dir.Path, ["exec", "-i", id, "sh", "-c", "cat; echo done"], "piped stdin\n");
            Assert.True(code == 0, stderr);
            Assert.Equal("piped stdin\ndone\n", stdout);
        }
        finally
        {
            Docker("rm", "-f", id);
        }
    }

    [Fact]
    public async Task Exec_Detached_KeepsRunning_InspectHasDockersShape()
    {
        var id = Sleeper();
        try
        {
            Assert.Equal("", Ok("exec", "-d", id, "sleep", "345"));
            Assert.Contains("sleep 345", Ok("exec", id, "ps"));

            var client = EngineCalls.Client(fx.Dir.Socket);
            var (status, body) = await client.CallAsync("POST", $"/v1.41/containers/{id}/exec",
                """{"User":"nobody","Privileged":false,"Tty":false,"AttachStdin":false,"AttachStderr":true,"AttachStdout":true,"Detach":false,"DetachKeys":"","Env":null,"WorkingDir":"","Cmd":["sleep","30"]}""");
            Assert.Equal(System.Net.HttpStatusCode.Created, status);
            var execId = JsonDocument.Parse(body).RootElement.GetProperty("Id").GetString()!;
            Assert.Matches("^[0-9a-f]{64}$", execId);
            (status, body) = await client.CallAsync("GET", $"/v1.41/exec/{execId}/json");
            var before = JsonDocument.Parse(body).RootElement;
            Assert.Equal(["ID", "Running", "ExitCode", "ProcessConfig", "OpenStdin", "OpenStderr", "OpenStdout", "CanRemove",
                "ContainerID", "DetachKeys", "Pid"], before.EnumerateObject().Select(p => p.Name));
            Assert.Equal(["tty", "entrypoint", "arguments", "privileged", "user"], before.GetProperty("ProcessConfig").EnumerateObject().Select(p => p.Name));
            Assert.Equal(JsonValueKind.Null, before.GetProperty("ExitCode").ValueKind);
            Assert.False(before.GetProperty("Running").GetBoolean());
            Assert.Equal("sleep", before.GetProperty("ProcessConfig").GetProperty("entrypoint").GetString());
            Assert.Equal("30", before.GetProperty("ProcessConfig").GetProperty("arguments")[0].GetString());
            Assert.Equal(id, before.GetProperty("ContainerID").GetString());

            (status, body) = await client.CallAsync("POST", $"/v1.41/exec/{execId}/start", """{"Detach":true,"Tty":false}""");
            Assert.Equal((System.Net.HttpStatusCode.OK, ""), (status, body));
            (status, body) = await client.CallAsync("GET", $"/v1.41/exec/{execId}/json");
            var running = JsonDocument.Parse(body).RootElement;
            Assert.True(running.GetProperty("Running").GetBoolean());
            int pid = running.GetProperty("Pid").GetInt32();
            Assert.True(pid > 0);
            Assert.Equal("65534", File.ReadAllLines($"/proc/{pid}/status").First(l => l.StartsWith("Uid:")).Split('\t')[1]);
            (status, body) = await client.CallAsync("POST", $"/v1.41/exec/{execId}/start", """{"Detach":true,"Tty":false}""");
            Assert.Equal((System.Net.HttpStatusCode.Conflict, $"{{\"message\":\"Error: Exec command {execId} is already running\"}}\n"), (status, body));

            var ids = Ok("inspect", "-f", "{{json .ExecIDs}}", id);
            Assert.Contains(execId, ids);
            Libc.kill(pid, 9);
            for (int i = 0; i < 100; i++)
            {
                (_, body) = await client.CallAsync("GET", $"/v1.41/exec/{execId}/json");
                if (!JsonDocument.Parse(body).RootElement.GetProperty("Running").GetBoolean()) break;
                await Task.Delay(50);
            }
            var after = JsonDocument.Parse(body).RootElement;
            Assert.False(after.GetProperty("Running").GetBoolean());
            Assert.Equal(137, after.GetProperty("ExitCode").GetInt32());
        }
        finally
        {
            Docker("rm", "-f", id);
        }
    }

    private static string Status(int pid, string key) =>
        File.ReadAllLines($"/proc/{pid}/status").First(l => l.StartsWith(key + ":", StringComparison.Ordinal)).Split(':', 2)[1].Trim();

    [Fact]
    public void Exec_JoinsTheContainersNamespacesCgroupCapabilitiesAndSeccomp()
    {
        var id = Sleeper();
        try
        {
            int init = int.Parse(Ok("inspect", "-f", "{{.State.Pid}}", id).Trim());
            Assert.Equal(File.ReadAllText($"/proc/{init}/cgroup"), Ok("exec", id, "cat", "/proc/self/cgroup"));
            var status = Ok("exec", id, "cat", "/proc/self/status").Split('\n')
                .Select(l => l.Split(':', 2)).Where(p => p.Length == 2).ToDictionary(p => p[0], p => p[1].Trim());
            foreach (var key in new[] { "CapEff", "CapPrm", "CapBnd", "NoNewPrivs", "Seccomp" })
                Assert.Equal(Status(init, key), status[key]);
            Assert.Equal("2", status["Seccomp"]);
            foreach (var ns in new[] { "mnt", "pid", "net", "ipc", "uts", "cgroup" })
                Assert.Equal(new FileInfo($"/proc/{init}/ns/{ns}").LinkTarget + "\n", Ok("exec", id, "readlink", $"/proc/self/ns/{ns}"));
            var privileged = Ok("exec", "--privileged", id, "grep", "CapEff", "/proc/self/status");
            Assert.NotEqual("CapEff:\t" + Status(init, "CapEff") + "\n", privileged);
            // The rlimits of the container's process.
            Assert.Equal(File.ReadAllText($"/proc/{init}/limits"), Ok("exec", id, "cat", "/proc/self/limits"));
        }
        finally
        {
            Docker("rm", "-f", id);
        }
    }

    [Fact]
    public void Exec_FiftyConcurrent_AllRightAndNothingLeftBehind()
    {
        var id = Sleeper();
        try
        {
            Ok("exec", id, "true"); // warm
            int fdsBefore = Directory.GetFiles($"/proc/{fx.Daemon.Pid}/fd").Length;
            var results = new (int Code, string Stdout, string Stderr)[50];
            Parallel.For(0, 50, new ParallelOptions { MaxDegreeOfParallelism = 50 },
                i => results[i] = Docker("exec", id, "sh", "-c", $"echo n{i}; exit {i % 7}"));
            for (int i = 0; i < 50; i++)
                Assert.True(results[i] == (i % 7, $"n{i}\n", ""), $"exec {i}: {results[i]}");
            var ps = Ok("exec", id, "ps").Split('\n', StringSplitOptions.RemoveEmptyEntries);
            Assert.True(ps.Length == 3, string.Join('\n', ps)); // the header, the container's sleep, this ps: no exec left
            // Every exec's monitor has gone and its directory with it; the daemon holds no more descriptors.
            var execRoot = Path.Combine(fx.Dir.ExecRoot, "exec");
            for (int i = 0; i < 100 && Directory.Exists(execRoot) && Directory.EnumerateFileSystemEntries(execRoot).Any(); i++) Thread.Sleep(50);
            Assert.Empty(Directory.Exists(execRoot) ? Directory.EnumerateFileSystemEntries(execRoot) : []);
            int fdsAfter = Directory.GetFiles($"/proc/{fx.Daemon.Pid}/fd").Length;
            Assert.True(fdsAfter <= fdsBefore + 2, $"berthd had {fdsBefore} descriptors, now {fdsAfter}");
        }
        finally
        {
            Docker("rm", "-f", id);
        }
    }

    private PtyProcess DockerAtTerminal(params string[] args) => PtyProcess.Start(DockerCli.Path, ["-H", "unix://" + fx.Dir.Socket, .. args]);

    [Fact]
    public void ExecIt_Terminal_SizeFollows_DetachKeysLeaveItRunning()
    {
        var id = Sleeper();
        try
        {
            using (var pty = DockerAtTerminal("exec", "-it", id, "sh"))
            {
                pty.WaitFor("# ");
                pty.Type("echo $TERM t$((1+1))y; tty\r");
                int at = pty.WaitFor("xterm t2y\r\n");
                pty.WaitFor("/dev/pts/", at);
                bool resized = pty.ResizeUntilSeen(33, 77);
                Assert.True(resized, "the window size did not reach the exec's tty:\n" + pty.Output);
                pty.Type("sleep 444\r");
                Thread.Sleep(300);
                pty.Type("\x10\x11"); // ctrl-p ctrl-q
                pty.WaitForExit();
                pty.WaitFor("read escape sequence");
            }
            Assert.Contains("sleep 444", Ok("exec", id, "ps"));
            using (var pty = DockerAtTerminal("exec", "-it", "--detach-keys", "ctrl-a,x", id, "sh"))
            {
                pty.WaitFor("# ");
                pty.Type("exit 4\r");
                Assert.Equal(4, pty.WaitForExit());
            }
        }
        finally
        {
            Docker("rm", "-f", id);
        }
    }

    [Fact]
    public async Task RunIt_DetachKeys_ResizeReachesTheContainer_InvalidKeysRefused()
    {
        const string name = "exec-tests-runit";
        try
        {
            using (var pty = DockerAtTerminal("run", "-it", "--name", name, "busybox", "sh"))
            {
                pty.WaitFor("# ");
                bool resized = pty.ResizeUntilSeen(31, 91);
                Assert.True(resized, "the window size did not reach the container:\n" + pty.Output);
                pty.Type("\x10\x11");
                pty.WaitForExit();
            }
            Assert.Equal("true\n", Ok("inspect", "-f", "{{.State.Running}}", name));
            var client = EngineCalls.Client(fx.Dir.Socket);
            var (status, body) = await client.CallAsync("POST", $"/v1.41/containers/{name}/attach?stream=1&stdin=1&detachKeys=ctrl-", "");
            Assert.Equal((System.Net.HttpStatusCode.BadRequest, "{\"message\":\"Invalid detach keys (ctrl-) provided\"}\n"), (status, body));
            (status, body) = await client.CallAsync("POST", $"/v1.41/containers/{name}/exec", """{"Cmd":["true"],"DetachKeys":"ctrl-"}""");
            Assert.Equal((System.Net.HttpStatusCode.BadRequest, "{\"message\":\"Invalid escape keys (ctrl-) provided\"}\n"), (status, body));
        }
        finally
        {
            Docker("rm", "-f", name);
        }
    }

    private static string BerthPath()
    {
        string? dir = AppContext.BaseDirectory;
        while (dir is not null && !File.Exists(Path.Combine(dir, "Berth.slnx"))) dir = Path.GetDirectoryName(dir);
        return Path.Combine(dir ?? "/", "out", "bin", "berth");
    }

    private (int Code, string Stdout, string Stderr) Berth(string[] args, string? stdin = null) =>
        Run.Command(BerthPath(), ["-H", "unix://" + fx.Dir.Socket, .. args], null, stdin);

    [Fact]
    public void BerthExec_DockersFlow_FlagsExitCodesTerminal()
    {
        var id = Sleeper();
        try
        {
            Assert.Equal((0, "hi\n", ""), Berth(["exec", id, "echo", "hi"]));
            Assert.Equal((3, "out\n", "err\n"), Berth(["exec", id, "sh", "-c", "echo out; echo err >&2; exit 3"]));
            Assert.Equal(127, Berth(["exec", id, "nope"]).Code);
            Assert.Equal((0, "65534 /etc 1\n", ""), Berth(["exec", "-u", "nobody", "-w", "/etc", "-e", "A=1", id, "sh", "-c", "echo $(id -u) $(pwd) $A"]));
            Assert.Equal((0, "in\n", ""), Berth(["exec", "-i", id, "cat"], "in\n"));
            Assert.Equal((0, "", ""), Berth(["exec", "-d", id, "sleep", "321"]));
            Assert.Contains("sleep 321", Ok("exec", id, "ps"));
            var (code, _, stderr) = Berth(["exec", "no-such-container-y", "true"]);
            Assert.Equal((1, true), (code, stderr.Contains("No such container: no-such-container-y")));
            using var pty = PtyProcess.Start(BerthPath(), ["-H", "unix://" + fx.Dir.Socket, "exec", "-it", id, "sh"]);
            pty.WaitFor("# ");
            bool resized = pty.ResizeUntilSeen(29, 88);
            Assert.True(resized, "the window size did not reach the exec's tty:\n" + pty.Output);
            pty.Type("\x10\x11");
            Assert.Equal(1, pty.WaitForExit());
            pty.WaitFor("read escape sequence");
        }
        finally
        {
            Docker("rm", "-f", id);
        }
    }
}
