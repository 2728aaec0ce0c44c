namespace Berth.Daemon.Tests;

/// <summary>berth's operation verbs (events, stats, top, rename, pause, unpause) against berthd, beside docker's.</summary>
public sealed class BerthCliOperationsTests(DaemonFixture fx) : IClassFixture<DaemonFixture>
{
    private static string BerthPath()
    {
        string? dir = AppContext.BaseDirectory;
        while (dir is not null && !File.Exists(Path.Combine(dir, "Berth.slnx"))) dir = Path.GetDirectoryName(dir);
        return Path.Combine(dir ?? "/", "out", "bin", "berth");
    }

    private (int Code, string Stdout, string Stderr) Berth(params string[] args) =>
        Run.Command(BerthPath(), ["-H", "unix://" + fx.Dir.Socket, .. args]);

    private string Ok(params string[] args)
    {
        var (code, stdout, stderr) = Berth(args);
        Assert.True(code == 0, $"berth {string.Join(' ', args)} exited {code}: {stdout}{stderr}");
        return stdout;
    }

    [Fact]
    public void TopRenamePauseStatsEvents()
    {
        var id = Ok("run", "-d", "--name", "bo-a", "-m", "48m", "busybox", "sleep", "60").Trim();
        try
        {
            var top = Ok("top", "bo-a");
            Assert.StartsWith("UID", top);
            Assert.Contains("sleep 60", top);
            Assert.Equal("bo-a\n", Ok("pause", "bo-a"));
            Assert.Contains("(Paused)", Ok("ps"));
            Assert.Equal("bo-a\n", Ok("unpause", "bo-a"));
            Ok("rename", "bo-a", "bo-b");
            var stats = Ok("stats", "--no-stream", "bo-b").Split('\n');
            Assert.StartsWith("CONTAINER ID   NAME      CPU %", stats[0]);
            Assert.Contains("/ 48MiB", stats[1]);
            Assert.StartsWith(id[..12], stats[1]);
            var until = (DateTimeOffset.UtcNow.ToUnixTimeSeconds() + 1).ToString();
            var events = Ok("events", "--since", "1m", "--until", until, "--filter", "container=" + id);
            Assert.Contains($"container pause {id} (image=busybox, name=bo-a)", events);
            Assert.Contains($"container rename {id} (image=busybox, name=bo-b, oldName=/bo-a)", events);
        }
        finally
        {
            Berth("rm", "-f", id);
        }
    }
}
