namespace Berth.Interop.Netlink;

/// <summary>
/// Persistent network namespaces (a bind mount of the namespace on a file, as `ip netns add` and Docker's
/// libnetwork make them), so that a container's network is set up before its process exists and torn down
/// after it is gone; and netlink sockets opened inside one.
/// </summary>
/// <remarks>
/// Why entering a namespace from managed code is safe here: setns(CLONE_NEWNET) and unshare(CLONE_NEWNET)
/// change the network namespace of the calling thread only (never the process, and nothing is forked). Each
/// call below runs on a dedicated thread made for it, which does the namespace work, switches back to the
/// original namespace and ends: no other managed code ever runs on a thread in a container's namespace, and a
/// thread that could not switch back ends anyway. A netlink socket stays in the namespace it was made in, so
/// the socket returned is used from any thread afterwards.
/// </remarks>
public static class NetNamespace
{
    private const string Self = "/proc/thread-self/ns/net";

    /// <summary>
    /// Makes a new network namespace, bind-mounted on <paramref name="path"/> (created; its directory must
    /// exist), with lo up; returns a netlink socket inside it.
    /// </summary>
    public static RtNetlink Create(string path) => OnOwnThread(() =>
    {
        int orig = Libc.Check(Libc.open(Self, Libc.O_RDONLY | Libc.O_CLOEXEC, 0), "open", Self);
        try
        {
            int f = Libc.Check(Libc.open(path, Libc.O_RDONLY | Libc.O_CREAT | Libc.O_EXCL | Libc.O_CLOEXEC, 0), "open", path);
            Libc.close(f);
            Libc.Check(Libc.unshare(Libc.CLONE_NEWNET), "unshare", "CLONE_NEWNET");
            try
            {
                Libc.Check(Libc.mount(Self, path, null, Libc.MS_BIND, null), "mount", path);
                var nl = RtNetlink.Open();
                try
                {
                    nl.SetUp(nl.LinkIndex("lo"));
                }
                catch
                {
                    nl.Dispose();
                    Libc.umount2(path, Libc.MNT_DETACH);
                    throw;
                }
                return nl;
            }
            catch
            {
                Libc.unlink(path);
                throw;
            }
            finally
            {
                Libc.setns(orig, Libc.CLONE_NEWNET);
            }
        }
        finally
        {
            Libc.close(orig);
        }
    });

    /// <summary>A netlink socket inside the namespace bound at <paramref name="path"/> (or /proc/PID/ns/net).</summary>
    public static RtNetlink OpenNetlink(string path) => OnOwnThread(() =>
    {
        int orig = Libc.Check(Libc.open(Self, Libc.O_RDONLY | Libc.O_CLOEXEC, 0), "open", Self);
        int target = -1;
        try
        {
            target = Libc.Check(Libc.open(path, Libc.O_RDONLY | Libc.O_CLOEXEC, 0), "open", path);
            Libc.Check(Libc.setns(target, Libc.CLONE_NEWNET), "setns", path);
            try { return RtNetlink.Open(); }
            finally { Libc.setns(orig, Libc.CLONE_NEWNET); }
        }
        finally
        {
            if (target >= 0) Libc.close(target);
            Libc.close(orig);
        }
    });

    /// <summary>Unmounts and deletes the namespace file (the namespace goes when nothing else holds it).</summary>
    public static void Remove(string path)
    {
        if (Libc.umount2(path, Libc.MNT_DETACH) != 0 && Libc.Errno is not (Libc.EINVAL or Libc.ENOENT))
            throw new ErrnoException(Libc.Errno, "umount", path);
        if (Libc.unlink(path) != 0 && Libc.Errno != Libc.ENOENT) throw new ErrnoException(Libc.Errno, "unlink", path);
    }

    /// <summary>An fd of the namespace at <paramref name="path"/> (for IFLA_NET_NS_FD); the caller closes it.</summary>
    public static int OpenFd(string path) => Libc.Check(Libc.open(path, Libc.O_RDONLY | Libc.O_CLOEXEC, 0), "open", path);

    private static T OnOwnThread<T>(Func<T> work)
    {
        T result = default!;
        Exception? failure = null;
        var t = new Thread(() =>
        {
            try { result = work(); }
            catch (Exception e) { failure = e; }
        }, 256 * 1024) { IsBackground = true, Name = "berth-netns" };
        t.Start();
        t.Join();
        if (failure is not null) System.Runtime.ExceptionServices.ExceptionDispatchInfo.Throw(failure);
        return result;
    }
}
