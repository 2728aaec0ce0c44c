namespace Berth.Daemon.Tests;

/// <summary>
/// End to end with the real docker CLI: --pid, --ipc, --uts, --userns, --cgroupns, --cgroup-parent, --group-add,
/// --security-opt (seccomp profile file, apparmor, label, systempaths), HostConfig.MaskedPaths/ReadonlyPaths,
/// each checked from inside the container (/proc/self/ns, /proc/self/cgroup, id -G, /proc/mounts) against the host.
/// </summary>
public sealed class IsolationFlagsTests(DaemonFixture fx) : IClassFixture<DaemonFixture>
{
    private static readonly bool V2 = File.Exists("/sys/fs/cgroup/cgroup.controllers");

    private (int Code, string Stdout, string Stderr) Docker(params string[] args) => DockerCli.Run(fx.Dir.Socket, fx.Dir.Path, args);

    private string Ok(params string[] args)
    {
        var (code, stdout, stderr) = Docker(args);
        Assert.True(code == 0, $"docker {string.Join(' ', args)} exited {code}: {stdout}{stderr}\n{fx.LogTail}");
        return stdout;
    }

    private string Fails(params string[] args)
    {
        var (code, stdout, stderr) = Docker(args);
        Assert.True(code != 0, $"docker {string.Join(' ', args)} succeeded: {stdout}");
        return stderr;
    }

    private static string HostNs(string type) => new FileInfo("/proc/self/ns/" + type).LinkTarget!;

    private string IdOf(string name) => Ok("inspect", "-f", "{{.Id}}", name).Trim();

    [Fact]
    public void PidHost_AndPidContainer()
    {
        Assert.Equal(HostNs("pid"), Ok("run", "--rm", "--pid=host", "busybox", "readlink", "/proc/self/ns/pid").Trim());
        Assert.NotEqual(HostNs("pid"), Ok("run", "--rm", "busybox", "readlink", "/proc/self/ns/pid").Trim());
        Ok("run", "--name", "pidhost", "--pid", "host", "busybox", "true");
        Assert.Equal("host\n", Ok("inspect", "-f", "{{.HostConfig.PidMode}}", "pidhost"));
        Ok("rm", "pidhost");

        Ok("run", "-d", "--name", "piddonor", "busybox", "sleep", "300");
        try
        {
            var donorNs = Ok("exec", "piddonor", "readlink", "/proc/self/ns/pid").Trim();
            var inside = Ok("run", "--rm", "--pid=container:piddonor", "busybox", "sh", "-c", "readlink /proc/self/ns/pid; ps -o args");
            Assert.StartsWith(donorNs + "\n", inside);
            Assert.Contains("sleep 300", inside); // the donor's process, seen from the joined namespace
            var id = IdOf("piddonor");
            Ok("create", "--name", "pidjoiner", "--pid", "container:piddonor", "busybox", "true");
            Assert.Equal("container:piddonor\n", Ok("inspect", "-f", "{{.HostConfig.PidMode}}", "pidjoiner"));
            Ok("rm", "-f", "piddonor");
            Ok("run", "-d", "--name", "piddonor", "busybox", "true");
            Ok("wait", "piddonor");
            var err = Fails("start", "pidjoiner");
            Assert.Contains($"Container {IdOf("piddonor")} is not running", err);
            Assert.NotEqual(id, IdOf("piddonor"));
            Assert.Contains("cannot join PID of a non running container: nosuch", Fails("run", "--rm", "--pid", "container:nosuch", "busybox", "true"));
            Assert.Contains("--pid: invalid PID mode", Fails("run", "--rm", "--pid", "bogus", "busybox", "true"));
        }
        finally
        {
            Docker("rm", "-f", "piddonor", "pidjoiner");
        }
    }

    [Fact]
    public void UtsHost_HasTheHostsName_AndRefusesAHostname()
    {
        var inside = Ok("run", "--rm", "--uts=host", "busybox", "sh", "-c", "readlink /proc/self/ns/uts; hostname").Split('\n');
        Assert.Equal(HostNs("uts"), inside[0]);
        Assert.Equal(File.ReadAllText("/proc/sys/kernel/hostname").Trim(), inside[1]);
        Assert.Contains("Conflicting options: hostname and the UTS mode", Fails("run", "--rm", "--uts=host", "-h", "foo", "busybox", "true"));
        Assert.Contains("--uts: invalid UTS mode", Fails("run", "--rm", "--uts=private", "busybox", "true"));
    }

    [Fact]
    public void IpcHost_Shareable_Container_None()
    {
        Assert.Equal(HostNs("ipc"), Ok("run", "--rm", "--ipc=host", "busybox", "readlink", "/proc/self/ns/ipc").Trim());
        Assert.NotEqual(HostNs("ipc"), Ok("run", "--rm", "busybox", "readlink", "/proc/self/ns/ipc").Trim());
        Assert.DoesNotContain(" /dev/shm ", Ok("run", "--rm", "--ipc=none", "busybox", "cat", "/proc/mounts"));

        Ok("run", "-d", "--name", "ipcdonor", "--ipc", "shareable", "--shm-size", "8m", "busybox", "sleep", "300");
        Ok("run", "-d", "--name", "ipcprivate", "busybox", "sleep", "300");
        try
        {
            var id = IdOf("ipcdonor");
            var shm = Path.Combine(fx.Dir.DataRoot, "containers", id, "mounts", "shm");
            Assert.Contains(File.ReadAllLines("/proc/self/mountinfo"), l => l.Split(' ')[4] == shm);
            Ok("exec", "ipcdonor", "sh", "-c", "echo shared > /dev/shm/marker");
            var donorNs = Ok("exec", "ipcdonor", "readlink", "/proc/self/ns/ipc").Trim();
            var inside = Ok("run", "--rm", "--ipc=container:ipcdonor", "busybox", "sh", "-c", "readlink /proc/self/ns/ipc; cat /dev/shm/marker; df -k /dev/shm | tail -1");
            var lines = inside.Split('\n');
            Assert.Equal(donorNs, lines[0]);
            Assert.Equal("shared", lines[1]);
            Assert.Contains(" 8192 ", lines[2]); // the donor's 8 MB tmpfs
            Assert.Contains("non-shareable IPC (hint: use IpcMode:shareable for the donor container)",
                Fails("run", "--rm", "--ipc=container:ipcprivate", "busybox", "true"));
            Assert.Equal("shareable private\n", Ok("inspect", "-f", "{{.HostConfig.IpcMode}} {{.HostConfig.UTSMode}}private", "ipcdonor"));
            Ok("stop", "-t", "0", "ipcdonor");
            Assert.DoesNotContain(File.ReadAllLines("/proc/self/mountinfo"), l => l.Split(' ')[4] == shm);
            Assert.Contains($"can't join IPC of container ipcdonor: Container {id} is not running",
                Fails("run", "--rm", "--ipc=container:ipcdonor", "busybox", "true"));
        }
        finally
        {
            Docker("rm", "-f", "ipcdonor", "ipcprivate");
        }
        Assert.DoesNotContain(File.ReadAllLines("/proc/self/mountinfo"), l => l.Contains("/mounts/shm", StringComparison.Ordinal) && l.Contains(fx.Dir.Path, StringComparison.Ordinal));
    }

    [Fact]
    public void UsernsHost_IsTheOnlyMode()
    {
        Assert.Equal(HostNs("user"), Ok("run", "--rm", "--userns=host", "busybox", "readlink", "/proc/self/ns/user").Trim());
        Assert.Contains("--userns: invalid USER mode", Fails("run", "--rm", "--userns=foo", "busybox", "true"));
    }

    [Fact]
    public void Cgroupns_HostAndPrivate()
    {
        var priv = Ok("run", "--rm", "--cgroupns=private", "busybox", "sh", "-c", "readlink /proc/self/ns/cgroup; cat /proc/self/cgroup").Split('\n', StringSplitOptions.RemoveEmptyEntries);
        Assert.NotEqual(HostNs("cgroup"), priv[0]);
        Assert.All(priv.Skip(1), l => Assert.EndsWith(":/", l)); // rooted at the container's cgroup
        var id = Ok("run", "-d", "--cgroupns=host", "busybox", "sleep", "300").Trim();
        try
        {
            var host = Ok("exec", id, "sh", "-c", "readlink /proc/self/ns/cgroup; cat /proc/self/cgroup").Split('\n', StringSplitOptions.RemoveEmptyEntries);
            Assert.Equal(HostNs("cgroup"), host[0]);
            Assert.Contains(host.Skip(1), l => l.EndsWith("/berth/" + id, StringComparison.Ordinal));
            Assert.Equal("host\n", Ok("inspect", "-f", "{{.HostConfig.CgroupnsMode}}", id));
        }
        finally
        {
            Docker("rm", "-f", id);
        }
        // The daemon's default: host on cgroup v1, private on v2.
        Assert.Equal(V2 ? "private\n" : "host\n", Ok("inspect", "-f", "{{.HostConfig.CgroupnsMode}}", Ok("create", "busybox").Trim()));
        Assert.Contains("--cgroupns: invalid CGROUP mode", Fails("run", "--rm", "--cgroupns=bogus", "busybox", "true"));
    }

    /// <summary>This process's cgroup in a hierarchy (v1 controller name, or "" for v2).</summary>
    private static string OwnCgroup(string controller) =>
        File.ReadAllLines("/proc/self/cgroup").Select(l => l.Split(':', 3))
            .First(p => controller.Length == 0 ? p[1] == "" : p[1].Split(',').Contains(controller))[2];

    private static string HostDir(string controller, string cgroup) =>
        V2 ? "/sys/fs/cgroup" + cgroup : $"/sys/fs/cgroup/{controller}{cgroup}";

    [Fact]
    public void CgroupParent_AbsoluteAndRelative()
    {
        var tag = Guid.NewGuid().ToString("N")[..8];
        string absolute = "/nsflags-abs-" + tag, relative = "nsflags-rel-" + tag;
        var controller = V2 ? "" : "pids";
        var parents = new List<string>();
        try
        {
            foreach (var parent in new[] { absolute, relative })
            {
                var id = Ok("run", "-d", "--cgroup-parent", parent, "--cgroupns", "host", "--pids-limit", "33", "busybox", "sleep", "300").Trim();
                var expected = parent.StartsWith('/') ? parent + "/" + id : (OwnCgroup(controller).TrimEnd('/') + "/" + parent + "/" + id);
                var dir = HostDir(V2 ? "" : "pids", expected);
                parents.Add(Path.GetDirectoryName(dir)!);
                var inside = Ok("exec", id, "cat", "/proc/self/cgroup");
                Assert.Contains(inside.Split('\n'), l => l.EndsWith(":" + expected, StringComparison.Ordinal)
                    && (V2 || l.Split(':')[1].Split(',').Contains("pids")));
                Assert.Equal("33", File.ReadAllText(Path.Combine(dir, "pids.max")).Trim()); // the limit is on the cgroup under the parent
                Assert.Equal(parent + "\n", Ok("inspect", "-f", "{{.HostConfig.CgroupParent}}", id));
                Ok("rm", "-f", id);
                Assert.False(Directory.Exists(dir), "container cgroup left");
                Assert.True(Directory.Exists(Path.GetDirectoryName(dir)), "the parent is kept, as Docker does");
            }
        }
        finally
        {
            // The parents are the test's: removed in every hierarchy.
            foreach (var root in V2 ? ["/sys/fs/cgroup"] : Directory.GetDirectories("/sys/fs/cgroup"))
                foreach (var dir in Directory.EnumerateDirectories(root, "nsflags-*-" + tag, SearchOption.AllDirectories).ToList())
                    try { Directory.Delete(dir); } catch (IOException) { }
        }
    }

    [Fact]
    public void CgroupParent_ColonsAndDotDotAsDockerdsCgroupfsDriver()
    {
        // dockerd 20.10 (cgroupfs): "a:b:c" is a directory name; "../x" cannot climb above the daemon's own cgroup.
        var tag = Guid.NewGuid().ToString("N")[..8];
        var controller = V2 ? "" : "pids";
        try
        {
            foreach (var (parent, dirName) in new[] { ("nsflags-c:o:l-" + tag, "nsflags-c:o:l-" + tag), ("../nsflags-up-" + tag, "nsflags-up-" + tag) })
            {
                var id = Ok("run", "-d", "--cgroup-parent", parent, "--cgroupns", "host", "--pids-limit", "34", "busybox", "sleep", "300").Trim();
                var expected = OwnCgroup(controller).TrimEnd('/') + "/" + dirName + "/" + id;
                Assert.Contains(Ok("exec", id, "cat", "/proc/self/cgroup").Split('\n'), l => l.EndsWith(":" + expected, StringComparison.Ordinal));
                Assert.Equal("34", File.ReadAllText(Path.Combine(HostDir(V2 ? "" : "pids", expected), "pids.max")).Trim());
                Assert.Equal(parent + "\n", Ok("inspect", "-f", "{{.HostConfig.CgroupParent}}", id));
                Ok("rm", "-f", id);
            }
        }
        finally
        {
            foreach (var root in V2 ? ["/sys/fs/cgroup"] : Directory.GetDirectories("/sys/fs/cgroup"))
                foreach (var dir in Directory.EnumerateDirectories(root, "nsflags-*-" + tag, SearchOption.AllDirectories).ToList())
                    try { Directory.Delete(dir); } catch (IOException) { }
        }
    }

    [Fact]
    public void GroupAdd_NumbersAndNames()
    {
        // busybox's /etc/group: root (0) and nobody (65534).
        var groups = Ok("run", "--rm", "--group-add", "1234", "--group-add", "nobody", "busybox", "id", "-G").Trim().Split(' ');
        Assert.Contains("1234", groups);
        Assert.Contains("65534", groups);
        var id = Ok("run", "-d", "--group-add", "4321", "busybox", "sleep", "300").Trim();
        try
        {
            Assert.Contains("4321", Ok("exec", "-u", "nobody", id, "id", "-G").Split(' ', '\n'));
            Assert.Equal("[4321]\n", Ok("inspect", "-f", "{{.HostConfig.GroupAdd}}", id));
        }
        finally
        {
            Docker("rm", "-f", id);
        }
        Assert.Contains("Unable to find group nosuchgroup", Fails("run", "--rm", "--group-add", "nosuchgroup", "busybox", "true"));
    }

    [Fact]
    public void SeccompProfileFile_DeniesMkdir()
    {
        var profile = Path.Combine(fx.Dir.Path, "deny-mkdir.json");
        File.WriteAllText(profile, """
            {
              "defaultAction": "SCMP_ACT_ALLOW",
              "syscalls": [ { "names": ["mkdir", "mkdirat"], "action": "SCMP_ACT_ERRNO", "errnoRet": 1 } ]
            }
            """);
        var (code, stdout, stderr) = Docker("run", "--rm", "--security-opt", "seccomp=" + profile, "busybox", "sh", "-c",
            "grep ^Seccomp: /proc/self/status; mkdir /tmp/x");
        Assert.Equal(1, code);
        Assert.Contains("Seccomp:\t2", stdout);
        Assert.Contains("Operation not permitted", stderr);
        Assert.Equal("", Ok("run", "--rm", "busybox", "mkdir", "/tmp/x")); // the default profile allows it
        var bad = Path.Combine(fx.Dir.Path, "bad-profile.json");
        File.WriteAllText(bad, """{"defaultAction": 3}""");
        Assert.Contains("seccomp profile: invalid JSON", Fails("run", "--rm", "--security-opt", "seccomp=" + bad, "busybox", "true"));
    }

    [Fact]
    public void AppArmorAndLabels_UnconfinedOnly()
    {
        Assert.Equal("ok\n", Ok("run", "--rm", "--security-opt", "apparmor=unconfined", "--security-opt", "label=disable", "busybox", "echo", "ok"));
        Assert.Contains("AppArmor is not enabled on this host", Fails("run", "--rm", "--security-opt", "apparmor=docker-default", "busybox", "true"));
        Assert.Contains("SELinux is not enabled on this host", Fails("run", "--rm", "--security-opt", "label=type:svirt_t", "busybox", "true"));
        Assert.Contains("invalid --security-opt 2: \"bogus=1\"", Fails("run", "--rm", "--security-opt", "bogus=1", "busybox", "true"));
    }

    [Fact]
    public void MaskedAndReadonlyPaths_FromTheApi_AndSystempathsUnconfined()
    {
        // Docker's defaults: /proc/keys masked (a /dev/null bind), /proc/sys read-only.
        Assert.Contains(" /proc/keys ", Ok("run", "--rm", "busybox", "cat", "/proc/mounts"));
        var mounts = Ok("run", "--rm", "--security-opt", "systempaths=unconfined", "busybox", "cat", "/proc/mounts");
        Assert.DoesNotContain(" /proc/keys ", mounts);
        Assert.DoesNotContain(" /proc/sys ", mounts);

        var body = """{"Image":"busybox","Cmd":["sh","-c","cat /proc/cpuinfo | wc -c; touch /etc/x"],"HostConfig":{"MaskedPaths":["/proc/cpuinfo"],"ReadonlyPaths":["/etc"]}}""";
        var (code, stdout, stderr) = Run.Command("curl", ["-sS", "--unix-socket", fx.Dir.Socket, "-H", "Content-Type: application/json",
            "-d", body, "http://localhost/v1.41/containers/create?name=pathsapi"]);
        Assert.True(code == 0 && stdout.Contains("\"Id\""), stdout + stderr);
        try
        {
            Assert.Equal("[/proc/cpuinfo] [/etc]\n", Ok("inspect", "-f", "{{.HostConfig.MaskedPaths}} {{.HostConfig.ReadonlyPaths}}", "pathsapi"));
            var (rc, output, errors) = Docker("start", "-a", "pathsapi");
            Assert.Equal(1, rc);
            Assert.Equal("0", output.Trim());
            Assert.Contains("Read-only file system", errors);
        }
        finally
        {
            Docker("rm", "-f", "pathsapi");
        }
    }

    [Fact]
    public void BerthCli_SendsTheSameFlags()
    {
        string? dir = AppContext.BaseDirectory;
        while (dir is not null && !File.Exists(Path.Combine(dir, "Berth.slnx"))) dir = Path.GetDirectoryName(dir);
        var berth = Path.Combine(dir ?? "/", "out", "bin", "berth");
        var (code, stdout, stderr) = Run.Command(berth, ["-H", "unix://" + fx.Dir.Socket, "run", "--rm", "--pid", "host", "--uts", "host", "--ipc", "host",
            "--userns", "host", "--cgroupns", "private", "--group-add", "1234", "--security-opt", "systempaths=unconfined", "busybox", "sh", "-c",
            "readlink /proc/self/ns/pid; readlink /proc/self/ns/uts; readlink /proc/self/ns/ipc; id -G; grep -c /proc/keys /proc/mounts; cat /proc/self/cgroup"]);
        Assert.True(code == 0, stdout + stderr);
        var lines = stdout.Split('\n', StringSplitOptions.RemoveEmptyEntries);
        Assert.Equal([HostNs("pid"), HostNs("uts"), HostNs("ipc"), "0 1234", "0"], lines[..5]);
        Assert.All(lines[5..], l => Assert.EndsWith(":/", l));
        (code, _, stderr) = Run.Command(berth, ["-H", "unix://" + fx.Dir.Socket, "run", "--rm", "--pid", "bogus", "busybox", "true"]);
        Assert.Equal(125, code);
        Assert.Contains("--pid: invalid PID mode", stderr);
    }
}
