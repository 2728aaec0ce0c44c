using Berth.Core;
using Berth.Images;
using Berth.Interop;

namespace Berth.Engine.Volumes.Drivers;

/// <summary>
/// Who uses each `local` volume that has mount options (<see cref="LocalMountOptions"/>): the first Mount mounts it
/// on its _data directory, the last Unmount unmounts it (a loop device goes with it: LO_FLAGS_AUTOCLEAR).
/// Users are the ids given to Mount (container ids), kept in memory as a set, so a second Unmount of one id is a
/// no-op (dockerd keeps a bare count). A volume without options is a plain directory: the local driver does not
/// call this class for it.
/// <para>
/// Recovery (the store calls it at start-up, before containers are restarted): <see cref="Recover"/> once per
/// `local` volume with options, with the ids of the containers that are running and mount it. The count is rebuilt
/// from them; a volume left mounted with no running user (the daemon died after the last container did) is
/// unmounted, and one a running container uses but that is not mounted (a reboot) is mounted again.
/// </para>
/// </summary>
public sealed class LocalVolumeMounts
{
    /// <summary>One volume's users, with its own lock: a slow mount (NFS) of one volume does not hold up the others.</summary>
    private sealed class Entry
    {
        public readonly Lock Gate = new();
        public readonly HashSet<string> Users = new(StringComparer.Ordinal);
    }

    private readonly Dictionary<string, Entry> _volumes = new(StringComparer.Ordinal);
    private readonly Lock _lock = new();

    private Entry For(string name)
    {
        lock (_lock)
        {
            if (!_volumes.TryGetValue(name, out var e)) _volumes[name] = e = new Entry();
            return e;
        }
    }

    /// <summary>Adds <paramref name="id"/> as a user; mounts <paramref name="options"/> on <paramref name="dataPath"/>
    /// when it is the first. Returns the path to bind into the container.</summary>
    public string Mount(string name, string dataPath, LocalMountOptions options, string id)
    {
        var e = For(name);
        lock (e.Gate)
        {
            if (e.Users.Count == 0 && !MountHelper.IsMounted(dataPath))
            {
                Directory.CreateDirectory(dataPath);
                options.MountOn(dataPath);
            }
            e.Users.Add(id);
            return dataPath;
        }
    }

    /// <summary>Removes <paramref name="id"/>; unmounts when no user is left. Unknown ids are ignored.</summary>
    public void Unmount(string name, string dataPath, string id)
    {
        var e = For(name);
        lock (e.Gate)
        {
            if (!e.Users.Remove(id) || e.Users.Count > 0) return;
            UnmountPath(dataPath);
        }
    }

    /// <summary>The ids using the volume now.</summary>
    public IReadOnlyCollection<string> Users(string name)
    {
        var e = For(name);
        lock (e.Gate) return [.. e.Users];
    }

    /// <summary>Before the local driver removes the volume: refused while it is mounted for someone (dockerd's
    /// "volume has active mounts"), else unmounted if something left it mounted.</summary>
    public void PrepareRemove(string name, string dataPath)
    {
        var e = For(name);
        lock (e.Gate)
        {
            if (e.Users.Count > 0) throw BerthException.Conflict("volume has active mounts");
            UnmountPath(dataPath);
        }
        lock (_lock) _volumes.Remove(name);
    }

    /// <summary>Start-up: rebuilds the users of one volume from the running containers that mount it (see the class
    /// summary), mounting or unmounting so that the kernel agrees.</summary>
    public void Recover(string name, string dataPath, LocalMountOptions options, IEnumerable<string> runningUsers)
    {
        var e = For(name);
        lock (e.Gate)
        {
            e.Users.Clear();
            e.Users.UnionWith(runningUsers);
            bool mounted = MountHelper.IsMounted(dataPath);
            if (e.Users.Count == 0)
            {
                if (mounted) UnmountPath(dataPath);
                return;
            }
            if (!mounted)
            {
                Directory.CreateDirectory(dataPath);
                try { options.MountOn(dataPath); }
                catch
                {
                    e.Users.Clear();
                    throw;
                }
            }
        }
    }

    private static void UnmountPath(string dataPath)
    {
        try { MountHelper.Unmount(dataPath); } // EBUSY (a shell inside it): detached lazily, the path is free now
        catch (ErrnoException e)
        {
            throw new BerthException(ErrorKind.System, $"error while unmounting volume path '{dataPath}': {Libc.StrError(e.Errno).ToLowerInvariant()}");
        }
    }
}
