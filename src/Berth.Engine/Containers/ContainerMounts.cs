using Berth.Api.Containers;
using Berth.Core;
using Berth.Engine.Specs;
using Berth.Engine.Volumes;

namespace Berth.Engine.Containers;

/// <summary>
/// The container side of volumes (moby's daemon/volumes.go and create_unix.go): at create the mount requests are
/// read and checked (VolumesFrom, Binds, Mounts, Tmpfs, then Config.Volumes, the image's included), volumes are
/// created and a new volume gets the image's content; at start volumes are mounted and binds prepared; at exit and
/// remove volumes are unmounted; `rm -v` and `--rm` remove the anonymous ones.
/// </summary>
public sealed partial class ContainerManager
{
    /// <summary>The mount points of a new container, checked, without creating anything (volumes come later).</summary>
    private List<MountPoint> PlanMounts(ContainerConfig c, HostConfig h)
    {
        foreach (var m in h.Mounts ?? []) MountSpecParser.Validate(m, validateBindSourceExists: true);
        foreach (var dest in (h.Tmpfs ?? []).Keys) MountSpecParser.ValidateTmpfsDestination(dest);
        foreach (var data in (h.Tmpfs ?? []).Values) MountSpecParser.TmpfsOptions(data ?? "");
        var tmpfs = (h.Tmpfs ?? []).Keys.Select(MountSpecParser.CleanPath).ToHashSet(StringComparer.Ordinal);
        var points = new Dictionary<string, MountPoint>(StringComparer.Ordinal);
        var binds = new HashSet<string>(StringComparer.Ordinal);

        foreach (var v in h.VolumesFrom ?? [])
        {
            var (id, mode) = MountSpecParser.ParseVolumesFrom(v);
            var other = Store.Get(id);
            foreach (var m in other.MountPoints)
            {
                var cp = m.Clone();
                cp.RW = m.RW && MountSpecParser.ReadWrite(mode);
                cp.CopyData = false;
                cp.Mode = ""; // dockerd does not copy the mode
                points[cp.Destination] = cp;
            }
        }
        foreach (var b in h.Binds ?? [])
        {
            var bind = MountSpecParser.ParseBind(b, h.VolumeDriver);
            if (binds.Contains(bind.Destination) || tmpfs.Contains(bind.Destination)) throw Duplicate(bind.Destination);
            if (bind.Type == "volume" && bind.Mode == "" && bind.Driver is "" or "local") bind.Mode = "z";
            binds.Add(bind.Destination);
            points[bind.Destination] = bind;
        }
        foreach (var spec in h.Mounts ?? [])
        {
            var mp = MountSpecParser.ParseMount(spec);
            if (binds.Contains(mp.Destination) || tmpfs.Contains(mp.Destination)) throw Duplicate(spec.Target!);
            if (mp.Type == "volume" && mp.Driver is "" or "local") mp.Mode = "z";
            binds.Add(mp.Destination);
            points[mp.Destination] = mp;
        }
        // Config.Volumes (the request's `-v /path` and the image's VOLUMEs): an anonymous volume each, unless
        // something is mounted there already.
        foreach (var v in (c.Volumes ?? []).Keys)
        {
            if (!v.StartsWith('/')) throw BerthException.Invalid($"invalid mount path: '{v}' mount path must be absolute");
            var dest = MountSpecParser.CleanPath(v);
            if (dest == "/") throw BerthException.Invalid(MountSpecParser.TargetIsRoot);
            if (points.ContainsKey(dest) || tmpfs.Contains(dest)) continue;
            points[dest] = new MountPoint
            {
                Type = "volume", Destination = dest, RW = true, Anonymous = true, CopyData = true, Driver = h.VolumeDriver,
                Spec = new MountSpec { Type = "volume", Target = dest },
            };
        }
        return [.. points.Values];
    }

    private static BerthException Duplicate(string destination) => BerthException.Invalid($"Duplicate mount point: {destination}");

    /// <summary>
    /// Creates the container's volumes (a volume of another container, from VolumesFrom, must still exist) and
    /// fills each new empty one from the image; returns the anonymous volumes made, for the undo of a failed create.
    /// The rootfs is mounted for the copy only (the container is not running).
    /// </summary>
    private void CreateVolumes(string id, List<MountPoint> points, List<string> made)
    {
        // A named volume that has content already is never copied into: no need to mount the rootfs for it.
        var filled = new HashSet<MountPoint>();
        foreach (var m in points.Where(m => m.Type == "volume" && m.CopyData && m.Name.Length > 0 && m.Source.Length == 0))
        {
            try
            {
                // A plugin's volume may have no path before its first mount: then it is looked at after the mount.
                var at = _volumes.Get(m.Name).Mountpoint;
                if (at.Length > 0 && Directory.EnumerateFileSystemEntries(at).Any() && !_volumes.CopyUpPending(m.Name)) filled.Add(m);
            }
            catch (Exception e) when (e is BerthException or IOException or UnauthorizedAccessException) { }
        }
        // Nor for a volume at a path the image does not have (looked up in the layer directories, no mount).
        var needRootfs = points.Any(m => m.Type == "volume" && ((m.CopyData && !filled.Contains(m)) || (m.Anonymous && m.Name.Length == 0))
            && m.Source.Length == 0 && _rootfs.MayHavePath(id, m.Destination));
        string? rootfs = needRootfs ? _rootfs.Mount(id) : null;
        try
        {
            foreach (var m in points.Where(m => m.Type == "volume"))
            {
                if (m.Source.Length > 0 && m.Name.Length > 0)
                {
                    m.Source = _volumes.Get(m.Name).Mountpoint; // from VolumesFrom
                    continue;
                }
                if (rootfs is not null && m.Spec.Source is null or "" && m.Spec.VolumeOptions is null)
                {
                    var at = InRootPath.Resolve(rootfs, m.Destination);
                    if (File.Exists(at)) throw BerthException.Invalid($"cannot mount volume over existing file, file exists {at}");
                }
                var opts = m.Spec.VolumeOptions;
                // An anonymous volume is named in the container's record before it exists: from its creation on, a
                // concurrent `volume rm` or prune sees the container among its users (ContainersUsing).
                bool anonymous = m.Name.Length == 0;
                if (anonymous) m.Name = VolumeNames.NewAnonymous();
                var v = _volumes.GetOrCreate(m.Name, m.Driver.Length == 0 ? null : m.Driver,
                    opts?.DriverConfig?.Options, opts?.Labels, anonymous);
                if (anonymous) made.Add(v.Name);
                m.Name = v.Name;
                m.Driver = v.Driver;
                m.Source = v.Mountpoint;
                if (m.CopyData && rootfs is not null && !filled.Contains(m))
                {
                    var from = InRootPath.Resolve(rootfs, m.Destination);
                    if (!Directory.Exists(from)) continue;
                    // Only into an empty volume (a plugin's volume is seen only now, once mounted), or one that a
                    // crash left half-filled (the store's marker).
                    _volumes.CopyUp(m.Name, id, from);
                }
            }
        }
        finally
        {
            if (rootfs is not null) TryCleanup(() => _rootfs.Unmount(id));
        }
    }

    /// <summary>The mounts for the spec: at start (<paramref name="start"/>) volumes are mounted, a missing `-v`
    /// bind source is created (0755) and propagation is checked; at create the recorded paths only.</summary>
    private List<ContainerMountSpec> SpecMounts(ContainerRecord c, bool start)
    {
        var list = new List<ContainerMountSpec>();
        var mounted = new List<string>();
        try
        {
            foreach (var m in c.MountPoints)
            {
                switch (m.Type)
                {
                    case "volume":
                        // At create (the spec is only checked) a plugin's volume has no path before its first mount.
                        var path = start ? _volumes.Mount(m.Name, c.Id) : m.Source.Length > 0 ? m.Source : "/nonexistent/volume/" + m.Name;
                        if (start) mounted.Add(m.Name);
                        list.Add(new ContainerMountSpec("bind", path, m.Destination, m.RW, m.Propagation));
                        break;
                    case "bind":
                        var source = m.Source;
                        if (start)
                        {
                            if (!Path.Exists(source))
                            {
                                if (m.SkipMountpointCreation)
                                    throw BerthException.Invalid($"invalid mount config for type \"bind\": bind source path does not exist: {source}");
                                Directory.CreateDirectory(source, UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute
                                    | UnixFileMode.GroupRead | UnixFileMode.GroupExecute | UnixFileMode.OtherRead | UnixFileMode.OtherExecute);
                            }
                            // A symlink as the source is resolved on the host, as Docker does.
                            source = Berth.Interop.Libc.RealPath(source);
                            MountPropagation.Check(source, m.Propagation);
                        }
                        list.Add(new ContainerMountSpec("bind", source, m.Destination, m.RW, m.Propagation, m.Spec.BindOptions?.NonRecursive == true));
                        break;
                    case "tmpfs":
                        list.Add(new ContainerMountSpec("tmpfs", "tmpfs", m.Destination, TmpfsData: m.TmpfsData));
                        break;
                }
            }
            foreach (var (dest, data) in c.HostConfig.Tmpfs ?? [])
                list.Add(new ContainerMountSpec("tmpfs", "tmpfs", MountSpecParser.CleanPath(dest), TmpfsData: data ?? ""));
            return list;
        }
        catch
        {
            foreach (var name in mounted) TryCleanup(() => _volumes.Unmount(name, c.Id));
            throw;
        }
    }

    /// <summary>Unmounts the container's volumes (idempotent: after an exit, a failed start, at remove).</summary>
    private void UnmountVolumes(ContainerRecord c)
    {
        foreach (var m in c.MountPoints.Where(m => m.Type == "volume" && m.Name.Length > 0))
            TryCleanup(() => _volumes.Unmount(m.Name, c.Id));
    }

    /// <summary>`rm -v` and `--rm`: the container's anonymous volumes go, unless another container uses them.</summary>
    private void RemoveAnonymousVolumes(ContainerRecord c)
    {
        foreach (var m in c.MountPoints.Where(m => m.Type == "volume" && m.Anonymous && m.Name.Length > 0))
            TryCleanup(() => _volumes.RemoveIfUnused(m.Name));
    }

    /// <summary>The names of the volumes that a container's record mounts (what the volume store asks).</summary>
    public IEnumerable<string> ContainersUsingVolume(string name) =>
        Store.List().Where(c => c.MountPoints.Any(m => m.Type == "volume" && m.Name == name)).Select(c => c.Id);

    /// <summary>The running containers whose records mount the named volume (the volume store's recovery).</summary>
    public IReadOnlyList<string> RunningContainersUsingVolume(string name) =>
        [.. Store.List().Where(c => c.State.Running && c.MountPoints.Any(m => m.Type == "volume" && m.Name == name)).Select(c => c.Id)];
}
