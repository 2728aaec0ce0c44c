namespace Berth.Daemon.Tests;

/// <summary>
/// The seed notes' persistence scenario, end to end through the real docker CLI: a real database file (Debian's
/// sqlite3, with its libraries, in a test image made by scripts/make-sqlite-rootfs.sh) written by one container on
/// a named volume and on a bind mount is read back by a new container after the first is removed; data on a tmpfs
/// mount is gone after a stop; data in the container's own layer goes with the container.
/// </summary>
public sealed class StoragePersistenceTests : IDisposable
{
    private const string DockerCli = "/usr/local/bin/docker";
    private readonly TempDir _dir = new();

    public void Dispose() => _dir.Dispose();

    private (int Code, string Stdout, string Stderr) Docker(params string[] args)
    {
        var env = new Dictionary<string, string?>
        {
            ["DOCKER_CONFIG"] = Path.Combine(_dir.Path, "docker-config"),
            ["DOCKER_HOST"] = null,
            ["DOCKER_CONTEXT"] = null,
        };
        return Run.Command(DockerCli, ["-H", "unix://" + _dir.Socket, .. args], env);
    }

    private string Ok(params string[] args)
    {
        var (code, stdout, stderr) = Docker(args);
        Assert.True(code == 0, $"docker {string.Join(' ', args)} exited {code}: {stdout}{stderr}");
        return stdout.Trim();
    }

    /// <summary>Imports the sqlite3 test image as "sqlite:test".</summary>
    private void ImportSqliteImage()
    {
        string? root = AppContext.BaseDirectory;
        while (root is not null && !File.Exists(Path.Combine(root, "Berth.slnx"))) root = Path.GetDirectoryName(root);
        Assert.NotNull(root);
        var rootfs = Path.Combine(_dir.Path, "sqlite-rootfs");
        var (code, _, err) = Run.Command(Path.Combine(root!, "scripts", "make-sqlite-rootfs.sh"), [rootfs]);
        Assert.True(code == 0, err);
        var tar = Path.Combine(_dir.Path, "sqlite.tar");
        (code, _, err) = Run.Command("/bin/tar", ["-C", rootfs, "-cf", tar, "."]);
        Assert.True(code == 0, err);
        Ok("import", "--change", "CMD [\"sh\"]", tar, "sqlite:test");
    }

    private const string Write = "sqlite3 /data/shop.db 'create table if not exists orders(id integer primary key, item text); insert into orders(item) values (\"apple\"), (\"pear\");'";
    private const string Read = "sqlite3 /data/shop.db 'select id, item from orders order by id;'";

    [Fact]
    public void DatabaseOnNamedVolume_OutlivesItsContainer()
    {
        using var d = BerthdProcess.StartIn(_dir);
        ImportSqliteImage();
        Ok("run", "--name", "writer", "-v", "shopdata:/data", "sqlite:test", "sh", "-c", Write);
        Ok("rm", "writer");
        Assert.Equal("1|apple\n2|pear", Ok("run", "--rm", "-v", "shopdata:/data", "sqlite:test", "sh", "-c", Read));
        // The file is where inspect says the volume lives, and the volume outlived both containers.
        var mountpoint = Ok("volume", "inspect", "-f", "{{.Mountpoint}}", "shopdata");
        Assert.Equal(Path.Combine(_dir.DataRoot, "volumes", "shopdata", "_data"), mountpoint);
        Assert.True(File.Exists(Path.Combine(mountpoint, "shop.db")));
        Ok("volume", "rm", "shopdata");
        Assert.False(Directory.Exists(Path.Combine(_dir.DataRoot, "volumes", "shopdata")));
    }

    [Fact]
    public void DatabaseOnBindMount_OutlivesItsContainer()
    {
        using var d = BerthdProcess.StartIn(_dir);
        ImportSqliteImage();
        var host = Path.Combine(_dir.Path, "host-data");
        Directory.CreateDirectory(host);
        Ok("run", "--rm", "-v", host + ":/data", "sqlite:test", "sh", "-c", Write);
        Assert.True(File.Exists(Path.Combine(host, "shop.db")));
        Assert.Equal("1|apple\n2|pear", Ok("run", "--rm", "-v", host + ":/data:ro", "sqlite:test", "sh", "-c", Read));
    }

    [Fact]
    public void TmpfsData_IsGoneAfterAStop_LayerDataGoesWithTheContainer()
    {
        using var d = BerthdProcess.StartIn(_dir);
        ImportSqliteImage();
        // tmpfs: written, then the container stops; on the next start the mount is new and empty.
        Ok("create", "--name", "tmpfs-db", "--tmpfs", "/data", "sqlite:test", "sh", "-c",
            "if [ -f /data/shop.db ]; then echo kept; else " + Write + " && echo written; fi");
        Assert.Equal("written", Ok("start", "-a", "tmpfs-db"));
        Assert.Equal("written", Ok("start", "-a", "tmpfs-db"));
        Ok("rm", "tmpfs-db");
        // The container's own layer keeps data across a restart, but not past rm.
        Ok("create", "--name", "layer-db", "sqlite:test", "sh", "-c",
            "mkdir -p /data; if [ -f /data/shop.db ]; then echo kept; else " + Write + " && echo written; fi");
        Assert.Equal("written", Ok("start", "-a", "layer-db"));
        Assert.Equal("kept", Ok("start", "-a", "layer-db"));
        Ok("rm", "layer-db");
        Ok("create", "--name", "layer-db", "sqlite:test", "sh", "-c", "test -f /data/shop.db && echo kept || echo gone");
        Assert.Equal("gone", Ok("start", "-a", "layer-db"));
    }
}
