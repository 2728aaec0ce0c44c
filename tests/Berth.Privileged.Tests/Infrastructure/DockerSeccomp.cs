using System.Text.Json;
using System.Text.Json.Nodes;
using Berth.Runtime.Seccomp;
using Berth.Runtime.Spec;

namespace Berth.Privileged.Tests.Infrastructure;

/// <summary>
/// Docker 20.10's default seccomp profile as the OCI linux.seccomp object Docker would hand to runc for a
/// capability set — converted by Berth's own <see cref="DockerSeccompProfile"/>, so the differential tests
/// also check that conversion against runc.
/// </summary>
public static class DockerSeccomp
{
    /// <summary>
    /// Docker 20.10.24's default profile: tests/testdata/seccomp-default-v20.10.24.json in the repository
    /// (moby, Apache-2.0: see tests/testdata/NOTICE), copied next to the test assembly.
    /// </summary>
    public static string DefaultProfilePath =>
        Path.Combine(AppContext.BaseDirectory, "testdata", "seccomp-default-v20.10.24.json");

    public static JsonObject LoadDefault(IEnumerable<string> capabilities)
    {
        var oci = DockerSeccompProfile.ToOci(File.ReadAllText(DefaultProfilePath), capabilities.ToList(),
            File.ReadAllText("/proc/sys/kernel/osrelease").Trim());
        return (JsonObject)JsonNode.Parse(JsonSerializer.Serialize(oci, SpecJsonContext.Default.LinuxSeccomp))!;
    }
}
