using System.Buffers.Binary;
using System.Text.Json;
using Berth.Core;
using Berth.Privileged.Tests.Infrastructure;
using Berth.Runtime.Lifecycle;
using Berth.Runtime.Plan;

namespace Berth.Privileged.Tests;

/// <summary>
/// A create split between this process (PendingCreate: state dir, exec.fifo, cgroup, plan) and berth-monitor,
/// which clones the init from the spawn file (berthd's start path). The test process never clones.
/// </summary>
public sealed class PendingCreateTests
{
    private static string Monitor
    {
        get
        {
            var path = Path.Combine(RuntimeBinary.RepoRoot, "out", "bin", "berth-monitor");
            Assert.True(File.Exists(path), $"{path} missing: run scripts/build.sh");
            return path;
        }
    }

    private static RuntimeOptions Options(string marker) =>
        new() { Root = Path.Combine(TestAssets.BaseDir, marker + "-root") };

    /// <summary>A bundle with its own cgroup and a unique id (also the leak-check marker).</summary>
    private static (Bundle Bundle, string Id) NewBundle(string prefix, params string[] args)
    {
        var bundle = Bundle.Create(args);
        var id = prefix + Guid.NewGuid().ToString("N")[..8];
        bundle.WithCgroupsPath("/berth-tests/" + id).Save();
        return (bundle, id);
    }

    private static PendingCreate BeginElsewhere(RuntimeOptions options, string id, Bundle bundle) =>
        PendingCreate.Begin(options, id, bundle.Dir, spec: null, new CreateOptions(), waitForStart: true, elsewhere: true);

    /// <summary>Writes the pending create's spawn file into <paramref name="monitorDir"/> and runs berth-monitor on it.</summary>
    private static (int Code, string Stdout, string Stderr) RunMonitor(PendingCreate pending, string id, Bundle bundle,
        RuntimeOptions options, string monitorDir, string log)
    {
        Directory.CreateDirectory(monitorDir);
        var spawnFile = Path.Combine(monitorDir, "spawn");
        File.WriteAllBytes(spawnFile, pending.EncodeSpawnFile());
        return HostCommand.Run(Monitor,
            ["--id", id, "--bundle", bundle.Dir, "--spawn", spawnFile, "--runtime-root", options.Root,
             "--state-dir", monitorDir, "--log-path", log], TimeSpan.FromSeconds(30));
    }

    [PrivilegedFact]
    public void Spawn_file_carries_the_plan_and_fds_and_dispose_undoes_everything()
    {
        var (bundle, id) = NewBundle("pc-enc-", "/bin/true");
        using var _ = bundle;
        var options = Options(id);
        var before = LeakCheck.Take(id);
        var pending = BeginElsewhere(options, id, bundle);
        var stateDir = Path.Combine(options.Root, id);
        try
        {
            Assert.False(pending.NeedsParent);
            Assert.True(Directory.Exists($"/sys/fs/cgroup/memory/berth-tests/{id}") || Directory.Exists($"/sys/fs/cgroup/berth-tests/{id}"));
            var f = pending.EncodeSpawnFile();
            int o = 0;
            uint U32() { var v = BinaryPrimitives.ReadUInt32LittleEndian(f.AsSpan(o)); o += 4; return v; }
            string Str() { int n = (int)U32(); var s = System.Text.Encoding.UTF8.GetString(f, o, n); o += n; return s; }
            Assert.Equal(PendingCreate.SpawnFileMagic, U32());
            Assert.Equal(PendingCreate.SpawnFileVersion, U32());
            Assert.Equal(pending.Plan.CloneFlags, BinaryPrimitives.ReadUInt64LittleEndian(f.AsSpan(o)));
            o += 8;
            Assert.Equal(PendingCreate.ElsewhereFifoFd, (int)U32());
            Assert.Equal(Path.Combine(stateDir, "exec.fifo"), Str());
            Assert.Equal(-1, (int)U32()); // no console
            Str(); // cgroup v2 directory: the host's layout decides
            Assert.Equal(0u, U32()); // no namespaces to join
            var plan = f.AsSpan(o + 4, (int)U32());
            Assert.Equal(ProcessPlan.Magic, BinaryPrimitives.ReadUInt32LittleEndian(plan));
            Assert.Equal(f.Length, o + plan.Length);
            Assert.Contains($"/proc/self/fd/{PendingCreate.ElsewhereFifoFd}", System.Text.Encoding.UTF8.GetString(plan));
        }
        finally
        {
            pending.Dispose();
        }
        Assert.False(Directory.Exists(stateDir));
        LeakCheck.AssertNoLeaks(before);
    }

    [PrivilegedFact]
    public void Monitor_spawns_the_init_then_start_runs_it_and_delete_leaves_nothing()
    {
        var (bundle, id) = NewBundle("pc-run-", "/bin/sh", "-c", "echo from-the-init; exit 7");
        using var _ = bundle;
        var options = Options(id);
        var monitorDir = Path.Combine(TestAssets.BaseDir, id + "-monitor");
        var log = Path.Combine(monitorDir, "ctr.log");
        var before = LeakCheck.Take(id);
        using (var pending = BeginElsewhere(options, id, bundle))
        {
            var (code, stdout, stderr) = RunMonitor(pending, id, bundle, options, monitorDir, log);
            Assert.True(code == 0, $"monitor: {stdout} {stderr}");
            int pid = JsonDocument.Parse(stdout).RootElement.GetProperty("pid").GetInt32();
            pending.Complete(pid);
        }
        var c = Container.Load(options, id);
        Assert.Equal("created", c.Status);
        c.Start();
        var exitJson = Path.Combine(monitorDir, "exit.json");
        for (int i = 0; i < 500 && !File.Exists(exitJson); i++) Thread.Sleep(10);
        Assert.Equal(7, JsonDocument.Parse(File.ReadAllText(exitJson)).RootElement.GetProperty("exitCode").GetInt32());
        Assert.Contains("from-the-init", File.ReadAllText(log));
        Container.Load(options, id).Delete(force: false);
        Directory.Delete(monitorDir, recursive: true);
        LeakCheck.AssertNoLeaks(before);
    }

    [PrivilegedFact]
    public void A_failed_spawn_is_undone_by_dispose()
    {
        var (bundle, id) = NewBundle("pc-fail-", "/no-such-binary");
        using var _ = bundle;
        var options = Options(id);
        var monitorDir = Path.Combine(TestAssets.BaseDir, id + "-monitor");
        var before = LeakCheck.Take(id);
        using (var pending = BeginElsewhere(options, id, bundle))
        {
            var (code, stdout, _) = RunMonitor(pending, id, bundle, options, monitorDir, Path.Combine(monitorDir, "ctr.log"));
            Assert.Equal(1, code);
            Assert.Contains("unable to start container process: exec: \\\"/no-such-binary\\\"", stdout);
        }
        Assert.False(Directory.Exists(Path.Combine(options.Root, id)));
        Assert.Equal(["spawn"], Directory.GetFileSystemEntries(monitorDir).Select(Path.GetFileName));
        Directory.Delete(monitorDir, recursive: true);
        LeakCheck.AssertNoLeaks(before);
    }

    [PrivilegedFact]
    public void Create_hooks_need_the_parent_and_an_existing_id_is_refused()
    {
        var (bundle, id) = NewBundle("pc-hook-", "/bin/true");
        using var _ = bundle;
        bundle.WithHook("createRuntime", "/bin/true").Save();
        var options = Options(id);
        var before = LeakCheck.Take(id);
        using (var pending = BeginElsewhere(options, id, bundle))
        {
            Assert.True(pending.NeedsParent);
            var e = Assert.Throws<BerthException>(() => BeginElsewhere(options, id, bundle));
            Assert.Equal(ErrorKind.Conflict, e.Kind);
            Assert.True(Directory.Exists(Path.Combine(options.Root, id)));
        }
        Assert.False(Directory.Exists(Path.Combine(options.Root, id)));
        LeakCheck.AssertNoLeaks(before);
    }
}
