using System.Diagnostics;
using Berth.Cgroups.V2;
using Berth.Core;

namespace Berth.Cgroups.Tests;

/// <summary>
/// The eBPF device filter on a real cgroup2 directory. On a hybrid host (this machine) that is a directory
/// under the cgroup2 mount at /sys/fs/cgroup/unified, driven through a v2 manager built with
/// <see cref="CgroupRoot.ForV2"/>; on a unified host, under /sys/fs/cgroup. Never skips.
/// </summary>
[Collection("privileged-cgroups")]
public class DeviceFilterPrivilegedTests
{
    private static string Cgroup2Mount()
    {
        var root = CgroupRoot.Detect();
        return root.Unified?.Mountpoint ?? throw new InvalidOperationException("no cgroup2 mount on this host");
    }

    /// <summary>Runs <paramref name="script"/> in a shell that first moves itself into <paramref name="dir"/>.</summary>
    private static string RunIn(string dir, string script)
    {
        var psi = new ProcessStartInfo("sh") { UseShellExecute = false, RedirectStandardOutput = true, RedirectStandardError = true };
        psi.ArgumentList.Add("-c");
        psi.ArgumentList.Add($"echo $$ > '{dir}/cgroup.procs' || exit 99\n{script}");
        using var p = Process.Start(psi)!;
        var stdout = p.StandardOutput.ReadToEndAsync();
        var stderr = p.StandardError.ReadToEndAsync();
        Assert.True(p.WaitForExit(10_000), "child did not exit");
        Assert.True(p.ExitCode == 0, $"exit {p.ExitCode}: {stderr.Result}");
        return stdout.Result;
    }

    private const string Probe = """
        tmp=$(mktemp -d)
        r() { if "$@" >"$tmp/out" 2>"$tmp/err"; then echo "$1:ok"; else grep -q 'Operation not permitted' "$tmp/err" && echo "$1:EPERM" || { echo "$1:other"; cat "$tmp/err"; }; fi; }
        zero_read() { head -c1 /dev/zero; }
        zero_write() { printf x > /dev/zero; }
        urandom_read() { head -c1 /dev/urandom; }
        null_rw() { printf x > /dev/null && head -c1 /dev/null; }
        mknod_1_9() { mknod "$tmp/n" c 1 9; }
        mknod_1_3() { mknod "$tmp/m" c 1 3; }
        r zero_read; r zero_write; r urandom_read; r null_rw; r mknod_1_9; r mknod_1_3
        rm -rf "$tmp"
        """;

    [Fact]
    public void Filter_IsEnforced_Replaced_AndGoneWithTheCgroup()
    {
        var mount = Cgroup2Mount();
        var name = "berth-devtest-" + Guid.NewGuid().ToString("N")[..12];
        var mgr = new V2CgroupManager(CgroupRoot.ForV2(mount), "/" + name);
        Assert.Equal(Path.Combine(mount, name), mgr.Dir);
        Directory.CreateDirectory(mgr.Dir); // not Apply: leave the host root's subtree_control alone
        var ids = new List<uint>();
        try
        {
            // Before any rules: everything allowed.
            Assert.Empty(BpfDevices.Query(mgr.Dir));
            Assert.Equal(
                "zero_read:ok\nzero_write:ok\nurandom_read:ok\nnull_rw:ok\nmknod_1_9:ok\nmknod_1_3:ok\n",
                RunIn(mgr.Dir, Probe));

            var warnings = mgr.Set(new CgroupResources
            {
                Devices = [new DeviceRule(false), new DeviceRule(true, 'c', 1, 3, "rwm"), new DeviceRule(true, 'c', 1, 5, "r")],
            });
            Assert.Empty(warnings);
            var first = Assert.Single(BpfDevices.Query(mgr.Dir));
            ids.Add(first);
            Assert.Equal(
                "zero_read:ok\nzero_write:EPERM\nurandom_read:EPERM\nnull_rw:ok\nmknod_1_9:EPERM\nmknod_1_3:ok\n",
                RunIn(mgr.Dir, Probe));

            // A second Set replaces the program (attach new with ALLOW_MULTI, detach old).
            mgr.Set(new CgroupResources
            {
                Devices = [new DeviceRule(false), new DeviceRule(true, 'c', 1, null, "rw"), new DeviceRule(false, 'c', 1, 9, "r")],
            });
            var second = Assert.Single(BpfDevices.Query(mgr.Dir));
            Assert.NotEqual(first, second);
            ids.Add(second);
            Assert.Equal(
                "zero_read:ok\nzero_write:ok\nurandom_read:EPERM\nnull_rw:ok\nmknod_1_9:EPERM\nmknod_1_3:EPERM\n",
                RunIn(mgr.Dir, Probe));

            // Empty rules: nothing attached or detached (like v1, which writes nothing).
            mgr.Set(new CgroupResources { Devices = [] });
            Assert.Equal(second, Assert.Single(BpfDevices.Query(mgr.Dir)));

            // Invalid rules fail before touching the cgroup.
            Assert.Throws<BerthException>(() => mgr.Set(new CgroupResources { Devices = [new DeviceRule(true, 'x')] }));
            Assert.Equal(second, Assert.Single(BpfDevices.Query(mgr.Dir)));

            mgr.Destroy();
            Assert.False(Directory.Exists(mgr.Dir));
        }
        finally
        {
            if (Directory.Exists(mgr.Dir))
            {
                Directory.Delete(mgr.Dir);
            }
        }

        // The kernel frees the programs once the cgroup is released (asynchronously).
        var sw = Stopwatch.StartNew();
        while (ids.Any(BpfDevices.ProgramExists) && sw.Elapsed < TimeSpan.FromSeconds(10))
        {
            Thread.Sleep(50);
        }

        Assert.False(ids.Any(BpfDevices.ProgramExists), $"BPF programs left behind: {string.Join(',', ids.Where(BpfDevices.ProgramExists))}");
        Assert.False(Directory.Exists(Path.Combine(mount, name)));
    }
}

[Collection("privileged-cgroups")]
public class DeviceFilterErrorTests
{
    [Fact]
    public void NotACgroupDirectory_FailsWithAClearError()
    {
        var dir = Directory.CreateTempSubdirectory("berth-devbpf-").FullName;
        try
        {
            var e = Assert.Throws<BerthException>(() => BpfDevices.Apply(dir, [new DeviceRule(false)]));
            Assert.StartsWith("cgroup v2: device filter: BPF_PROG_QUERY: ", e.Message, StringComparison.Ordinal);
        }
        finally
        {
            Directory.Delete(dir);
        }
    }

    [Fact]
    public void ManyRules_LoadAndAttach()
    {
        var mount = CgroupRoot.Detect().Unified?.Mountpoint ?? throw new InvalidOperationException("no cgroup2 mount");
        var dir = Path.Combine(mount, "berth-devtest-" + Guid.NewGuid().ToString("N")[..12]);
        Directory.CreateDirectory(dir);
        try
        {
            var rules = new List<DeviceRule> { new(false) };
            for (var i = 0; i < 500; i++)
            {
                rules.Add(new DeviceRule(i % 3 != 0, i % 2 == 0 ? 'c' : 'b', i, i % 5 == 0 ? null : i, "rwm"[..(1 + (i % 3))]));
            }

            BpfDevices.Apply(dir, rules);
            Assert.Single(BpfDevices.Query(dir));
        }
        finally
        {
            Directory.Delete(dir);
        }
    }
}
