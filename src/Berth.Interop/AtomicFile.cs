namespace Berth.Interop;

/// <summary>How much of an atomic write is made durable.</summary>
public enum Sync
{
    /// <summary>fsync the file, rename, fsync the directory: the default for metadata on disk.</summary>
    FileAndDirectory,

    /// <summary>No directory fsync: a later write in the same directory syncs it (the rename becomes durable then).</summary>
    FileOnly,

    /// <summary>
    /// Temp file and rename only: readers never see half a file, but nothing is forced to disk. For run-time
    /// state (the exec root, the runtime's root) that means nothing after a reboot.
    /// </summary>
    None,
}

/// <summary>Metadata writes that are never seen half-done: temp file, fsync, rename, fsync the directory.</summary>
public static class AtomicFile
{
    private static long s_seq;

    public static void WriteAllBytes(string path, ReadOnlySpan<byte> content, UnixFileMode mode = UnixFileMode.UserRead | UnixFileMode.UserWrite,
                                     Sync sync = Sync.FileAndDirectory)
    {
        var dir = Path.GetDirectoryName(Path.GetFullPath(path))!;
        // Unique per write: two writers of one file (in one process or two) never share a temp file.
        var tmp = Path.Combine(dir, "." + Path.GetFileName(path) + "." + Environment.ProcessId + "."
                                    + Interlocked.Increment(ref s_seq) + ".tmp");
        try
        {
            using (var fs = new FileStream(tmp, new FileStreamOptions
            {
                Mode = FileMode.Create, Access = FileAccess.Write, UnixCreateMode = mode,
            }))
            {
                fs.Write(content);
                fs.Flush(flushToDisk: sync != Sync.None);
            }
            File.Move(tmp, path, overwrite: true);
        }
        catch
        {
            File.Delete(tmp);
            throw;
        }
        if (sync == Sync.FileAndDirectory) FsyncDirectory(dir);
    }

    /// <summary>Makes a rename (or create, delete) in <paramref name="dir"/> durable. A failure is an
    /// <see cref="ErrnoException"/>: the change may not survive a crash, so the caller must not report success.</summary>
    public static void FsyncDirectory(string dir)
    {
        int fd = Libc.open(dir, Libc.O_RDONLY | Libc.O_DIRECTORY | Libc.O_CLOEXEC, 0);
        if (fd < 0) throw new ErrnoException(System.Runtime.InteropServices.Marshal.GetLastPInvokeError(), "open", dir);
        try
        {
            if (Libc.fsync(fd) != 0) throw new ErrnoException(System.Runtime.InteropServices.Marshal.GetLastPInvokeError(), "fsync", dir);
        }
        finally
        {
            Libc.close(fd);
        }
    }
}
