using System.Diagnostics;

namespace Berth.Daemon.Tests;

/// <summary>
/// python3-docker (Debian's package, docker-py 5.x) as a second, independent client: each script of
/// tests/testdata/pydocker drives one area of the Engine API against a private berthd and prints a line per check
/// that failed, naming what differed (got/want). The client sends other query strings and bodies than the docker
/// CLI (stats <c>stream=False</c>, logs <c>since</c> as an int, exec <c>Detach</c> and <c>AttachStderr</c>, ...).
/// </summary>
public sealed class PyDockerTests(DaemonFixture fx) : IClassFixture<DaemonFixture>
{
    private static string ScriptDir => Path.Combine(AppContext.BaseDirectory, "testdata", "pydocker");

    [Theory]
    [InlineData("containers")]     // run (fg, detach, remove), top, rename, pause/unpause, update, wait(condition), diff, export, prune
    [InlineData("exec")]           // exec_run: exit code, output, demux, stream, user, workdir, environment, tty, privileged, detach
    [InlineData("logs")]           // logs: streams, tail, timestamps, since/until, stream, follow, tty
    [InlineData("stats")]          // stats: stream=False, a reading of the stream, one-shot; Docker's keys
    [InlineData("archive")]        // get_archive/put_archive, running and stopped
    [InlineData("restart_health")] // run(restart_policy=...), run(healthcheck=...)
    [InlineData("events")]         // events: decode, since/until, filters, live stream ending at until
    [InlineData("volumes_networks")] // volumes create/list/remove/prune, networks create/connect/disconnect/remove
    public async Task Script(string name)
    {
        var psi = new ProcessStartInfo("/usr/bin/python3")
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
            WorkingDirectory = ScriptDir,
        };
        psi.ArgumentList.Add(Path.Combine(ScriptDir, name + ".py"));
        psi.ArgumentList.Add(fx.Dir.Socket);
        psi.Environment["PYTHONDONTWRITEBYTECODE"] = "1";
        psi.Environment.Remove("DOCKER_HOST");
        using var p = Process.Start(psi)!;
        var stdoutTask = p.StandardOutput.ReadToEndAsync();
        var stderrTask = p.StandardError.ReadToEndAsync();
        using var cts = new CancellationTokenSource(TimeSpan.FromSeconds(240));
        try
        {
            await p.WaitForExitAsync(cts.Token);
        }
        catch (OperationCanceledException)
        {
            p.Kill(entireProcessTree: true);
            Assert.Fail($"{name}.py did not finish in 240 s: {await stdoutTask}{await stderrTask}");
        }
        string stdout = await stdoutTask, stderr = await stderrTask;
        Assert.True(p.ExitCode == 0, $"{name}.py exited {p.ExitCode}:\n{stdout}\n{stderr}\nberthd:\n{fx.LogTail}");
        Assert.Contains("all checks passed", stdout);
    }
}
