using System.Diagnostics;
using System.Text.Json.Nodes;

namespace Berth.Privileged.Tests.Infrastructure;

/// <summary>Outcome of one runtime CLI invocation.</summary>
public sealed record RunResult(string CommandLine, int ExitCode, string Stdout, string Stderr, bool TimedOut)
{
    public RunResult EnsureSuccess()
    {
        if (TimedOut || ExitCode != 0)
        {
            throw new Xunit.Sdk.XunitException($"runtime command failed:\n{this}");
        }

        return this;
    }

    public JsonObject Json() => JsonNode.Parse(Stdout) as JsonObject
        ?? throw new Xunit.Sdk.XunitException($"stdout is not a JSON object:\n{this}");

    public override string ToString() =>
        $"$ {CommandLine}\nexit={ExitCode}{(TimedOut ? " (TIMED OUT)" : "")}\n--- stdout ---\n{Stdout}\n--- stderr ---\n{Stderr}";
}

/// <summary>
/// Drives one runtime CLI (berth-runtime or runc) as `&lt;binary&gt; --root &lt;state root&gt; &lt;verb&gt; ...`
/// with a private state root per runner, so tests never see each other's containers.
/// stdin is /dev/null; stdout/stderr go to files (not pipes) so a detached container that inherits
/// them cannot keep a reader waiting for EOF. Dispose force-deletes every container this runner
/// created and removes the state root.
/// </summary>
public sealed class RuntimeRunner : IDisposable
{
    private static int _seq;
    private readonly HashSet<string> _containers = [];
    private readonly string _ioDir;

    public RuntimeRunner(RuntimeBinary binary, TimeSpan? defaultTimeout = null)
    {
        Root.Require();
        Binary = binary.EnsureExists();
        DefaultTimeout = defaultTimeout ?? TimeSpan.FromSeconds(60);
        string tag = Guid.NewGuid().ToString("N")[..12];
        StateRoot = Path.Combine(TestAssets.BaseDir, $"state-{binary.Name}-{tag}");
        _ioDir = Path.Combine(TestAssets.BaseDir, $"io-{binary.Name}-{tag}");
        Directory.CreateDirectory(StateRoot);
        Directory.CreateDirectory(_ioDir);
    }

    public static RuntimeRunner Runc() => new(RuntimeBinary.Runc);

    public static RuntimeRunner Berth() => new(RuntimeBinary.Berth);

    public static RuntimeRunner For(string runtimeName) => new(RuntimeBinary.ByName(runtimeName));

    public RuntimeBinary Binary { get; }

    public string Name => Binary.Name;

    public string StateRoot { get; }

    public TimeSpan DefaultTimeout { get; set; }

    /// <summary>Runs `&lt;binary&gt; --root STATE args...`.</summary>
    public RunResult Invoke(params string[] args) => Invoke(args, null);

    public RunResult Invoke(IReadOnlyList<string> args, TimeSpan? timeout, string? workingDirectory = null)
    {
        string[] argv = ["--root", StateRoot, .. args];
        return Spawn(Binary.Path, argv, timeout ?? DefaultTimeout, workingDirectory, _ioDir);
    }

    /// <summary>`run --bundle DIR ID` in the foreground (non-tty); returns when the container exits.</summary>
    public RunResult Run(Bundle bundle, string? id = null, TimeSpan? timeout = null)
    {
        id ??= bundle.Id;
        bundle.Save();
        _containers.Add(id);
        return Invoke(["run", "--bundle", bundle.Dir, id], timeout);
    }

    /// <summary>`run --detach --bundle DIR ID`.</summary>
    public RunResult RunDetached(Bundle bundle, string? id = null)
    {
        id ??= bundle.Id;
        bundle.Save();
        _containers.Add(id);
        return Invoke(["run", "--detach", "--bundle", bundle.Dir, id], null);
    }

    /// <summary>`create --bundle DIR [--pid-file F] ID`.</summary>
    public RunResult Create(Bundle bundle, string? id = null, string? pidFile = null)
    {
        id ??= bundle.Id;
        bundle.Save();
        _containers.Add(id);
        var args = new List<string> { "create", "--bundle", bundle.Dir };
        if (pidFile is not null)
        {
            args.AddRange(["--pid-file", pidFile]);
        }

        args.Add(id);
        return Invoke(args, null);
    }

    public RunResult Start(string id) => Invoke("start", id);

    public RunResult State(string id) => Invoke("state", id);

    /// <summary>`state ID`, which must succeed, parsed.</summary>
    public JsonObject StateJson(string id) => State(id).EnsureSuccess().Json();

    public RunResult Kill(string id, string signal = "KILL", bool all = false) =>
        all ? Invoke("kill", "--all", id, signal) : Invoke("kill", id, signal);

    public RunResult Delete(string id, bool force = false) =>
        force ? Invoke("delete", "--force", id) : Invoke("delete", id);

    /// <summary>`exec ID args...` (foreground, non-tty).</summary>
    public RunResult Exec(string id, params string[] args) => Invoke(["exec", id, .. args], null);

    /// <summary>`exec FLAGS... ID args...`, e.g. flags ["--user", "1000:1000", "--cwd", "/tmp"].</summary>
    public RunResult ExecWith(string id, string[] flags, params string[] args) =>
        Invoke(["exec", .. flags, id, .. args], null);

    public RunResult List(bool json = true) => json ? Invoke("list", "--format", "json") : Invoke("list");

    public RunResult Ps(string id, bool json = true) => json ? Invoke("ps", "--format", "json", id) : Invoke("ps", id);

    /// <summary>Polls `state` until status equals <paramref name="status"/>.</summary>
    public JsonObject WaitForStatus(string id, string status, TimeSpan? timeout = null)
    {
        var sw = Stopwatch.StartNew();
        while (true)
        {
            RunResult r = State(id);
            if (r.ExitCode == 0 && r.Json()["status"]?.GetValue<string>() == status)
            {
                return r.Json();
            }

            if (sw.Elapsed > (timeout ?? TimeSpan.FromSeconds(10)))
            {
                throw new Xunit.Sdk.XunitException($"{id} did not reach status '{status}':\n{r}");
            }

            Thread.Sleep(50);
        }
    }

    public void Dispose()
    {
        foreach (string id in _containers)
        {
            try
            {
                Invoke(["delete", "--force", id], TimeSpan.FromSeconds(30));
            }
            catch (Exception e) when (e is IOException or InvalidOperationException)
            {
                // Best effort; LeakCheck reports what survives.
            }
        }

        HostCommand.Run("rm", ["-rf", "--one-file-system", StateRoot, _ioDir], TimeSpan.FromMinutes(1));
    }

    internal static RunResult Spawn(string file, IReadOnlyList<string> args, TimeSpan timeout, string? cwd, string ioDir)
    {
        int n = Interlocked.Increment(ref _seq);
        string outFile = Path.Combine(ioDir, $"{n}.out");
        string errFile = Path.Combine(ioDir, $"{n}.err");
        // exec keeps the runtime's pid and exit status; the redirections give it (and any container
        // process inheriting its stdio) plain files.
        var psi = new ProcessStartInfo("/bin/sh") { UseShellExecute = false };
        psi.ArgumentList.Add("-c");
        psi.ArgumentList.Add("exec \"$0\" \"$@\" </dev/null >\"$BERTH_TEST_STDOUT\" 2>\"$BERTH_TEST_STDERR\"");
        psi.ArgumentList.Add(file);
        foreach (string a in args)
        {
            psi.ArgumentList.Add(a);
        }

        psi.Environment["BERTH_TEST_STDOUT"] = outFile;
        psi.Environment["BERTH_TEST_STDERR"] = errFile;
        if (cwd is not null)
        {
            psi.WorkingDirectory = cwd;
        }

        string commandLine = string.Join(' ', new[] { file }.Concat(args).Select(Quote));
        using Process p = Process.Start(psi) ?? throw new InvalidOperationException($"cannot start {file}");
        bool exited = p.WaitForExit(timeout);
        if (!exited)
        {
            try
            {
                p.Kill(entireProcessTree: true);
            }
            catch (InvalidOperationException)
            {
                // Exited meanwhile.
            }

            p.WaitForExit();
        }

        string stdout = File.Exists(outFile) ? File.ReadAllText(outFile) : "";
        string stderr = File.Exists(errFile) ? File.ReadAllText(errFile) : "";
        File.Delete(outFile);
        File.Delete(errFile);
        return new RunResult(commandLine, exited ? p.ExitCode : -1, stdout, stderr, !exited);
    }

    private static string Quote(string s) =>
        s.Length > 0 && s.All(c => char.IsAsciiLetterOrDigit(c) || "-_./=:,+@%".Contains(c)) ? s : $"'{s.Replace("'", "'\\''")}'";
}
