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
    private readonly Dictionary<string, HashSet<string>> _users = new(StringComparer.Ordinal);
    private readonly Lock _lock = new();

    /// <summary>Adds <paramref name="id"/> as a user; mounts <paramref name="options"/> on <paramref name="dataPath"/>
    /// when it is the first. Returns the path to bind into the container.</summary>
    public string Mount(string name, string dataPath, LocalMountOptions options, string id)
    {
        lock (_lock)
        {
            if (!_users.TryGetValue(name, out var users)) _users[name] = users = new HashSet<string>(StringComparer.Ordinal);
            if (users.Count == 0 && !MountHelper.IsMounted(dataPath))
            {
                Directory.CreateDirectory(dataPath);
                options.MountOn(dataPath);
            }
            users.Add(id);
            return dataPath;
        }
    }

    /// <summary>Removes <paramref name="id"/>; unmounts when no user is left. Unknown ids are ignored.</summary>
    public void Unmount(string name, string dataPath, string id)
    {
        lock (_lock)
        {
            if (!_users.TryGetValue(name, out var users) || !users.Remove(id)) return;
            if (users.Count > 0) return;
            _users.Remove(name);
            UnmountPath(dataPath);
        }
    }

    /// <summary>The ids using the volume now.</summary>
    public IReadOnlyCollection<string> Users(string name)
    {
        lock (_lock) return _users.TryGetValue(name, out var u) ? [.. u] : [];
    }

    /// <summary>Before the local driver removes the volume: refused while it is mounted for someone (dockerd's
    /// "volume has active mounts"), else unmounted if something left it mounted.</summary>
    public void PrepareRemove(string name, string dataPath)
    {
        lock (_lock)
        {
            if (_users.TryGetValue(name, out var u) && u.Count > 0)
                throw BerthException.Conflict("volume has active mounts");
            _users.Remove(name);
            UnmountPath(dataPath);
        }
    }

    /// <summary>Start-up: rebuilds the users of one volume from the running containers that mount it (see the class
    /// summary), mounting or unmounting so that the kernel agrees.</summary>
    public void Recover(string name, string dataPath, LocalMountOptions options, IEnumerable<string> runningUsers)
    {
        lock (_lock)
        {
            var users = new HashSet<string>(runningUsers, StringComparer.Ordinal);
            bool mounted = MountHelper.IsMounted(dataPath);
            if (users.Count == 0)
            {
                _users.Remove(name);
                if (mounted) UnmountPath(dataPath);
                return;
            }
            if (!mounted)
            {
                Directory.CreateDirectory(dataPath);
                options.MountOn(dataPath);
            }
            _users[name] = users;
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
