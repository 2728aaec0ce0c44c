namespace Berth.Privileged.Tests.Infrastructure;

/// <summary>An OCI runtime CLI under test: berth-runtime, or runc as the reference.</summary>
public sealed record RuntimeBinary(string Name, string Path)
{
    private static readonly Lazy<string> LazyRepoRoot = new(FindRepoRoot);

    /// <summary>The directory containing Berth.slnx, found by walking up from the test assembly.</summary>
    public static string RepoRoot => LazyRepoRoot.Value;

    /// <summary>berth-runtime: $BERTH_RUNTIME, else &lt;repo&gt;/out/bin/berth-runtime.</summary>
    public static RuntimeBinary Berth
    {
        get
        {
            string? env = Environment.GetEnvironmentVariable("BERTH_RUNTIME");
            string path = string.IsNullOrEmpty(env)
                ? System.IO.Path.Combine(RepoRoot, "out", "bin", "berth-runtime")
                : System.IO.Path.GetFullPath(env);
            return new RuntimeBinary("berth", path);
        }
    }

    /// <summary>runc from PATH, falling back to /usr/sbin/runc and /usr/bin/runc.</summary>
    public static RuntimeBinary Runc => new("runc", FindOnPath("runc", "/usr/sbin/runc", "/usr/bin/runc"));

    public static RuntimeBinary ByName(string name) => name switch
    {
        "berth" => Berth,
        "runc" => Runc,
        _ => throw new ArgumentException($"unknown runtime '{name}' (expected berth or runc)", nameof(name)),
    };

    public bool Exists => File.Exists(Path);

    /// <summary>Fails the test with a clear message if the binary is missing.</summary>
    public RuntimeBinary EnsureExists()
    {
        if (!Exists)
        {
            string hint = Name == "berth"
                ? "build it into out/bin or set BERTH_RUNTIME"
                : "apt-get install -y runc";
            throw new FileNotFoundException($"{Name} runtime binary not found at {Path} ({hint})", Path);
        }

        return this;
    }

    public override string ToString() => $"{Name} ({Path})";

    internal static string FindOnPath(string name, params string[] fallbacks)
    {
        string pathVar = Environment.GetEnvironmentVariable("PATH") ?? "";
        foreach (string dir in pathVar.Split(':', StringSplitOptions.RemoveEmptyEntries))
        {
            string candidate = System.IO.Path.Combine(dir, name);
            if (File.Exists(candidate))
            {
                return candidate;
            }
        }

        foreach (string candidate in fallbacks)
        {
            if (File.Exists(candidate))
            {
                return candidate;
            }
        }

        return fallbacks.Length > 0 ? fallbacks[0] : name;
    }

    private static string FindRepoRoot()
    {
        for (DirectoryInfo? dir = new(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
        {
            if (File.Exists(System.IO.Path.Combine(dir.FullName, "Berth.slnx")))
            {
                return dir.FullName;
            }
        }

        throw new InvalidOperationException($"Berth.slnx not found above {AppContext.BaseDirectory}");
    }
}
