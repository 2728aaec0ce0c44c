using System.Globalization;
using System.Text;
using Berth.Core;
using Berth.Interop;
using Microsoft.Win32.SafeHandles;

namespace Berth.Images;

/// <summary>
/// Who may reach what under a daemon's data root. Layers hold image files as they are (setuid binaries included)
/// and containers' writable layers hold their files, so no host user other than root may reach them (the class of
/// CVE-2021-41091): the data root itself is 0711 (traversable, not listable) and every directory that holds image
/// or container content (content/, overlay/, images/, containers/) is 0700. Running containers are unaffected: the
/// overlay's lower and upper dirs are looked up by the kernel with the mounter's (root's) credentials.
/// </summary>
public static class DataRootPermissions
{
    public const UnixFileMode Private = UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute;
    public const UnixFileMode Traversable = Private | UnixFileMode.GroupExecute | UnixFileMode.OtherExecute;

    /// <summary>Creates <paramref name="path"/> (and missing parents) with <paramref name="mode"/>, and sets that mode
    /// on it when it already existed with another (a data root written by an older version is tightened).</summary>
    public static void CreateDirectory(string path, UnixFileMode mode = Private)
    {
        Directory.CreateDirectory(path, mode);
        if (File.GetUnixFileMode(path) != mode) File.SetUnixFileMode(path, mode);
    }
}

/// <summary>
/// Exclusive use of a data root by one daemon: flock(LOCK_EX) on &lt;data-root&gt;/berthd.lock, held (the fd open)
/// for the daemon's life and released by the kernel when the process dies, however it dies. The file holds the
/// owner's pid, for the message only.
/// </summary>
public sealed class DataRootLock : IDisposable
{
    public const string FileName = "berthd.lock";
    private readonly SafeFileHandle _handle;

    private DataRootLock(SafeFileHandle handle, string path)
    {
        _handle = handle;
        Path = path;
    }

    public string Path { get; }

    /// <summary>Conflict "another berthd is using data root X" when another process (or another lock in this one)
    /// holds it. <paramref name="dataRoot"/> must exist.</summary>
    public static DataRootLock Acquire(string dataRoot)
    {
        string path = System.IO.Path.Combine(dataRoot, FileName);
        int fd = Libc.open(path, Libc.O_RDWR | Libc.O_CREAT | Libc.O_CLOEXEC | Libc.O_NOFOLLOW, 0x180);
        if (fd < 0) throw new ErrnoException(Libc.Errno, "open", path);
        var handle = new SafeFileHandle(fd, ownsHandle: true);
        try
        {
            if (Libc.flock(fd, Libc.LOCK_EX | Libc.LOCK_NB) != 0)
            {
                int errno = Libc.Errno;
                if (errno != Libc.EWOULDBLOCK) throw new ErrnoException(errno, "flock", path);
                string owner = ReadOwner(handle) is { } pid ? $" (pid {pid})" : "";
                throw BerthException.Conflict($"another berthd is using data root {dataRoot}{owner}: its lock {path} is held");
            }
            byte[] pidBytes = Encoding.ASCII.GetBytes(Environment.ProcessId.ToString(CultureInfo.InvariantCulture) + "\n");
            RandomAccess.SetLength(handle, 0);
            RandomAccess.Write(handle, pidBytes, 0);
            return new DataRootLock(handle, path);
        }
        catch
        {
            handle.Dispose();
            throw;
        }
    }

    private static int? ReadOwner(SafeFileHandle handle)
    {
        var buf = new byte[32];
        int n = RandomAccess.Read(handle, buf, 0);
        return int.TryParse(Encoding.ASCII.GetString(buf, 0, n).Trim(), NumberStyles.None, CultureInfo.InvariantCulture, out int pid) ? pid : null;
    }

    /// <summary>Releases the lock (closing the fd). The file stays: removing it would race with a starting daemon.</summary>
    public void Dispose() => _handle.Dispose();
}
