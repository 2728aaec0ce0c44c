using System.Diagnostics;
using Berth.Interop;

namespace Berth.Cgroups.Internal;

/// <summary>SIGKILLs pids and waits (bounded) for a cgroup to empty.</summary>
internal static class ProcessKiller
{
    public static void KillEach(IEnumerable<int> pids)
    {
        foreach (var pid in pids)
        {
            if (pid > 0)
            {
                // ESRCH (already gone) is fine.
                Libc.kill(pid, Libc.SIGKILL);
            }
        }
    }

    /// <summary>Re-kills stragglers until <paramref name="getPids"/> is empty or the timeout passes.</summary>
    public static void WaitEmpty(Func<IReadOnlyList<int>> getPids, TimeSpan timeout)
    {
        var sw = Stopwatch.StartNew();
        while (sw.Elapsed < timeout)
        {
            var pids = getPids();
            if (pids.Count == 0)
            {
                return;
            }

            KillEach(pids);
            Thread.Sleep(10);
        }
    }
}
