using System.Runtime.InteropServices;

namespace Berth.Interop;

/// <summary>Sockets and namespaces for networking: netlink sockets, setns(2), unshare(2).</summary>
public static unsafe partial class Libc
{
    public const int AF_NETLINK = 16, AF_BRIDGE = 7, AF_INET = 2, SOCK_RAW = 3, NETLINK_ROUTE = 0, NETLINK_NETFILTER = 12;
    public const int SOL_SOCKET = 1, SO_RCVBUF = 8, SO_SNDBUF = 7;

    [LibraryImport(L, SetLastError = true)]
    public static partial int socket(int domain, int type, int protocol);

    [LibraryImport(L, SetLastError = true)]
    public static partial nint send(int fd, byte* buf, nint len, int flags);

    [LibraryImport(L, SetLastError = true)]
    public static partial nint recv(int fd, byte* buf, nint len, int flags);

    [LibraryImport(L, SetLastError = true)]
    public static partial int setsockopt(int fd, int level, int name, void* value, uint len);

    [LibraryImport(L, SetLastError = true)]
    public static partial int setns(int fd, int nstype);

    [LibraryImport(L, SetLastError = true)]
    public static partial int unshare(int flags);

    [LibraryImport(L, SetLastError = true, StringMarshalling = StringMarshalling.Utf8)]
    public static partial int unlink(string path);
}
