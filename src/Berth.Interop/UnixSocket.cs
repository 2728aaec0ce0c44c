using System.Net.Sockets;

namespace Berth.Interop;

/// <summary>
/// Connecting to a unix socket by path, whatever the path's length: sun_path holds 107 bytes, and state
/// directories under a long --exec-root (or a test's temp dir) exceed it. A longer path is reached through
/// /proc/self/fd/N/NAME, N being an O_PATH descriptor of its directory (what runc and conmon do).
/// </summary>
public static class UnixSocket
{
    private const int MaxPath = 107;

    public static Socket Connect(string path)
    {
        var socket = new Socket(AddressFamily.Unix, SocketType.Stream, ProtocolType.Unspecified);
        try
        {
            WithShortPath(path, p => socket.Connect(new UnixDomainSocketEndPoint(p)));
            return socket;
        }
        catch
        {
            socket.Dispose();
            throw;
        }
    }

    public static async Task<Socket> ConnectAsync(string path, CancellationToken ct = default)
    {
        var socket = new Socket(AddressFamily.Unix, SocketType.Stream, ProtocolType.Unspecified);
        int dirFd = -1;
        try
        {
            string endpoint = path;
            if (System.Text.Encoding.UTF8.GetByteCount(path) > MaxPath) (endpoint, dirFd) = OpenShortPath(path);
            await socket.ConnectAsync(new UnixDomainSocketEndPoint(endpoint), ct);
            return socket;
        }
        catch
        {
            socket.Dispose();
            throw;
        }
        finally
        {
            if (dirFd >= 0) Libc.close(dirFd);
        }
    }

    private static void WithShortPath(string path, Action<string> action)
    {
        if (System.Text.Encoding.UTF8.GetByteCount(path) <= MaxPath)
        {
            action(path);
            return;
        }
        var (shortPath, fd) = OpenShortPath(path);
        try { action(shortPath); }
        finally { Libc.close(fd); }
    }

    private static (string Path, int DirFd) OpenShortPath(string path)
    {
        string dir = Path.GetDirectoryName(Path.GetFullPath(path)) ?? "/";
        int fd = Libc.open(dir, Libc.O_PATH | Libc.O_DIRECTORY | Libc.O_CLOEXEC, 0);
        if (fd < 0) throw new SocketException(2); // ENOENT-like: the directory is gone
        string shortPath = $"/proc/self/fd/{fd}/{Path.GetFileName(path)}";
        if (System.Text.Encoding.UTF8.GetByteCount(shortPath) > MaxPath)
        {
            Libc.close(fd);
            throw new SocketException(36); // ENAMETOOLONG: the socket's own name is too long
        }
        return (shortPath, fd);
    }
}
