using Berth.Engine.Logging;
using Berth.Interop;

namespace Berth.Engine.Volumes;

/// <summary>
/// The store's disk work that no answer waits for, done in one coalesced pass <see cref="SyncDelay"/> after the first
/// change: the fsync of each new volume's volume.json (<see cref="Created"/>), then one fsync of
/// &lt;data-root&gt;/volumes for every create's and remove's rename before it, then the deletion of removed volumes'
/// trash directories. A create is answered once its complete directory is renamed into place, a remove once its
/// rename is done: a crash of berthd (kill -9) loses nothing (the kernel has every rename and every write). A power
/// cut can lose the acknowledged creates and removes of the last ~<see cref="SyncDelay"/> (plus the time of the pass):
/// a remove not yet on disk brings its volume back whole; a create not yet on disk is absent, or its directory is
/// there with a volume.json that is missing, empty or invalid: start-up (VolumeStore.Load) deletes such a half volume,
/// never lists it. Trash left behind is deleted at the next start.
/// </summary>
internal sealed class VolumeBackgroundIo(string root)
{
    public static readonly TimeSpan SyncDelay = TimeSpan.FromMilliseconds(20);

    private readonly Lock _lock = new();
    private readonly Queue<(string Name, string Trash)> _trash = new();
    private readonly List<string> _created = [];
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

    /// <summary>A volume was renamed into place with its volume.json written but not fsynced: the file is fsynced
    /// (if the volume is still there), then the directory.</summary>
    public void Created(string metaFile)
    {
        lock (_lock)
        {
            _created.Add(metaFile);
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
            string[] created;
            lock (_lock)
            {
                sync = _dirty;
                _dirty = false;
                trash = [.. _trash];
                _trash.Clear();
                created = [.. _created];
                _created.Clear();
                if (!sync && trash.Count == 0)
                {
                    _running = false;
                    _idle.SetResult();
                    return;
                }
            }
            // The files first, then the directory that names them: a rename on disk before its volume.json is what
            // start-up's half-volume cleanup is for, but the pass never makes it more likely.
            foreach (var file in created)
            {
                try { FsyncFile(file); }
                catch (Exception e) { EngineLog.Logger.VolumeWarning(file, $"fsync failed: {e.Message}"); }
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

    /// <summary>fsync of a file by path; a file that is gone (its volume removed meanwhile) is nothing to do.</summary>
    private static void FsyncFile(string path)
    {
        int fd = Libc.open(path, Libc.O_RDONLY | Libc.O_CLOEXEC, 0);
        if (fd < 0)
        {
            int errno = System.Runtime.InteropServices.Marshal.GetLastPInvokeError();
            if (errno == Libc.ENOENT) return;
            throw new ErrnoException(errno, "open", path);
        }
        try
        {
            if (Libc.fsync(fd) != 0) throw new ErrnoException(System.Runtime.InteropServices.Marshal.GetLastPInvokeError(), "fsync", path);
        }
        finally
        {
            Libc.close(fd);
        }
    }
}
