using System.Runtime.InteropServices;

namespace Berth.Interop;

public static unsafe partial class Native
{
    [LibraryImport(Lib, SetLastError = true, StringMarshalling = StringMarshalling.Utf8)]
    private static partial int berth_netns_listen(string nsPath, string ip, int port, int* udpFd, int* tcpFd, byte* err, nuint errlen);

    /// <summary>
    /// A UDP socket and a listening TCP socket bound to <paramref name="ip"/>:<paramref name="port"/> inside the
    /// network namespace at <paramref name="nsPath"/> (both non-blocking, close-on-exec; the caller owns them).
    /// Made by libberth on a native thread of its own that enters the namespace and ends: no managed code runs
    /// in the container's namespace, and the calling thread never changes namespace.
    /// </summary>
    public static (int Udp, int Tcp) NetnsListen(string nsPath, string ip, int port)
    {
        byte* err = stackalloc byte[256];
        int udp = -1, tcp = -1;
        if (berth_netns_listen(nsPath, ip, port, &udp, &tcp, err, 256) != 0)
        {
            int errno = Marshal.GetLastPInvokeError();
            throw new ErrnoException(errno, Marshal.PtrToStringUTF8((nint)err) ?? "netns listen");
        }
        return (udp, tcp);
    }
}
