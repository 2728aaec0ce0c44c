using Berth.Core;
using Berth.Runtime.Spec;

namespace Berth.Engine.Containers;

/// <summary>
/// --init (HostConfig.Init), as dockerd: the init binary (tini, Debian's static build) is bind-mounted read-only at
/// /sbin/docker-init and becomes PID 1, running the container's command after "--": it reaps orphans and forwards
/// signals. Path and Args in inspect stay the container's command, as with dockerd.
/// </summary>
public sealed partial class ContainerManager
{
    public const string InitTarget = "/sbin/docker-init";

    private static readonly string[] InitCandidates = ["/usr/bin/tini-static", "/usr/bin/docker-init", "/usr/libexec/docker/docker-init", "/usr/bin/tini"];

    private string InitBinary()
    {
        if (_options.InitPath.Length > 0)
            return File.Exists(_options.InitPath) ? _options.InitPath : throw BerthException.Invalid($"--init: docker-init (tini) not found at {_options.InitPath}");
        return InitCandidates.FirstOrDefault(File.Exists) ?? throw BerthException.Invalid("--init: docker-init (tini) not found");
    }

    private void WithInit(Spec spec)
    {
        var init = InitBinary();
        var p = spec.Process ?? throw new BerthException(ErrorKind.DataLoss, "the container's spec has no process");
        p.Args = [InitTarget, "--", .. p.Args ?? []];
        spec.Mounts ??= [];
        spec.Mounts.Add(new Mount { Destination = InitTarget, Type = "bind", Source = init, Options = ["bind", "ro"] });
    }
}
