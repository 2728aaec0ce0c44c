using System.Globalization;
using System.Text.Json;
using Berth.Api;
using Berth.Api.Volumes;
using Berth.Core;
using Berth.Engine.Backends;
using Berth.Engine.Logging;
using Berth.Interop;
using VolumePlugins = Berth.Engine.Volumes.Drivers.VolumePlugins;

namespace Berth.Engine.Volumes;

/// <summary>
/// The engine's volumes: metadata and drivers, in &lt;data-root&gt;/volumes/ (see <see cref="VolumeDirs"/> for the
/// crash-safe layout). Users of a volume are the containers whose records mount it (<see cref="ContainersUsing"/>)
/// and the containers it is mounted for right now (<see cref="Mount"/>): a volume with users is not removed.
/// One lock serializes the store's changes (a driver call included); a removed volume's data is deleted outside it.
/// </summary>
public sealed partial class VolumeStore : IVolumes, IVolumeBackend
{
    private static readonly HashSet<string> ListFilters = new(StringComparer.Ordinal) { "dangling", "driver", "label", "name" };
    private static readonly HashSet<string> PruneFilters = new(StringComparer.Ordinal) { "label", "label!" };

    private readonly string _root;
    private readonly Dictionary<string, VolumeMeta> _volumes = new(StringComparer.Ordinal);
    private readonly Dictionary<string, HashSet<string>> _mountedFor = new(StringComparer.Ordinal);
    private readonly Lock _lock = new();
    private int _pruneRunning;
    private readonly VolumeBackgroundIo _io;

    /// <summary>Waits for the disk work no answer waits for: the coalesced fsync of the volumes directory after
    /// renames, the deletion of removed volumes' data (tests, shutdown).</summary>
    public void WaitForBackgroundIo() => _io.WaitIdle();

    /// <param name="dataRoot">The daemon's data root: volumes live in its "volumes" directory.</param>
    /// <param name="drivers">The drivers (a registry with the local driver when null).</param>
    /// <param name="plugins">Where a driver name other than the registered ones is looked up (Docker's volume plugins:
    /// activated on first use and registered); none when null.</param>
    public VolumeStore(string dataRoot, VolumeDriverRegistry? drivers = null, VolumePlugins? plugins = null)
    {
        _root = Path.Combine(dataRoot, "volumes");
        Directory.CreateDirectory(_root, VolumeDirs.Mode0701);
        _io = new VolumeBackgroundIo(_root);
        Drivers = drivers ?? new VolumeDriverRegistry(new LocalVolumeDriver(_root));
        Plugins = plugins;
        Load();
    }

    /// <summary>The volume plugins (null: only registered drivers).</summary>
    public VolumePlugins? Plugins { get; }

    /// <summary>&lt;data-root&gt;/volumes.</summary>
    public string Root => _root;

    public VolumeDriverRegistry Drivers { get; }

    /// <summary>The ids of the containers whose records mount the named volume (set by the daemon's setup).</summary>
    public Func<string, IReadOnlyList<string>> ContainersUsing { get; set; } = _ => [];

    /// <summary>Volume events (action "create", "destroy", "mount", "unmount"; the volume's name; attributes
    /// "driver", and "container" for mount and unmount), for the engine's event stream.</summary>
    public Action<string, string, IReadOnlyDictionary<string, string>>? Published { get; set; }

    private LocalVolumeDriver? Local => Drivers.Find(LocalVolumeDriver.DriverName) as LocalVolumeDriver;

    /// <summary>The driver of that name: a registered one, else a plugin, activated and registered. NotFound as
    /// dockerd: "error looking up volume plugin NAME: plugin "NAME" not found".</summary>
    private IVolumeDriver DriverOf(string name)
    {
        if (Drivers.Find(name) is { } d) return d;
        if (Plugins is null || name == LocalVolumeDriver.DriverName) return Drivers.Get(name);
        var plugin = Plugins.Get(name);
        Drivers.Register(plugin);
        return plugin;
    }

    /// <summary><see cref="DriverOf"/>, or null when the driver cannot be had (a plugin that is gone).</summary>
    private IVolumeDriver? TryDriverOf(string name)
    {
        try { return DriverOf(name); }
        catch (BerthException e)
        {
            EngineLog.Logger.VolumeWarning(name, $"volume driver unavailable: {e.Message}");
            return null;
        }
    }

    private static VolumeMeta? ReadMeta(string dir)
    {
        try
        {
            return JsonSerializer.Deserialize(File.ReadAllBytes(Path.Combine(dir, VolumeDirs.MetaFile)), VolumeJsonContext.Default.VolumeMeta);
        }
        catch (Exception e) when (e is IOException or JsonException or UnauthorizedAccessException)
        {
            return null;
        }
    }

    private string DirOf(string name) => Path.Combine(_root, name);

    // ---- create ----

    public Volume Create(string? name, string? driver, IReadOnlyDictionary<string, string>? driverOpts, IReadOnlyDictionary<string, string>? labels) =>
        ToApi(CreateMeta(name, driver, driverOpts, labels, anonymous: string.IsNullOrEmpty(name)));

    public VolumeRecord GetOrCreate(string? name, string? driver, IReadOnlyDictionary<string, string>? options,
        IReadOnlyDictionary<string, string>? labels, bool anonymous) =>
        ToRecord(CreateMeta(name, driver, options, labels, anonymous || string.IsNullOrEmpty(name)));

    private VolumeMeta CreateMeta(string? name, string? driver, IReadOnlyDictionary<string, string>? options,
        IReadOnlyDictionary<string, string>? labels, bool anonymous)
    {
        if (string.IsNullOrEmpty(name)) name = VolumeNames.NewAnonymous();
        // No driver named (`-v NAME:/path`): an existing volume is taken with whatever driver it has, as dockerd.
        bool named = !string.IsNullOrEmpty(driver);
        string driverName = named ? driver! : LocalVolumeDriver.DriverName;
        VolumeMeta meta;
        IVolumeDriver drv;
        TaskCompletionSource claim;
        for (;;)
        {
            Task? busy;
            lock (_lock)
            {
                busy = _busy.GetValueOrDefault(name)?.Task;
                if (busy is null)
                {
                    if (!named && _volumes.TryGetValue(name, out var any)) return any;
                    try
                    {
                        drv = DriverOf(driverName);
                    }
                    catch (BerthException e)
                    {
                        throw Wrap("create", name, e);
                    }
                    if (_volumes.TryGetValue(name, out var existing))
                    {
                        if (existing.Driver != drv.Name)
                            throw BerthException.Conflict($"create {name}: driver '{existing.Driver}' already has volume '{name}': volume name must be unique");
                        return existing;
                    }
                    try
                    {
                        VolumeNames.Validate(name);
                    }
                    catch (BerthException e)
                    {
                        throw Wrap("create", name, e);
                    }
                    if (Directory.Exists(DirOf(name)) || File.Exists(DirOf(name)))
                        throw BerthException.Conflict($"create {name}: {DirOf(name)} exists and is not a volume (no valid {VolumeDirs.MetaFile}): move it away first");
                    meta = new VolumeMeta
                    {
                        Name = name, Driver = drv.Name, CreatedAt = DateTime.UtcNow, Anonymous = anonymous,
                        Labels = labels is null ? null : new Dictionary<string, string>(labels, StringComparer.Ordinal),
                        Options = options is null ? null : new Dictionary<string, string>(options, StringComparer.Ordinal),
                    };
                    _busy[name] = claim = NewClaim();
                    break;
                }
            }
            busy.Wait();
        }
        // The name is claimed: the driver's create and the disk steps (and their fsyncs, which concurrent creates
        // share: the filesystem's journal commits them together) run outside the store's lock.
        try
        {
            var tmp = Path.Combine(_root, VolumeDirs.Unique(VolumeDirs.TempPrefix));
            Directory.CreateDirectory(tmp, VolumeDirs.Mode0755);
            try
            {
                try
                {
                    drv.Create(name, tmp, meta.Options ?? []);
                }
                catch (BerthException e)
                {
                    throw Wrap("create", name, e);
                }
                // Written in place: the directory is not the volume until it is renamed, so no temporary file is needed.
                VolumeDirs.Write(Path.Combine(tmp, VolumeDirs.MetaFile),
                    JsonSerializer.SerializeToUtf8Bytes(meta, VolumeJsonContext.Default.VolumeMeta));
                // The directory is whole: the rename names it and the answer goes (a crash of berthd keeps it, the
                // kernel has it). The fsyncs of its volume.json and of the volumes directory come soon after
                // (VolumeBackgroundIo), shared with the creates and removes around them; a power cut before them can
                // leave the directory with an empty volume.json, which start-up deletes (Load).
                Directory.Move(tmp, DirOf(name));
                _io.Created(Path.Combine(DirOf(name), VolumeDirs.MetaFile));
            }
            catch
            {
                try { VolumeDirs.DeleteTree(tmp); }
                catch (Exception e) when (e is IOException or UnauthorizedAccessException) { EngineLog.Logger.VolumeWarning(name, $"could not remove {tmp}: {e.Message}"); }
                throw;
            }
            lock (_lock) _volumes[name] = meta;
        }
        finally
        {
            Release(name, claim);
        }
        Publish("create", name, new Dictionary<string, string> { ["driver"] = meta.Driver });
        return meta;
    }

    /// <summary>Names being created or removed right now (claimed under the lock, worked on outside it): another
    /// create, remove or mount of the name waits for the task.</summary>
    private readonly Dictionary<string, TaskCompletionSource> _busy = new(StringComparer.Ordinal);

    private static TaskCompletionSource NewClaim() => new(TaskCreationOptions.RunContinuationsAsynchronously);

    private void Release(string name, TaskCompletionSource claim)
    {
        lock (_lock) _busy.Remove(name);
        claim.SetResult();
    }

    /// <summary>Waits until no create or remove of <paramref name="name"/> is under way (call without the lock).</summary>
    private void WaitNotBusy(string name)
    {
        Task? busy;
        lock (_lock) busy = _busy.GetValueOrDefault(name)?.Task;
        busy?.Wait();
    }

    // ---- get, list ----

    public VolumeRecord Get(string name) => ToRecord(Find(name));

    public Volume Inspect(string name) => ToApi(Find(name));

    private VolumeMeta Find(string name)
    {
        lock (_lock)
            return _volumes.GetValueOrDefault(name) ?? throw NoSuch(name);
    }

    private static BerthException NoSuch(string name) => BerthException.NotFound($"get {name}: no such volume");

    public IReadOnlyList<Volume> List(FilterArgs filters)
    {
        filters.Validate(ListFilters);
        bool? dangling = null;
        if (filters.Contains("dangling"))
        {
            if (filters.ExactMatch("dangling", "true") || filters.ExactMatch("dangling", "1")) dangling = true;
            else if (filters.ExactMatch("dangling", "false") || filters.ExactMatch("dangling", "0")) dangling = false;
            else throw BerthException.Invalid($"Invalid filter 'dangling=[{string.Join(" ", filters.Get("dangling"))}]'");
        }
        var all = Snapshot();
        var list = new List<Volume>();
        foreach (var v in all)
        {
            if (!filters.ExactMatch("driver", v.Driver)) continue;
            if (!filters.Match("name", v.Name)) continue;
            if (!filters.MatchKeyValues("label", (IReadOnlyDictionary<string, string>?)v.Labels ?? EmptyLabels)) continue;
            if (dangling is { } d && Users(v.Name).Count == 0 != d) continue;
            list.Add(ToApi(v));
        }
        return list;
    }

    private static readonly Dictionary<string, string> EmptyLabels = [];

    /// <summary>The volumes, oldest first.</summary>
    private List<VolumeMeta> Snapshot()
    {
        lock (_lock)
            return [.. _volumes.Values.OrderBy(v => v.CreatedAt).ThenBy(v => v.Name, StringComparer.Ordinal)];
    }

    /// <summary>GET /system/df's volumes: each with its size and the number of containers referring to it.</summary>
    public IReadOnlyList<Volume> DiskUsage() =>
        [.. Snapshot().Select(v =>
        {
            var api = ToApi(v);
            long size = v.Driver == LocalVolumeDriver.DriverName ? VolumeDirs.Size(api.Mountpoint) : -1;
            return new Volume
            {
                CreatedAt = api.CreatedAt, Driver = api.Driver, Labels = api.Labels, Mountpoint = api.Mountpoint, Name = api.Name,
                Options = api.Options, Scope = api.Scope, Status = api.Status,
                UsageData = new VolumeUsageData { RefCount = Users(v.Name).Count, Size = size },
            };
        })];

    /// <summary>The containers using a volume: those whose records mount it and those it is mounted for, sorted.</summary>
    public IReadOnlyList<string> Users(string name)
    {
        var users = new SortedSet<string>(ContainersUsing(name), StringComparer.Ordinal);
        lock (_lock)
            if (_mountedFor.TryGetValue(name, out var m)) users.UnionWith(m);
        return [.. users];
    }

    // ---- mount ----

    public string Mount(string name, string containerId)
    {
        string path;
        string driver;
        for (;;)
        {
            WaitNotBusy(name);
            using var scope = _lock.EnterScope();
            if (_busy.ContainsKey(name)) continue; // claimed again meanwhile
            var meta = _volumes.GetValueOrDefault(name) ?? throw NoSuch(name);
            driver = meta.Driver;
            try
            {
                path = DriverOf(meta.Driver).Mount(name, DirOf(name), containerId);
            }
            catch (BerthException e)
            {
                throw Wrap("mount", name, e);
            }
            if (!_mountedFor.TryGetValue(name, out var set)) _mountedFor[name] = set = new(StringComparer.Ordinal);
            set.Add(containerId);
            break;
        }
        Publish("mount", name, new Dictionary<string, string> { ["container"] = containerId, ["driver"] = driver });
        return path;
    }

    public void Unmount(string name, string containerId)
    {
        string driver;
        lock (_lock)
        {
            if (!_mountedFor.TryGetValue(name, out var set) || !set.Contains(containerId)) return;
            var meta = _volumes.GetValueOrDefault(name);
            driver = meta?.Driver ?? "";
            if (meta is not null && TryDriverOf(meta.Driver) is { } drv)
            {
                try
                {
                    drv.Unmount(name, DirOf(name), containerId);
                }
                catch (BerthException e)
                {
                    throw Wrap("unmount", name, e);
                }
            }
            set.Remove(containerId);
            if (set.Count == 0) _mountedFor.Remove(name);
        }
        Publish("unmount", name, new Dictionary<string, string> { ["container"] = containerId, ["driver"] = driver });
    }

    // ---- remove, prune ----

    public void Remove(string name, bool force)
    {
        VolumeMeta? meta;
        lock (_lock) meta = _volumes.GetValueOrDefault(name);
        if (meta is null)
        {
            if (force) return;
            throw NoSuch(name);
        }
        RemoveMeta(meta, force, ifUnused: false);
    }

    public void RemoveIfUnused(string name)
    {
        VolumeMeta? meta;
        lock (_lock) meta = _volumes.GetValueOrDefault(name);
        if (meta is null) return;
        try
        {
            RemoveMeta(meta, force: false, ifUnused: true);
        }
        catch (BerthException e) when (e.Kind != ErrorKind.Conflict)
        {
            EngineLog.Logger.VolumeWarning(name, $"not removed: {e.Message}");
        }
    }

    /// <summary>Renames the volume's directory to a trash name (the volume is gone, atomically), asks the driver to
    /// remove its data, deletes the trash. Returns false when the volume was in use and <paramref name="ifUnused"/>.</summary>
    private bool RemoveMeta(VolumeMeta meta, bool force, bool ifUnused)
    {
        string name = meta.Name;
        string trash;
        IVolumeDriver? drv;
        TaskCompletionSource claim;
        for (;;)
        {
            WaitNotBusy(name);
            lock (_lock)
            {
                if (_busy.ContainsKey(name)) continue; // claimed again meanwhile
                if (!_volumes.TryGetValue(name, out var current) || !ReferenceEquals(current, meta))
                {
                    if (ifUnused || force) return false;
                    throw NoSuch(name);
                }
                var users = Users(name);
                if (users.Count > 0)
                {
                    if (ifUnused) return false;
                    throw BerthException.Conflict($"remove {name}: volume is in use - [{string.Join(", ", users)}]");
                }
                drv = TryDriverOf(meta.Driver);
                if (drv is null && !force)
                    throw BerthException.NotFound($"remove {meta.Driver}: error looking up volume plugin {meta.Driver}: plugin \"{meta.Driver}\" not found");
                // Claimed: no mount and no create of the name until the remove is done; the rename and its fsync
                // run outside the lock (concurrent removes share the journal commit).
                _busy[name] = claim = NewClaim();
                break;
            }
        }
        try
        {
            trash = Path.Combine(_root, VolumeDirs.Unique(VolumeDirs.TrashPrefix));
            Directory.Move(DirOf(name), trash);
            _io.DirectoryChanged();
            try
            {
                drv?.Remove(name, trash);
            }
            catch (BerthException e) when (!force)
            {
                // The driver kept the volume: put it back as it was.
                Directory.Move(trash, DirOf(name));
                _io.DirectoryChanged();
                throw new BerthException(e.Kind, $"remove {name}: error while removing volume: {e.Message}", e);
            }
            catch (BerthException e)
            {
                EngineLog.Logger.VolumeWarning(name, $"the driver failed to remove the volume, its metadata is purged (force): {e.Message}");
            }
            lock (_lock)
            {
                _volumes.Remove(name);
                _mountedFor.Remove(name);
            }
        }
        finally
        {
            Release(name, claim);
        }
        _io.DeleteTrash(name, trash);
        Publish("destroy", name, new Dictionary<string, string> { ["driver"] = meta.Driver });
        return true;
    }

    public VolumesPruneReport Prune(FilterArgs filters)
    {
        filters.Validate(PruneFilters);
        if (Interlocked.CompareExchange(ref _pruneRunning, 1, 0) != 0)
            throw BerthException.Conflict("a prune operation is already running");
        try
        {
            List<string>? deleted = null;
            ulong reclaimed = 0;
            foreach (var v in Snapshot())
            {
                // dockerd 20.10: the local driver's volumes without options, named and anonymous alike.
                if (v.Driver != LocalVolumeDriver.DriverName || v.Options is { Count: > 0 }) continue;
                var labels = (IReadOnlyDictionary<string, string>?)v.Labels ?? EmptyLabels;
                if (!filters.MatchKeyValues("label", labels)) continue;
                if (filters.Contains("label!") && filters.MatchKeyValues("label!", labels)) continue;
                if (Users(v.Name).Count > 0) continue;
                long size = VolumeDirs.Size(LocalVolumeDriver.DataDir(DirOf(v.Name)));
                try
                {
                    if (!RemoveMeta(v, force: false, ifUnused: true)) continue;
                }
                catch (BerthException e)
                {
                    EngineLog.Logger.VolumeWarning(v.Name, $"prune: not removed: {e.Message}");
                    continue;
                }
                (deleted ??= []).Add(v.Name);
                reclaimed += (ulong)size;
            }
            return new VolumesPruneReport { VolumesDeleted = deleted, SpaceReclaimed = reclaimed };
        }
        finally
        {
            Volatile.Write(ref _pruneRunning, 0);
        }
    }

    // ---- shapes ----

    private VolumeRecord ToRecord(VolumeMeta m) => new()
    {
        Name = m.Name, Driver = m.Driver, Mountpoint = MountpointOf(m), CreatedAt = m.CreatedAt,
        Labels = m.Labels is null ? [] : new(m.Labels), Options = m.Options is null ? [] : new(m.Options),
        Scope = TryDriverOf(m.Driver)?.Scope ?? "local", Anonymous = m.Anonymous,
    };

    private Volume ToApi(VolumeMeta m)
    {
        var drv = TryDriverOf(m.Driver);
        Dictionary<string, JsonElement>? status = null;
        string mountpoint = m.Driver == LocalVolumeDriver.DriverName ? LocalVolumeDriver.DataDir(DirOf(m.Name)) : "";
        if (drv is not null && drv.Name != LocalVolumeDriver.DriverName)
        {
            // A plugin's view (VolumeDriver.Get): its Mountpoint and Status, as dockerd's inspect shows them.
            DriverVolume? got = null;
            try { got = drv.Get(m.Name, DirOf(m.Name)); }
            catch (BerthException e) { EngineLog.Logger.VolumeWarning(m.Name, $"the driver's Get failed: {e.Message}"); }
            if (got?.Status is { Count: > 0 } s) status = new Dictionary<string, JsonElement>(s, StringComparer.Ordinal);
            mountpoint = got?.Mountpoint ?? "";
        }
        else if (drv is not null) mountpoint = drv.Path(m.Name, DirOf(m.Name));
        return new Volume
        {
            CreatedAt = Rfc3339(m.CreatedAt), Driver = m.Driver, Mountpoint = mountpoint, Name = m.Name, Scope = drv?.Scope ?? "local",
            Labels = m.Labels is null ? null : new(m.Labels), Options = m.Options is null ? null : new(m.Options), Status = status,
        };
    }

    private string MountpointOf(VolumeMeta m)
    {
        if (TryDriverOf(m.Driver) is not { } drv) return "";
        try { return drv.Path(m.Name, DirOf(m.Name)); }
        catch (BerthException) { return ""; }
    }

    /// <summary>Go's time.RFC3339 in the daemon's time zone: "2026-11-22T05:52:53Z" or "...+01:00".</summary>
    public static string Rfc3339(DateTime utc)
    {
        var t = new DateTimeOffset(DateTime.SpecifyKind(utc, DateTimeKind.Utc)).ToLocalTime();
        var s = t.ToString("yyyy-MM-dd'T'HH:mm:ss", CultureInfo.InvariantCulture);
        return t.Offset == TimeSpan.Zero ? s + "Z" : s + t.ToString("zzz", CultureInfo.InvariantCulture);
    }

    private static BerthException Wrap(string op, string name, BerthException e) => new(e.Kind, $"{op} {name}: {e.Message}", e);

    private void Publish(string action, string name, IReadOnlyDictionary<string, string> attrs)
    {
        try
        {
            Published?.Invoke(action, name, attrs);
        }
        catch (Exception e)
        {
            EngineLog.Logger.VolumeWarning(name, $"publishing the {action} event failed: {e.Message}");
        }
    }
}
