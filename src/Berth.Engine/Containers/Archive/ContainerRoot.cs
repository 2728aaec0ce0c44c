using Berth.Core;
using Berth.Interop;

namespace Berth.Engine.Containers.Archive;

/// <summary>
/// A container's root filesystem as `docker cp` sees it, open as a directory fd that every path is resolved under
/// with openat2(RESOLVE_IN_ROOT): a running container's /proc/&lt;pid&gt;/root (its mount namespace: volumes, binds
/// and tmpfs mounts are crossed as the container sees them); a stopped one's rootfs, mounted through the rootfs
/// provider, with its volumes and binds bind-mounted at their destinations for the time of the copy (as dockerd's
/// MountVolumes does). Dispose undoes the mounts.
/// </summary>
public sealed class ContainerRoot : IDisposable
{
    public int Fd { get; }
    private readonly string _prefix; // what readlink of Fd gives: stripped from resolved paths
    private readonly List<int> _mountFds = [];
    private readonly Action? _release;

    private ContainerRoot(int fd, Action? release)
    {
        Fd = fd;
        _release = release;
        _prefix = ReadFdLink(fd).TrimEnd('/');
    }

    /// <summary>The root of a running container (its init's /proc/pid/root); null when the process is gone.</summary>
    public static ContainerRoot? OfProcess(int pid)
    {
        int fd = Libc.open($"/proc/{pid}/root", Libc.O_PATH | Libc.O_DIRECTORY | Libc.O_CLOEXEC, 0);
        return fd < 0 ? null : new ContainerRoot(fd, null);
    }

    /// <summary>A stopped container's mounted rootfs with <paramref name="mounts"/> (volumes and binds) bound in.</summary>
    public static ContainerRoot OfRootfs(string rootfs, IEnumerable<Volumes.MountPoint> mounts, Action release)
    {
        int fd = Libc.open(rootfs, Libc.O_PATH | Libc.O_DIRECTORY | Libc.O_CLOEXEC, 0);
        if (fd < 0) { int e = Libc.Errno; release(); throw new ErrnoException(e, "open", rootfs); }
        var root = new ContainerRoot(fd, release);
        try
        {
            foreach (var mp in mounts.Where(m => m.Source.Length > 0 && m.Type is "volume" or "bind")
                         .OrderBy(m => m.Destination.TrimEnd('/').Count(ch => ch == '/')))
                root.BindIn(mp);
        }
        catch { root.Dispose(); throw; }
        return root;
    }

    private void BindIn(Volumes.MountPoint mp)
    {
        int target = Libc.OpenInRoot(Fd, mp.Destination, Libc.O_PATH | Libc.O_CLOEXEC);
        if (target < 0) return; // not made yet (the container never started): nothing is reachable there
        try
        {
            string at = $"/proc/self/fd/{target}";
            Libc.Check(Libc.mount(mp.Source, at, null, Libc.MS_BIND | Libc.MS_REC, null), "mount", mp.Destination);
            int top = Libc.OpenInRoot(Fd, mp.Destination, Libc.O_PATH | Libc.O_CLOEXEC);
            if (top < 0) throw new ErrnoException(Libc.Errno, "open", mp.Destination);
            _mountFds.Add(top);
            if (!mp.RW)
                Libc.Check(Libc.mount("", $"/proc/self/fd/{top}", null, Libc.MS_BIND | Libc.MS_REMOUNT | Libc.MS_RDONLY, null), "remount", mp.Destination);
        }
        finally { Libc.close(target); }
    }

    /// <summary>The in-container absolute path of an fd opened under this root.</summary>
    public string ContainerPath(int fd)
    {
        var p = ReadFdLink(fd);
        if (_prefix.Length > 0 && p.StartsWith(_prefix + "/", StringComparison.Ordinal)) p = p[_prefix.Length..];
        else if (p == _prefix) p = "/";
        return p;
    }

    private static string ReadFdLink(int fd)
    {
        try { return new FileInfo($"/proc/self/fd/{fd}").LinkTarget ?? "/"; }
        catch (IOException) { return "/"; }
    }

    public void Dispose()
    {
        for (int i = _mountFds.Count - 1; i >= 0; i--)
        {
            Libc.umount2($"/proc/self/fd/{_mountFds[i]}", Libc.MNT_DETACH);
            Libc.close(_mountFds[i]);
        }
        _mountFds.Clear();
        Libc.close(Fd);
        _release?.Invoke();
    }
}
