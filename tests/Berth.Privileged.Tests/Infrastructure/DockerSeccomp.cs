using System.Text.Json.Nodes;

namespace Berth.Privileged.Tests.Infrastructure;

/// <summary>
/// Converts a Docker-format seccomp profile (defaultAction, archMap, syscalls with includes/excludes)
/// into the OCI linux.seccomp object that Docker 20.10 would hand to runc, for the given capability
/// set (Docker's profiles/seccomp/seccomp_linux.go setupSeccomp). amd64 only.
/// </summary>
public static class DockerSeccomp
{
    /// <summary>Docker 20.10.24's default profile, from &lt;repo&gt;/../shared/reference.</summary>
    public static string DefaultProfilePath =>
        Path.GetFullPath(Path.Combine(RuntimeBinary.RepoRoot, "..", "shared", "reference", "seccomp-default-v20.10.24.json"));

    public static JsonObject LoadDefault(IEnumerable<string> capabilities) =>
        ToOci((JsonObject)JsonNode.Parse(File.ReadAllText(DefaultProfilePath))!, capabilities);

    public static JsonObject ToOci(JsonObject profile, IEnumerable<string> capabilities, string arch = "amd64", Version? kernel = null)
    {
        var caps = capabilities.ToHashSet(StringComparer.Ordinal);
        kernel ??= Environment.OSVersion.Version;
        const string nativeScmp = "SCMP_ARCH_X86_64";

        var oci = new JsonObject { ["defaultAction"] = profile["defaultAction"]!.DeepClone() };
        if (profile["defaultErrnoRet"] is JsonNode der)
        {
            oci["defaultErrnoRet"] = der.DeepClone();
        }

        var arches = new JsonArray();
        foreach (JsonNode? entry in profile["archMap"]?.AsArray() ?? [])
        {
            if ((string?)entry?["architecture"] == nativeScmp)
            {
                arches.Add(nativeScmp);
                foreach (JsonNode? sub in entry!["subArchitectures"]?.AsArray() ?? [])
                {
                    arches.Add((string?)sub);
                }
            }
        }

        oci["architectures"] = arches;

        var syscalls = new JsonArray();
        foreach (JsonNode? node in profile["syscalls"]!.AsArray())
        {
            var sc = (JsonObject)node!;
            if (sc["excludes"] is JsonObject ex)
            {
                if (Strings(ex["arches"]).Contains(arch) || Strings(ex["caps"]).Any(caps.Contains))
                {
                    continue;
                }
            }

            if (sc["includes"] is JsonObject inc)
            {
                string[] incArches = Strings(inc["arches"]);
                if (incArches.Length > 0 && !incArches.Contains(arch))
                {
                    continue;
                }

                if (!Strings(inc["caps"]).All(caps.Contains))
                {
                    continue;
                }

                if (inc["minKernel"] is JsonNode mk && kernel < Version.Parse(mk.GetValue<string>()))
                {
                    continue;
                }
            }

            var rule = new JsonObject
            {
                ["names"] = sc["names"]!.DeepClone(),
                ["action"] = sc["action"]!.DeepClone(),
            };
            if (sc["errnoRet"] is JsonNode er)
            {
                rule["errnoRet"] = er.DeepClone();
            }

            if (sc["args"] is JsonArray args && args.Count > 0)
            {
                rule["args"] = args.DeepClone();
            }

            syscalls.Add(rule);
        }

        oci["syscalls"] = syscalls;
        return oci;
    }

    private static string[] Strings(JsonNode? node) =>
        node is JsonArray a ? a.Select(n => n!.GetValue<string>()).ToArray() : [];
}
