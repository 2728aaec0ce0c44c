using System.Text.Json.Nodes;
using Berth.Privileged.Tests.Infrastructure;

namespace Berth.Privileged.Tests;

/// <summary>Proves the harness against runc itself, and pins the runc behaviour berth-runtime must match.</summary>
public sealed class RuncHarnessTests
{
    [PrivilegedFact]
    public void Run_probe_hostname()
    {
        using var bundle = Bundle.Probe("hostname").WithHostname("berth-harness");
        HostSnapshot before = LeakCheck.Take(bundle.Id, bundle.Dir);
        using (var runc = RuntimeRunner.Runc())
        {
            RunResult r = runc.Run(bundle);
            Assert.True(r.ExitCode == 0, r.ToString());
            Assert.Equal("berth-harness\n", r.Stdout);
            Assert.Equal("", r.Stderr);
        }

        LeakCheck.AssertNoLeaks(before);
    }

    [PrivilegedFact]
    public void Run_default_spec_identity()
    {
        using var bundle = Bundle.Probe("id", "+", "pid", "+", "nnp", "+", "caps");
        using var runc = RuntimeRunner.Runc();
        RunResult r = runc.Run(bundle).EnsureSuccess();
        Assert.Equal(
            "uid=0 euid=0 gid=0 egid=0 groups=\n" +
            "pid=1 ppid=0\n" +
            "NoNewPrivs:\t1\n" +
            "CapInh:\t0000000000000000\n" +
            "CapPrm:\t0000000020000420\n" +
            "CapEff:\t0000000020000420\n" +
            "CapBnd:\t0000000020000420\n" +
            // runc spec lists the 3 caps as ambient but not inheritable, so raising them fails and
            // runc silently ignores that: CapAmb stays empty.
            "CapAmb:\t0000000000000000\n",
            r.Stdout);
    }

    [PrivilegedFact]
    public void Run_propagates_exit_code()
    {
        using var bundle = Bundle.Probe("exit", "3");
        using var runc = RuntimeRunner.Runc();
        Assert.Equal(3, runc.Run(bundle).ExitCode);
    }

    [PrivilegedFact]
    public void Lifecycle_create_start_state_kill_delete()
    {
        using var bundle = Bundle.Probe("sleep", "600");
        string id = bundle.Id;
        HostSnapshot before = LeakCheck.Take(id, bundle.Dir);
        using (var runc = RuntimeRunner.Runc())
        {
            runc.Create(bundle).EnsureSuccess();

            JsonObject created = runc.StateJson(id);
            AssertStateShape(created, id, bundle, "created");
            int pid = created["pid"]!.GetValue<int>();
            Assert.True(pid > 0);
            Assert.True(Directory.Exists($"/proc/{pid}"), "init process should exist while created");

            runc.Start(id).EnsureSuccess();
            JsonObject running = runc.WaitForStatus(id, "running");
            AssertStateShape(running, id, bundle, "running");
            Assert.Equal(pid, running["pid"]!.GetValue<int>());

            RunResult list = runc.List();
            Assert.Contains(id, list.EnsureSuccess().Stdout, StringComparison.Ordinal);

            runc.Kill(id, "KILL").EnsureSuccess();
            JsonObject stopped = runc.WaitForStatus(id, "stopped");
            AssertStateShape(stopped, id, bundle, "stopped");
            Assert.Equal(0, stopped["pid"]!.GetValue<int>());

            runc.Delete(id).EnsureSuccess();
            RunResult gone = runc.State(id);
            Assert.NotEqual(0, gone.ExitCode);
            Assert.Equal(1, gone.ExitCode);
            Assert.Contains("level=error msg=\"container does not exist\"", gone.Stderr, StringComparison.Ordinal);
        }

        LeakCheck.AssertNoLeaks(before);
    }

    [PrivilegedFact]
    public void Exec_into_running_container()
    {
        using var bundle = Bundle.Probe("sleep", "600");
        using var runc = RuntimeRunner.Runc();
        runc.Create(bundle).EnsureSuccess();
        runc.Start(bundle.Id).EnsureSuccess();
        RunResult r = runc.Exec(bundle.Id, "/probe", "pid").EnsureSuccess();
        Assert.Matches(@"^pid=\d+ ppid=0\n$", r.Stdout);
        RunResult ps = runc.Ps(bundle.Id).EnsureSuccess();
        Assert.Matches(@"^\[\d+\]\n?$", ps.Stdout.Trim() + "\n");
        runc.Kill(bundle.Id, "KILL").EnsureSuccess();
        runc.WaitForStatus(bundle.Id, "stopped");
        runc.Delete(bundle.Id).EnsureSuccess();
    }

    [PrivilegedFact]
    public void Missing_and_non_executable_binaries_fail_with_runc_messages()
    {
        using var runc = RuntimeRunner.Runc();
        (string[] Args, string Message)[] cases =
        [
            (["/nonexistent"], "exec: \"/nonexistent\": stat /nonexistent: no such file or directory"),
            (["/etc/passwd"], "exec: \"/etc/passwd\": permission denied"),
            (["nosuchcmd"], "exec: \"nosuchcmd\": executable file not found in $PATH"),
        ];
        foreach ((string[] args, string message) in cases)
        {
            using var bundle = Bundle.Create(args);
            RunResult r = runc.Run(bundle);
            Assert.True(r.ExitCode == 1, r.ToString());
            // logrus text format: msg="..." with inner quotes backslash-escaped.
            string expected = "level=error msg=\"runc run failed: unable to start container process: " +
                message.Replace("\"", "\\\"", StringComparison.Ordinal) + "\"";
            Assert.Contains(expected, r.Stderr, StringComparison.Ordinal);
        }
    }

    [PrivilegedFact]
    public void Bundle_dispose_refuses_leaked_mounts()
    {
        var bundle = Bundle.Probe("hostname");
        string target = Path.Combine(bundle.RootFs, "tmp");
        HostCommand.Check("mount", ["-t", "tmpfs", "none", target], TimeSpan.FromSeconds(10));
        var e = Assert.Throws<InvalidOperationException>(bundle.Dispose);
        Assert.Contains(target, e.Message, StringComparison.Ordinal);
        Assert.False(Directory.Exists(bundle.Dir));
    }

    /// <summary>The `state` JSON shape berth-runtime must reproduce (runc 1.1.5).</summary>
    internal static void AssertStateShape(JsonObject state, string id, Bundle bundle, string status)
    {
        string[] keys = ["ociVersion", "id", "pid", "status", "bundle", "rootfs", "created", "owner"];
        foreach (string key in keys)
        {
            Assert.True(state.ContainsKey(key), $"state lacks '{key}': {state.ToJsonString()}");
        }

        Assert.Equal(id, (string?)state["id"]);
        Assert.Equal(status, (string?)state["status"]);
        Assert.Equal(bundle.Dir, (string?)state["bundle"]);
        Assert.Equal(bundle.RootFs, (string?)state["rootfs"]);
        // runc 1.1.5 running as root reports an empty owner.
        Assert.Equal("", (string?)state["owner"]);
        Assert.Matches(@"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d+Z$", (string?)state["created"]);
        Assert.Equal("1.0.2-dev", (string?)state["ociVersion"]);
    }
}
