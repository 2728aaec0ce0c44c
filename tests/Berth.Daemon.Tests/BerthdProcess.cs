using System.Diagnostics;
using System.Net.Sockets;
using Berth.Interop;

namespace Berth.Daemon.Tests;

/// <summary>berthd as a separate process: the NativeAOT binary out/bin/berthd when it has been published
/// (scripts/build.sh does), else the JIT build beside the tests through `dotnet berthd.dll`.</summary>
public sealed class BerthdProcess : IDisposable
{
    private readonly Process _process;
    private readonly System.Text.StringBuilder _output = new();

    private BerthdProcess(Process process)
    {
        _process = process;
        process.OutputDataReceived += (_, e) => { if (e.Data is not null) lock (_output) _output.AppendLine(e.Data); };
        process.ErrorDataReceived += (_, e) => { if (e.Data is not null) lock (_output) _output.AppendLine(e.Data); };
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();
    }

    public int Pid => _process.Id;
    public string Output { get { lock (_output) return _output.ToString(); } }
    public bool HasExited => _process.HasExited;
    public int ExitCode => _process.ExitCode;

    public static (string FileName, string[] Prefix) Command()
    {
        string? dir = AppContext.BaseDirectory;
        while (dir is not null && !File.Exists(Path.Combine(dir, "Berth.slnx"))) dir = Path.GetDirectoryName(dir);
        string? aot = dir is null ? null : Path.Combine(dir, "out", "bin", "berthd");
        if (aot is not null && File.Exists(aot)) return (aot, []);
        return ("dotnet", [Path.Combine(AppContext.BaseDirectory, "berthd.dll")]);
    }

    public static BerthdProcess Start(params string[] args) => StartWithEnv(null, args);

    /// <summary>berthd with extra environment variables (e.g. TMPDIR).</summary>
    public static BerthdProcess StartWithEnv(IDictionary<string, string>? env, params string[] args) => StartWrapped([], env, args);

    /// <summary>berthd run through <paramref name="wrapper"/> (a command that execs it, e.g. nsenter --net=PATH).</summary>
    private static BerthdProcess StartWrapped(string[] wrapper, IDictionary<string, string>? env, string[] args)
    {
        var (file, prefix) = Command();
        var psi = new ProcessStartInfo(wrapper.Length > 0 ? wrapper[0] : file)
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        string[] lead = wrapper.Length > 0 ? [.. wrapper[1..], file] : [];
        foreach (string a in lead.Concat(prefix).Concat(args)) psi.ArgumentList.Add(a);
        if (env is not null) foreach (var (k, v) in env) psi.Environment[k] = v;
        return new BerthdProcess(Process.Start(psi)!);
    }

    /// <summary>Starts a daemon on the test directory's socket and roots and waits until it accepts.</summary>
    public static BerthdProcess StartIn(TempDir dir, params string[] extra) => StartIn(dir, null, extra);

    /// <summary>A daemon on the test directory's socket and roots inside the network namespace at <paramref name="netnsPath"/>
    /// (nsenter --net, which execs berthd: the same pid). Its bridges, veths and rules are that namespace's.</summary>
    public static BerthdProcess StartInNetns(TempDir dir, string netnsPath, params string[] extra)
    {
        BerthdProcess p = StartWrapped(["nsenter", "--net=" + netnsPath], null, [
            "-H", "unix://" + dir.Socket, "--data-root", dir.DataRoot, "--exec-root", dir.ExecRoot,
            "--pidfile", dir.PidFile, "--config-file", Path.Combine(dir.Path, "no-daemon.json"), .. extra]);
        p.WaitForSocket(dir.Socket);
        return p;
    }

    public static BerthdProcess StartIn(TempDir dir, IDictionary<string, string>? env, params string[] extra)
    {
        BerthdProcess p = StartWithEnv(env, [
            "-H", "unix://" + dir.Socket, "--data-root", dir.DataRoot, "--exec-root", dir.ExecRoot,
            "--pidfile", dir.PidFile, "--config-file", Path.Combine(dir.Path, "no-daemon.json"), .. extra]);
        p.WaitForSocket(dir.Socket);
        return p;
    }

    public void WaitForSocket(string path)
    {
        var deadline = DateTime.UtcNow.AddSeconds(20);
        while (DateTime.UtcNow < deadline)
        {
            if (_process.HasExited) throw new InvalidOperationException($"berthd exited with {_process.ExitCode}: {Output}");
            try
            {
                using var s = new Socket(AddressFamily.Unix, SocketType.Stream, ProtocolType.Unspecified);
                s.Connect(new UnixDomainSocketEndPoint(path));
                return;
            }
            catch (SocketException) { Thread.Sleep(20); }
        }
        throw new TimeoutException($"berthd did not listen on {path}: {Output}");
    }

    public void Signal(int signal) => Assert.Equal(0, Libc.kill(_process.Id, signal));

    public bool WaitForExit(TimeSpan timeout)
    {
        if (!_process.WaitForExit(timeout)) return false;
        _process.WaitForExit(); // drain the output
        return true;
    }

    public void Dispose()
    {
        if (!_process.HasExited)
        {
            try { _process.Kill(); _process.WaitForExit(5000); } catch (InvalidOperationException) { }
        }
        _process.Dispose();
    }

    public const int SIGTERM = 15;
    public const int SIGINT = 2;
}

/// <summary>Runs a command to completion and captures its output.</summary>
public static class Run
{
    public static (int Code, string Stdout, string Stderr) Command(string file, IEnumerable<string> args, IDictionary<string, string?>? env = null,
                                                                  string? stdin = null)
    {
        var psi = new ProcessStartInfo(file)
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            RedirectStandardInput = true,
            UseShellExecute = false,
        };
        foreach (string a in args) psi.ArgumentList.Add(a);
        if (env is not null) foreach (var (k, v) in env) psi.Environment[k] = v;
        using Process p = Process.Start(psi)!;
        Task<string> stdout = p.StandardOutput.ReadToEndAsync();
        Task<string> stderr = p.StandardError.ReadToEndAsync();
        try
        {
            if (stdin is not null) p.StandardInput.Write(stdin);
            p.StandardInput.Close();
        }
        catch (IOException) { } // the command exited without reading its input
        if (!p.WaitForExit(60_000))
        {
            p.Kill();
            throw new TimeoutException($"{file} {string.Join(' ', args)} did not finish");
        }
        return (p.ExitCode, stdout.Result, stderr.Result);
    }
}
