using System.Text.Json;
using Berth.Core;
using Berth.Interop;
using Berth.Runtime.Linux;
using Berth.Runtime.Plan;

namespace Berth.Runtime.Lifecycle;

/// <summary>Runs OCI hooks with the container state on stdin, each started through the native piece.</summary>
public static class Hooks
{
    /// <summary>
    /// Runs each hook in order; the first failure throws. With <paramref name="joinPid"/> the hook runs in that
    /// process's namespaces (createContainer, startContainer), otherwise in the runtime's.
    /// </summary>
    public static void Run(IReadOnlyList<Spec.Hook>? hooks, HookState state, string phase, int joinPid = 0, Spec.Spec? config = null)
    {
        if (hooks is null || hooks.Count == 0) return;
        var stdin = JsonSerializer.SerializeToUtf8Bytes(state, Spec.SpecJsonContext.Default.HookState);
        for (int i = 0; i < hooks.Count; i++)
        {
            var hook = hooks[i];
            if (!hook.Path.StartsWith('/'))
                throw BerthException.Invalid($"hooks.{phase}[{i}].path: must be absolute, got \"{hook.Path}\"");
            int code;
            try
            {
                code = RunOne(hook, stdin, joinPid, config);
            }
            catch (BerthException e)
            {
                throw new BerthException(e.Kind, $"error running {phase} hook #{i}: {e.Message}", e);
            }
            if (code != 0)
                throw new BerthException(ErrorKind.System, $"error running {phase} hook #{i}: {hook.Path}: exit status {code}");
        }
    }

    private static int RunOne(Spec.Hook hook, byte[] stdin, int joinPid, Spec.Spec? config)
    {
        var (r, w) = Libc.Pipe();
        var plan = new ProcessPlan();
        if (joinPid > 0) plan.Joins.AddRange(Namespaces.JoinsOf(joinPid, config?.Linux?.Namespaces));
        plan.Add(PlanOp.Dup2, PlanArg.Int(r), PlanArg.Int(0));
        plan.Add(PlanOp.Exec, PlanArg.Str(hook.Path), PlanArg.List(hook.Args is { Count: > 0 } a ? a : [hook.Path]),
            PlanArg.List(hook.Env ?? []), PlanArg.U32Array([]));
        using var spawner = new Spawner(plan);
        try
        {
            spawner.Start();
        }
        finally
        {
            Libc.close(r);
        }
        try
        {
            try { Libc.WriteAll(w, stdin, "hook stdin"); }
            catch (ErrnoException) { } // a hook need not read its stdin
            Libc.close(w);
            w = -1;
            spawner.Drive(_ => { }, _ => { }, stopAtReady: false);
        }
        catch
        {
            if (w >= 0) Libc.close(w);
            spawner.KillAndReap();
            throw;
        }
        var deadline = hook.Timeout is > 0 ? Environment.TickCount64 + hook.Timeout.Value * 1000L : long.MaxValue;
        while (true)
        {
            int status = Libc.WaitPid(spawner.Pid, noHang: true, out int reaped);
            if (reaped == spawner.Pid) return Libc.ExitCodeOf(status);
            if (Environment.TickCount64 > deadline)
            {
                spawner.KillAndReap();
                throw new BerthException(ErrorKind.Unavailable, $"{hook.Path}: timed out after {hook.Timeout}s");
            }
            Thread.Sleep(2);
        }
    }
}
