using System.Runtime.InteropServices;

namespace Berth.Interop;

/// <summary>The native piece (src/native/berth.h). Everything between clone and exec happens there.</summary>
public static unsafe partial class Native
{
    // Linked statically into NativeAOT binaries (DirectPInvoke), loaded as libberth.so elsewhere.
    private const string Lib = "libberth";

    public const int MsgSync = 1, MsgReady = 2, MsgError = 3, MsgWarn = 4, MsgContinue = 5, MsgAbort = 6;

    [StructLayout(LayoutKind.Sequential)]
    public struct NsJoin
    {
        public int Fd;
        public int NsType;
    }

    [StructLayout(LayoutKind.Sequential)]
    public struct SpawnArgs
    {
        public ulong CloneFlags;
        public byte* Plan;
        public ulong PlanLen;
        public NsJoin* Joins;
        public int NJoins;
        public int ForceTwoStage;
        public int IntoCgroup;
        public int CgroupFd;
    }

    [LibraryImport(Lib, SetLastError = true)]
    private static partial int berth_spawn(SpawnArgs* args, int* syncFd, byte* err, nuint errlen);

    [LibraryImport(Lib, SetLastError = true)]
    private static partial int berth_sync_recv(int fd, uint* type, uint* errnoValue, byte* buf, nuint buflen);

    [LibraryImport(Lib, SetLastError = true, StringMarshalling = StringMarshalling.Utf8)]
    private static partial int berth_sync_send(int fd, uint type, uint errnoValue, string? text);

    [LibraryImport(Lib)]
    private static partial byte* berth_native_version();

    public static string Version => Marshal.PtrToStringUTF8((nint)berth_native_version())!;

    /// <summary>Clones a process that runs <paramref name="plan"/>; returns its pid and the sync socket.</summary>
    /// <param name="cgroupFd">an open cgroup v2 directory to clone the process into (CLONE_INTO_CGROUP), or -1</param>
    public static (int Pid, int SyncFd) Spawn(ulong cloneFlags, ReadOnlySpan<byte> plan, ReadOnlySpan<NsJoin> joins,
        bool forceTwoStage = false, int cgroupFd = -1)
    {
        byte* err = stackalloc byte[512];
        err[0] = 0;
        int syncFd = -1;
        fixed (byte* p = plan)
        fixed (NsJoin* j = joins)
        {
            var args = new SpawnArgs
            {
                CloneFlags = cloneFlags, Plan = p, PlanLen = (ulong)plan.Length, Joins = j, NJoins = joins.Length,
                ForceTwoStage = forceTwoStage ? 1 : 0, IntoCgroup = cgroupFd >= 0 ? 1 : 0, CgroupFd = cgroupFd,
            };
            int pid = berth_spawn(&args, &syncFd, err, 512);
            if (pid < 0)
            {
                int errno = Libc.Errno;
                var msg = Marshal.PtrToStringUTF8((nint)err);
                throw new ErrnoException(errno, string.IsNullOrEmpty(msg) ? "spawn" : msg);
            }
            return (pid, syncFd);
        }
    }

    public readonly record struct Message(int Type, int Errno, string Text);

    /// <summary>Receives one message; Type 0 means the child closed its end (exec'd or died).</summary>
    public static Message Receive(int fd)
    {
        byte* buf = stackalloc byte[4096];
        uint type, errnoValue;
        int n = berth_sync_recv(fd, &type, &errnoValue, buf, 4096);
        if (n < 0) throw new ErrnoException(Libc.Errno, "recv sync message");
        return new Message((int)type, (int)errnoValue, Marshal.PtrToStringUTF8((nint)buf, n));
    }

    public static void Send(int fd, int type, string? text = null)
    {
        if (berth_sync_send(fd, (uint)type, 0, text) < 0)
            throw new ErrnoException(Libc.Errno, "send sync message");
    }
}

public static unsafe partial class Native
{
    [LibraryImport(Lib, SetLastError = true)]
    private static partial int berth_recv_fd(int sock);

    [LibraryImport(Lib, SetLastError = true)]
    private static partial int berth_tty_raw(int fd, byte* saved, nuint len);

    [LibraryImport(Lib, SetLastError = true)]
    private static partial int berth_tty_restore(int fd, byte* saved, nuint len);

    [LibraryImport(Lib, SetLastError = true)]
    public static partial int berth_tty_copy_size(int from, int to);

    [LibraryImport(Lib, SetLastError = true)]
    public static partial int berth_tty_set_size(int fd, ushort rows, ushort cols);

    /// <summary>Receives the pty master a container sends over a console socket.</summary>
    public static int ReceiveFd(int sock) => Libc.Check(berth_recv_fd(sock), "receive console fd");

    /// <summary>Puts a terminal in raw mode; returns the saved state for <see cref="RestoreTty"/>, or null if fd is no tty.</summary>
    public static byte[]? MakeRaw(int fd)
    {
        var saved = new byte[128];
        fixed (byte* p = saved)
            return berth_tty_raw(fd, p, (nuint)saved.Length) == 0 ? saved : null;
    }

    public static void RestoreTty(int fd, byte[] saved)
    {
        fixed (byte* p = saved) berth_tty_restore(fd, p, (nuint)saved.Length);
    }
}
