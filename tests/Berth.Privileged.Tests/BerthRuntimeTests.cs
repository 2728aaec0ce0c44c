using System.Net.Sockets;
using System.Text.Json.Nodes;
using Berth.Privileged.Tests.Infrastructure;

namespace Berth.Privileged.Tests;

/// <summary>berth-runtime's features checked from inside the container (the probe) and from the host.</summary>
public sealed class BerthRuntimeTests
{
    [PrivilegedFact]
    public void Lifecycle_matches_runc_state_shape_and_leaves_nothing()
    {
        using var bundle = Bundle.Probe("sleep", "600");
        string id = bundle.Id;
        HostSnapshot before = LeakCheck.Take(id, bundle.Dir);
        using (var berth = RuntimeRunner.Berth())
        {
            string pidFile = Path.Combine(bundle.Dir, "init.pid");
            berth.Create(bundle, pidFile: pidFile).EnsureSuccess();
            JsonObject created = berth.StateJson(id);
            RuncHarnessTests.AssertStateShape(created, id, bundle, "created");
            int pid = created["pid"]!.GetValue<int>();
            Assert.Equal(pid.ToString(), File.ReadAllText(pidFile));

            berth.Start(id).EnsureSuccess();
            RuncHarnessTests.AssertStateShape(berth.WaitForStatus(id, "running"), id, bundle, "running");
            Assert.Contains(id, berth.List().EnsureSuccess().Stdout, StringComparison.Ordinal);
            Assert.Equal($"[{pid}]", berth.Ps(id).EnsureSuccess().Stdout.Trim());

            RunResult again = berth.Start(id);
            Assert.Equal(1, again.ExitCode);
            Assert.Contains("cannot start an already running container", again.Stderr, StringComparison.Ordinal);
            RunResult busy = berth.Delete(id);
            Assert.Equal(1, busy.ExitCode);
            Assert.Contains("is not stopped: running", busy.Stderr, StringComparison.Ordinal);

            berth.Kill(id, "KILL").EnsureSuccess();
            JsonObject stopped = berth.WaitForStatus(id, "stopped");
            Assert.Equal(0, stopped["pid"]!.GetValue<int>());
            berth.Delete(id).EnsureSuccess();
            RunResult gone = berth.State(id);
            Assert.Equal(1, gone.ExitCode);
            Assert.Contains("level=error msg=\"container does not exist\"", gone.Stderr, StringComparison.Ordinal);
        }
        LeakCheck.AssertNoLeaks(before);
    }

    [PrivilegedFact]
    public void Delete_force_kills_a_running_container()
    {
        using var bundle = Bundle.Probe("sleep", "600");
        HostSnapshot before = LeakCheck.Take(bundle.Id, bundle.Dir);
        using (var berth = RuntimeRunner.Berth())
        {
            berth.RunDetached(bundle).EnsureSuccess();
            berth.WaitForStatus(bundle.Id, "running");
            berth.Delete(bundle.Id, force: true).EnsureSuccess();
            Assert.Equal(1, berth.State(bundle.Id).ExitCode);
        }
        LeakCheck.AssertNoLeaks(before);
    }

    [PrivilegedFact]
    public void Exec_joins_namespaces_and_cgroup_and_returns_exit_code()
    {
        using var bundle = Bundle.Probe("sleep", "600").WithHostname("exec-host");
        using var berth = RuntimeRunner.Berth();
        berth.RunDetached(bundle).EnsureSuccess();
        try
        {
            RunResult r = berth.Exec(bundle.Id, "/probe", "pid", "+", "hostname", "+", "cgroup").EnsureSuccess();
            Assert.Matches(@"^pid=\d+ ppid=0\n", r.Stdout);
            Assert.Contains("exec-host\n", r.Stdout, StringComparison.Ordinal);
            Assert.Contains($"memory:/berth/{bundle.Id}", r.Stdout, StringComparison.Ordinal);
            Assert.Equal(7, berth.Exec(bundle.Id, "/probe", "exit", "7").ExitCode);

            // --process JSON, with a different user and cwd.
            string processJson = Path.Combine(bundle.Dir, "process.json");
            File.WriteAllText(processJson, """
                {"terminal":false,"user":{"uid":1000,"gid":1000},"args":["/probe","id","+","cwd"],"env":["PATH=/bin"],"cwd":"/tmp"}
                """);
            RunResult p = berth.ExecWith(bundle.Id, ["--process", processJson]).EnsureSuccess();
            Assert.Equal("uid=1000 euid=1000 gid=1000 egid=1000 groups=\n/tmp\n", p.Stdout);
        }
        finally
        {
            berth.Delete(bundle.Id, force: true);
        }
    }

    [PrivilegedFact]
    public void Errors_for_missing_and_non_executable_binaries_match_runc()
    {
        (string[] Args, string Message)[] cases =
        [
            (["/nonexistent"], "exec: \"/nonexistent\": stat /nonexistent: no such file or directory"),
            (["/etc/passwd"], "exec: \"/etc/passwd\": permission denied"),
            (["nosuchcmd"], "exec: \"nosuchcmd\": executable file not found in $PATH"),
        ];
        using var berth = RuntimeRunner.Berth();
        foreach ((string[] args, string message) in cases)
        {
            using var bundle = Bundle.Create(args);
            HostSnapshot before = LeakCheck.Take(bundle.Id, bundle.Dir);
            RunResult r = berth.Run(bundle);
            Assert.True(r.ExitCode == 1, r.ToString());
            string expected = "level=error msg=\"berth-runtime run failed: unable to start container process: " +
                message.Replace("\"", "\\\"", StringComparison.Ordinal) + "\"";
            Assert.Contains(expected, r.Stderr, StringComparison.Ordinal);
            Assert.False(Directory.Exists(Path.Combine(berth.StateRoot, bundle.Id)), "state directory left behind");
            LeakCheck.AssertNoLeaks(before);
        }
    }

    [PrivilegedFact]
    public void Bad_mount_source_invalid_cgroup_value_and_missing_namespace_leave_nothing_behind()
    {
        using var berth = RuntimeRunner.Berth();
        var cases = new (Action<Bundle> Edit, string Message)[]
        {
            (b => b.WithMount("/mnt", "bind", "/does/not/exist", "rbind"), "mounts[7].source"),
            (b => b.WithMount("/mnt", "nosuchfs", "none"), "mount none to /mnt: No such device"),
            (b => b.WithResources(new JsonObject { ["cpu"] = new JsonObject { ["cpus"] = "999999" } }), "cpuset.cpus"),
            (b => b.WithNamespace("network", "/proc/999999999/ns/net"), "linux.namespaces"),
            (b => b.WithSysctl("net.no_such_sysctl", "1"), "/proc/sys/net/no_such_sysctl"),
        };
        foreach (var (edit, message) in cases)
        {
            using var bundle = Bundle.Probe("hostname");
            edit(bundle);
            bundle.Save();
            HostSnapshot before = LeakCheck.Take(bundle.Id, bundle.Dir);
            RunResult r = berth.Run(bundle);
            Assert.True(r.ExitCode == 1, r.ToString());
            Assert.Contains(message, r.Stderr, StringComparison.Ordinal);
            Assert.False(Directory.Exists(Path.Combine(berth.StateRoot, bundle.Id)), "state directory left behind");
            LeakCheck.AssertNoLeaks(before);
        }
    }

    [PrivilegedFact]
    public void Rlimit_above_the_hard_limit_is_clamped_with_a_warning()
    {
        ulong hard = ulong.Parse(File.ReadAllLines("/proc/self/limits")
            .First(l => l.StartsWith("Max open files", StringComparison.Ordinal))
            .Split(' ', StringSplitOptions.RemoveEmptyEntries)[4]);
        using var bundle = Bundle.Probe("rlimits").WithoutRlimits().WithRlimit("RLIMIT_NOFILE", hard * 4, hard * 4);
        using var berth = RuntimeRunner.Berth();
        RunResult r = berth.Run(bundle).EnsureSuccess();
        Assert.Contains("RLIMIT_NOFILE", r.Stderr, StringComparison.Ordinal);
        Assert.Contains("level=warning", r.Stderr, StringComparison.Ordinal);
        Assert.Contains($"RLIMIT_NOFILE {hard} {hard}\n", r.Stdout, StringComparison.Ordinal);
    }

    [PrivilegedFact]
    public void Docker_default_seccomp_profile_denies_like_runc()
    {
        var caps = new[]
        {
            "CAP_CHOWN", "CAP_DAC_OVERRIDE", "CAP_FSETID", "CAP_FOWNER", "CAP_MKNOD", "CAP_NET_RAW", "CAP_SETGID",
            "CAP_SETUID", "CAP_SETFCAP", "CAP_SETPCAP", "CAP_NET_BIND_SERVICE", "CAP_SYS_CHROOT", "CAP_KILL", "CAP_AUDIT_WRITE",
        };
        JsonNode profile = DockerSeccomp.LoadDefault(caps);
        string Run(RuntimeRunner r)
        {
            using var bundle = Bundle.Probe("seccomp").WithCapabilities(caps).WithSeccomp(profile.DeepClone()).WithNoNewPrivileges(false);
            return r.Run(bundle).EnsureSuccess().Stdout;
        }
        using var berth = RuntimeRunner.Berth();
        using var runc = RuntimeRunner.Runc();
        string ours = Run(berth);
        Assert.Contains("Seccomp:\t2", ours, StringComparison.Ordinal);
        Assert.Equal(Run(runc), ours);
    }

    [PrivilegedFact]
    public void Cgroup_limits_are_applied_and_visible_inside()
    {
        using var bundle = Bundle.Probe("cat", "/sys/fs/cgroup/memory/memory.limit_in_bytes", "+", "cat", "/sys/fs/cgroup/pids/pids.max")
            .WithResources(new JsonObject
            {
                ["memory"] = new JsonObject { ["limit"] = 64L * 1024 * 1024 },
                ["pids"] = new JsonObject { ["limit"] = 42 },
                ["cpu"] = new JsonObject { ["shares"] = 512, ["quota"] = 50000, ["period"] = 100000 },
            });
        if (!Directory.Exists("/sys/fs/cgroup/memory"))
        {
            // pure cgroup v2 host
            bundle.WithArgs("/probe", "cat", "/sys/fs/cgroup/memory.max", "+", "cat", "/sys/fs/cgroup/pids.max").WithNamespace("cgroup");
        }
        HostSnapshot before = LeakCheck.Take(bundle.Id, bundle.Dir);
        using (var berth = RuntimeRunner.Berth())
        {
            RunResult r = berth.Run(bundle).EnsureSuccess();
            Assert.Equal($"{64L * 1024 * 1024}\n42\n", r.Stdout);
        }
        LeakCheck.AssertNoLeaks(before);
    }

    [PrivilegedFact]
    public void Events_stats_report_memory_and_pids_and_oom_kills_are_seen()
    {
        using var bundle = Bundle.Probe("sleep", "600").WithResources(new JsonObject
        {
            ["memory"] = new JsonObject { ["limit"] = 32L * 1024 * 1024 },
        });
        using var berth = RuntimeRunner.Berth();
        berth.RunDetached(bundle).EnsureSuccess();
        try
        {
            JsonObject ev = (JsonObject)JsonNode.Parse(berth.Invoke("events", "--stats", bundle.Id).EnsureSuccess().Stdout)!;
            Assert.Equal("stats", (string?)ev["type"]);
            Assert.Equal(bundle.Id, (string?)ev["id"]);
            Assert.True(ev["data"]!["memory"]!["usage"]!["usage"]!.GetValue<ulong>() > 0);
            Assert.Equal(1UL, ev["data"]!["pids"]!["current"]!.GetValue<ulong>());

            // A process that allocates past the limit is OOM-killed inside the container's cgroup, and the
            // event stream reports it.
            var events = new System.Diagnostics.Process
            {
                StartInfo = new System.Diagnostics.ProcessStartInfo(berth.Binary.Path)
                {
                    ArgumentList = { "--root", berth.StateRoot, "events", "--interval", "60s", bundle.Id },
                    RedirectStandardOutput = true,
                },
            };
            events.Start();
            // events prints a stats event once it has read the OOM baseline: the OOM is triggered after that line
            // (a condition, not a sleep), so it cannot be missed or counted in the baseline.
            var subscribed = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
            var oomLine = Task.Run(() =>
            {
                string? line;
                while ((line = events.StandardOutput.ReadLine()) is not null)
                {
                    if (line.Contains("\"type\":\"stats\"", StringComparison.Ordinal)) subscribed.TrySetResult();
                    if (line.Contains("\"type\":\"oom\"", StringComparison.Ordinal)) return line;
                }
                return null;
            });
            Assert.True(subscribed.Task.Wait(TimeSpan.FromSeconds(10)), "events printed no stats event");
            RunResult oom = berth.Exec(bundle.Id, "sh", "-c", "x=$(head -c 100000000 /dev/zero | tr '\\0' a); echo survived");
            Assert.DoesNotContain("survived", oom.Stdout, StringComparison.Ordinal);
            JsonObject after = (JsonObject)JsonNode.Parse(berth.Invoke("events", "--stats", bundle.Id).EnsureSuccess().Stdout)!;
            Assert.True(after["data"]!["memory"]!["usage"]!["failcnt"]!.GetValue<ulong>() > 0, after.ToJsonString());
            Assert.True(oomLine.Wait(TimeSpan.FromSeconds(10)), "no oom event");
            Assert.Equal($"{{\"type\":\"oom\",\"id\":\"{bundle.Id}\"}}", oomLine.Result);
            events.Kill();
            events.WaitForExit();
        }
        finally
        {
            berth.Delete(bundle.Id, force: true);
        }
    }

    [PrivilegedFact]
    public void Hooks_run_in_order_with_the_state_on_stdin()
    {
        // startContainer runs in the container's namespaces (after pivot_root), so the script and its log live
        // where both the host and the container see them: a directory bound into the container at the same path.
        using var bundle = Bundle.Probe("hostname");
        string shared = Path.Combine(bundle.Dir, "hooks");
        Directory.CreateDirectory(shared);
        string log = Path.Combine(shared, "hooks.log");
        string script = Path.Combine(shared, "hook.sh");
        File.WriteAllText(script, $"#!/bin/sh\nread -r state\necho \"$1 $state\" >> {log}\n");
        File.SetUnixFileMode(script, (UnixFileMode)0x1ed);
        bundle.WithBindMount(shared, shared, "rw");
        foreach (string kind in new[] { "prestart", "createRuntime", "createContainer", "startContainer", "poststart", "poststop" })
            bundle.WithHook(kind, script, ["hook.sh", kind]);
        bundle.Save();
        using (var berth = RuntimeRunner.Berth())
        {
            berth.Create(bundle).EnsureSuccess();
            berth.Start(bundle.Id).EnsureSuccess();
            berth.WaitForStatus(bundle.Id, "stopped");
            berth.Delete(bundle.Id).EnsureSuccess();
        }
        string[] lines = File.ReadAllLines(log);
        Assert.Equal(["prestart", "createRuntime", "createContainer", "startContainer", "poststart", "poststop"],
            lines.Select(l => l.Split(' ')[0]).ToArray());
        foreach (string line in lines)
        {
            JsonObject state = (JsonObject)JsonNode.Parse(line[(line.IndexOf(' ') + 1)..])!;
            Assert.Equal(bundle.Id, (string?)state["id"]);
            Assert.Equal(bundle.Dir, (string?)state["bundle"]);
        }
        Assert.Contains("\"status\":\"creating\"", lines[0], StringComparison.Ordinal);
        Assert.Contains("\"status\":\"stopped\"", lines[5], StringComparison.Ordinal);
    }

    [PrivilegedFact]
    public void Failing_prestart_hook_aborts_create_and_cleans_up()
    {
        using var bundle = Bundle.Probe("hostname").WithHook("prestart", "/bin/false");
        bundle.Save();
        HostSnapshot before = LeakCheck.Take(bundle.Id, bundle.Dir);
        using (var berth = RuntimeRunner.Berth())
        {
            RunResult r = berth.Create(bundle);
            Assert.Equal(1, r.ExitCode);
            Assert.Contains("prestart hook #0", r.Stderr, StringComparison.Ordinal);
            Assert.False(Directory.Exists(Path.Combine(berth.StateRoot, bundle.Id)));
        }
        LeakCheck.AssertNoLeaks(before);
    }

    [PrivilegedFact]
    public void User_namespace_maps_root_to_an_unprivileged_host_uid()
    {
        using var bundle = Bundle.Probe("id", "+", "cat", "/proc/self/uid_map")
            .WithNamespace("user")
            .Configure(c =>
            {
                var linux = (JsonObject)c["linux"]!;
                linux["uidMappings"] = new JsonArray(new JsonObject { ["containerID"] = 0, ["hostID"] = 200000, ["size"] = 65536 });
                linux["gidMappings"] = new JsonArray(new JsonObject { ["containerID"] = 0, ["hostID"] = 200000, ["size"] = 65536 });
            });
        bundle.Save();
        using var berth = RuntimeRunner.Berth();
        RunResult r = berth.Run(bundle).EnsureSuccess();
        Assert.StartsWith("uid=0 euid=0 gid=0 egid=0", r.Stdout, StringComparison.Ordinal);
        Assert.Matches(@"\s+0\s+200000\s+65536", r.Stdout);
    }

    [PrivilegedFact]
    public void Domainname_is_set_in_the_new_uts_namespace()
    {
        // runc 1.1 ignores the spec's domainname (it prints "(none)"), so this is not a differential scenario.
        using var bundle = Bundle.Probe("cat", "/proc/sys/kernel/domainname").Configure(c => c["domainname"] = "berth.example");
        using var berth = RuntimeRunner.Berth();
        Assert.Equal("berth.example\n", berth.Run(bundle).EnsureSuccess().Stdout);
    }

    [PrivilegedFact]
    public void Namespaces_joined_by_path_are_shared()
    {
        using var first = Bundle.Probe("sleep", "600").WithHostname("shared-uts");
        using var berth = RuntimeRunner.Berth();
        berth.RunDetached(first).EnsureSuccess();
        try
        {
            int pid = berth.StateJson(first.Id)["pid"]!.GetValue<int>();
            using var second = Bundle.Create("sh", "-c", "hostname; readlink /proc/self/ns/net; readlink /proc/self/ns/ipc")
                .WithNamespace("uts", $"/proc/{pid}/ns/uts").WithNamespace("network", $"/proc/{pid}/ns/net")
                .WithNamespace("ipc", $"/proc/{pid}/ns/ipc")
                .Configure(c => c.Remove("hostname"));
            RunResult r = berth.Run(second).EnsureSuccess();
            string Ns(string n) => new FileInfo($"/proc/{pid}/ns/{n}").LinkTarget!;
            Assert.Equal($"shared-uts\n{Ns("net")}\n{Ns("ipc")}\n", r.Stdout);
            Assert.NotEqual(new FileInfo("/proc/self/ns/net").LinkTarget, Ns("net"));
        }
        finally
        {
            berth.Delete(first.Id, force: true);
        }
    }

    [PrivilegedFact]
    public void Console_socket_receives_the_pty_master()
    {
        using var bundle = Bundle.Probe("hostname").WithTerminal(true).WithHostname("tty-host");
        bundle.Save();
        string socketPath = Path.Combine(bundle.Dir, "console.sock");
        using var listener = new Socket(AddressFamily.Unix, SocketType.Stream, ProtocolType.Unspecified);
        listener.Bind(new UnixDomainSocketEndPoint(socketPath));
        listener.Listen(1);
        using var berth = RuntimeRunner.Berth();
        var accept = listener.AcceptAsync();
        berth.Invoke("create", "--bundle", bundle.Dir, "--console-socket", socketPath, bundle.Id).EnsureSuccess();
        using Socket conn = accept.Result;
        // The master arrives as SCM_RIGHTS; a byte of payload comes with it.
        var buf = new byte[256];
        Assert.True(conn.Receive(buf) > 0);
        berth.Start(bundle.Id).EnsureSuccess();
        berth.WaitForStatus(bundle.Id, "stopped");
        berth.Delete(bundle.Id).EnsureSuccess();
    }
}
