using Berth.Core;
using Berth.Engine.Specs;
using Berth.Interop;

namespace Berth.Engine.Containers;

/// <summary>
/// --pid container:X and --ipc container:X (the other container's namespaces, joined by /proc/PID/ns path at
/// start, as dockerd's getPidContainer/getIpcContainer), and the /dev/shm of a shareable IPC namespace: a tmpfs
/// on the host at &lt;container dir&gt;/mounts/shm bound into the container, which a container joining its IPC
/// namespace binds too (dockerd's setupIpcDirs). --ipc host binds the host's /dev/shm.
/// </summary>
public sealed partial class ContainerManager
{
    private string ShmPath(string id) => Path.Combine(Store.DirectoryOf(id), "mounts", "shm");

    /// <summary>The namespaces to give the container; the /dev/shm bind its IPC mode asks for is added to <paramref name="mounts"/>.</summary>
    private NamespaceModes NamespacesAtStart(ContainerRecord c, List<ContainerMountSpec> mounts)
    {
        var h = c.HostConfig;
        var modes = NamespaceModes.Of(h);
        if (h.PidMode.StartsWith("container:", StringComparison.Ordinal))
        {
            var name = h.PidMode["container:".Length..];
            if (!Store.TryGet(name, out var donor) || donor is null)
                throw new BerthException(ErrorKind.System, $"cannot join PID of a non running container: {name}: No such container: {name}");
            modes = modes with { Pid = $"/proc/{RunningPid(donor)}/ns/pid" };
        }
        bool userShm = mounts.Any(m => Path.TrimEndingDirectorySeparator(m.Destination) == "/dev/shm");
        string? shm = null;
        if (h.IpcMode.StartsWith("container:", StringComparison.Ordinal))
        {
            var name = h.IpcMode["container:".Length..];
            var prefix = "can't join IPC of container " + name;
            if (!Store.TryGet(name, out var donor) || donor is null)
                throw new BerthException(ErrorKind.NotFound, $"{prefix}: No such container: {name}");
            int pid;
            try { pid = RunningPid(donor); }
            catch (BerthException e) { throw new BerthException(e.Kind, $"{prefix}: {e.Message}"); }
            shm = DonorShm(donor) ?? throw new BerthException(ErrorKind.System,
                $"{prefix}: non-shareable IPC (hint: use IpcMode:shareable for the donor container)");
            modes = modes with { Ipc = $"/proc/{pid}/ns/ipc" };
        }
        else if (h.IpcMode == "host")
        {
            if (!Directory.Exists("/dev/shm")) throw new BerthException(ErrorKind.System, "/dev/shm is not mounted, but must be for --ipc=host");
            shm = "/dev/shm";
        }
        else if (h.IpcMode == "shareable" && !userShm)
        {
            shm = MountShm(c);
        }
        if (shm is not null && !userShm) mounts.Add(new ContainerMountSpec("bind", shm, "/dev/shm", Propagation: "rprivate"));
        return modes;
    }

    /// <summary>dockerd's checkContainer(containerIsRunning, containerIsNotRestarting).</summary>
    private static int RunningPid(ContainerRecord donor)
    {
        if (donor.State.Restarting)
            throw BerthException.Conflict($"Container {donor.Id} is restarting, wait until the container is running");
        if (!donor.State.Running || donor.State.Pid <= 0) throw BerthException.Conflict($"Container {donor.Id} is not running");
        return donor.State.Pid;
    }

    /// <summary>The /dev/shm a container sharing its IPC namespace gives: its shareable tmpfs, the host's, or its own donor's.</summary>
    private string? DonorShm(ContainerRecord donor, int depth = 0)
    {
        var mode = donor.HostConfig.IpcMode;
        if (mode == "host") return "/dev/shm";
        if (mode == "shareable") return IsMountPoint(ShmPath(donor.Id)) ? ShmPath(donor.Id) : null;
        if (depth < 8 && mode.StartsWith("container:", StringComparison.Ordinal) && Store.TryGet(mode["container:".Length..], out var next) && next is not null)
            return DonorShm(next, depth + 1);
        return null;
    }

    /// <summary>The shareable /dev/shm: tmpfs mode=1777,size=ShmSize (nosuid, nodev, noexec), kept until the container stops.</summary>
    private string MountShm(ContainerRecord c)
    {
        var path = ShmPath(c.Id);
        Directory.CreateDirectory(path);
        if (IsMountPoint(path)) return path;
        long size = c.HostConfig.ShmSize > 0 ? c.HostConfig.ShmSize : 64L * 1024 * 1024;
        if (Libc.mount("shm", path, "tmpfs", Libc.MS_NOSUID | Libc.MS_NODEV | Libc.MS_NOEXEC, $"mode=1777,size={size}") != 0)
            throw new BerthException(ErrorKind.System, $"mounting shm tmpfs: {path}: {Libc.StrError(Libc.Errno)}");
        return path;
    }

    /// <summary>After the container stopped (or a failed start, or rm): its shareable /dev/shm is unmounted (dockerd's unmountIpcMount).</summary>
    private void UnmountShm(string id)
    {
        var path = ShmPath(id);
        if (IsMountPoint(path)) Libc.umount2(path, Libc.MNT_DETACH);
    }

    private static bool IsMountPoint(string path)
    {
        if (!Directory.Exists(path)) return false;
        foreach (var line in File.ReadLines("/proc/self/mountinfo"))
        {
            var fields = line.Split(' ');
            if (fields.Length > 4 && fields[4] == path) return true;
        }
        return false;
    }
}
