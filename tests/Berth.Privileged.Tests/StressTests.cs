using Berth.Interop;
using Berth.Privileged.Tests.Infrastructure;
using Berth.Runtime.Lifecycle;

namespace Berth.Privileged.Tests;

[CollectionDefinition("stress", DisableParallelization = true)]
public sealed class StressCollection;

/// <summary>
/// The clone/exec path under load while managed threads allocate: the hazard the native piece exists for
/// (a child running managed code after clone deadlocks on a lock another thread held). No hang, no leaks.
/// </summary>
[Collection("stress")]
public sealed class StressTests
{
    /// <summary>Background threads that allocate and drop garbage until disposed (forcing frequent GCs).</summary>
    private sealed class Allocator : IDisposable
    {
        private readonly CancellationTokenSource _stop = new();
        private readonly Thread[] _threads;
        public long Allocations;

        public Allocator(int threads = 2)
        {
            _threads = Enumerable.Range(0, threads).Select(_ => new Thread(() =>
            {
                var keep = new List<byte[]>();
                while (!_stop.IsCancellationRequested)
                {
                    keep.Add(new byte[Random.Shared.Next(64, 64 * 1024)]);
                    if (keep.Count > 512) keep.Clear();
                    Interlocked.Increment(ref Allocations);
                }
            }) { IsBackground = true }).ToArray();
            foreach (var t in _threads) t.Start();
        }

        public void Dispose()
        {
            _stop.Cancel();
            foreach (var t in _threads) t.Join();
        }
    }

    [PrivilegedFact]
    public void Two_thousand_runs_of_true_in_a_row()
    {
        using var bundle = Bundle.Create("/bin/true");
        bundle.Save();
        var root = Path.Combine(TestAssets.BaseDir, "stress-run-" + Guid.NewGuid().ToString("N")[..8]);
        HostSnapshot before = LeakCheck.Take("stress-run-", bundle.Dir);
        using (var alloc = new Allocator())
        {
            for (int i = 0; i < 2000; i++)
            {
                // In process: the test process itself clones (with its allocating threads running), then reaps.
                int code = Container.Run(new RuntimeOptions { Root = root }, $"stress-run-{i}", bundle.Dir, new CreateOptions(), detach: false);
                Assert.Equal(0, code);
            }
            Assert.True(alloc.Allocations > 1000);
        }
        Assert.Empty(Directory.GetDirectories(root));
        LeakCheck.AssertNoLeaks(before);
        AssertNoZombieChildren();
    }

    [PrivilegedFact]
    public void Two_hundred_concurrent_create_start_kill_delete()
    {
        using var bundle = Bundle.Probe("sleep", "600");
        var root = Path.Combine(TestAssets.BaseDir, "stress-conc-" + Guid.NewGuid().ToString("N")[..8]);
        var options = new RuntimeOptions { Root = root };
        HostSnapshot before = LeakCheck.Take("stress-conc-", bundle.Dir);
        var failures = new System.Collections.Concurrent.ConcurrentBag<string>();
        using (new Allocator())
        {
            var done = Parallel.For(0, 200, new ParallelOptions { MaxDegreeOfParallelism = 32 }, i =>
            {
                string id = $"stress-conc-{i}";
                try
                {
                    var c = Container.Create(options, id, bundle.Dir, new CreateOptions());
                    c.CreatedSpawnerDispose();
                    int pid = c.State.Pid;
                    Container.Load(options, id).Start();
                    if (Container.Load(options, id).Status != "running") failures.Add($"{id}: not running after start");
                    Container.Load(options, id).Kill(Libc.SIGKILL, all: false);
                    Libc.WaitPid(pid, noHang: false, out _); // the test process is the init's parent
                    Container.Load(options, id).Delete(force: false);
                }
                catch (Exception e)
                {
                    failures.Add($"{id}: {e.Message}");
                }
            });
            Assert.True(done.IsCompleted);
        }
        Assert.Empty(failures);
        Assert.Empty(Directory.GetDirectories(root));
        LeakCheck.AssertNoLeaks(before);
        AssertNoZombieChildren();
    }

    [PrivilegedFact]
    public void Runtime_cli_runs_concurrently_without_hangs()
    {
        using var bundle = Bundle.Create("/bin/true");
        bundle.Save();
        HostSnapshot before = LeakCheck.Take(bundle.Dir);
        using var berth = RuntimeRunner.Berth();
        var failures = new System.Collections.Concurrent.ConcurrentBag<string>();
        Parallel.For(0, 64, new ParallelOptions { MaxDegreeOfParallelism = 8 }, i =>
        {
            // The bundle is saved once: RuntimeRunner.Run would rewrite config.json under the other runs' feet.
            RunResult r = berth.Invoke(["run", "--bundle", bundle.Dir, $"{bundle.Id}-{i}"], TimeSpan.FromSeconds(60));
            if (r.ExitCode != 0) failures.Add(r.ToString());
        });
        Assert.True(failures.IsEmpty, string.Join("\n", failures));
        LeakCheck.AssertNoLeaks(before);
    }

    private static void AssertNoZombieChildren()
    {
        int self = Environment.ProcessId;
        var zombies = new List<string>();
        foreach (var dir in Directory.GetDirectories("/proc"))
        {
            if (!int.TryParse(Path.GetFileName(dir), out _)) continue;
            string stat;
            try { stat = File.ReadAllText(Path.Combine(dir, "stat")); }
            catch (IOException) { continue; }
            var fields = stat[(stat.LastIndexOf(')') + 2)..].Split(' ');
            if (fields[0] == "Z" && fields[1] == self.ToString()) zombies.Add(stat);
        }
        Assert.Empty(zombies);
    }
}
