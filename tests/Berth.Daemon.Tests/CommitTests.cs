namespace Berth.Daemon.Tests;

/// <summary>docker commit against berthd with the real docker CLI: the upper layer (whiteouts and opaque directories)
/// becomes a layer, --change/-m/-a reach the config, the container is paused meanwhile and runs on afterwards.</summary>
public sealed class CommitTests(DaemonFixture fx) : IClassFixture<DaemonFixture>
{
    [Fact]
    public void Commit_RunningContainer_NewImageSeesChanges()
    {
        var c = fx.Ok("run", "-d", "busybox", "sh", "-c",
            "echo committed > /new; rm /bin/ls; rm -rf /usr; mkdir -p /usr/bin; echo x > /usr/bin/only; echo > /ready; sleep 1000").Trim();
        try
        {
            fx.WaitFor(() => fx.Docker("exec", c, "cat", "/ready").Code == 0, TimeSpan.FromSeconds(30), "the changes");
            var id = fx.Ok("commit", "-m", "my message", "-a", "me <me@example.test>",
                "--change", "CMD [\"cat\", \"/new\"]", "--change", "ENV A=1", "--change", "LABEL l=v", c, "committed:1").Trim();
            Assert.StartsWith("sha256:", id);
            Assert.Equal("running false", fx.Inspect(c, "{{.State.Status}} {{.State.Paused}}"));
            Assert.Equal(id, fx.Inspect("committed:1", "{{.Id}}"));
            Assert.Equal("my message|me <me@example.test>|v", fx.Inspect("committed:1", "{{.Comment}}|{{.Author}}|{{index .Config.Labels \"l\"}}"));
            Assert.Equal("committed\n", fx.Ok("run", "--rm", "committed:1"));
            Assert.NotEqual(0, fx.Docker("run", "--rm", "committed:1", "sh", "-c", "test -e /bin/ls").Code); // deleted stays deleted
            Assert.Equal("/usr/bin/only\n", fx.Ok("run", "--rm", "committed:1", "sh", "-c", "echo /usr/bin/*")); // opaque: the lower content is hidden
            Assert.Equal("1\n", fx.Ok("run", "--rm", "committed:1", "sh", "-c", "echo $A"));
            var hist = fx.Ok("history", "--no-trunc", "--format", "{{.ID}}|{{.CreatedBy}}|{{.Comment}}", "committed:1").Split('\n', StringSplitOptions.RemoveEmptyEntries);
            Assert.Equal(2, hist.Length);
            Assert.StartsWith($"{id}|sh -c echo committed", hist[0]);
            Assert.EndsWith("|my message", hist[0]);
            Assert.StartsWith("<missing>||Imported from -", hist[1]);
        }
        finally
        {
            fx.Docker("rm", "-f", c);
            fx.Docker("rmi", "committed:1");
        }
    }

    [Fact]
    public void Commit_UnknownContainer_IsNotFound()
    {
        var (code, _, err) = fx.Docker("commit", "no-such-container", "x:1");
        Assert.NotEqual(0, code);
        Assert.Contains("No such container", err);
    }
}
