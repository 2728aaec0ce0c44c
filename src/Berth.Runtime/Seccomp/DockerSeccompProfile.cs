using System.Globalization;
using System.Text.Json;
using System.Text.Json.Serialization;
using Berth.Core;
using Berth.Runtime.Spec;

namespace Berth.Runtime.Seccomp;

/// <summary>
/// Docker's seccomp profile format (profiles/seccomp in moby: "archMap", "includes", "excludes",
/// "minKernel") and its conversion to the OCI <see cref="LinuxSeccomp"/> for one container, the way
/// dockerd does it when it generates the runtime spec.
/// </summary>
public static class DockerSeccompProfile
{
    /// <summary>
    /// Converts a Docker-format profile to OCI for a container with <paramref name="capabilities"/>
    /// (its bounding set; "CAP_CHOWN" or "CHOWN") on a kernel reporting <paramref name="kernelRelease"/>
    /// (uname -r). <paramref name="goArch"/> is the Go name of the native architecture, which is what
    /// "includes.arches"/"excludes.arches" are matched against.
    /// </summary>
    public static LinuxSeccomp ToOci(string json, IReadOnlyCollection<string> capabilities, string kernelRelease, string goArch = "amd64")
    {
        ArgumentNullException.ThrowIfNull(json);
        ArgumentNullException.ThrowIfNull(capabilities);
        ArgumentNullException.ThrowIfNull(kernelRelease);

        DockerProfile profile;
        try
        {
            profile = JsonSerializer.Deserialize(json, DockerSeccompJsonContext.Default.DockerProfile)
                ?? throw BerthException.Invalid("seccomp profile: empty document");
        }
        catch (JsonException e)
        {
            throw new BerthException(ErrorKind.InvalidParameter, $"seccomp profile: invalid JSON: {e.Message}", e);
        }

        var nativeScmp = goArch switch
        {
            "amd64" => "SCMP_ARCH_X86_64",
            "386" => "SCMP_ARCH_X86",
            "arm64" => "SCMP_ARCH_AARCH64",
            "arm" => "SCMP_ARCH_ARM",
            "ppc64le" => "SCMP_ARCH_PPC64LE",
            "s390x" => "SCMP_ARCH_S390X",
            "riscv64" => "SCMP_ARCH_RISCV64",
            _ => throw BerthException.Invalid($"seccomp profile: unsupported native architecture \"{goArch}\""),
        };

        var caps = new HashSet<string>(capabilities.Select(NormalizeCap), StringComparer.Ordinal);
        var kernel = ParseVersion(kernelRelease, "kernel release", strict: false);

        var result = new LinuxSeccomp
        {
            DefaultAction = profile.DefaultAction,
            DefaultErrnoRet = profile.DefaultErrnoRet,
            Flags = profile.Flags is { Count: > 0 } ? [.. profile.Flags] : null,
            ListenerPath = string.IsNullOrEmpty(profile.ListenerPath) ? null : profile.ListenerPath,
            ListenerMetadata = string.IsNullOrEmpty(profile.ListenerMetadata) ? null : profile.ListenerMetadata,
            Syscalls = [],
        };

        if (profile.Architectures is { Count: > 0 } && profile.ArchMap is { Count: > 0 })
        {
            throw BerthException.Invalid("seccomp profile: 'architectures' and 'archMap' were both specified, use either 'architectures' or 'archMap'");
        }

        if (profile.ArchMap is { Count: > 0 })
        {
            var arches = new List<string>();
            foreach (var map in profile.ArchMap)
            {
                if (map.Architecture == nativeScmp)
                {
                    arches.Add(map.Architecture);
                    arches.AddRange(map.SubArchitectures ?? []);
                }
            }

            result.Architectures = arches;
        }
        else if (profile.Architectures is { Count: > 0 })
        {
            result.Architectures = [.. profile.Architectures];
        }

        var syscalls = profile.Syscalls ?? [];
        for (var i = 0; i < syscalls.Count; i++)
        {
            var call = syscalls[i];
            var path = $"seccomp profile: syscalls[{i}]";
            if (!string.IsNullOrEmpty(call.Name) && call.Names is { Count: > 0 })
            {
                throw BerthException.Invalid($"{path}: 'name' and 'names' were both specified, use either 'name' or 'names'");
            }

            var names = !string.IsNullOrEmpty(call.Name) ? [call.Name] : call.Names ?? [];

            var ex = call.Excludes;
            if (ex is not null)
            {
                if (ex.Arches is { Count: > 0 } && ex.Arches.Contains(goArch))
                {
                    continue;
                }

                if (ex.Caps is { Count: > 0 } && ex.Caps.Any(c => caps.Contains(NormalizeCap(c))))
                {
                    continue;
                }

                if (!string.IsNullOrEmpty(ex.MinKernel) && Compare(kernel, ParseVersion(ex.MinKernel, $"{path}.excludes.minKernel", strict: true)) >= 0)
                {
                    continue;
                }
            }

            var inc = call.Includes;
            if (inc is not null)
            {
                if (inc.Arches is { Count: > 0 } && !inc.Arches.Contains(goArch))
                {
                    continue;
                }

                if (inc.Caps is { Count: > 0 } && !inc.Caps.All(c => caps.Contains(NormalizeCap(c))))
                {
                    continue;
                }

                if (!string.IsNullOrEmpty(inc.MinKernel) && Compare(kernel, ParseVersion(inc.MinKernel, $"{path}.includes.minKernel", strict: true)) < 0)
                {
                    continue;
                }
            }

            result.Syscalls.Add(new LinuxSyscall
            {
                Names = [.. names],
                Action = call.Action,
                ErrnoRet = call.ErrnoRet,
                Args = call.Args is { Count: > 0 }
                    ? call.Args.Select(a => new LinuxSeccompArg { Index = a.Index, Value = a.Value, ValueTwo = a.ValueTwo, Op = a.Op }).ToList()
                    : null,
            });
        }

        return result;
    }

    private static string NormalizeCap(string cap)
    {
        var upper = cap.Trim().ToUpperInvariant();
        return upper.StartsWith("CAP_", StringComparison.Ordinal) ? upper : "CAP_" + upper;
    }

    private static (int Major, int Minor) ParseVersion(string text, string field, bool strict)
    {
        // "4.8" in profiles; "6.18.44-fc-v657" from uname -r (only major.minor matter, like dockerd).
        var parts = text.Split('.', 3);
        static int Leading(string s)
        {
            var n = 0;
            while (n < s.Length && char.IsAsciiDigit(s[n]))
            {
                n++;
            }

            return n == 0 ? -1 : int.Parse(s.AsSpan(0, n), NumberStyles.None, CultureInfo.InvariantCulture);
        }

        var major = Leading(parts[0]);
        var minor = parts.Length > 1 ? Leading(parts[1]) : (strict ? -1 : 0);
        var valid = major >= 0 && minor >= 0 && (!strict || (parts.Length == 2 && parts[0].Length > 0 && parts[0].All(char.IsAsciiDigit) && parts[1].All(char.IsAsciiDigit)));
        if (!valid)
        {
            throw BerthException.Invalid($"{field}: invalid kernel version \"{text}\", expected <major>.<minor>");
        }

        return (major, minor);
    }

    private static int Compare((int Major, int Minor) a, (int Major, int Minor) b) =>
        a.Major != b.Major ? a.Major.CompareTo(b.Major) : a.Minor.CompareTo(b.Minor);
}

internal sealed class DockerProfile
{
    public string DefaultAction { get; set; } = "";
    public uint? DefaultErrnoRet { get; set; }
    public List<string>? Architectures { get; set; }
    public List<DockerArchMap>? ArchMap { get; set; }
    public List<string>? Flags { get; set; }
    public string? ListenerPath { get; set; }
    public string? ListenerMetadata { get; set; }
    public List<DockerSyscall>? Syscalls { get; set; }
}

internal sealed class DockerArchMap
{
    public string Architecture { get; set; } = "";
    public List<string>? SubArchitectures { get; set; }
}

internal sealed class DockerSyscall
{
    public string? Name { get; set; }
    public List<string>? Names { get; set; }
    public string Action { get; set; } = "";
    public uint? ErrnoRet { get; set; }
    public List<DockerArg>? Args { get; set; }
    public string? Comment { get; set; }
    public DockerFilter? Includes { get; set; }
    public DockerFilter? Excludes { get; set; }
}

internal sealed class DockerArg
{
    public uint Index { get; set; }
    public ulong Value { get; set; }
    public ulong ValueTwo { get; set; }
    public string Op { get; set; } = "";
}

internal sealed class DockerFilter
{
    public List<string>? Caps { get; set; }
    public List<string>? Arches { get; set; }
    public string? MinKernel { get; set; }
}

[JsonSourceGenerationOptions(
    PropertyNamingPolicy = JsonKnownNamingPolicy.CamelCase,
    DefaultIgnoreCondition = JsonIgnoreCondition.WhenWritingNull,
    ReadCommentHandling = JsonCommentHandling.Skip,
    AllowTrailingCommas = true)]
[JsonSerializable(typeof(DockerProfile))]
internal sealed partial class DockerSeccompJsonContext : JsonSerializerContext;
