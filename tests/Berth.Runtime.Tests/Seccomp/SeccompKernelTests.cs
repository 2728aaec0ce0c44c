using System.Diagnostics;
using System.Runtime.CompilerServices;
using Berth.Runtime.Seccomp;
using LinuxSeccomp = Berth.Runtime.Spec.LinuxSeccomp;
using LinuxSeccompArg = Berth.Runtime.Spec.LinuxSeccompArg;
using LinuxSyscall = Berth.Runtime.Spec.LinuxSyscall;

namespace Berth.Runtime.Tests.Seccomp;

/// <summary>Loads compiled filters into the real kernel through a tiny C helper built with gcc.</summary>
public sealed class SeccompKernelTests
{
    private static readonly Lazy<string> Loader = new(BuildLoader);

    private static string KernelRelease => File.ReadAllText("/proc/sys/kernel/osrelease").Trim();

    private static string SourceDir([CallerFilePath] string path = "") => Path.GetDirectoryName(path)!;

    private static string BuildLoader()
    {
        var source = Path.Combine(SourceDir(), "seccomp-loader.c");
        Assert.True(File.Exists(source), $"missing {source}");
        var output = Path.Combine(Path.GetTempPath(), $"berth-seccomp-loader-{Environment.ProcessId}");
        var (code, stdout, stderr) = Exec("gcc", "-O1", "-Wall", "-Werror", "-o", output, source);
        Assert.True(code == 0, $"gcc failed (exit {code}); the kernel seccomp tests need gcc:\n{stdout}{stderr}");
        return output;
    }

    private static (int Code, string Stdout, string Stderr) Exec(string file, params string[] args)
    {
        var psi = new ProcessStartInfo(file) { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        foreach (var a in args)
        {
            psi.ArgumentList.Add(a);
        }

        Process p;
        try
        {
            p = Process.Start(psi)!;
        }
        catch (System.ComponentModel.Win32Exception e)
        {
            Assert.Fail($"cannot run {file}: {e.Message} (the kernel seccomp tests need gcc on PATH)");
            throw;
        }

        using (p)
        {
            var stdout = p.StandardOutput.ReadToEndAsync();
            var stderr = p.StandardError.ReadToEndAsync();
            Assert.True(p.WaitForExit(30_000), $"{file} timed out");
            return (p.ExitCode, stdout.Result, stderr.Result);
        }
    }

    private static Dictionary<string, string> Probe(CompiledFilter filter, out int exitCode, params string[] mode)
    {
        var bpf = Path.Combine(Path.GetTempPath(), $"berth-seccomp-{Guid.NewGuid():N}.bpf");
        File.WriteAllBytes(bpf, filter.Program);
        try
        {
            var (code, stdout, stderr) = Exec(Loader.Value, [bpf, filter.Flags.ToString(System.Globalization.CultureInfo.InvariantCulture), .. mode]);
            exitCode = code;
            var result = stdout.Split('\n', StringSplitOptions.RemoveEmptyEntries)
                .Select(l => l.Split('=', 2))
                .Where(kv => kv.Length == 2)
                .ToDictionary(kv => kv[0], kv => kv[1]);
            Assert.True(result.ContainsKey("load"), $"loader produced no result (exit {code}): {stdout}{stderr}");
            return result;
        }
        finally
        {
            File.Delete(bpf);
        }
    }

    [Fact]
    public void Kernel_accepts_dockers_default_profile_and_enforces_it()
    {
        var filter = SeccompCompiler.Compile(SeccompTestData.DockerDefault(KernelRelease));
        var r = Probe(filter, out var code, "probe");
        Assert.Equal("ok", r["load"]);
        Assert.Equal(0, code);
        Assert.Equal("ok", r["getpid"]);
        Assert.Equal("-1 errno=1", r["unshare"]);          // EPERM
        Assert.Equal("-1 errno=1", r["keyctl"]);
        Assert.Equal("-1 errno=1", r["mount"]);
        Assert.Equal("-1 errno=1", r["personality_bad"]);
        Assert.Equal("-1 errno=38", r["clone3"]);           // ENOSYS: Docker's explicit clone3 rule
        Assert.Equal("-1 errno=38", r["nr1000"]);           // ENOSYS: runc's stub above the highest known syscall
    }

    [Fact]
    public void Exec_works_under_dockers_default_profile()
    {
        var filter = SeccompCompiler.Compile(SeccompTestData.DockerDefault(KernelRelease));
        var r = Probe(filter, out var code, "exec", "/bin/true");
        Assert.Equal("ok", r["load"]);
        Assert.False(r.ContainsKey("exec"), "execv failed under the filter");
        Assert.Equal(0, code);
    }

    [Fact]
    public void Kernel_enforces_custom_actions_and_flags()
    {
        var filter = SeccompCompiler.Compile(new LinuxSeccomp
        {
            DefaultAction = "SCMP_ACT_ALLOW",
            Architectures = ["SCMP_ARCH_X86_64", "SCMP_ARCH_X86", "SCMP_ARCH_X32"],
            Flags = ["SECCOMP_FILTER_FLAG_LOG", "SECCOMP_FILTER_FLAG_SPEC_ALLOW"],
            Syscalls =
            [
                new LinuxSyscall { Names = ["getpid"], Action = "SCMP_ACT_ERRNO", ErrnoRet = 13 },
                new LinuxSyscall
                {
                    Names = ["personality"], Action = "SCMP_ACT_ERRNO", ErrnoRet = 22,
                    Args = [new LinuxSeccompArg { Index = 0, Op = "SCMP_CMP_GT", Value = 0x10000 }],
                },
            ],
        });
        var r = Probe(filter, out _, "probe");
        Assert.Equal("ok", r["load"]);
        Assert.Equal("-1 errno=13", r["getpid"]);
        Assert.Equal("-1 errno=22", r["personality_bad"]);
        Assert.Equal("-1 errno=38", r["nr1000"]); // allowed through; the kernel itself answers ENOSYS
    }
}
