using Berth.Core;
using Berth.Engine.Logging;
using Berth.Interop;

namespace Berth.Engine.Volumes;

/// <summary>
/// The store at start-up: what a crash or a power cut left in &lt;data-root&gt;/volumes/ is cleaned up and the
/// volumes loaded (<see cref="Load"/>), then the users of each volume are restored from the container records
/// (<see cref="RestoreUsers"/>) and from what really runs (<see cref="RecoverMounts"/>).
/// </summary>
public sealed partial class VolumeStore
{
    /// <summary>Deletes what a crash left (a create's temporary directory, a remove's trash) and what a power cut can
    /// leave of a create (a half volume: <see cref="DeleteHalfVolume"/>) and loads the volumes; another directory
    /// without valid metadata is not a volume (left alone, not listed).</summary>
    private void Load()
    {
        foreach (var dir in Directory.EnumerateDirectories(_root))
        {
            var entry = Path.GetFileName(dir);
            if (VolumeDirs.IsLeftover(entry))
            {
                try
                {
                    if (VolumeDirs.DeleteTree(dir)) EngineLog.Logger.VolumeInfo($"removed {entry}, left by an interrupted create or remove");
                    else EngineLog.Logger.VolumeWarning(entry, "left by an interrupted create or remove, not removed: something is mounted below it");
                }
                catch (Exception e) when (e is IOException or UnauthorizedAccessException)
                {
                    EngineLog.Logger.VolumeWarning(entry, $"could not remove the leftover: {e.Message}");
                }
                continue;
            }
            var meta = ReadMeta(dir);
            if (meta is null || meta.Name != entry || !VolumeNames.IsValid(entry))
            {
                DeleteHalfVolume(dir, entry);
                continue;
            }
            _volumes[entry] = meta;
            RecoverCopyUp(entry, meta);
            if (meta.Driver == LocalVolumeDriver.DriverName && meta.Options is { Count: > 0 } && Local is { } local)
            {
                try { local.Known(entry, meta.Options); }
                catch (BerthException e) { EngineLog.Logger.VolumeWarning(entry, $"its options are not valid: {e.Message}"); }
            }
        }
    }

    /// <summary>A directory without a valid volume.json. A create is answered before its volume.json is fsynced
    /// (<see cref="VolumeBackgroundIo"/>), so a power cut can leave a renamed directory whose volume.json is missing
    /// or empty: a half volume, deleted (never through a mount). A directory that holds anything else (data in
    /// _data, other files) is not ours to delete: left alone with a warning, never listed.</summary>
    private static void DeleteHalfVolume(string dir, string entry)
    {
        try
        {
            if (VolumeDirs.IsHalfVolume(dir))
            {
                if (VolumeDirs.DeleteTree(dir)) EngineLog.Logger.VolumeInfo($"removed {entry}: a half volume (its {VolumeDirs.MetaFile} is missing, empty or invalid), left by a power cut during its create");
                else EngineLog.Logger.VolumeWarning(entry, $"a half volume (no valid {VolumeDirs.MetaFile}), not removed: something is mounted below it");
                return;
            }
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            EngineLog.Logger.VolumeWarning(entry, $"could not remove the half volume: {e.Message}");
            return;
        }
        EngineLog.Logger.VolumeWarning(entry, $"no valid {VolumeDirs.MetaFile} and not empty: not a volume, ignored");
    }


    /// <summary>
    /// Start-up, before the containers are recovered: the containers recorded as running are the users of the
    /// volumes they mount, so that the exit of one that died while berthd was down, found while recovering, unmounts
    /// its volumes through their drivers (a plugin gets its /VolumeDriver.Unmount, as dockerd's cleanup of a dead
    /// container sends it). <see cref="RecoverMounts"/> then sets the users from what really runs.
    /// </summary>
    /// <param name="recordedUsers">The ids of the containers whose records say running and mount the named volume.</param>
    public void RestoreUsers(Func<string, IReadOnlyList<string>> recordedUsers)
    {
        foreach (var v in Snapshot())
        {
            var users = recordedUsers(v.Name);
            if (users.Count == 0) continue;
            lock (_lock)
            {
                if (!_mountedFor.TryGetValue(v.Name, out var set)) _mountedFor[v.Name] = set = new(StringComparer.Ordinal);
                set.UnionWith(users);
            }
        }
    }

    /// <summary>
    /// Start-up, once the containers are recovered: the running containers that mount a volume are its users again
    /// (so that their exit unmounts it), and every `local` volume with options is mounted or unmounted so that the
    /// kernel agrees (<see cref="LocalVolumeDriver.Recover"/>: left mounted with no running user → unmounted; used by
    /// a running container but not mounted, after a reboot → mounted again).
    /// </summary>
    /// <param name="runningUsers">The ids of the running containers whose records mount the named volume.</param>
    public void RecoverMounts(Func<string, IReadOnlyList<string>> runningUsers)
    {
        foreach (var v in Snapshot())
        {
            var users = runningUsers(v.Name);
            lock (_lock)
            {
                if (users.Count > 0) _mountedFor[v.Name] = new HashSet<string>(users, StringComparer.Ordinal);
                else _mountedFor.Remove(v.Name);
            }
            if (v.Driver != LocalVolumeDriver.DriverName || v.Options is not { Count: > 0 } || Local is not { } local) continue;
            try { local.Recover(v.Name, DirOf(v.Name), users); }
            catch (BerthException e) { EngineLog.Logger.VolumeWarning(v.Name, $"recovering its mount failed: {e.Message}"); }
        }
    }
}
