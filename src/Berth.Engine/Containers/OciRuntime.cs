using System.Diagnostics;
using Berth.Core;
using Berth.Engine.Logging;
using Berth.Runtime.Lifecycle;

namespace Berth.Engine.Containers;

/// <summary>The outcome of one runtime verb: 0 and no error, or the runtime's exit code and its message.</summary>
public readonly record struct RuntimeResult(int Code, string Error)
{
    public static RuntimeResult Ok => new(0, "");
    public bool Succeeded => Code == 0;
}

/// <summary>
/// The OCI runtime verbs the engine uses after create: start, kill, delete. (Create runs inside berth-monitor,
/// which execs the runtime binary, so that the container is the monitor's child and outlives the daemon.)
/// </summary>
public interface IOciRuntime
{
    /// <summary>
    /// The first half of create done in this process, for berth-monitor to clone the init from a spawn file
    /// (no runtime process per start); null when this runtime cannot (runc, or a plan that needs its parent
    /// during create): the monitor then runs the runtime's create.
    /// </summary>
    PendingCreate? PrepareCreate(string id, string bundle, Berth.Runtime.Spec.Spec spec, string? consoleSocket);

    Task<RuntimeResult> StartAsync(string id, CancellationToken ct);
    Task<RuntimeResult> KillAsync(string id, string signal, bool all, CancellationToken ct);

    /// <summary>Deletes the runtime's container; with force, a running one is killed first and a missing one is fine.</summary>
    Task<RuntimeResult> DeleteAsync(string id, bool force, CancellationToken ct);
}

public static class OciRuntime
{
    /// <summary>
    /// The runtime for <paramref name="runtimePath"/>: berth-runtime's own verbs run in the daemon's process (the
    /// same code as the binary's, linked in: no process start for start, kill and delete); any other runtime (runc)
    /// through its command line.
    /// </summary>
    public static IOciRuntime For(string runtimePath, string root) =>
        Path.GetFileName(runtimePath) == "berth-runtime" ? new LinkedBerthRuntime(root) : new ExternalOciRuntime(runtimePath, root);
}

/// <summary>Any runc-compatible runtime, through its command line with <c>--root</c>.</summary>
public sealed class ExternalOciRuntime(string path, string root) : IOciRuntime
{
    /// <summary>The monitor runs this runtime's create.</summary>
    public PendingCreate? PrepareCreate(string id, string bundle, Berth.Runtime.Spec.Spec spec, string? consoleSocket) => null;

    public Task<RuntimeResult> StartAsync(string id, CancellationToken ct) => RunAsync(["start", id], ct);

    public Task<RuntimeResult> KillAsync(string id, string signal, bool all, CancellationToken ct) =>
        RunAsync(all ? ["kill", "--all", id, signal] : ["kill", id, signal], ct);

    public Task<RuntimeResult> DeleteAsync(string id, bool force, CancellationToken ct) =>
        RunAsync(force ? ["delete", "--force", id] : ["delete", id], ct);

    private async Task<RuntimeResult> RunAsync(string[] args, CancellationToken ct)
    {
        var psi = new ProcessStartInfo(path) { RedirectStandardOutput = true, RedirectStandardError = true };
        psi.ArgumentList.Add("--root");
        psi.ArgumentList.Add(root);
        foreach (var a in args) psi.ArgumentList.Add(a);
        using var p = Process.Start(psi) ?? throw new BerthException(ErrorKind.System, "cannot start the OCI runtime");
        // Process.Dispose does not close streams read asynchronously: the readers are disposed here.
        using var stdoutReader = p.StandardOutput;
        using var stderrReader = p.StandardError;
        var stdout = stdoutReader.ReadToEndAsync(ct);
        var stderr = stderrReader.ReadToEndAsync(ct);
        await p.WaitForExitAsync(ct);
        await stdout;
        return new RuntimeResult(p.ExitCode, StripLogrus(await stderr).Trim());
    }

    /// <summary>runc logs its error as logrus text (level=error msg="..."): the message alone.</summary>
    private static string StripLogrus(string s)
    {
        int i = s.IndexOf("msg=\"", StringComparison.Ordinal);
        if (i < 0) return s;
        var msg = s[(i + 5)..];
        int end = msg.LastIndexOf('"');
        return (end >= 0 ? msg[..end] : msg).Replace("\\\"", "\"");
    }
}

/// <summary>
/// berth-runtime's start, kill and delete called in-process (Berth.Runtime's <see cref="Container"/>, the code the
/// binary runs, over the same state directory). None of them clones: it is safe in a .NET process.
/// </summary>
public sealed class LinkedBerthRuntime(string root) : IOciRuntime
{
    private readonly RuntimeOptions _options = new()
    {
        Root = Path.GetFullPath(root),
        Warn = m => EngineLog.Logger.RuntimeWarning(m),
    };

    public PendingCreate? PrepareCreate(string id, string bundle, Berth.Runtime.Spec.Spec spec, string? consoleSocket)
    {
        var pending = PendingCreate.Begin(_options, id, bundle, spec, new CreateOptions { ConsoleSocket = consoleSocket },
            waitForStart: true, elsewhere: true);
        if (!pending.NeedsParent) return pending;
        pending.Dispose(); // user namespace maps or create hooks: berth-runtime create does those
        return null;
    }

    public Task<RuntimeResult> StartAsync(string id, CancellationToken ct) =>
        Invoke(() => Container.Load(_options, id).Start(), ct);

    public Task<RuntimeResult> KillAsync(string id, string signal, bool all, CancellationToken ct) =>
        Invoke(() => Container.Load(_options, id).Kill(Signals.Parse(signal), all), ct);

    public Task<RuntimeResult> DeleteAsync(string id, bool force, CancellationToken ct) =>
        Invoke(() =>
        {
            Container c;
            try
            {
                c = Container.Load(_options, id);
            }
            catch (BerthException e) when (e.Kind == ErrorKind.NotFound && force)
            {
                return; // as runc: delete --force of a missing container succeeds
            }
            c.Delete(force);
        }, ct);

    /// <summary>Runs a verb off the request thread (start polls the exec fifo; delete waits for the process).</summary>
    private static Task<RuntimeResult> Invoke(Action verb, CancellationToken ct) => Task.Run(() =>
    {
        try
        {
            verb();
            return RuntimeResult.Ok;
        }
        catch (Exception e) when (e is BerthException or IOException or UnauthorizedAccessException or System.Text.Json.JsonException)
        {
            return new RuntimeResult(1, e.Message);
        }
    }, ct);
}
