namespace Berth.Daemon.Tests;

/// <summary>Exec state directories (&lt;exec-root&gt;/exec/&lt;id&gt;) of execs that were running when berthd died:
/// the restarted daemon deletes those whose exec has ended, and the others when their exec ends.</summary>
public sealed class ExecLeftoverTests : IDisposable
{
    private readonly TempDir _dir = new();

    public void Dispose() => _dir.Dispose();

    private string Ok(params string[] args)
    {
        var (code, stdout, stderr) = DockerCli.Run(_dir.Socket, _dir.Path, args);
        Assert.True(code == 0, $"docker {string.Join(' ', args)} exited {code}: {stdout}{stderr}");
        return stdout;
    }

    private string ExecDir => Path.Combine(_dir.ExecRoot, "exec");

    private static bool Eventually(Func<bool> condition, int seconds = 10)
    {
        var deadline = DateTime.UtcNow.AddSeconds(seconds);
        while (!condition())
        {
            if (DateTime.UtcNow > deadline) return false;
            Thread.Sleep(100);
        }
        return true;
    }

    [Fact]
    public void ExecDirectoriesLeftByACrashAreCleanedAtRecovery()
    {
        string id;
        using (var d = BerthdProcess.StartIn(_dir))
        {
            id = Ok("run", "-d", "busybox", "sleep", "1000").Trim();
            Ok("exec", "-d", id, "sleep", "4");
            Ok("exec", "-d", id, "sleep", "1000");
            Assert.Equal(2, Directory.GetDirectories(ExecDir).Length);
            d.Signal(9);
            Assert.True(d.WaitForExit(TimeSpan.FromSeconds(10)));
        }
        Thread.Sleep(5500); // the short exec ends while no daemon runs
        using (var d = BerthdProcess.StartIn(_dir))
        {
            // The ended exec's directory is gone at once; the running one's stays while it runs.
            Assert.Single(Directory.GetDirectories(ExecDir));
            Ok("rm", "-f", id); // the running exec dies with its container
            Assert.True(Eventually(() => Directory.GetDirectories(ExecDir).Length == 0), "the exec's directory was not removed after it ended");
        }
    }
}
