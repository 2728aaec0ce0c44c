using Berth.Api.Containers;
using Berth.Core;

namespace Berth.Engine.Containers.Create;

/// <summary>
/// Create-time checks of the isolation fields (--pid, --ipc, --uts, --userns, --cgroupns, --cgroup-parent,
/// --security-opt, MaskedPaths/ReadonlyPaths) with dockerd 20.10's and the docker CLI's messages. The container
/// named by container:X is looked up at start, as dockerd does.
/// </summary>
public static class IsolationModes
{
    public static void Validate(ContainerConfig c, HostConfig h)
    {
        if (!HostOrContainer(h.PidMode)) throw BerthException.Invalid($"invalid PID mode: {h.PidMode}");
        if (h.IpcMode is not ("" or "private" or "shareable" or "none") && !HostOrContainer(h.IpcMode))
            throw BerthException.Invalid($"invalid IPC mode: {h.IpcMode}");
        if (h.UTSMode is not ("" or "host")) throw BerthException.Invalid($"invalid UTS mode: {h.UTSMode}");
        if (h.UTSMode == "host" && c.Hostname.Length > 0) throw BerthException.Invalid("Conflicting options: hostname and the UTS mode");
        // Berth has no userns-remap daemon mode: containers always share the host's user namespace.
        if (h.UsernsMode == "private")
            throw BerthException.Invalid("HostConfig.UsernsMode: \"private\" needs the daemon's user namespace remapping (userns-remap), not implemented in Berth");
        if (h.UsernsMode is not ("" or "host")) throw BerthException.Invalid($"invalid USER mode: {h.UsernsMode}");
        if (h.CgroupnsMode is not ("" or "host" or "private"))
            throw BerthException.Invalid($"invalid cgroup namespace mode: {h.CgroupnsMode}");
        // cgroupfs driver, as dockerd's default: any name is a directory (':' and ".slice" too; systemd's
        // "slice:prefix:name" form is the systemd driver's, which Berth does not have).
        foreach (var p in (h.MaskedPaths ?? []).Concat(h.ReadonlyPaths ?? []))
            if (!p.StartsWith('/')) throw BerthException.Invalid($"HostConfig.MaskedPaths/ReadonlyPaths: \"{p}\" is not an absolute path");
        SecurityOpts.Validate(h.SecurityOpt);
    }

    private static bool HostOrContainer(string mode) =>
        mode is "" or "host" || (mode.StartsWith("container:", StringComparison.Ordinal) && mode.Length > "container:".Length);
}
