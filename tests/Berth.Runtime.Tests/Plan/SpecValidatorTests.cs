using Berth.Core;
using Berth.Runtime.Lifecycle;

namespace Berth.Runtime.Tests.Plan;

public class SpecValidatorTests
{
    [Fact]
    public void DefaultSpecIsValid() => SpecValidator.Validate(SpecFixtures.Default());

    public static TheoryData<string, string> Cases => new()
    {
        { "noargs", "process.args" },
        { "relcwd", "process.cwd" },
        { "rlimit", "process.rlimits[0].type" },
        { "softhard", "process.rlimits[0]" },
        { "ns", "linux.namespaces[6].type" },
        { "dupns", "linux.namespaces[6].type" },
        { "hostname", "hostname" },
        { "userns", "linux.uidMappings" },
        { "mountdest", "mounts[0].destination" },
        { "sysctl", "linux.sysctl" },
        { "oom", "process.oomScoreAdj" },
        { "prop", "linux.rootfsPropagation" },
        { "root", "root.path" },
        { "nspath", "linux.namespaces[0].path" },
    };

    [Theory]
    [MemberData(nameof(Cases))]
    public void InvalidSpecsNameTheField(string change, string field)
    {
        var s = SpecFixtures.Default();
        switch (change)
        {
            case "noargs": s.Process!.Args = []; break;
            case "relcwd": s.Process!.Cwd = "tmp"; break;
            case "rlimit": s.Process!.Rlimits![0].Type = "RLIMIT_BOGUS"; break;
            case "softhard": s.Process!.Rlimits![0].Soft = 2048; break;
            case "ns": s.Linux!.Namespaces!.Add(new Spec.LinuxNamespace { Type = "bogus" }); break;
            case "dupns": s.Linux!.Namespaces!.Add(new Spec.LinuxNamespace { Type = "pid" }); break;
            case "hostname": s.Linux!.Namespaces!.RemoveAll(n => n.Type == "uts"); break;
            case "userns": s.Linux!.Namespaces!.Add(new Spec.LinuxNamespace { Type = "user" }); break;
            case "mountdest": s.Mounts![0].Destination = "proc"; break;
            case "sysctl": s.Linux!.Sysctl = new() { ["../etc/passwd"] = "x" }; break;
            case "oom": s.Process!.OomScoreAdj = 5000; break;
            case "prop": s.Linux!.RootfsPropagation = "sideways"; break;
            case "root": s.Root!.Path = ""; break;
            case "nspath": s.Linux!.Namespaces![0].Path = "/proc/999999999/ns/pid"; break;
        }
        var e = Assert.Throws<BerthException>(() => SpecValidator.Validate(s));
        Assert.StartsWith(field + ":", e.Message);
        Assert.Equal(ErrorKind.InvalidParameter, e.Kind);
    }
}
