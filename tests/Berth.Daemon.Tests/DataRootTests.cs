using System.Net.Sockets;
using System.Text;
using Berth.Core;
using Berth.Daemon;

namespace Berth.Daemon.Tests;

/// <summary>The data root: one daemon at a time (flock on berthd.lock), its modes, and no staging left behind by imports.</summary>
public sealed class DataRootTests : IDisposable
{
    private const UnixFileMode P0700 = (UnixFileMode)0x1c0;
    private const UnixFileMode P0711 = (UnixFileMode)0x1c9;
    private readonly TempDir _dir = new();

    public void Dispose() => _dir.Dispose();

    private static (int Code, string Stdout, string Stderr) AsNobody(params string[] args) =>
        Run.Command("runuser", ["-u", "nobody", "--", .. args]);

    private static void WaitFor(Func<bool> condition, string what, int seconds = 20)
    {
        var deadline = DateTime.UtcNow.AddSeconds(seconds);
        while (!condition())
        {
            if (DateTime.UtcNow > deadline) throw new TimeoutException("timed out waiting for " + what);
            Thread.Sleep(20);
        }
    }

    // ---- one daemon per data root ----

    [Fact]
    public async Task SecondHost_OnTheSameDataRoot_IsRefusedBeforeTouchingAnything()
    {
        await using DaemonHost first = await DaemonHost.StartAsync(_dir.Options());
        using var other = new TempDir();
        DaemonOptions second = other.Options();
        second.DataRoot = _dir.DataRoot;
        var e = await Assert.ThrowsAsync<BerthException>(() => DaemonHost.StartAsync(second));
        Assert.Equal(ErrorKind.Conflict, e.Kind);
        Assert.Contains($"another berthd is using data root {_dir.DataRoot}", e.Message);
        Assert.Contains($"(pid {Environment.ProcessId})", e.Message);
        Assert.False(File.Exists(other.Socket));
        Assert.False(File.Exists(other.PidFile));
        Assert.False(Directory.Exists(other.ExecRoot));
        Assert.Equal("OK", EngineCalls.Client(_dir.Socket).Ping().Body);
    }

    [Fact]
    public async Task Lock_IsReleasedAtStop()
    {
        await (await DaemonHost.StartAsync(_dir.Options())).StopAsync();
        await using DaemonHost again = await DaemonHost.StartAsync(_dir.Options());
        // (cat: .NET's own File.ReadAllText would take a shared flock, which the held lock refuses.)
        Assert.Equal(Environment.ProcessId.ToString() + "\n", Run.Command("cat", [Path.Combine(_dir.DataRoot, "berthd.lock")]).Stdout);
    }

    [Fact]
    public void SecondBerthd_OnTheSameDataRoot_ExitsOneWithAClearMessage_AndAKilledOnesLockIsFreed()
    {
        using BerthdProcess first = BerthdProcess.StartIn(_dir);
        using var other = new TempDir();
        using (BerthdProcess second = BerthdProcess.Start(
                   "-H", "unix://" + other.Socket, "--data-root", _dir.DataRoot, "--exec-root", other.ExecRoot,
                   "--pidfile", other.PidFile, "--config-file", Path.Combine(other.Path, "none.json")))
        {
            Assert.True(second.WaitForExit(TimeSpan.FromSeconds(20)));
            Assert.Equal(1, second.ExitCode);
            Assert.Contains($"failed to start daemon: another berthd is using data root {_dir.DataRoot} (pid {first.Pid})", second.Output);
        }
        Assert.False(File.Exists(other.Socket));
        Assert.False(File.Exists(other.PidFile));
        Assert.False(Directory.Exists(other.ExecRoot));
        Assert.Equal(0, Run.Command(DockerCli.Path, ["-H", "unix://" + _dir.Socket, "version"]).Code);

        // SIGKILL: no cleanup ran, yet the kernel dropped the flock with the process.
        first.Signal(9);
        Assert.True(first.WaitForExit(TimeSpan.FromSeconds(10)));
        using BerthdProcess third = BerthdProcess.StartIn(_dir);
        Assert.Equal(0, Run.Command(DockerCli.Path, ["-H", "unix://" + _dir.Socket, "version"]).Code);
    }

    [Fact]
    public void TheLock_IsNotInheritedByContainers_ABerthdKilledUnderARunningContainerRestarts()
    {
        BerthdProcess d = BerthdProcess.StartIn(_dir);
        string id = "";
        try
        {
            var run = DockerCli.Run(_dir.Socket, _dir.Path, "run", "-d", "busybox", "sleep", "600");
            Assert.True(run.Code == 0, run.Stderr);
            id = run.Stdout.Trim();
            string lockPath = Path.Combine(_dir.DataRoot, "berthd.lock");
            // No process but berthd holds the lock file open (the fd is O_CLOEXEC): not the monitor, not the container.
            foreach (var proc in Directory.EnumerateDirectories("/proc").Where(p => int.TryParse(Path.GetFileName(p), out _)))
            {
                if (Path.GetFileName(proc) == d.Pid.ToString()) continue;
                string[] fds;
                try { fds = Directory.GetFileSystemEntries(Path.Combine(proc, "fd")); }
                catch (Exception e) when (e is IOException or UnauthorizedAccessException) { continue; }
                foreach (var fd in fds)
                {
                    string? target = null;
                    try { target = new FileInfo(fd).LinkTarget; } catch (IOException) { }
                    Assert.False(target == lockPath, $"{proc} holds {lockPath}");
                }
            }
            d.Signal(9);
            Assert.True(d.WaitForExit(TimeSpan.FromSeconds(10)));
            d.Dispose();
            d = BerthdProcess.StartIn(_dir);
            Assert.Contains(id[..12], DockerCli.Run(_dir.Socket, _dir.Path, "ps", "-q").Stdout);
        }
        finally
        {
            if (id.Length > 0) DockerCli.Run(_dir.Socket, _dir.Path, "rm", "-f", id);
            d.Dispose();
        }
    }

    // ---- modes: nothing of images or containers is reachable by other host users ----

    [Fact]
    public async Task DataRoot_IsTightenedAtStart_AndNobodyReachesNoLayerFile()
    {
        File.SetUnixFileMode(_dir.Path, (UnixFileMode)0x1ed); // the path down to the data root is open to all
        // A data root as an older berthd left it: everything 0755.
        foreach (var d in new[] { "", "overlay", "content", "images", "containers" })
            Directory.CreateDirectory(Path.Combine(_dir.DataRoot, d), (UnixFileMode)0x1ed);
        await using (DaemonHost host = await DaemonHost.StartAsync(_dir.Options()))
        {
            Assert.Equal(P0711, File.GetUnixFileMode(_dir.DataRoot));
            foreach (var d in new[] { "overlay", "content", "images", "containers" })
                Assert.Equal(P0700, File.GetUnixFileMode(Path.Combine(_dir.DataRoot, d)));

            // The built-in busybox layer: root sees it; nobody can neither list, read nor run it.
            var busybox = Directory.GetFiles(Path.Combine(_dir.DataRoot, "overlay"), "busybox", SearchOption.AllDirectories);
            Assert.Single(busybox);
            Assert.Equal("", AsNobody("find", _dir.DataRoot, "-name", "busybox", "-type", "f").Stdout);
            Assert.NotEqual(0, AsNobody("find", Path.Combine(_dir.DataRoot, "overlay")).Code);
            var run = AsNobody(busybox[0], "true");
            Assert.NotEqual(0, run.Code);
            Assert.Contains("Permission denied", run.Stderr);
            Assert.NotEqual(0, AsNobody("cat", Path.Combine(Path.GetDirectoryName(busybox[0])!, "..", "etc", "passwd")).Code);
            // Traversable, not listable: the data root's own files are not enumerable.
            Assert.NotEqual(0, AsNobody("ls", _dir.DataRoot).Code);
        }
    }

    [Fact]
    public void Containers_StillRun_AsRootAndAsNobodyInside_WhileTheHostsNobodyReachesNothingOfThem()
    {
        File.SetUnixFileMode(_dir.Path, (UnixFileMode)0x1ed);
        using BerthdProcess d = BerthdProcess.StartIn(_dir);
        (int Code, string Stdout, string Stderr) Docker(params string[] args) => DockerCli.Run(_dir.Socket, _dir.Path, args);

        var root = Docker("run", "--rm", "busybox", "sh", "-c", "id -u; head -1 /etc/passwd");
        Assert.True(root.Code == 0, root.Stderr);
        Assert.Equal("0\nroot:x:0:0:root:/root:/bin/sh\n", root.Stdout);
        // As uid 65534 inside: the lower layers (under 0700 directories) are looked up with the mounter's
        // credentials, the files themselves checked against the caller's.
        var ls = Docker("run", "--rm", "-u", "65534", "busybox", "ls", "/");
        Assert.True(ls.Code == 0, ls.Stderr);
        Assert.Contains("bin\n", ls.Stdout);
        var nobody = Docker("run", "--rm", "-u", "65534", "busybox", "sh", "-c",
            "id -u; echo hi > /tmp/x && cat /tmp/x; cat /root/x 2>/dev/null || echo denied");
        Assert.True(nobody.Code == 0, nobody.Stderr);
        Assert.Equal("65534\nhi\ndenied\n", nobody.Stdout);

        var run = Docker("run", "-d", "-u", "65534", "busybox", "sh", "-c", "echo mine > /tmp/file; sleep 600");
        Assert.True(run.Code == 0, run.Stderr);
        string id = run.Stdout.Trim();
        try
        {
            string merged = File.ReadAllLines("/proc/self/mountinfo").Select(l => l.Split(' ')[4])
                .Single(m => m.StartsWith(_dir.DataRoot, StringComparison.Ordinal) && m.EndsWith("/merged", StringComparison.Ordinal));
            string upper = Path.Combine(Path.GetDirectoryName(merged)!, "upper");
            WaitFor(() => File.Exists(Path.Combine(upper, "tmp", "file")), "the container to write its file");
            // Root on the host sees the container's files; the host's nobody reaches none of them.
            Assert.Equal("mine\n", File.ReadAllText(Path.Combine(merged, "tmp", "file")));
            Assert.NotEqual(0, AsNobody("cat", Path.Combine(merged, "tmp", "file")).Code);
            Assert.NotEqual(0, AsNobody("cat", Path.Combine(upper, "tmp", "file")).Code);
            Assert.NotEqual(0, AsNobody("ls", merged).Code);
            Assert.NotEqual(0, AsNobody("ls", Path.Combine(_dir.DataRoot, "containers", id)).Code);
        }
        finally
        {
            Assert.Equal(0, Docker("rm", "-f", id).Code);
        }
    }

    // ---- import: streamed into the layer store, nothing staged in /tmp, nothing left when cut off ----

    private static byte[] TarWithFile(string name, int size)
    {
        var ms = new MemoryStream();
        using (var w = new System.Formats.Tar.TarWriter(ms, System.Formats.Tar.TarEntryFormat.Pax, leaveOpen: true))
        {
            var data = new byte[size];
            new Random(7).NextBytes(data);
            w.WriteEntry(new System.Formats.Tar.PaxTarEntry(System.Formats.Tar.TarEntryType.RegularFile, name)
            {
                Mode = (UnixFileMode)0x1a4, DataStream = new MemoryStream(data),
            });
        }
        return ms.ToArray();
    }

    /// <summary>Starts a chunked import and sends <paramref name="part"/> of the tar, leaving the upload open.</summary>
    private static async Task<Socket> StartImport(string socket, byte[] part)
    {
        var sock = new Socket(AddressFamily.Unix, SocketType.Stream, ProtocolType.Unspecified);
        await sock.ConnectAsync(new UnixDomainSocketEndPoint(socket));
        await sock.SendAsync(Encoding.ASCII.GetBytes(
            "POST /v1.41/images/create?fromSrc=-&repo=cut&tag=1 HTTP/1.1\r\nHost: docker\r\n" +
            "Content-Type: application/x-tar\r\nTransfer-Encoding: chunked\r\n\r\n"));
        await sock.SendAsync(Encoding.ASCII.GetBytes($"{part.Length:x}\r\n"));
        await sock.SendAsync(part);
        await sock.SendAsync("\r\n"u8.ToArray());
        return sock;
    }

    private string Ingest => Path.Combine(_dir.DataRoot, "overlay", ".ingest");

    private bool Ingesting() => Directory.Exists(Ingest) && Directory.EnumerateFileSystemEntries(Ingest).Any();

    [Fact]
    public async Task Import_IsStreamed_NoStagingFile_AndACutOffOrCrashedUploadLeavesNothing()
    {
        // berthd's TMPDIR is a private directory: whatever it would stage through Path.GetTempFileName shows there.
        string tmp = Path.Combine(_dir.Path, "tmp");
        Directory.CreateDirectory(tmp);
        var env = new Dictionary<string, string> { ["TMPDIR"] = tmp };
        byte[] tar = TarWithFile("big.bin", 8 << 20);

        using (BerthdProcess d = BerthdProcess.StartIn(_dir, env))
        {
            // A complete import through the docker CLI.
            string file = Path.Combine(_dir.Path, "ok.tar");
            File.WriteAllBytes(file, tar);
            var r = DockerCli.Run(_dir.Socket, _dir.Path, "import", file, "whole:1");
            Assert.True(r.Code == 0, r.Stderr);
            Assert.Empty(Directory.EnumerateFileSystemEntries(tmp));
            Assert.False(Ingesting(), "an ingest directory was left by a complete import");

            // Cut off by the client half-way: the partial layer is removed at once.
            using (Socket s = await StartImport(_dir.Socket, tar[..(3 << 20)]))
            {
                WaitFor(Ingesting, "the import to start unpacking");
                Assert.Empty(Directory.EnumerateFileSystemEntries(tmp));
                s.Close();
            }
            WaitFor(() => !Ingesting(), "the cut-off import's ingest directory to be removed");

            // Half-way when berthd is killed: the partial layer stays until the next start, which removes it.
            Socket again = await StartImport(_dir.Socket, tar[..(3 << 20)]);
            WaitFor(Ingesting, "the second import to start unpacking");
            d.Signal(9);
            Assert.True(d.WaitForExit(TimeSpan.FromSeconds(10)));
            again.Dispose();
            Assert.True(Ingesting());
        }
        using (BerthdProcess d = BerthdProcess.StartIn(_dir, env))
        {
            Assert.False(Ingesting(), "a crashed import's ingest directory survived the restart");
            Assert.Empty(Directory.EnumerateFileSystemEntries(tmp));
            var images = DockerCli.Run(_dir.Socket, _dir.Path, "images", "--format", "{{.Repository}}:{{.Tag}}").Stdout;
            Assert.Contains("whole:1", images);
            Assert.DoesNotContain("cut:1", images);
        }
    }
}
