using System.Diagnostics;
using System.Text.Json;
using Berth.Core;
using Berth.Interop;

namespace Berth.Engine.Containers;

/// <summary>
/// <see cref="IContainerMonitor"/> over the berth-monitor binary: one process per container, reached through
/// files and sockets in the container's state directory (monitor.pid, ctl.sock, attach.sock, exit.json).
/// </summary>
public sealed class BerthMonitor(string monitorPath) : IContainerMonitor
{
    public static string AttachSocket(string stateDir) => Path.Combine(stateDir, "attach.sock");
    public static string ControlSocket(string stateDir) => Path.Combine(stateDir, "ctl.sock");

    public async Task<MonitorResult> LaunchAsync(MonitorLaunch l, CancellationToken ct)
    {
        var psi = new ProcessStartInfo(monitorPath)
        {
            RedirectStandardOutput = true, RedirectStandardError = true, RedirectStandardInput = l.Spawn is not null,
        };
        foreach (var a in new[]
        {
            "--id", l.Id, "--bundle", l.StateDir, l.Spawn is null ? "--runtime" : "--spawn", l.Spawn is null ? l.RuntimePath : "-",
            "--runtime-root", l.RuntimeRoot, "--state-dir", l.StateDir,
        })
        {
            psi.ArgumentList.Add(a);
        }
        if (l.LogPath is not null)
        {
            psi.ArgumentList.Add("--log-path");
            psi.ArgumentList.Add(l.LogPath);
            if (l.Log is { } log)
            {
                if (log.MaxSize > 0)
                {
                    psi.ArgumentList.Add("--log-max-size");
                    psi.ArgumentList.Add(log.MaxSize.ToString(System.Globalization.CultureInfo.InvariantCulture));
                    psi.ArgumentList.Add("--log-max-file");
                    psi.ArgumentList.Add(log.MaxFile.ToString(System.Globalization.CultureInfo.InvariantCulture));
                }
                if (log.AttrsJson is not null)
                {
                    psi.ArgumentList.Add("--log-attrs");
                    psi.ArgumentList.Add(log.AttrsJson);
                }
            }
        }
        foreach (var f in l.CgroupJoin ?? [])
        {
            psi.ArgumentList.Add("--cgroup-join");
            psi.ArgumentList.Add(f);
        }
        if (l.Tty) psi.ArgumentList.Add("--terminal");
        if (l.Stdin) psi.ArgumentList.Add("--stdin");
        var p = Process.Start(psi) ?? throw new BerthException(ErrorKind.System, "cannot start berth-monitor");
        return await ResultAsync(p, l, ct);
    }

    /// <summary>The monitor's result line. A pid is returned at once: the launcher exits right after writing it and
    /// is reaped in the background (awaiting its exit here cost a SIGCHLD round trip on every start and exec).</summary>
    private static async Task<MonitorResult> ResultAsync(Process p, MonitorLaunch l, CancellationToken ct)
    {
        // Process.Dispose does not close streams read synchronously: the readers are disposed (else two pipes leak
        // per start), here or, once a pid is reported, by ReapAsync.
        var stdoutReader = p.StandardOutput;
        var stderrReader = p.StandardError;
        bool handedOff = false;
        try
        {
            if (l.Spawn is not null)
            {
                // The monitor reads it to EOF before anything else (a pipe holds 64 KiB; a plan is a few KiB).
                using var stdin = p.StandardInput;
                try
                {
                    await stdin.BaseStream.WriteAsync(l.Spawn, ct);
                }
                catch (IOException)
                {
                    // The monitor is gone: its result line says why.
                }
            }
            var line = await stdoutReader.ReadLineAsync(ct);
            if (line is not null && line.StartsWith("{\"pid\":", StringComparison.Ordinal)
                && JsonSerializer.Deserialize(line, MonitorJsonContext.Default.MonitorResult) is { } started)
            {
                handedOff = true;
                _ = ReapAsync(p, stdoutReader, stderrReader);
                return started;
            }
            var stderr = await stderrReader.ReadToEndAsync(ct);
            await p.WaitForExitAsync(ct);
            if (string.IsNullOrEmpty(line))
                throw new BerthException(ErrorKind.System, $"berth-monitor failed (exit {p.ExitCode}): {stderr.Trim()}");
            return JsonSerializer.Deserialize(line, MonitorJsonContext.Default.MonitorResult)
                ?? throw new BerthException(ErrorKind.System, "berth-monitor: empty result");
        }
        finally
        {
            if (!handedOff)
            {
                stdoutReader.Dispose();
                stderrReader.Dispose();
                p.Dispose();
            }
        }
    }

    private static async Task ReapAsync(Process p, StreamReader stdout, StreamReader stderr)
    {
        try
        {
            await stderr.ReadToEndAsync();
            await p.WaitForExitAsync();
        }
        catch (Exception e) when (e is IOException or InvalidOperationException) { }
        finally
        {
            stdout.Dispose();
            stderr.Dispose();
            p.Dispose();
        }
    }

    public async Task<ExitInfo?> WaitExitAsync(string stateDir, CancellationToken ct)
    {
        var exitFile = Path.Combine(stateDir, "exit.json");
        // The monitor closes its control connections right after writing exit.json and before it exits: one idle
        // connection per container tells the exit without polling.
        try
        {
            using var ctl = await UnixSocket.ConnectAsync(ControlSocket(stateDir));
            var buf = new byte[64];
            while (await ctl.ReceiveAsync(buf, System.Net.Sockets.SocketFlags.None, ct) > 0) { }
        }
        catch (Exception e) when (e is System.Net.Sockets.SocketException or IOException or ObjectDisposedException) { }
        // The connection ends when exit.json is written, or when the monitor is gone (or was never reachable): then
        // the monitor's exit is awaited through its pid before exit.json is read for the last time.
        var exit = ReadExit(exitFile);
        if (exit is not null) return exit;
        await WaitGoneAsync(stateDir, TimeSpan.FromSeconds(30), ct);
        return ReadExit(exitFile);
    }

    private static ExitInfo? ReadExit(string file)
    {
        try { return JsonSerializer.Deserialize(File.ReadAllBytes(file), MonitorJsonContext.Default.ExitInfo); }
        catch (Exception e) when (e is JsonException or IOException) { return null; }
    }

    public async Task ResizeAsync(string stateDir, int height, int width)
    {
        try
        {
            using var s = await UnixSocket.ConnectAsync(ControlSocket(stateDir));
            await s.SendAsync(System.Text.Encoding.ASCII.GetBytes($"resize {height} {width}\n"));
            var buf = new byte[256];
            await s.ReceiveAsync(buf);
        }
        catch (System.Net.Sockets.SocketException)
        {
            // The monitor is gone: the container has exited, there is nothing to resize.
        }
    }

    public Task WaitGoneAsync(string stateDir) => WaitGoneAsync(stateDir, TimeSpan.FromSeconds(2), CancellationToken.None);

    /// <summary>Waits for the monitor's process (pid from monitor.pid) to end, through a pidfd: no polling.</summary>
    private static async Task WaitGoneAsync(string stateDir, TimeSpan limit, CancellationToken ct)
    {
        int pid;
        try
        {
            if (!int.TryParse(File.ReadAllText(Path.Combine(stateDir, "monitor.pid")).Trim(), out pid)) return;
        }
        catch (IOException) { return; }
        await ProcessExit.WaitAsync(pid, limit, ct);
    }
}
