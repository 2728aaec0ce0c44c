using System.Diagnostics;
using System.Text.Json;
using Berth.Core;
using Berth.Engine.Specs;
using Berth.Runtime.Linux;
using Berth.Runtime.Spec;

namespace Berth.Engine.Tests;

public sealed class DockerSpecTests : IDisposable
{
    private readonly string _rootfs = Directory.CreateTempSubdirectory("berth-spec-").FullName;

    public DockerSpecTests()
    {
        Directory.CreateDirectory(Path.Combine(_rootfs, "etc"));
        File.WriteAllText(Path.Combine(_rootfs, "etc", "passwd"),
            "root:x:0:0:root:/root:/bin/sh\nberth:x:1000:1000::/home/berth:/bin/sh\nnobody:x:65534:65534::/:/bin/false\n");
        File.WriteAllText(Path.Combine(_rootfs, "etc", "group"),
            "root:x:0:\nusers:x:100:berth\nberth:x:1000:\naudio:x:29:berth,root\n");
    }

    public void Dispose() => Directory.Delete(_rootfs, recursive: true);

    private ContainerSpecInput Input(Func<ContainerSpecInput, ContainerSpecInput>? edit = null)
    {
        var c = new ContainerSpecInput { Id = new string('a', 64), RootfsPath = _rootfs, Cmd = ["echo", "hi"] };
        return edit is null ? c : edit(c);
    }

    private static readonly ImageDefaults Busybox = new() { Cmd = ["sh"], Env = [DockerSpec.DefaultPath] };

    [Fact]
    public void DefaultCapabilitiesAreDockers()
    {
        var spec = DockerSpec.Build(Input(), Busybox, cgroupV2: false);
        Assert.Equal(0xa80425fbUL, Capabilities.Mask(spec.Process!.Capabilities!.Effective, new List<string>()));
        Assert.Equal(spec.Process.Capabilities.Effective, spec.Process.Capabilities.Bounding);
        Assert.Null(spec.Process.Capabilities.Inheritable);
    }

    [Fact]
    public void CapAddAndDrop()
    {
        var spec = DockerSpec.Build(Input(), Busybox, false);
        var c = new ContainerSpecInput { Id = "b", RootfsPath = _rootfs, Cmd = ["x"], CapAdd = ["NET_ADMIN"], CapDrop = ["chown", "CAP_KILL"] };
        var caps = DockerSpec.Build(c, Busybox, false).Process!.Capabilities!.Effective!;
        Assert.Contains("CAP_NET_ADMIN", caps);
        Assert.DoesNotContain("CAP_CHOWN", caps);
        Assert.DoesNotContain("CAP_KILL", caps);
        Assert.NotNull(spec);
        var bad = new ContainerSpecInput { Id = "b", RootfsPath = _rootfs, Cmd = ["x"], CapAdd = ["NOT_A_CAP"] };
        Assert.Equal(ErrorKind.InvalidParameter, Assert.Throws<BerthException>(() => DockerSpec.Build(bad, Busybox, false)).Kind);
    }

    [Fact]
    public void CommandFollowsDockersEntrypointRules()
    {
        var image = new ImageDefaults { Entrypoint = ["/entry"], Cmd = ["default"] };
        Assert.Equal(["/entry", "default"], Args(new ContainerSpecInput { Id = "x", RootfsPath = _rootfs }, image));
        Assert.Equal(["/entry", "mine"], Args(new ContainerSpecInput { Id = "x", RootfsPath = _rootfs, Cmd = ["mine"] }, image));
        // --entrypoint drops the image's Cmd
        Assert.Equal(["/other"], Args(new ContainerSpecInput { Id = "x", RootfsPath = _rootfs, Entrypoint = ["/other"] }, image));
        var e = Assert.Throws<BerthException>(() => Args(new ContainerSpecInput { Id = "x", RootfsPath = _rootfs }, new ImageDefaults()));
        Assert.Equal("no command specified", e.Message);
    }

    private static List<string> Args(ContainerSpecInput c, ImageDefaults i) => DockerSpec.Build(c, i, false).Process!.Args!;

    [Fact]
    public void EnvironmentHasPathHostnameTermAndOverrides()
    {
        var c = new ContainerSpecInput
        {
            Id = "0123456789abcdef", RootfsPath = _rootfs, Cmd = ["x"], Tty = true, Env = ["A=1", "PATH=/bin", "A=2"],
        };
        var env = DockerSpec.Build(c, new ImageDefaults { Env = ["A=0", "B=img"] }, false).Process!.Env!;
        Assert.Equal(["HOSTNAME=0123456789ab", "TERM=xterm", "B=img", "PATH=/bin", "A=2"], env);
    }

    [Fact]
    public void HostnameIsTheShortId()
    {
        var spec = DockerSpec.Build(Input(), Busybox, false);
        Assert.Equal("aaaaaaaaaaaa", spec.Hostname);
        Assert.Equal("/berth/" + new string('a', 64), spec.Linux!.CgroupsPath);
    }

    [Fact]
    public void MountsMaskedAndReadonlyPathsAreDockers()
    {
        var spec = DockerSpec.Build(Input(), Busybox, false);
        Assert.Equal(["/proc", "/dev", "/dev/pts", "/sys", "/sys/fs/cgroup", "/dev/mqueue", "/dev/shm"],
            spec.Mounts!.Select(m => m.Destination));
        Assert.Contains("size=67108864", spec.Mounts!.Single(m => m.Destination == "/dev/shm").Options!);
        Assert.Contains("/proc/kcore", spec.Linux!.MaskedPaths!);
        Assert.Contains("/proc/sys", spec.Linux.ReadonlyPaths!);
        Assert.Equal(["mount", "network", "uts", "pid", "ipc"], spec.Linux.Namespaces!.Select(n => n.Type));
        Assert.Equal(["mount", "network", "uts", "pid", "ipc", "cgroup"],
            DockerSpec.Build(Input(), Busybox, cgroupV2: true).Linux!.Namespaces!.Select(n => n.Type));
    }

    [Fact]
    public void PrivilegedHasTheHostsBoundingSetNoMasksNoSeccomp()
    {
        var c = new ContainerSpecInput { Id = "p", RootfsPath = _rootfs, Cmd = ["x"], Privileged = true };
        var spec = DockerSpec.Build(c, Busybox, false);
        // Every capability the host's bounding set has (a host without CAP_SYS_RESOURCE cannot give it).
        var bounding = Convert.ToUInt64(File.ReadLines("/proc/self/status").First(l => l.StartsWith("CapBnd:", StringComparison.Ordinal))[7..].Trim(), 16);
        Assert.Equal(Capabilities.AllMask & bounding, Capabilities.Mask(spec.Process!.Capabilities!.Effective, new List<string>()));
        Assert.Equal(Capabilities.AllMask & ~bounding, Capabilities.Mask(DockerSpec.CapabilitiesMissingFromHost(), new List<string>()));
        Assert.Empty(spec.Linux!.MaskedPaths!);
        Assert.Null(spec.Linux.Seccomp);
    }

    [Fact]
    public void DefaultSeccompProfileIsApplied()
    {
        var seccomp = DockerSpec.Build(Input(), Busybox, false).Linux!.Seccomp!;
        Assert.Equal("SCMP_ACT_ERRNO", seccomp.DefaultAction);
        Assert.Contains(seccomp.Syscalls!, s => s.Names.Contains("read") && s.Action == "SCMP_ACT_ALLOW");
        Assert.DoesNotContain(seccomp.Syscalls!, s => s.Names.Contains("mount") && s.Action == "SCMP_ACT_ALLOW");
        var unconfined = new ContainerSpecInput { Id = "u", RootfsPath = _rootfs, Cmd = ["x"], SeccompUnconfined = true };
        Assert.Null(DockerSpec.Build(unconfined, Busybox, false).Linux!.Seccomp);
    }

    [Fact]
    public void ResourcesFollowDockerFlags()
    {
        var c = new ContainerSpecInput
        {
            Id = "r", RootfsPath = _rootfs, Cmd = ["x"], Memory = 64L << 20, NanoCpus = 1_500_000_000, PidsLimit = 100,
        };
        var r = DockerSpec.Build(c, Busybox, false).Linux!.Resources!;
        Assert.Equal(64L << 20, r.Memory!.Limit);
        Assert.Equal(128L << 20, r.Memory.Swap); // Docker: swap defaults to twice the memory limit
        Assert.Equal(150_000, r.Cpu!.Quota);
        Assert.Equal(100_000UL, r.Cpu.Period);
        Assert.Equal(100, r.Pids!.Limit);
        Assert.False(r.Devices![0].Allow);
    }

    [Fact]
    public void TooLittleMemoryIsRejectedWithDockersMessage()
    {
        var c = new ContainerSpecInput { Id = "r", RootfsPath = _rootfs, Cmd = ["x"], Memory = 1024 };
        Assert.Equal("Minimum memory limit allowed is 6MB", Assert.Throws<BerthException>(() => DockerSpec.Build(c, Busybox, false)).Message);
    }

    [Fact]
    public void UsersResolveAgainstTheImage()
    {
        var u = UserSpec.Resolve("berth", _rootfs);
        Assert.Equal((1000u, 1000u), (u.Uid, u.Gid));
        Assert.Equal([29u, 100u], u.AdditionalGids!);
        Assert.Equal((1000u, 100u), (UserSpec.Resolve("1000:users", _rootfs).Uid, UserSpec.Resolve("1000:users", _rootfs).Gid));
        Assert.Equal((4242u, 7u), (UserSpec.Resolve("4242:7", _rootfs).Uid, UserSpec.Resolve("4242:7", _rootfs).Gid));
        Assert.Equal("unable to find user ghost: no matching entries in passwd file",
            Assert.Throws<BerthException>(() => UserSpec.Resolve("ghost", _rootfs)).Message);
    }

    /// <summary>The generated spec runs under berth-runtime with Docker's identity: CapEff 00000000a80425fb.</summary>
    [Fact]
    public void GeneratedSpecRunsWithDockersCapabilities()
    {
        Assert.True(Interop.Libc.geteuid() == 0, "this test needs root");
        var repo = AppContext.BaseDirectory;
        while (!File.Exists(Path.Combine(repo, "Berth.slnx"))) repo = Path.GetDirectoryName(repo)!;
        var runtime = Path.Combine(repo, "out", "bin", "berth-runtime");
        Assert.True(File.Exists(runtime), $"build berth-runtime first ({runtime})");
        var bundle = Directory.CreateTempSubdirectory("berth-spec-run-").FullName;
        try
        {
            Run(Path.Combine(repo, "scripts", "make-busybox-rootfs.sh"), Path.Combine(bundle, "rootfs"));
            var c = new ContainerSpecInput
            {
                Id = Guid.NewGuid().ToString("N") + Guid.NewGuid().ToString("N"), RootfsPath = Path.Combine(bundle, "rootfs"),
                Cmd = ["sh", "-c", "grep CapEff /proc/self/status; grep Seccomp: /proc/self/status; hostname"],
            };
            var spec = DockerSpec.Build(c, Busybox, cgroupV2: !Directory.Exists("/sys/fs/cgroup/memory"));
            File.WriteAllText(Path.Combine(bundle, "config.json"), JsonSerializer.Serialize(spec, SpecJsonContext.Default.Spec));
            var output = Run(runtime, "--root", Path.Combine(bundle, "state"), "run", "--bundle", bundle, "spec-" + c.Id[..12]);
            Assert.Equal($"CapEff:\t00000000a80425fb\nSeccomp:\t2\n{c.Id[..12]}\n", output);
        }
        finally
        {
            Directory.Delete(bundle, recursive: true);
        }
    }

    private static string Run(string file, params string[] args)
    {
        var psi = new ProcessStartInfo(file) { RedirectStandardOutput = true, RedirectStandardError = true };
        foreach (var a in args) psi.ArgumentList.Add(a);
        using var p = System.Diagnostics.Process.Start(psi)!;
        var stdout = p.StandardOutput.ReadToEndAsync();
        var stderr = p.StandardError.ReadToEnd();
        p.WaitForExit();
        Assert.True(p.ExitCode == 0, $"{file} {string.Join(' ', args)}: exit {p.ExitCode}\n{stderr}");
        return stdout.Result;
    }
}
