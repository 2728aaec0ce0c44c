namespace Berth.Daemon.Tests;

/// <summary>docker diff, docker export and docker container prune with the real docker CLI.</summary>
public sealed class DiffExportPruneTests(DaemonFixture fx) : IClassFixture<DaemonFixture>
{
    private (int Code, string Stdout, string Stderr) Docker(params string[] args) => DockerCli.Run(fx.Dir.Socket, fx.Dir.Path, args);

    private string Ok(params string[] args)
    {
        var (code, stdout, stderr) = Docker(args);
        Assert.True(code == 0, $"docker {string.Join(' ', args)} exited {code}: {stdout}{stderr}\nberthd:\n{fx.LogTail}");
        return stdout;
    }

    [Fact]
    public void Diff_ShowsAddedChangedDeleted()
    {
        var id = Ok("run", "-d", "busybox", "sh", "-c", "echo new > /added; rm /bin/ls; echo x >> /etc/hostname.copy; touch /etc/passwd; sleep 1000").Trim();
        try
        {
            for (int i = 0; i < 50 && !Ok("diff", id).Contains("/added"); i++) Thread.Sleep(100);
            var lines = Ok("diff", id).Split('\n', StringSplitOptions.RemoveEmptyEntries);
            Assert.Contains("A /added", lines);
            Assert.Contains("D /bin/ls", lines);
            Assert.Contains("C /bin", lines);
            Assert.Contains("C /etc/passwd", lines);
            Assert.Contains("A /etc/hostname.copy", lines);
        }
        finally
        {
            Docker("rm", "-f", id);
        }
    }

    [Fact]
    public void Export_IsATarOfTheRootfs()
    {
        var id = Ok("run", "-d", "busybox", "sh", "-c", "echo exported > /marker").Trim();
        Ok("wait", id);
        var tarPath = Path.Combine(fx.Dir.Path, "export.tar");
        try
        {
            Ok("export", "-o", tarPath, id);
            var (code, list, err) = Tests.Run.Command("tar", ["-tf", tarPath]);
            Assert.True(code == 0, err);
            var names = list.Split('\n').Select(n => n.TrimStart('.', '/')).ToHashSet();
            Assert.Contains("marker", names);
            Assert.Contains("bin/busybox", names);
            var (c2, content, _) = Tests.Run.Command("tar", ["-xOf", tarPath, "marker"]);
            Assert.Equal((0, "exported\n"), (c2, content));
        }
        finally
        {
            Docker("rm", "-f", id);
            File.Delete(tarPath);
        }
    }

    [Fact]
    public void ContainerPrune_RemovesStoppedOnes_WithLabelFilters()
    {
        var keep = Ok("create", "--label", "prune=keep", "busybox", "true").Trim();
        var gone = Ok("create", "--label", "prune=go", "busybox", "true").Trim();
        var running = Ok("run", "-d", "--label", "prune=go", "busybox", "sleep", "1000").Trim();
        try
        {
            var outp = Ok("container", "prune", "-f", "--filter", "label=prune=go");
            Assert.Contains(gone, outp);
            Assert.DoesNotContain(keep, outp);
            Assert.Contains("Total reclaimed space:", outp);
            Assert.Equal(0, Docker("inspect", keep).Code);
            Assert.Equal(0, Docker("inspect", running).Code);
            Assert.NotEqual(0, Docker("inspect", gone).Code);
            outp = Ok("container", "prune", "-f", "--filter", "label!=prune=keep", "--filter", "until=1h");
            Assert.DoesNotContain(keep, outp); // created less than an hour ago
            Assert.Equal(0, Docker("inspect", keep).Code);
        }
        finally
        {
            Docker("rm", "-f", keep, gone, running);
        }
    }
}
