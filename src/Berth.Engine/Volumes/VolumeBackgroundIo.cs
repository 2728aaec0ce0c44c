using Berth.Engine.Logging;
using Berth.Interop;

namespace Berth.Engine.Volumes;

/// <summary>
/// The store's disk work that no answer waits for: the fsync of &lt;data-root&gt;/volumes after a create's or a
/// remove's rename (coalesced: one fsync for every rename before it, within <see cref="SyncDelay"/>), and the
/// deletion of a removed volume's trash directory. Neither is needed for crash safety: a create's directory is
/// complete and its volume.json fsynced before the rename names it, so whatever a power cut keeps of the renames is a
/// set of whole volumes (a remove not yet on disk brings its volume back whole; trash left behind is deleted at the
/// next start). Only the last <see cref="SyncDelay"/> of acknowledged renames can be lost to a power cut, never to a
/// crash of berthd (the kernel has them).
/// </summary>
internal sealed class VolumeBackgroundIo(string root)
{
    public static readonly TimeSpan SyncDelay = TimeSpan.FromMilliseconds(20);

    private readonly Lock _lock = new();
    private readonly Queue<(string Name, string Trash)> _trash = new();
    private bool _dirty, _running;
    private TaskCompletionSource _idle = Done();

    private static TaskCompletionSource Done()
    {
        var t = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        t.SetResult();
        return t;
    }

    /// <summary>The volumes directory changed (a rename): it is fsynced soon.</summary>
    public void DirectoryChanged()
    {
        lock (_lock)
        {
            _dirty = true;
            StartLocked();
        }
    }

    /// <summary>Deletes a removed volume's trash directory after the answer.</summary>
    public void DeleteTrash(string name, string trash)
    {
        lock (_lock)
        {
            _trash.Enqueue((name, trash));
            StartLocked();
        }
    }

    /// <summary>Waits until every pending fsync and trash deletion is done (tests; the daemon's shutdown).</summary>
    public void WaitIdle()
    {
        Task idle;
        lock (_lock) idle = _idle.Task;
        idle.Wait();
    }

    private void StartLocked()
    {
        if (_running) return;
        _running = true;
        if (_idle.Task.IsCompleted) _idle = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        _ = Task.Run(Loop);
    }

    private async Task Loop()
    {
        for (;;)
        {
            await Task.Delay(SyncDelay).ConfigureAwait(false);
            bool sync;
            List<(string Name, string Trash)> trash;
            lock (_lock)
            {
                sync = _dirty;
                _dirty = false;
                trash = [.. _trash];
                _trash.Clear();
                if (!sync && trash.Count == 0)
                {
                    _running = false;
                    _idle.SetResult();
                    return;
                }
            }
            if (sync)
            {
                try { AtomicFile.FsyncDirectory(root); }
                catch (Exception e) { EngineLog.Logger.VolumeWarning(root, $"fsync failed: {e.Message}"); }
            }
            foreach (var (name, dir) in trash)
            {
                try
                {
                    if (!VolumeDirs.DeleteTree(dir)) EngineLog.Logger.VolumeWarning(name, $"{dir} not deleted: something is mounted below it");
                }
                catch (Exception e) when (e is IOException or UnauthorizedAccessException)
                {
                    EngineLog.Logger.VolumeWarning(name, $"could not delete {dir} (deleted at the next start): {e.Message}");
                }
            }
        }
    }
}
