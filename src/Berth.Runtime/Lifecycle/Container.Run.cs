using System.Net.Sockets;
using System.Runtime.InteropServices;
using Berth.Core;
using Berth.Interop;
using Berth.Runtime.Cgroups;
using Berth.Runtime.Linux;
using Berth.Runtime.Plan;

namespace Berth.Runtime.Lifecycle;

public sealed class ExecOptions
{
    public string? ConsoleSocket { get; init; }
    public string? PidFile { get; init; }
    public bool Detach { get; init; }
    public int PreserveFds { get; init; }
}

public sealed partial class Container
{
    /// <summary>runc run: create and start in one go; in the foreground, wait and return the exit code.</summary>
    public static int Run(RuntimeOptions options, string id, string bundle, CreateOptions create, bool detach)
    {
        TerminalProxy? proxy = null;
        if (!detach && create.ConsoleSocket is null && LoadSpec(bundle).Process?.Terminal == true)
        {
            proxy = TerminalProxy.Create();
            create = new CreateOptions { PidFile = create.PidFile, PreserveFds = create.PreserveFds, OwnConsole = proxy };
        }
        using var ownedProxy = proxy;
        var container = Create(options, id, bundle, create, waitForStart: false);
        using var spawner = container.CreatedSpawner!;
        try
        {
            proxy?.Start();
            if (File.Exists(container.FifoPath)) container.Start();
            // Until the socket closes on exec, the child may still report a failed execve.
            spawner.Drive(_ => { }, options.Warn, stopAtReady: false);
        }
        catch
        {
            TryCleanup(() => container.Delete(force: true));
            throw;
        }
        if (!File.Exists(container.FifoPath)) container.RunPoststart();
        if (detach) return 0;
        int code = WaitForeground(spawner.Pid);
        proxy?.Drain();
        container.Delete(force: true);
        return code;
    }

    /// <summary>Waits for a child of this process, forwarding the usual terminal signals to it.</summary>
    private static int WaitForeground(int pid)
    {
        var registrations = new List<PosixSignalRegistration>();
        foreach (var (sig, num) in new[]
        {
            (PosixSignal.SIGTERM, Libc.SIGTERM), (PosixSignal.SIGINT, Libc.SIGINT),
            (PosixSignal.SIGHUP, Libc.SIGHUP), (PosixSignal.SIGQUIT, Libc.SIGQUIT),
        })
        {
            registrations.Add(PosixSignalRegistration.Create(sig, c =>
            {
                c.Cancel = true;
                Libc.kill(pid, num);
            }));
        }
        try
        {
            int status = Libc.WaitPid(pid, noHang: false, out _);
            return Libc.ExitCodeOf(status);
        }
        finally
        {
            foreach (var r in registrations) r.Dispose();
        }
    }

    /// <summary>runc exec: a new process in the container's namespaces and cgroup.</summary>
    public int Exec(Spec.Process process, ExecOptions exec)
    {
        if (Status != "running" && Status != "created")
            throw BerthException.Conflict("cannot exec in a stopped container");
        var spec = State.Config;
        Socket? console = null;
        TerminalProxy? proxy = null;
        try
        {
            int consoleFd = -1;
            if (exec.ConsoleSocket is { } socketPath)
            {
                console = ConnectConsoleSocket(socketPath);
                consoleFd = (int)console.Handle;
            }
            else if (process.Terminal)
            {
                if (exec.Detach)
                    throw BerthException.Invalid("cannot allocate tty if runc will detach without setting console socket");
                proxy = TerminalProxy.Create();
                consoleFd = proxy.ChildEnd;
            }
            var seccomp = spec.Linux?.Seccomp is { } sc ? SeccompSupport.Compile(sc, _options.Warn) : default;
            var ctx = new PlanContext
            {
                Bundle = State.Bundle, RootfsPath = State.Rootfs, ConsoleSocketFd = consoleFd,
                SeccompFilter = seccomp.Filter, SeccompFlags = seccomp.Flags,
                KeepFds = Enumerable.Range(3, exec.PreserveFds).Select(i => (uint)i).ToList(),
            };
            var plan = PlanBuilder.ForExec(process, ctx);
            foreach (var w in ctx.Warnings) _options.Warn(w);
            plan.Joins.AddRange(Namespaces.JoinsOf(State.Pid, spec.Linux?.Namespaces));

            using var spawner = new Spawner(plan);
            spawner.Start(forceTwoStage: true);
            try
            {
                var cgroup = ContainerCgroup.Load(State.CgroupsPath);
                spawner.Drive(tag => cgroup.Join(spawner.Pid), _options.Warn, stopAtReady: false);
            }
            catch
            {
                spawner.KillAndReap();
                throw;
            }
            if (exec.PidFile is { } pidFile) WritePidFile(pidFile, spawner.Pid);
            if (exec.Detach) return 0;
            console?.Dispose();
            console = null;
            proxy?.Start();
            int code = WaitForeground(spawner.Pid);
            proxy?.Drain();
            return code;
        }
        finally
        {
            console?.Dispose();
            proxy?.Dispose();
        }
    }
}
