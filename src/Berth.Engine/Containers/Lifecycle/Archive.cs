using Berth.Core;
using Berth.Engine.Containers.Archive;
using Berth.Engine.Volumes;
using Berth.Interop;

namespace Berth.Engine.Containers;

/// <summary>
/// docker cp (HEAD, GET and PUT /containers/{id}/archive, dockerd's daemon/archive.go). Every path is resolved
/// inside the container's root (<see cref="ContainerRoot"/>) with openat2(RESOLVE_IN_ROOT), the last component
/// with O_NOFOLLOW, and everything below it through directory fds: a symlink in the container, even one swapped in
/// during the copy, never reaches a host file.
/// </summary>
public sealed partial class ContainerManager
{
    /// <summary>HEAD /archive: the stat of the path (its last component not followed; linkTarget is where a symlink
    /// leads, in the container). NotFound "Could not find the file ... in container ...".</summary>
    public async Task<PathStat> ArchiveStatAsync(string idOrName, string path)
    {
        var c = Store.Get(idOrName);
        return await WithRoot(c, root =>
        {
            var (parent, name, abs) = OpenParent(root, path, idOrName);
            try { return Task.FromResult(Stat(root, parent, name, abs, path, idOrName)); }
            finally { Libc.close(parent); }
        });
    }

    /// <summary>GET /archive: <paramref name="begin"/> gets the path's stat (to send the header) and returns the
    /// stream the tar of the path is written to (entries named after the path's last component).</summary>
    public async Task ArchiveGetAsync(string idOrName, string path, Func<PathStat, Stream> begin, CancellationToken ct)
    {
        var c = Store.Get(idOrName);
        await WithRoot(c, async root =>
        {
            var (parent, name, abs) = OpenParent(root, path, idOrName);
            try
            {
                var stat = Stat(root, parent, name, abs, path, idOrName);
                var output = begin(stat);
                await VolumeArchive.ExportEntryAsync(output, parent, name, stat.Name == "/" ? "." : stat.Name, ct);
                return 0;
            }
            finally { Libc.close(parent); }
        });
    }

    /// <summary>PUT /archive: unpacks <paramref name="tar"/> into the directory <paramref name="path"/> (followed
    /// if a symlink, in the container); files belong to root unless <paramref name="copyUidGid"/>.</summary>
    public async Task ArchivePutAsync(string idOrName, string path, Stream tar, bool noOverwriteDirNonDir, bool copyUidGid, CancellationToken ct)
    {
        var c = Store.Get(idOrName);
        await WithRoot(c, async root =>
        {
            string abs = "/" + path.TrimStart('/');
            int dir = Libc.OpenInRoot(root.Fd, abs, Libc.O_RDONLY | Libc.O_DIRECTORY | Libc.O_CLOEXEC);
            if (dir < 0)
            {
                int e = Libc.Errno;
                if (e == Libc.ENOTDIR) throw BerthException.Invalid("extraction point is not a directory");
                throw NotFoundIn(path, idOrName, e);
            }
            try
            {
                await VolumeArchive.ImportAtAsync(tar, dir,
                    new VolumeArchive.ImportOptions("docker cp", copyUidGid, RootMetadata: false, noOverwriteDirNonDir), ct);
            }
            catch (ErrnoException e) when (e.Errno == 30) // EROFS
            {
                throw BerthException.Invalid("container rootfs is marked read-only");
            }
            finally { Libc.close(dir); }
            return 0;
        });
        Publish(c, "extract-to-dir");
    }

    /// <summary>Runs <paramref name="work"/> on the container's root: a running container's through its process
    /// (no gate: stop is not held up by a long copy); a stopped one's rootfs mounted under the gate, so a start
    /// cannot interleave with the temporary mounts.</summary>
    private async Task<T> WithRoot<T>(ContainerRecord c, Func<ContainerRoot, Task<T>> work)
    {
        if (c.State.Running && c.State.Pid > 0 && ContainerRoot.OfProcess(c.State.Pid) is { } live)
        {
            using (live)
            {
                var now = Store.Get(c.Id);
                if (now.State.Running && now.State.Pid == c.State.Pid) return await work(live);
            }
        }
        var entry = EntryOf(c.Id);
        await entry.Gate.WaitAsync();
        try
        {
            c = Store.Get(c.Id);
            if (c.State.Running && c.State.Pid > 0 && ContainerRoot.OfProcess(c.State.Pid) is { } live2)
                using (live2) return await work(live2);
            var rootfs = _rootfs.Mount(c.Id);
            using var root = ContainerRoot.OfRootfs(rootfs, c.MountPoints, () => TryCleanup(() => _rootfs.Unmount(c.Id)));
            return await work(root);
        }
        finally { entry.Gate.Release(); }
    }

    /// <summary>dockerd's ResolvePath: the directory part resolved in the container (symlinks followed inside
    /// it), the last component kept as is ("" or "." for the directory itself).</summary>
    private static (int Parent, string Name, string Abs) OpenParent(ContainerRoot root, string path, string container)
    {
        string abs = "/" + path.TrimStart('/');
        int slash = abs.LastIndexOf('/');
        string dir = abs[..(slash + 1)], name = abs[(slash + 1)..];
        if (name.Length == 0 || name == "..") { dir = abs; name = "."; }
        int parent = Libc.OpenInRoot(root.Fd, dir, Libc.O_PATH | Libc.O_DIRECTORY | Libc.O_CLOEXEC);
        if (parent < 0) throw NotFoundIn(path, container, Libc.Errno);
        return (parent, name, abs);
    }

    private static PathStat Stat(ContainerRoot root, int parent, string name, string abs, string path, string container)
    {
        Libc.FileStat st;
        try { st = Libc.LstatAt(parent, name); }
        catch (ErrnoException e) { throw NotFoundIn(path, container, e.Errno); }
        string link = "";
        if ((st.Mode & 0xf000) == 0xa000)
        {
            int fd = Libc.OpenInRoot(root.Fd, abs, Libc.O_PATH | Libc.O_CLOEXEC);
            if (fd >= 0)
            {
                try { link = root.ContainerPath(fd); }
                finally { Libc.close(fd); }
            }
            else link = ResolveDangling(parent, name);
        }
        return new PathStat(GoBase(abs), st.Size, PathStat.GoFileMode(st.Mode),
            DateTimeOffset.FromUnixTimeSeconds(st.Mtime).AddTicks(st.MtimeNs / 100), link);
    }

    /// <summary>A symlink whose target does not exist: its target as written (made absolute against its directory
    /// is not possible without the path; Docker gives the lexical in-root resolution).</summary>
    private static string ResolveDangling(int parent, string name)
    {
        try { var t = Libc.ReadLinkAt(parent, name); return t.StartsWith('/') ? t : "/" + t; }
        catch (ErrnoException) { return ""; }
    }

    /// <summary>Go's filepath.Base: the last element, trailing slashes dropped; "/" for the root.</summary>
    private static string GoBase(string abs)
    {
        var t = abs.TrimEnd('/');
        if (t.Length == 0) return "/";
        return t[(t.LastIndexOf('/') + 1)..];
    }

    private static BerthException NotFoundIn(string path, string container, int errno) =>
        errno is Libc.ENOENT or Libc.ENOTDIR or Libc.ELOOP
            ? BerthException.NotFound($"Could not find the file {path} in container {container}")
            : new BerthException(ErrorKind.System, new ErrnoException(errno, "open", path).Message);
}
