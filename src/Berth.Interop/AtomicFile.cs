namespace Berth.Interop;

/// <summary>Metadata writes that are never seen half-done: temp file, fsync, rename, fsync the directory.</summary>
public static class AtomicFile
{
    private static long s_seq;

    /// <param name="syncDirectory">
    /// false when a later write in the same directory fsyncs it anyway (the rename is made durable with it).
    /// </param>
    public static void WriteAllBytes(string path, ReadOnlySpan<byte> content, UnixFileMode mode = UnixFileMode.UserRead | UnixFileMode.UserWrite,
                                     bool syncDirectory = true)
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
                fs.Flush(flushToDisk: true);
            }
            File.Move(tmp, path, overwrite: true);
        }
        catch
        {
            File.Delete(tmp);
            throw;
        }
        if (syncDirectory) FsyncDirectory(dir);
    }

    public static void FsyncDirectory(string dir)
    {
        int fd = Libc.open(dir, Libc.O_RDONLY | Libc.O_DIRECTORY | Libc.O_CLOEXEC, 0);
        if (fd < 0) return;
        Libc.fsync(fd);
        Libc.close(fd);
    }
}
