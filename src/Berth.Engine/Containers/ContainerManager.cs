using System.Collections.Concurrent;
using System.Diagnostics;
using System.Text.Json;
using System.Text.Json.Serialization;
using Berth.Core;
using Berth.Engine.Specs;
using Berth.Interop;
using Berth.Runtime.Lifecycle;
using Berth.Runtime.Spec;

namespace Berth.Engine.Containers;

/// <summary>Where a container's root filesystem comes from (the image store's snapshots, or a plain directory).</summary>
public interface IRootfsProvider
{
    /// <summary>Creates the container's writable layer over its image (Docker does this at create).</summary>
    void Prepare(string containerId, string imageId);

    /// <summary>Mounts it (idempotent) and returns the rootfs path.</summary>
    string Mount(string containerId);

    void Unmount(string containerId);

    /// <summary>Deletes the writable layer (idempotent).</summary>
    void Remove(string containerId);
}

/// <summary>Image lookups the engine needs: name or id → image id and the defaults a container inherits.</summary>
public interface IImageResolver
{
    (string ImageId, ImageDefaults Defaults) Resolve(string reference);
}

public sealed class EngineOptions
{
    public required string DataRoot { get; init; }
    public required string ExecRoot { get; init; }
    public required string RuntimePath { get; init; }
    public required string MonitorPath { get; init; }
    public bool CgroupV2 { get; init; } = File.Exists("/sys/fs/cgroup/cgroup.controllers");
}

/// <summary>What `docker create` asks for, engine-side.</summary>
public sealed class CreateInput
{
    public string? Name { get; init; }
    public required string Image { get; init; }
    public required ContainerSpecInput Spec { get; init; }
    public bool OpenStdin { get; init; }
    public bool AutoRemove { get; init; }

    /// <summary>The API's create request body, kept verbatim for inspect.</summary>
    public string CreateRequestJson { get; init; } = "{}";

    /// <summary>Config.Labels (ps shows and filters them).</summary>
    public Dictionary<string, string> Labels { get; init; } = [];
}

/// <summary>How a container ended, as the monitor recorded it (exit.json).</summary>
public sealed class ExitInfo
{
    [JsonPropertyName("exitCode")] public int ExitCode { get; set; }
    [JsonPropertyName("signal")] public int Signal { get; set; }
    [JsonPropertyName("oomKilled")] public bool OomKilled { get; set; }
    [JsonPropertyName("finishedAt")] public DateTime FinishedAt { get; set; }
}

/// <summary>The monitor's one-line answer on start.</summary>
public sealed class MonitorResult
{
    [JsonPropertyName("pid")] public int Pid { get; set; }
    [JsonPropertyName("error")] public string? Error { get; set; }
    [JsonPropertyName("exitCode")] public int ExitCode { get; set; }
}

[JsonSerializable(typeof(ExitInfo))]
[JsonSerializable(typeof(MonitorResult))]
[JsonSerializable(typeof(ContainerSpecInput))]
internal sealed partial class EngineJsonContext : JsonSerializerContext;

/// <summary>
/// Container lifecycle over berth-monitor (one per container: it owns stdio, logs and the exit status) and the
/// OCI runtime: create, start, wait, kill, stop, remove, and recovery after a daemon restart.
/// Layout: &lt;data-root&gt;/containers/&lt;id&gt;/ (record, json log, etc files);
/// &lt;exec-root&gt;/containers/&lt;id&gt;/ (bundle config.json, monitor sockets, exit.json).
/// </summary>
public sealed class ContainerManager
{
    private readonly EngineOptions _options;
    private readonly IRootfsProvider _rootfs;
    private readonly IImageResolver _images;
    private readonly ConcurrentDictionary<string, TaskCompletionSource<ExitInfo>> _exits = new();
    private readonly ConcurrentDictionary<string, SemaphoreSlim> _locks = new();
    private readonly ConcurrentDictionary<string, TaskCompletionSource> _removed = new();
    private readonly OciRuntime _runtime;

    public ContainerManager(EngineOptions options, IRootfsProvider rootfs, IImageResolver images)
    {
        _options = options;
        _rootfs = rootfs;
        _images = images;
        Store = new ContainerStore(options.DataRoot);
        Directory.CreateDirectory(RuntimeRoot);
        _runtime = OciRuntime.For(options.RuntimePath, RuntimeRoot);
        Recover();
    }

    public ContainerStore Store { get; }

    private string RuntimeRoot => Path.Combine(_options.ExecRoot, "runtime");
    public string StateDir(string id) => Path.Combine(_options.ExecRoot, "containers", id);

    private readonly ConcurrentDictionary<string, ConcurrentQueue<Func<Task>>> _beforeStart = new();

    /// <summary>Containers a forced removal is killing: their exit record is about to go.</summary>
    private readonly ConcurrentDictionary<string, byte> _removing = new();

    /// <summary>
    /// Runs <paramref name="action"/> once the container's monitor is up and before its process starts (attach
    /// connects here, so no output is missed: Docker's CLI attaches before it starts).
    /// </summary>
    public void OnBeforeStart(string id, Func<Task> action) => _beforeStart.GetOrAdd(id, _ => new()).Enqueue(action);

    /// <summary>The monitor's attach socket and control socket of a started container.</summary>
    public string AttachSocket(string id) => Path.Combine(StateDir(id), "attach.sock");
    public string ControlSocket(string id) => Path.Combine(StateDir(id), "ctl.sock");

    private SemaphoreSlim LockOf(string id) => _locks.GetOrAdd(id, _ => new SemaphoreSlim(1, 1));

    public ContainerRecord Create(CreateInput input)
    {
        var (imageId, defaults) = _images.Resolve(input.Image);
        var id = ContainerStore.NewId();
        // Validate the spec now, so a bad request fails at create as with Docker (with a throwaway rootfs path).
        var probe = DockerSpec.Build(WithPaths(input.Spec, id, "/nonexistent", null), defaults, _options.CgroupV2, resolveUser: false);
        var record = new ContainerRecord
        {
            Id = id, Created = DateTime.UtcNow, Image = imageId, ImageRef = input.Image,
            Path = probe.Process!.Args![0], Args = probe.Process.Args.Skip(1).ToList(),
            SpecJson = JsonSerializer.Serialize(input.Spec, EngineJsonContext.Default.ContainerSpecInput),
            OpenStdin = input.OpenStdin, AutoRemove = input.AutoRemove, CreateRequestJson = input.CreateRequestJson,
            Labels = input.Labels,
        };
        record = Store.Add(record, input.Name);
        try
        {
            record.LogPath = Path.Combine(Store.DirectoryOf(id), id + "-json.log");
            WriteEtcFiles(record, probe.Hostname!);
            _rootfs.Prepare(id, imageId);
            Store.Save(record);
            return record;
        }
        catch
        {
            TryCleanup(() => _rootfs.Remove(id));
            Store.Remove(id);
            throw;
        }
    }

    private static ContainerSpecInput WithPaths(ContainerSpecInput s, string id, string rootfs, string? etcDir) => new()
    {
        Id = id, RootfsPath = rootfs, EtcFilesDir = etcDir, Hostname = s.Hostname, Domainname = s.Domainname,
        Entrypoint = s.Entrypoint, Cmd = s.Cmd, Env = s.Env, WorkingDir = s.WorkingDir, User = s.User, Tty = s.Tty,
        ConsoleHeight = s.ConsoleHeight, ConsoleWidth = s.ConsoleWidth,
        ReadonlyRootfs = s.ReadonlyRootfs, Privileged = s.Privileged, CapAdd = s.CapAdd, CapDrop = s.CapDrop,
        SeccompUnconfined = s.SeccompUnconfined, NoNewPrivileges = s.NoNewPrivileges, Memory = s.Memory,
        MemorySwap = s.MemorySwap, MemoryReservation = s.MemoryReservation, NanoCpus = s.NanoCpus, CpuShares = s.CpuShares,
        CpuQuota = s.CpuQuota, CpuPeriod = s.CpuPeriod, CpusetCpus = s.CpusetCpus, CpusetMems = s.CpusetMems,
        PidsLimit = s.PidsLimit, BlkioWeight = s.BlkioWeight, OomScoreAdj = s.OomScoreAdj, ShmSize = s.ShmSize,
        Sysctls = s.Sysctls, NetworkNamespacePath = s.NetworkNamespacePath,
    };

    /// <summary>
    /// hostname, hosts, resolv.conf: derived from the record, so written without fsync (temp file and rename);
    /// one that a crash left missing or empty is written again at start (<see cref="EnsureEtcFiles"/>).
    /// </summary>
    private void WriteEtcFiles(ContainerRecord c, string hostname)
    {
        var dir = Store.DirectoryOf(c.Id);
        AtomicFile.WriteAllBytes(Path.Combine(dir, "hostname"), System.Text.Encoding.UTF8.GetBytes(hostname + "\n"), (UnixFileMode)0x1a4, sync: Sync.None);
        AtomicFile.WriteAllBytes(Path.Combine(dir, "hosts"), System.Text.Encoding.UTF8.GetBytes(
            $"127.0.0.1\tlocalhost\n::1\tlocalhost ip6-localhost ip6-loopback\nfe00::0\tip6-localnet\nff00::0\tip6-mcastprefix\nff02::1\tip6-allnodes\nff02::2\tip6-allrouters\n"),
            (UnixFileMode)0x1a4, sync: Sync.None);
        // --network none has no DNS; the file exists so that programs reading it do not fail.
        AtomicFile.WriteAllBytes(Path.Combine(dir, "resolv.conf"), [], (UnixFileMode)0x1a4, sync: Sync.None);
    }

    /// <summary>Writes the etc files again when the hostname file (never empty when written) is missing or empty.</summary>
    private void EnsureEtcFiles(ContainerRecord c, string hostname)
    {
        var dir = Store.DirectoryOf(c.Id);
        var f = new FileInfo(Path.Combine(dir, "hostname"));
        if (!f.Exists || f.Length == 0 || !File.Exists(Path.Combine(dir, "hosts")) || !File.Exists(Path.Combine(dir, "resolv.conf")))
            WriteEtcFiles(c, hostname);
    }

    /// <summary>Starts a created or exited container through a new monitor; returns when the process runs.</summary>
    public async Task StartAsync(string idOrName, CancellationToken ct = default)
    {
        var c = Store.Get(idOrName);
        var gate = LockOf(c.Id);
        await gate.WaitAsync(ct);
        Exception? failure = null;
        try
        {
            if (c.State.Running) throw new BerthException(ErrorKind.NotModified, "container already started");
            var input = JsonSerializer.Deserialize(c.SpecJson, EngineJsonContext.Default.ContainerSpecInput)!;
            var (_, defaults) = _images.Resolve(c.Image);
            var rootfs = _rootfs.Mount(c.Id);
            var stateDir = StateDir(c.Id);
            try
            {
                if (Directory.Exists(stateDir)) Directory.Delete(stateDir, recursive: true);
                Directory.CreateDirectory(stateDir);
                var spec = DockerSpec.Build(WithPaths(input, c.Id, rootfs, Store.DirectoryOf(c.Id)), defaults, _options.CgroupV2);
                EnsureEtcFiles(c, spec.Hostname!);
                AtomicFile.WriteAllBytes(Path.Combine(stateDir, "config.json"), JsonSerializer.SerializeToUtf8Bytes(spec, SpecJsonContext.Default.Spec),
                    sync: Sync.None); // exec root: run-time state
                // A runtime container left by an earlier run that was not deleted (a crash between its exit and
                // the bookkeeping) would make this create fail as an existing ID.
                await RemoveStaleRuntimeStateAsync(c.Id, ct);
                // berth-runtime: its create's C# half runs here and the monitor clones the init from the spawn
                // data; disposing it undoes a create that did not complete. Other runtimes: the monitor runs their
                // create.
                using var pending = PrepareCreate(c.Id, stateDir, spec, input.Tty);
                var result = await RunMonitorAsync(c, input.Tty, pending?.EncodeSpawnFile(), ct);
                if (result.Error is not null)
                    throw new BerthException(ErrorKind.InvalidParameter, $"OCI runtime create failed: {result.Error}: unknown");
                pending?.Complete(result.Pid);
                // A waiter that came before start (the CLI's run does) keeps its TaskCompletionSource.
                _ = NextExit(c.Id);
                if (input.Tty && input.ConsoleHeight > 0 && input.ConsoleWidth > 0)
                    await ResizeAsync(c.Id, input.ConsoleHeight, input.ConsoleWidth);
                if (_beforeStart.TryRemove(c.Id, out var hooks))
                {
                    while (hooks.TryDequeue(out var hook))
                    {
                        try { await hook(); }
                        catch (Exception e) when (e is IOException or System.Net.Sockets.SocketException) { }
                    }
                }
                var started = await _runtime.StartAsync(c.Id, ct);
                if (!started.Succeeded)
                    throw new BerthException(ErrorKind.InvalidParameter, $"OCI runtime start failed: {started.Error}: unknown");
                c.State = new ContainerStateRecord { Status = "running", Pid = result.Pid, StartedAt = DateTime.UtcNow };
                Store.Save(c);
                _ = WatchExitAsync(c.Id);
            }
            catch (Exception e)
            {
                await _runtime.DeleteAsync(c.Id, force: true, CancellationToken.None);
                await WaitMonitorGoneAsync(stateDir);
                TryCleanup(() => Directory.Delete(stateDir, recursive: true));
                TryCleanup(() => _rootfs.Unmount(c.Id));
                failure = e;
            }
        }
        finally
        {
            _beforeStart.TryRemove(c.Id, out _);
            gate.Release();
        }
        if (failure is not null)
        {
            await StartFailedAsync(c, failure);
            System.Runtime.ExceptionServices.ExceptionDispatchInfo.Throw(failure);
        }
    }

    /// <summary>
    /// Completes when the container's next run ends, or when its next start fails (a waiter or attach that comes
    /// before start, as the CLI's run does, keeps this one: start does not replace it).
    /// </summary>
    public Task<ExitInfo> NextExit(string id) =>
        _exits.AddOrUpdate(id, _ => NewExit(), (_, old) => old.Task.IsCompleted ? NewExit() : old).Task;

    private static TaskCompletionSource<ExitInfo> NewExit() => new(TaskCreationOptions.RunContinuationsAsynchronously);

    /// <summary>
    /// As Docker: a start that failed records the error and an exit code (127 command not found, 126 not
    /// executable, 128 otherwise), wakes waiters, and an auto-remove container is removed.
    /// </summary>
    private async Task StartFailedAsync(ContainerRecord c, Exception failure)
    {
        if (failure is OperationCanceledException) failure = new BerthException(ErrorKind.System, "start cancelled");
        var msg = failure.Message;
        int code = msg.Contains("executable file not found", StringComparison.Ordinal) || msg.Contains("no such file or directory", StringComparison.Ordinal) ? 127
                 : msg.Contains("permission denied", StringComparison.Ordinal) ? 126 : 128;
        if (Store.TryGet(c.Id, out var now) && now is not null)
        {
            now.State = new ContainerStateRecord { Status = now.State.StartedAt == default ? "created" : "exited", ExitCode = code, Error = msg,
                                                   StartedAt = now.State.StartedAt, FinishedAt = now.State.FinishedAt };
            Store.Save(now);
        }
        if (_exits.TryGetValue(c.Id, out var tcs)) tcs.TrySetResult(new ExitInfo { ExitCode = code, FinishedAt = DateTime.UtcNow });
        if (c.AutoRemove)
        {
            try { await RemoveAsync(c.Id, force: true); }
            catch (BerthException) { }
        }
    }

    /// <summary>Sets a terminal's size through the monitor (a no-op for a container without a terminal).</summary>
    public async Task ResizeAsync(string id, int height, int width)
    {
        try
        {
            using var s = await UnixSocket.ConnectAsync(ControlSocket(id));
            await s.SendAsync(System.Text.Encoding.ASCII.GetBytes($"resize {height} {width}\n"));
            var buf = new byte[256];
            await s.ReceiveAsync(buf);
        }
        catch (System.Net.Sockets.SocketException)
        {
            // The monitor is gone: the container has exited, there is nothing to resize.
        }
    }

    /// <summary>A failed monitor cleans up after itself; wait (bounded) until it has gone.</summary>
    private static async Task WaitMonitorGoneAsync(string stateDir)
    {
        var pidFile = Path.Combine(stateDir, "monitor.pid");
        for (int i = 0; i < 200 && File.Exists(pidFile); i++)
        {
            if (!int.TryParse(File.ReadAllText(pidFile).Trim(), out var pid) || !Runtime.Lifecycle.ProcInfo.IsAlive(pid)) return;
            await Task.Delay(10);
        }
    }

    private async Task RemoveStaleRuntimeStateAsync(string id, CancellationToken ct)
    {
        var dir = Path.Combine(RuntimeRoot, id);
        if (!Directory.Exists(dir)) return;
        if (File.Exists(Path.Combine(dir, "state.json"))) await _runtime.DeleteAsync(id, force: true, ct);
        TryCleanup(() => { if (Directory.Exists(dir)) Directory.Delete(dir, recursive: true); });
    }

    private PendingCreate? PrepareCreate(string id, string bundle, Berth.Runtime.Spec.Spec spec, bool tty)
    {
        try
        {
            return _runtime.PrepareCreate(id, bundle, spec, tty ? Path.Combine(bundle, "console.sock") : null);
        }
        catch (Exception e) when (e is BerthException or IOException or UnauthorizedAccessException)
        {
            // As the runtime's own create reports it.
            throw new BerthException(ErrorKind.InvalidParameter, $"OCI runtime create failed: {e.Message}: unknown");
        }
    }

    /// <summary>
    /// Starts the container's monitor, which creates it: from <paramref name="spawn"/> (a spawn file's bytes, given
    /// on its stdin) or by running the runtime's create.
    /// </summary>
    private async Task<MonitorResult> RunMonitorAsync(ContainerRecord c, bool tty, byte[]? spawn, CancellationToken ct)
    {
        var psi = new ProcessStartInfo(_options.MonitorPath)
        {
            RedirectStandardOutput = true, RedirectStandardError = true, RedirectStandardInput = spawn is not null,
        };
        foreach (var a in new[]
        {
            "--id", c.Id, "--bundle", StateDir(c.Id), spawn is null ? "--runtime" : "--spawn", spawn is null ? _options.RuntimePath : "-",
            "--runtime-root", RuntimeRoot, "--state-dir", StateDir(c.Id), "--log-path", c.LogPath,
        })
        {
            psi.ArgumentList.Add(a);
        }
        if (tty) psi.ArgumentList.Add("--terminal");
        if (c.OpenStdin) psi.ArgumentList.Add("--stdin");
        using var p = System.Diagnostics.Process.Start(psi) ?? throw new BerthException(ErrorKind.System, "cannot start berth-monitor");
        if (spawn is not null)
        {
            // The monitor reads it to EOF before anything else (a pipe holds 64 KiB; a plan is a few KiB).
            using var stdin = p.StandardInput;
            try
            {
                await stdin.BaseStream.WriteAsync(spawn, ct);
            }
            catch (IOException)
            {
                // The monitor is gone: its result line says why.
            }
        }
        // Process.Dispose does not close streams read synchronously: the readers are disposed here (else two
        // pipes leak per start).
        using var stdoutReader = p.StandardOutput;
        using var stderrReader = p.StandardError;
        var line = await stdoutReader.ReadLineAsync(ct);
        var stderr = await stderrReader.ReadToEndAsync(ct);
        await p.WaitForExitAsync(ct);
        if (string.IsNullOrEmpty(line))
            throw new BerthException(ErrorKind.System, $"berth-monitor failed (exit {p.ExitCode}): {stderr.Trim()}");
        return JsonSerializer.Deserialize(line, EngineJsonContext.Default.MonitorResult)
            ?? throw new BerthException(ErrorKind.System, "berth-monitor: empty result");
    }

    /// <summary>Waits for exit.json, then deletes the runtime's container, unmounts, and records the exit.</summary>
    private async Task WatchExitAsync(string id)
    {
        var exitFile = Path.Combine(StateDir(id), "exit.json");
        var monitorPidFile = Path.Combine(StateDir(id), "monitor.pid");
        // The monitor closes its control connections right after writing exit.json and before it exits: one
        // idle connection per container tells the exit without polling. (Polling below is the fallback, for a
        // monitor that is already gone.)
        try
        {
            using var ctl = await UnixSocket.ConnectAsync(ControlSocket(id));
            var buf = new byte[64];
            while (await ctl.ReceiveAsync(buf, System.Net.Sockets.SocketFlags.None) > 0) { }
        }
        catch (Exception e) when (e is System.Net.Sockets.SocketException or IOException or ObjectDisposedException) { }
        ExitInfo? exit = null;
        while (exit is null)
        {
            if (File.Exists(exitFile))
            {
                try { exit = JsonSerializer.Deserialize(File.ReadAllBytes(exitFile), EngineJsonContext.Default.ExitInfo); }
                catch (JsonException) { }
                catch (IOException) { }
            }
            else if (File.Exists(monitorPidFile) && int.TryParse(File.ReadAllText(monitorPidFile).Trim(), out var mpid)
                     && !Runtime.Lifecycle.ProcInfo.IsAlive(mpid) && !File.Exists(exitFile))
            {
                // (exit.json is checked again after seeing the monitor gone: it writes the file, then exits.)
                // The monitor died without recording an exit: the container's fate is unknown; treat it as killed.
                exit = new ExitInfo { ExitCode = 137, Signal = 9, FinishedAt = DateTime.UtcNow };
            }
            if (exit is null) await Task.Delay(20);
        }
        try
        {
            await FinishAsync(id, exit);
        }
        catch (Exception e)
        {
            // The exit is known even when the bookkeeping after it failed: waiters must never hang on it.
            Console.Error.WriteLine($"berth: container {id}: after exit: {e.Message}");
            if (_exits.TryGetValue(id, out var tcs)) tcs.TrySetResult(exit);
        }
    }

    private async Task FinishAsync(string id, ExitInfo exit)
    {
        if (!Store.TryGet(id, out var c) || c is null) return;
        await _runtime.DeleteAsync(id, force: true, CancellationToken.None);
        TryCleanup(() => _rootfs.Unmount(id));
        c.State = new ContainerStateRecord
        {
            Status = "exited", ExitCode = exit.ExitCode, OOMKilled = exit.OomKilled, StartedAt = c.State.StartedAt,
            FinishedAt = exit.FinishedAt == default ? DateTime.UtcNow : exit.FinishedAt,
        };
        // A container about to be removed (auto-remove, rm -f) needs no durable exit record: a crash before the
        // removal finds its exit again from the monitor's exit.json on restart.
        Store.Save(c, c.AutoRemove || _removing.ContainsKey(id) ? Sync.None : Sync.FileAndDirectory);
        if (_exits.TryGetValue(id, out var tcs)) tcs.TrySetResult(exit);
        if (c.AutoRemove) await RemoveAsync(id, force: true);
    }

    /// <summary>Docker's wait: "not-running" (default), "next-exit", or "removed".</summary>
    public async Task<int> WaitAsync(string idOrName, string condition = "not-running", CancellationToken ct = default)
    {
        var c = Store.Get(idOrName);
        var tcs = _exits.GetOrAdd(c.Id, _ => NewExit());
        if (condition == "not-running" && !c.State.Running && !tcs.Task.IsCompleted) return c.State.ExitCode;
        var exit = await tcs.Task.WaitAsync(ct);
        if (condition == "removed")
        {
            var removed = _removed.GetOrAdd(c.Id, _ => new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously));
            if (Store.TryGet(c.Id, out _)) await removed.Task.WaitAsync(ct);
        }
        return exit.ExitCode;
    }

    public async Task KillAsync(string idOrName, string signal = "KILL", CancellationToken ct = default)
    {
        var c = Store.Get(idOrName);
        if (!c.State.Running) throw BerthException.Conflict($"Container {c.Id} is not running");
        bool sigkill = signal.ToUpperInvariant() is "KILL" or "SIGKILL" or "9";
        var exited = _exits.GetOrAdd(c.Id, _ => NewExit()).Task;
        var killed = await _runtime.KillAsync(c.Id, signal, all: false, ct);
        if (!killed.Succeeded) throw new BerthException(ErrorKind.System, $"Cannot kill container: {c.Id}: {killed.Error}");
        if (sigkill)
        {
            // As dockerd: a SIGKILL returns once the container is not running any more.
            await exited.WaitAsync(TimeSpan.FromSeconds(30), ct);
            while (Store.TryGet(c.Id, out var now) && now!.State.Running) await Task.Delay(5, ct);
        }
    }

    /// <summary>SIGTERM, then SIGKILL after <paramref name="timeoutSeconds"/>; NotModified when not running.</summary>
    public async Task StopAsync(string idOrName, int timeoutSeconds = 10, CancellationToken ct = default)
    {
        var c = Store.Get(idOrName);
        if (!c.State.Running) throw new BerthException(ErrorKind.NotModified, "container already stopped");
        var exited = _exits.GetOrAdd(c.Id, _ => NewExit()).Task;
        await _runtime.KillAsync(c.Id, "TERM", all: false, ct);
        if (await Task.WhenAny(exited, Task.Delay(TimeSpan.FromSeconds(Math.Max(0, timeoutSeconds)), ct)) != exited)
            await _runtime.KillAsync(c.Id, "KILL", all: true, ct);
        await exited.WaitAsync(TimeSpan.FromSeconds(30), ct);
        while (Store.Get(c.Id).State.Running) await Task.Delay(5, ct);
    }

    public async Task RemoveAsync(string idOrName, bool force, CancellationToken ct = default)
    {
        var c = Store.Get(idOrName);
        if (c.State.Running)
        {
            if (!force)
                throw BerthException.Conflict(
                    $"You cannot remove a running container {c.Id}. Stop the container before attempting removal or force remove");
            var exited = _exits.GetOrAdd(c.Id, _ => NewExit()).Task;
            _removing[c.Id] = 0;
            try
            {
                await _runtime.KillAsync(c.Id, "KILL", all: true, ct);
                await exited.WaitAsync(TimeSpan.FromSeconds(30), ct);
                while (Store.TryGet(c.Id, out var now) && now!.State.Running) await Task.Delay(5, ct);
            }
            finally
            {
                _removing.TryRemove(c.Id, out _);
            }
            if (!Store.TryGet(c.Id, out _)) return; // auto-removed meanwhile
        }
        // After an exit the runtime's container was deleted already (FinishAsync): no second runtime process.
        if (Directory.Exists(Path.Combine(RuntimeRoot, c.Id))) await _runtime.DeleteAsync(c.Id, force: true, ct);
        TryCleanup(() => _rootfs.Unmount(c.Id));
        _rootfs.Remove(c.Id);
        TryCleanup(() => Directory.Delete(StateDir(c.Id), recursive: true));
        Store.Remove(c.Id);
        _exits.TryRemove(c.Id, out _);
        _locks.TryRemove(c.Id, out _);
        if (_removed.TryRemove(c.Id, out var removed)) removed.TrySetResult();
    }

    /// <summary>After a daemon restart: containers that ran are watched again (their monitors kept running).</summary>
    private void Recover()
    {
        foreach (var c in Store.List().Where(c => c.State.Running))
        {
            _exits[c.Id] = NewExit();
            _ = WatchExitAsync(c.Id);
        }
    }

    private static void TryCleanup(Action a)
    {
        try { a(); }
        catch (Exception e) when (e is IOException or BerthException or UnauthorizedAccessException) { }
    }
}
