using System.Diagnostics;

namespace Berth.Privileged.Tests.Infrastructure;

/// <summary>
/// Builds, once per test run, what every bundle is copied from: the static probe
/// (make -C tests/probe) and a template dir holding the busybox rootfs with /probe
/// and runc's default config.json (`runc spec`). A file lock under /tmp/berth-tests
/// serialises builders across parallel test classes and concurrent test processes;
/// a stamp file lets later runs reuse an up-to-date template.
/// </summary>
public static class TestAssets
{
    public const string BaseDir = "/tmp/berth-tests";
    public static readonly string TemplateDir = Path.Combine(BaseDir, "template");

    private static readonly Lazy<Paths> Built = new(Build, LazyThreadSafetyMode.ExecutionAndPublication);

    public sealed record Paths(string Probe, string TemplateRootfs, string DefaultConfigJson);

    public static string ProbeSource => Path.Combine(RuntimeBinary.RepoRoot, "tests", "probe");

    /// <summary>Ensures the probe and the template exist; cheap after the first call.</summary>
    public static Paths Ensure() => Built.Value;

    private static Paths Build()
    {
        Root.Require();
        Directory.CreateDirectory(BaseDir);
        using FileStream lockFile = AcquireLock(Path.Combine(BaseDir, ".assets.lock"), TimeSpan.FromMinutes(5));

        string repo = RuntimeBinary.RepoRoot;
        HostCommand.Check("make", ["-s", "-C", ProbeSource], TimeSpan.FromMinutes(2));
        string probe = Path.Combine(ProbeSource, "build", "berth-probe");
        string script = Path.Combine(repo, "scripts", "make-busybox-rootfs.sh");
        string runc = RuntimeBinary.Runc.EnsureExists().Path;

        string stamp = string.Join('\n',
            Fingerprint(probe), Fingerprint(script), Fingerprint("/bin/busybox"), Fingerprint(runc));
        string stampFile = Path.Combine(TemplateDir, ".stamp");
        var paths = new Paths(
            Path.Combine(TemplateDir, "rootfs", "probe"),
            Path.Combine(TemplateDir, "rootfs"),
            Path.Combine(TemplateDir, "config.json"));

        if (File.Exists(stampFile) && File.ReadAllText(stampFile) == stamp)
        {
            return paths;
        }

        string staging = Path.Combine(BaseDir, $"template.tmp-{Environment.ProcessId}");
        HostCommand.Check("rm", ["-rf", staging, TemplateDir], TimeSpan.FromMinutes(1));
        Directory.CreateDirectory(staging);
        HostCommand.Check(script, [Path.Combine(staging, "rootfs")], TimeSpan.FromMinutes(2));
        File.Copy(probe, Path.Combine(staging, "rootfs", "probe"), overwrite: true);
        File.SetUnixFileMode(Path.Combine(staging, "rootfs", "probe"),
            UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute |
            UnixFileMode.GroupRead | UnixFileMode.GroupExecute | UnixFileMode.OtherRead | UnixFileMode.OtherExecute);
        // `runc spec` writes ./config.json: runc's default, non-rootless spec.
        HostCommand.Check(runc, ["spec"], TimeSpan.FromSeconds(30), workingDirectory: staging);
        File.WriteAllText(Path.Combine(staging, ".stamp"), stamp);
        Directory.Move(staging, TemplateDir);
        return paths;
    }

    private static string Fingerprint(string path)
    {
        var info = new FileInfo(path);
        if (!info.Exists)
        {
            throw new FileNotFoundException($"test asset input missing: {path}", path);
        }

        return $"{path} {info.Length} {info.LastWriteTimeUtc.Ticks}";
    }

    /// <summary>Exclusive advisory lock (.NET maps FileShare.None to flock on Unix).</summary>
    internal static FileStream AcquireLock(string path, TimeSpan timeout)
    {
        var sw = Stopwatch.StartNew();
        while (true)
        {
            try
            {
                return new FileStream(path, FileMode.OpenOrCreate, FileAccess.ReadWrite, FileShare.None);
            }
            catch (IOException) when (sw.Elapsed < timeout)
            {
                Thread.Sleep(100);
            }
        }
    }
}

/// <summary>Runs short host commands (make, scripts) and fails with their output when they fail.</summary>
public static class HostCommand
{
    public static (int ExitCode, string Stdout, string Stderr) Run(
        string file, IEnumerable<string> args, TimeSpan timeout, string? workingDirectory = null)
    {
        var psi = new ProcessStartInfo(file)
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            RedirectStandardInput = true,
            UseShellExecute = false,
        };
        if (workingDirectory is not null)
        {
            psi.WorkingDirectory = workingDirectory;
        }

        foreach (string a in args)
        {
            psi.ArgumentList.Add(a);
        }

        using Process p = Process.Start(psi) ?? throw new InvalidOperationException($"cannot start {file}");
        p.StandardInput.Close();
        Task<string> stdout = p.StandardOutput.ReadToEndAsync();
        Task<string> stderr = p.StandardError.ReadToEndAsync();
        if (!p.WaitForExit(timeout))
        {
            p.Kill(entireProcessTree: true);
            throw new TimeoutException($"{file} {string.Join(' ', args)} timed out after {timeout}");
        }

        p.WaitForExit();
        return (p.ExitCode, stdout.Result, stderr.Result);
    }

    public static string Check(
        string file, IEnumerable<string> args, TimeSpan timeout, string? workingDirectory = null)
    {
        string[] argv = args.ToArray();
        (int rc, string stdout, string stderr) = Run(file, argv, timeout, workingDirectory);
        if (rc != 0)
        {
            throw new InvalidOperationException(
                $"`{file} {string.Join(' ', argv)}` exited {rc}\nstdout:\n{stdout}\nstderr:\n{stderr}");
        }

        return stdout;
    }
}
