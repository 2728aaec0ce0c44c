using System.Text.Json.Nodes;
using System.Text.RegularExpressions;
using Berth.Privileged.Tests.Infrastructure;

namespace Berth.Privileged.Tests;

/// <summary>
/// Differential tests: each scenario (a probe command plus a config tweak) runs under runc and under
/// berth-runtime with `run` (foreground, non-tty), in fresh bundles and state roots, and the normalised
/// stdout and the exit codes must be identical. Each scenario also checks runc's own output against what
/// the scenario is meant to show, so a broken scenario cannot pass by making both sides equally wrong.
///
/// BERTH_DIFF_ONLY_RUNC=1 runs only the runc side (for validating the table while berth-runtime is a
/// stub that prints "not implemented"):
///   BERTH_DIFF_ONLY_RUNC=1 dotnet test tests/Berth.Privileged.Tests --filter FullyQualifiedName~DifferentialTests
/// Without it the berth side runs too and, until berth-runtime exists, those tests fail — by design.
/// </summary>
public sealed class DifferentialTests
{
    private static bool OnlyRunc => Environment.GetEnvironmentVariable("BERTH_DIFF_ONLY_RUNC") == "1";

    /// <summary>What one runtime produced.</summary>
    public sealed record Outcome(string Runtime, RunResult Result, string Normalized)
    {
        public int ExitCode => Result.ExitCode;

        public string Stdout => Result.Stdout;

        public string Stderr => Result.Stderr;
    }

    /// <summary>
    /// A scenario. <paramref name="Compare"/> replaces the default comparison (equal exit code and
    /// normalised stdout) where berth deliberately differs from runc.
    /// </summary>
    public sealed record Scenario(
        string Name,
        string[] Probe,
        Action<Bundle, ScenarioContext>? Configure = null,
        Func<string, string>? Normalize = null,
        Action<Outcome>? CheckRunc = null,
        Action<Outcome, Outcome>? Compare = null);

    /// <summary>Per-run resources a scenario can use (e.g. a host dir to bind-mount).</summary>
    public sealed class ScenarioContext : IDisposable
    {
        private string? _hostDir;

        public string HostDir
        {
            get
            {
                if (_hostDir is null)
                {
                    _hostDir = Path.Combine(TestAssets.BaseDir, "hostdir-" + Guid.NewGuid().ToString("N")[..12]);
                    Directory.CreateDirectory(_hostDir);
                    File.WriteAllText(Path.Combine(_hostDir, "hello"), "hello from the host\n");
                }

                return _hostDir;
            }
        }

        public void Dispose()
        {
            if (_hostDir is not null)
            {
                HostCommand.Run("rm", ["-rf", "--one-file-system", _hostDir], TimeSpan.FromSeconds(30));
            }
        }
    }

    private static readonly string[] DefaultCaps = ["CAP_AUDIT_WRITE", "CAP_KILL", "CAP_NET_BIND_SERVICE"];

    private static string NewNetnsIpForward()
    {
        var inherit = File.ReadAllText("/proc/sys/net/core/devconf_inherit_init_net").Trim();
        return inherit is "0" or "1" ? File.ReadAllText("/proc/sys/net/ipv4/ip_forward").Trim() : "0";
    }

    private static ulong HostNofileHard()
    {
        // "Max open files            20000                20000                files"
        string line = File.ReadLines("/proc/self/limits").First(l => l.StartsWith("Max open files", StringComparison.Ordinal));
        string[] f = line.Split(' ', StringSplitOptions.RemoveEmptyEntries);
        return ulong.Parse(f[4]);
    }

    private static readonly Scenario[] Table =
    [
        new("hostname", ["hostname"], (b, _) => b.WithHostname("berth-diff"),
            CheckRunc: o => Assert.Equal("berth-diff\n", o.Stdout)),
        new("rootfs-propagation-private", ["mounts"], (b, _) => b.Configure(c => ((JsonObject)c["linux"]!)["rootfsPropagation"] = "rprivate"),
            Normalize: o => NormalizeMounts(o),
            CheckRunc: o => Assert.StartsWith("/ ", o.Normalized, StringComparison.Ordinal)),
        new("rbind-rslave", ["cat", "/data/hello"], (b, ctx) => b.WithBindMount(ctx.HostDir, "/data", "rslave", "ro"),
            CheckRunc: o => Assert.Equal("hello from the host\n", o.Stdout)),
        new("hostname-default", ["hostname"],
            CheckRunc: o => Assert.Equal("runc\n", o.Stdout)),
        new("id-default", ["id"],
            CheckRunc: o => Assert.Equal("uid=0 euid=0 gid=0 egid=0 groups=\n", o.Stdout)),
        new("id-user", ["id"], (b, _) => b.WithUser(1000, 1000, 100, 2000),
            CheckRunc: o => Assert.Equal("uid=1000 euid=1000 gid=1000 egid=1000 groups=100,2000\n", o.Stdout)),
        new("caps-default", ["caps"],
            CheckRunc: o => Assert.Contains("CapEff:\t0000000020000420", o.Stdout, StringComparison.Ordinal)),
        new("caps-reduced", ["caps"], (b, _) => b.WithCapabilities("CAP_KILL"),
            CheckRunc: o => Assert.Contains("CapBnd:\t0000000000000020", o.Stdout, StringComparison.Ordinal)),
        new("caps-none", ["caps"], (b, _) => b.WithCapabilities([]),
            CheckRunc: o => Assert.Contains("CapBnd:\t0000000000000000", o.Stdout, StringComparison.Ordinal)),
        new("caps-user-ambient", ["caps"], (b, _) => b.WithUser(1000, 1000).Configure(c =>
            {
                var caps = (JsonObject)c["process"]!["capabilities"]!;
                caps["inheritable"] = new JsonArray("CAP_KILL", "CAP_NET_BIND_SERVICE");
                caps["ambient"] = new JsonArray("CAP_KILL");
            }),
            CheckRunc: o => Assert.Contains("CapAmb:\t0000000000000020", o.Stdout, StringComparison.Ordinal)),
        new("nnp-true", ["nnp"], (b, _) => b.WithNoNewPrivileges(true),
            CheckRunc: o => Assert.Equal("NoNewPrivs:\t1\n", o.Stdout)),
        new("nnp-false", ["nnp"], (b, _) => b.WithNoNewPrivileges(false),
            CheckRunc: o => Assert.Equal("NoNewPrivs:\t0\n", o.Stdout)),
        new("pid-is-1", ["pid"],
            CheckRunc: o => Assert.Equal("pid=1 ppid=0\n", o.Stdout)),
        new("cwd", ["cwd"], (b, _) => b.WithCwd("/home/berth"),
            CheckRunc: o => Assert.Equal("/home/berth\n", o.Stdout)),
        new("cwd-created", ["cwd"], (b, _) => b.WithCwd("/does/not/exist"),
            CheckRunc: o => Assert.Equal("/does/not/exist\n", o.Stdout)),
        new("env", ["env"], (b, _) => b.WithEnv("PATH=/bin", "FOO=bar baz", "EMPTY=", "DUP=1", "DUP=2"),
            CheckRunc: o => Assert.Contains("FOO=bar baz\n", o.Stdout, StringComparison.Ordinal)),
        new("umask-default", ["umask"],
            CheckRunc: o => Assert.Equal("umask=0022\n", o.Stdout)),
        new("umask-027", ["umask"], (b, _) => b.WithUmask(0x17),
            CheckRunc: o => Assert.Equal("umask=0027\n", o.Stdout)),
        new("readonly-root", ["write", "/x", "data"], (b, _) => b.WithReadonlyRoot(true),
            CheckRunc: o => Assert.Equal("ERR open EROFS\n", o.Stdout)),
        new("writable-root", ["write", "/x", "data", "+", "cat", "/x"], (b, _) => b.WithReadonlyRoot(false),
            CheckRunc: o => Assert.Equal("ok\ndata", o.Stdout)),
        // /proc/kcore may not exist (kernel without CONFIG_PROC_KCORE); /proc/keys does. Masked files are /dev/null.
        new("masked-file", ["stat", "/proc/keys", "+", "cat", "/proc/keys", "+", "stat", "/proc/timer_list"],
            CheckRunc: o => Assert.StartsWith("type=c mode=0666 uid=0 gid=0 rdev=1:3\ntype=c", o.Stdout, StringComparison.Ordinal)),
        new("masked-kcore", ["stat", "/proc/kcore", "+", "cat", "/proc/kcore"],
            CheckRunc: o => Assert.True(o.Stdout is "type=c mode=0666 uid=0 gid=0 rdev=1:3\n" or "ERR lstat ENOENT\n", o.Stdout)),
        new("masked-dir", ["ls", "/proc/acpi", "+", "write", "/proc/acpi/x", "y"],
            CheckRunc: o => Assert.Equal("ERR open EROFS\n", o.Stdout)),
        new("masked-custom", ["cat", "/etc/passwd"], (b, _) => b.WithMaskedPaths("/etc/passwd"),
            CheckRunc: o => Assert.Equal("", o.Stdout)),
        new("readonly-proc-sys", ["write", "/proc/sys/kernel/hostname", "x"], (b, _) => b.WithCapabilities("CAP_SYS_ADMIN"),
            CheckRunc: o => Assert.Equal("ERR open EROFS\n", o.Stdout)),
        new("rlimits-default", ["rlimits"],
            CheckRunc: o => Assert.Contains("RLIMIT_NOFILE 1024 1024\n", o.Stdout, StringComparison.Ordinal)),
        new("rlimits-custom", ["rlimits"], (b, _) => b.WithRlimit("RLIMIT_NOFILE", 4096, 2048).WithRlimit("RLIMIT_CORE", 0, 0),
            CheckRunc: o => Assert.Contains("RLIMIT_NOFILE 2048 4096\n", o.Stdout, StringComparison.Ordinal)),
        // Hard limit above what the runtime process may raise to (host hard limit; the host lacks
        // CAP_SYS_RESOURCE, and even with it nr_open caps it). runc FAILS: "error setting rlimit type 7:
        // operation not permitted", exit 1. Berth deliberately clamps to the allowed maximum and warns
        // on stderr instead, so this scenario compares differently.
        new("rlimit-above-hard", ["rlimits"],
            (b, _) => b.WithRlimit("RLIMIT_NOFILE", HostNofileHard() + 1, HostNofileHard() + 1),
            CheckRunc: o =>
            {
                Assert.Equal(1, o.ExitCode);
                Assert.Contains("error setting rlimits for ready process: error setting rlimit type 7: operation not permitted",
                    o.Stderr, StringComparison.Ordinal);
            },
            Compare: (runc, berth) =>
            {
                Assert.True(berth.ExitCode == 0, $"berth should clamp, not fail:\n{berth.Result}");
                Assert.Contains($"RLIMIT_NOFILE {HostNofileHard()} {HostNofileHard()}\n", berth.Stdout, StringComparison.Ordinal);
                Assert.Contains("warn", berth.Stderr, StringComparison.OrdinalIgnoreCase);
            }),
        // A new network namespace starts with the host's ip_forward (devconf_inherit_init_net 0 or 1: Docker
        // or a router on the host may have set it) or with the default 0 (2, 3).
        new("sysctl-netns-default", ["sysctl", "net.ipv4.ip_forward"],
            CheckRunc: o => Assert.Equal($"net.ipv4.ip_forward={NewNetnsIpForward()}\n", o.Stdout)),
        new("sysctl-set", ["sysctl", "net.ipv4.ip_forward", "+", "sysctl", "kernel.msgmax"],
            (b, _) => b.WithSysctl("net.ipv4.ip_forward", "1").WithSysctl("kernel.msgmax", "65536"),
            CheckRunc: o => Assert.Equal("net.ipv4.ip_forward=1\nkernel.msgmax=65536\n", o.Stdout)),
        new("tmpfs-mount", ["stat", "/mnt/t", "+", "mounts"],
            (b, _) => b.WithMount("/mnt/t", "tmpfs", "tmpfs", "nosuid", "nodev", "noexec", "mode=1770", "size=1m"),
            Normalize: o => NormalizeMounts(o, "/mnt/t"),
            CheckRunc: o => Assert.Equal("type=d mode=1770 uid=0 gid=0\n/mnt/t tmpfs rw,nosuid,nodev,noexec size=1024k,mode=1770\n", o.Normalized)),
        new("bind-ro", ["cat", "/data/hello", "+", "write", "/data/new", "x"],
            (b, ctx) => b.WithBindMount(ctx.HostDir, "/data", "ro"),
            CheckRunc: o => Assert.Equal("hello from the host\nERR open EROFS\n", o.Stdout)),
        new("bind-rw", ["write", "/data/new", "x", "+", "ls", "/data"],
            (b, ctx) => b.WithBindMount(ctx.HostDir, "/data", "rw"),
            CheckRunc: o => Assert.Equal("ok\n- hello\n- new\n", o.Stdout)),
        new("mounts-default", ["mounts"], Normalize: o => NormalizeMounts(o),
            CheckRunc: o => Assert.StartsWith("/ ", o.Normalized, StringComparison.Ordinal)),
        new("dev-default", ["ls", "/dev"],
            CheckRunc: o => Assert.Contains("c null\n", o.Stdout, StringComparison.Ordinal)),
        new("dev-null-stat", ["stat", "/dev/null", "+", "stat", "/dev/zero", "+", "stat", "/dev/ptmx", "+", "stat", "/dev/shm"]),
        new("fds", ["fds"], Normalize: NormalizeFds,
            CheckRunc: o => Assert.Equal("0 <stdio>\n1 <stdio>\n2 <stdio>\n", o.Normalized)),
        new("oom-score-adj", ["oom"], (b, _) => b.WithOomScoreAdj(100),
            CheckRunc: o => Assert.Equal("100\n", o.Stdout)),
        new("exit-3", ["exit", "3"],
            CheckRunc: o => Assert.Equal(3, o.ExitCode)),
        new("kill-self-9-host-pidns", ["kill-self", "9"], (b, _) => b.WithoutNamespace("pid"),
            CheckRunc: o => Assert.Equal(137, o.ExitCode)),
        // PID 1 of a pid namespace cannot SIGKILL itself: the signal is ignored.
        new("kill-self-9-as-pid1", ["kill-self", "9"],
            CheckRunc: o => Assert.Equal(100, o.ExitCode)),
        new("segv", ["segv"],
            CheckRunc: o => Assert.Equal(139, o.ExitCode)),
        new("cgroup-memory-limit", ["cat", "/sys/fs/cgroup/memory/memory.limit_in_bytes", "+", "cgroup"],
            (b, _) => b.WithNamespace("cgroup").WithResources(new JsonObject { ["memory"] = new JsonObject { ["limit"] = 64L << 20 } }),
            CheckRunc: o => Assert.StartsWith("67108864\n", o.Stdout, StringComparison.Ordinal)),
        // An explicit cgroupsPath: both runtimes must place the container exactly there. (With none, runc
        // nests the id under its own cgroups and berth-runtime uses /berth/<id>, a documented difference.)
        new("cgroup-path", ["cgroup"], (b, _) => b.WithCgroupsPath("/berth-diff-cgroup-path")),
        new("seccomp-none", ["seccomp"],
            CheckRunc: o => Assert.Contains("Seccomp:\t0\n", o.Stdout, StringComparison.Ordinal)),
        new("seccomp-docker-default", ["seccomp"], (b, _) => b.WithSeccomp(DockerSeccomp.LoadDefault(DefaultCaps)),
            CheckRunc: o =>
            {
                Assert.Contains("Seccomp:\t2\n", o.Stdout, StringComparison.Ordinal);
                Assert.Contains("keyctl=EPERM\n", o.Stdout, StringComparison.Ordinal);
                Assert.Contains("clone3=ENOSYS\n", o.Stdout, StringComparison.Ordinal);
                Assert.Contains("personality(0xffffffff)=ok\n", o.Stdout, StringComparison.Ordinal);
            }),
        new("missing-binary", [], (b, _) => b.WithArgs("/nonexistent"),
            Normalize: _ => "",
            CheckRunc: o => Assert.Equal(1, o.ExitCode)),
    ];

    public static TheoryData<string> Scenarios => new(Table.Select(s => s.Name));

    [PrivilegedTheory]
    [MemberData(nameof(Scenarios))]
    public void Probe_output_matches_runc(string name)
    {
        Scenario scenario = Table.Single(s => s.Name == name);
        Outcome runc = RunScenario(scenario, "runc");
        scenario.CheckRunc?.Invoke(runc);
        if (OnlyRunc)
        {
            return;
        }

        Outcome berth = RunScenario(scenario, "berth");
        if (scenario.Compare is not null)
        {
            scenario.Compare(runc, berth);
            return;
        }

        Assert.True(runc.ExitCode == berth.ExitCode && runc.Normalized == berth.Normalized,
            $"berth differs from runc in scenario '{name}'\n=== runc ===\n{runc.Result}\n=== berth ===\n{berth.Result}\n" +
            $"=== normalised runc ===\n{runc.Normalized}\n=== normalised berth ===\n{berth.Normalized}");
    }

    [Fact]
    public void Scenario_table_is_big_enough_and_unique()
    {
        Assert.True(Table.Length >= 20);
        Assert.Equal(Table.Length, Table.Select(s => s.Name).Distinct().Count());
    }

    private static Outcome RunScenario(Scenario scenario, string runtime)
    {
        using var ctx = new ScenarioContext();
        using var bundle = Bundle.Probe(scenario.Probe);
        scenario.Configure?.Invoke(bundle, ctx);
        HostSnapshot before = LeakCheck.Take(bundle.Id, bundle.Dir);
        RunResult result;
        using (var runner = RuntimeRunner.For(runtime))
        {
            result = runner.Run(bundle, timeout: TimeSpan.FromSeconds(60));
        }

        LeakCheck.AssertNoLeaks(before);
        string text = result.Stdout.Replace(bundle.Id, "<id>", StringComparison.Ordinal)
            .Replace(bundle.Dir, "<bundle>", StringComparison.Ordinal);
        return new Outcome(runtime, result, scenario.Normalize is null ? text : scenario.Normalize(text));
    }

    /// <summary>
    /// mountinfo as "mountpoint fstype per-mount-flags selected-super-options" lines, in order. Ids, device
    /// numbers and sources legitimately differ; flags, fs types, order and mode/size must not.
    /// </summary>
    internal static string NormalizeMounts(string mountinfo) => NormalizeMounts(mountinfo, null);

    internal static string NormalizeMounts(string mountinfo, string? onlyMountPoint)
    {
        string[] flags = ["ro", "rw", "nosuid", "nodev", "noexec"];
        var lines = new List<string>();
        foreach (string line in mountinfo.Split('\n', StringSplitOptions.RemoveEmptyEntries))
        {
            MountEntry m;
            try
            {
                m = MountEntry.Parse(line);
            }
            catch (FormatException)
            {
                lines.Add(line); // other probe output chained before/after `mounts`
                continue;
            }

            if (onlyMountPoint is not null && m.MountPoint != onlyMountPoint)
            {
                continue;
            }

            string per = string.Join(',', m.Options.Split(',').Where(flags.Contains));
            string super = string.Join(',', m.SuperOptions.Split(',')
                .Where(o => Regex.IsMatch(o, "^(mode|size|ptmxmode|gid|nr_inodes)=")));
            lines.Add($"{m.MountPoint} {m.FsType} {per} {super}".TrimEnd());
        }

        return string.Join('\n', lines) + "\n";
    }

    /// <summary>fd listing with stdio targets (the harness's per-run output files) replaced by &lt;stdio&gt;.</summary>
    private static string NormalizeFds(string fds) =>
        Regex.Replace(fds, @"^([012]) .*$", "$1 <stdio>", RegexOptions.Multiline);
}
