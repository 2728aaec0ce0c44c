using System.Collections.Concurrent;
using System.Net.Sockets;
using System.Security.Cryptography;
using System.Text.Json;
using Berth.Api.Streams;
using Berth.Core;
using Berth.Engine.Logging;
using Berth.Engine.Specs;
using Berth.Interop;
using Berth.Runtime.Lifecycle;
using Berth.Runtime.Spec;

namespace Berth.Engine.Containers;

/// <summary>
/// docker exec. An instance is created (config checked, kept in memory as dockerd does, until its container is
/// removed), then started once: berthd builds the process from the container's OCI spec (namespaces of its init,
/// cgroups, seccomp, capabilities, rlimits, no_new_privs; user, cwd and env as dockerd derives them) and a
/// berth-monitor of its own (no log) clones it through the native piece: berthd never clones. The process waits on
/// a fifo until berthd is connected to its monitor's attach socket, so no output is missed; the monitor holds its
/// stdio (pipes, or a pty from the container's devpts sent over the console socket), relays it as stdcopy frames,
/// resizes the pty and records the exit code.
/// </summary>
public sealed partial class ContainerManager : Backends.IExecBackend
{
    private readonly ConcurrentDictionary<string, ExecInstance> _execs = new();
    private long _execSequence;
    private readonly ConcurrentDictionary<ExecInstance, long> _execOrder = new();

    private string ExecDir(string execId) => Path.Combine(_options.ExecRoot, "exec", execId);

    public string CreateExec(string containerIdOrName, ExecCreate config)
    {
        var c = Store.Get(containerIdOrName);
        CheckExecAllowed(c);
        if (config.Cmd.Count == 0) throw BerthException.Invalid("No exec command specified");
        byte[] keys = [16, 17];
        if (config.DetachKeys.Length > 0 && !DetachKeys.TryParse(config.DetachKeys, out keys, out _))
            throw BerthException.Invalid($"Invalid escape keys ({config.DetachKeys}) provided");
        var id = Convert.ToHexStringLower(RandomNumberGenerator.GetBytes(32));
        var exec = new ExecInstance(id, c.Id, config, keys);
        _execOrder[exec] = Interlocked.Increment(ref _execSequence);
        _execs[id] = exec;
        // dockerd names the command in the action ("exec_create: sh -c date") and the instance in execID.
        Publish(c, "exec_create: " + string.Join(' ', config.Cmd), ("execID", id));
        return id;
    }

    private static void CheckExecAllowed(ContainerRecord c)
    {
        if (c.State.Paused) throw BerthException.Conflict($"Container {c.Id} is paused, unpause the container before exec");
        if (c.State.Restarting) throw BerthException.Conflict($"Container {c.Id} is restarting, wait until the container is running");
        if (!c.State.Running) throw BerthException.Conflict($"Container {c.Id} is not running");
    }

    public ExecInstance GetExec(string execId) =>
        _execs.TryGetValue(execId, out var e) ? e : throw BerthException.NotFound($"No such exec instance: {execId}");

    /// <summary>The container's ExecIDs as dockerd lists them: the execs not started yet and those running (an
    /// exec that ended leaves its container's list at once, as dockerd's exit handler does).</summary>
    public IReadOnlyList<string> ExecIdsOf(string containerId) =>
        [.. _execs.Values.Where(e => e.ContainerId == containerId && e.ExitCode is null)
            .OrderBy(e => _execOrder.GetValueOrDefault(e)).Select(e => e.Id)];

    /// <summary>Drops the exec instances of a removed container (their processes ended with it).</summary>
    private void ForgetExecs(string containerId)
    {
        foreach (var e in _execs.Values.Where(e => e.ContainerId == containerId).ToList())
        {
            _execs.TryRemove(e.Id, out _);
            _execOrder.TryRemove(e, out _);
        }
    }

    /// <summary>dockerd's Cleanup at a container's exit: the execs still in its list (never started, or running:
    /// their processes die with the container) are dropped; those that ended stay for the collector.</summary>
    private void ForgetPendingExecs(string containerId)
    {
        foreach (var e in _execs.Values.Where(e => e.ContainerId == containerId && e.ExitCode is null).ToList())
        {
            _execs.TryRemove(e.Id, out _);
            _execOrder.TryRemove(e, out _);
        }
    }

    private readonly Timer _execGc;

    /// <summary>dockerd's execCommandGC, run every <see cref="EngineOptions.ExecGcInterval"/>: an exec marked at the
    /// sweep before is dropped; an exec that has ended (it is in no container's list) is marked.</summary>
    internal void SweepExecs()
    {
        foreach (var e in _execs.Values.ToList())
        {
            if (e.CanRemove)
            {
                _execs.TryRemove(e.Id, out _);
                _execOrder.TryRemove(e, out _);
            }
            else if (e.ExitCode is not null) e.CanRemove = true;
        }
    }

    public async Task<ExecSession> StartExecAsync(string execId, bool detach, CancellationToken ct = default)
    {
        var exec = GetExec(execId);
        lock (exec.Lock)
        {
            if (exec.ExitCode is not null) throw BerthException.Conflict($"Error: Exec command {exec.Id} has already run");
            if (exec.StartRequested) throw BerthException.Conflict($"Error: Exec command {exec.Id} is already running");
            exec.StartRequested = true;
        }
        Socket? attach = null;
        try
        {
            var c = Store.Get(exec.ContainerId);
            CheckExecAllowed(c);
            var cfg = exec.Config;
            var bundle = StateDir(c.Id);
            var spec = LoadBundleSpec(bundle);
            var process = ExecProcess(c, spec, cfg, LinksAtStart(c).Env); // dockerd gives an exec the links' variables too
            var dir = exec.StateDir = ExecDir(exec.Id);
            Directory.CreateDirectory(dir);
            var fifo = Path.Combine(dir, "exec.fifo");
            Libc.Check(Libc.mkfifo(fifo, 0x180 /*0600*/), "mkfifo", fifo);
            var prepared = ExecSpawn.Prepare(spec, c.Id, bundle, c.State.Pid, process, fifo);
            foreach (var warning in prepared.Warnings) EngineLog.Logger.RuntimeWarning(warning);
            var result = await _monitor.LaunchAsync(new MonitorLaunch(exec.Id, dir, RuntimeRoot, LogPath: null, cfg.Tty, cfg.AttachStdin,
                _options.RuntimePath, prepared.Spawn, prepared.CgroupJoin), ct);
            if (result.Error is not null)
            {
                var message = result.Error.Replace("berth-runtime create failed: ", "", StringComparison.Ordinal);
                // dockerd: 127 when the command is not found, 126 when it cannot be run.
                throw new ExecStartException($"OCI runtime exec failed: exec failed: {message}: unknown",
                    result.Kind == "not-found" ? 127 : 126);
            }
            exec.Pid = result.Pid;
            if (cfg.Tty && cfg.ConsoleSize is [var h and > 0, var w and > 0])
                await _monitor.ResizeAsync(dir, (int)h, (int)w);
            if (!detach) attach = await UnixSocket.ConnectAsync(BerthMonitor.AttachSocket(dir), ct);
            var startTime = Berth.Runtime.Lifecycle.ProcInfo.StartTime(result.Pid) ?? 0;
            // The open lets the process exec at once; its byte (or its end) is awaited on a pool thread.
            int fifoFd = ExecFifo.Open(fifo);
            await Task.Run(() => ExecFifo.Release(fifoFd, fifo, result.Pid, startTime), CancellationToken.None);
            lock (exec.Lock) exec.Running = true;
            Publish(c, "exec_start: " + string.Join(' ', cfg.Cmd), ("execID", exec.Id));
            exec.Started.TrySetResult();
            _ = WatchExecAsync(exec);
            return new ExecSession(exec, attach, exec.Exited);
        }
        catch (Exception e)
        {
            attach?.Dispose();
            int code = e is ExecStartException s ? s.ExitCode : 126;
            if (exec.Pid > 0) Libc.kill(exec.Pid, Libc.SIGKILL);
            lock (exec.Lock)
            {
                exec.Running = false;
                exec.ExitCode = code;
            }
            exec.Started.TrySetResult();
            exec.Ended.TrySetResult(code);
            if (exec.StateDir.Length > 0)
            {
                var dir = exec.StateDir;
                _ = Task.Run(async () =>
                {
                    await _monitor.WaitGoneAsync(dir);
                    TryCleanup(() => Directory.Delete(dir, recursive: true));
                });
            }
            if (e is ExecStartException) throw new BerthException(ErrorKind.InvalidParameter, e.Message);
            throw;
        }
    }

    private sealed class ExecStartException(string message, int exitCode) : Exception(message)
    {
        public int ExitCode { get; } = exitCode;
    }

    /// <summary>Records the exit code the monitor wrote, then removes the monitor's directory.</summary>
    private async Task WatchExecAsync(ExecInstance exec)
    {
        var exit = await _monitor.WaitExitAsync(exec.StateDir, CancellationToken.None);
        int code = exit?.ExitCode ?? 137;
        lock (exec.Lock)
        {
            exec.Running = false;
            exec.ExitCode = code;
        }
        exec.Ended.TrySetResult(code);
        if (Store.TryGet(exec.ContainerId, out var c) && c is not null)
            Publish(c, "exec_die", ("execID", exec.Id), ("exitCode", code.ToString(System.Globalization.CultureInfo.InvariantCulture)));
        await _monitor.WaitGoneAsync(exec.StateDir);
        TryCleanup(() => Directory.Delete(exec.StateDir, recursive: true));
    }

    public async Task ResizeExecAsync(string execId, int height, int width)
    {
        var exec = GetExec(execId);
        try
        {
            await exec.Started.Task.WaitAsync(TimeSpan.FromSeconds(10));
        }
        catch (TimeoutException)
        {
            throw new BerthException(ErrorKind.System, "timeout waiting for exec session ready");
        }
        if (exec.Config.Tty && exec.Running) await _monitor.ResizeAsync(exec.StateDir, height, width);
    }

    /// <summary>The bundle's config.json (the spec the container runs with), cached while the file is unchanged.</summary>
    private Spec LoadBundleSpec(string bundle)
    {
        var path = Path.Combine(bundle, "config.json");
        var stamp = File.GetLastWriteTimeUtc(path);
        if (_bundleSpecs.TryGetValue(path, out var cached) && cached.Stamp == stamp) return cached.Spec;
        var spec = JsonSerializer.Deserialize(File.ReadAllBytes(path), SpecJsonContext.Default.Spec)
            ?? throw new BerthException(ErrorKind.DataLoss, $"{path}: empty spec");
        _bundleSpecs[path] = (stamp, spec);
        return spec;
    }

    private readonly ConcurrentDictionary<string, (DateTime Stamp, Spec Spec)> _bundleSpecs = new();

    /// <summary>
    /// The exec's process as dockerd builds it: the container's process (capabilities, rlimits, no_new_privs, umask)
    /// with the command, a terminal when asked, all capabilities with --privileged, the user (the container's unless
    /// given), the working directory (the container's unless given, else /), and the environment: PATH, HOSTNAME,
    /// TERM=xterm with a tty, replaced or extended by the container's env, then by the exec's.
    /// </summary>
    private static Process ExecProcess(ContainerRecord c, Spec spec, ExecCreate cfg, List<string> linkEnv)
    {
        var p = spec.Process ?? throw new BerthException(ErrorKind.DataLoss, "the container's spec has no process");
        var process = JsonSerializer.Deserialize(JsonSerializer.SerializeToUtf8Bytes(p, SpecJsonContext.Default.Process),
            SpecJsonContext.Default.Process)!;
        process.Args = [.. cfg.Cmd];
        process.Terminal = cfg.Tty;
        process.ConsoleSize = cfg.Tty && cfg.ConsoleSize is [var h, var w] ? new Box { Height = h, Width = w } : null;
        var env = new List<string> { DockerSpec.DefaultPath, "HOSTNAME=" + (spec.Hostname ?? c.Config.Hostname) };
        if (cfg.Tty) env.Add("TERM=xterm");
        env.AddRange(linkEnv);
        void Set(string kv)
        {
            int eq = kv.IndexOf('=');
            var key = eq < 0 ? kv : kv[..eq];
            int i = env.FindIndex(e => e == key || e.StartsWith(key + "=", StringComparison.Ordinal));
            if (i >= 0) env[i] = kv;
            else env.Add(kv);
        }
        foreach (var e in c.Config.Env ?? []) Set(e);
        foreach (var e in cfg.Env ?? []) Set(e);
        process.Env = env;
        var workdir = cfg.WorkingDir.Length > 0 ? cfg.WorkingDir : c.Config.WorkingDir;
        process.Cwd = workdir.Length > 0 ? workdir : "/";
        if (cfg.User.Length > 0)
        {
            var umask = process.User.Umask;
            process.User = UserSpec.Resolve(cfg.User, spec.Root!.Path, c.HostConfig.GroupAdd);
            process.User.Umask = umask;
        }
        if (cfg.Privileged)
        {
            var all = DockerSpec.PrivilegedCapabilities();
            process.Capabilities = new LinuxCapabilities { Bounding = all, Effective = all, Permitted = all, Inheritable = all };
        }
        return process;
    }
}
