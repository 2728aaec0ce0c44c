using Berth.Engine.Logging;
using Berth.Interop;

namespace Berth.Engine.Volumes;

/// <summary>
/// Copy-up made crash-safe: while the image's content is copied into a volume, the volume's directory holds
/// <see cref="VolumeDirs.CopyUpMarker"/> (written and made durable before the first byte is copied, removed once the
/// copy is on disk). A volume found with the marker holds half a copy: at start-up a plain `local` volume is emptied
/// (<see cref="RecoverCopyUp"/>); a volume the store cannot reach without mounting it (options, plugins) keeps the
/// marker and is emptied by the next copy-up into it. Either way it never passes for a filled volume.
/// </summary>
public sealed partial class VolumeStore
{
    private readonly Lock _copyUpLock = new();

    private string CopyUpMarkerOf(string name) => Path.Combine(DirOf(name), VolumeDirs.CopyUpMarker);

    public bool CopyUpPending(string name) => File.Exists(CopyUpMarkerOf(name));

    /// <summary>Mounts the volume for <paramref name="containerId"/>, copies <paramref name="from"/> into it when it is
    /// empty (or half-filled by a crash: it is emptied first), unmounts it. Copy-ups are serialized (two containers
    /// created at once with one new volume copy into it once).</summary>
    public bool CopyUp(string name, string containerId, string from)
    {
        lock (_copyUpLock)
        {
            var into = Mount(name, containerId);
            try
            {
                var marker = CopyUpMarkerOf(name);
                bool pending = File.Exists(marker);
                if (!pending && Directory.EnumerateFileSystemEntries(into).Any()) return false;
                if (!Directory.Exists(from)) return false;
                if (pending)
                {
                    EngineLog.Logger.VolumeInfo($"volume {name}: emptied, a copy-up into it was cut short by a crash");
                    if (!VolumeDirs.ClearContents(into))
                        throw Core.BerthException.Conflict($"copy-up into {name}: half a copy is in the volume and something is mounted below it");
                }
                else
                {
                    AtomicFile.WriteAllBytes(marker, System.Text.Encoding.UTF8.GetBytes(containerId + "\n"));
                }
                bool copied = global::Berth.Engine.Volumes.CopyUp.Copy(from, into);
                // The copy is on disk before the marker goes (else a power cut could leave half a copy unmarked).
                if (copied) VolumeDirs.SyncFilesystem(into);
                File.Delete(marker);
                AtomicFile.FsyncDirectory(DirOf(name));
                return copied;
            }
            finally
            {
                Unmount(name, containerId);
            }
        }
    }

    /// <summary>Start-up: a plain `local` volume whose copy-up a crash cut short is emptied and its marker removed
    /// (the next container that mounts it with copy on fills it); any other keeps its marker until its next copy-up.</summary>
    private void RecoverCopyUp(string name, VolumeMeta meta)
    {
        var marker = CopyUpMarkerOf(name);
        if (!File.Exists(marker)) return;
        if (meta.Driver != LocalVolumeDriver.DriverName || meta.Options is { Count: > 0 })
        {
            EngineLog.Logger.VolumeWarning(name, "a copy-up into it was cut short by a crash: it is emptied and filled again by the next container that copies into it");
            return;
        }
        try
        {
            if (!VolumeDirs.ClearContents(LocalVolumeDriver.DataDir(DirOf(name))))
            {
                EngineLog.Logger.VolumeWarning(name, "a copy-up into it was cut short by a crash; not emptied: something is mounted below it");
                return;
            }
            File.Delete(marker);
            AtomicFile.FsyncDirectory(DirOf(name));
            EngineLog.Logger.VolumeInfo($"volume {name}: emptied, a copy-up into it was cut short by a crash");
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            EngineLog.Logger.VolumeWarning(name, $"emptying half a copy-up failed: {e.Message}");
        }
    }
}
