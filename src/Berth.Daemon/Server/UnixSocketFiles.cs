using System.Net.Sockets;

namespace Berth.Daemon.Server;

/// <summary>Socket files: a stale one (nobody accepts on it) is removed before listening, a live one is refused;
/// ours get mode 0660 once bound and are removed at shutdown.</summary>
public static class UnixSocketFiles
{
    public static void Prepare(string path)
    {
        string? dir = Path.GetDirectoryName(path);
        if (!string.IsNullOrEmpty(dir)) Directory.CreateDirectory(dir);
        if (!File.Exists(path) && !Directory.Exists(path)) return;
        if (Directory.Exists(path)) throw BerthException.Conflict($"cannot listen on {path}: it is a directory");
        if (IsLive(path)) throw BerthException.Conflict($"cannot listen on {path}: another daemon is accepting connections on it");
        File.Delete(path);
    }

    public static bool IsLive(string path)
    {
        try
        {
            using var s = new Socket(AddressFamily.Unix, SocketType.Stream, ProtocolType.Unspecified);
            s.Connect(new UnixDomainSocketEndPoint(path));
            return true;
        }
        catch (SocketException)
        {
            return false;
        }
    }

    public static void SetMode(string path) =>
        File.SetUnixFileMode(path, UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.GroupRead | UnixFileMode.GroupWrite);

    public static void Remove(string path)
    {
        try { File.Delete(path); } catch (IOException) { } catch (UnauthorizedAccessException) { }
    }
}
