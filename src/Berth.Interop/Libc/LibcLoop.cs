using System.Runtime.InteropServices;

namespace Berth.Interop;

/// <summary>
/// Loop devices (uapi linux/loop.h, the same on x86-64 and arm64): a regular file (an ext4 image) becomes a block
/// device that mount(2) accepts. <see cref="AttachLoop"/> is what `mount -o loop` does: LOOP_CTL_GET_FREE on
/// /dev/loop-control, then LOOP_CONFIGURE (one call: backing fd, flags, autoclear) on /dev/loopN.
/// </summary>
public static unsafe partial class Libc
{
    public const uint LOOP_SET_FD = 0x4C00, LOOP_CLR_FD = 0x4C01, LOOP_GET_STATUS64 = 0x4C05, LOOP_CONFIGURE = 0x4C0A,
        LOOP_CTL_GET_FREE = 0x4C82;
    public const uint LO_FLAGS_READ_ONLY = 1, LO_FLAGS_AUTOCLEAR = 4;
    public const int LO_NAME_SIZE = 64;

    /// <summary>struct loop_info64 (232 bytes).</summary>
    [StructLayout(LayoutKind.Sequential)]
    public struct LoopInfo64
    {
        public ulong Device, Inode, Rdevice, Offset, SizeLimit;
        public uint Number, EncryptType, EncryptKeySize, Flags;
        public fixed byte FileName[LO_NAME_SIZE];
        public fixed byte CryptName[LO_NAME_SIZE];
        public fixed byte EncryptKey[32];
        public fixed ulong Init[2];
    }

    /// <summary>struct loop_config (304 bytes).</summary>
    [StructLayout(LayoutKind.Sequential)]
    public struct LoopConfig
    {
        public uint Fd, BlockSize;
        public LoopInfo64 Info;
        public fixed ulong Reserved[8];
    }

    [LibraryImport(L, EntryPoint = "ioctl", SetLastError = true)]
    private static partial int ioctl_ptr(int fd, nuint request, void* arg);

    [LibraryImport(L, EntryPoint = "ioctl", SetLastError = true)]
    private static partial int ioctl_int(int fd, nuint request, nint arg);

    /// <summary>
    /// Attaches <paramref name="backingFile"/> to a free loop device with LO_FLAGS_AUTOCLEAR and returns the
    /// device's path and an open fd of it. The caller mounts the device, then closes the fd: from then on the
    /// kernel detaches the device when the last user (the mount) goes; a failed mount is undone by the close.
    /// Retries when another process takes the free device first (EBUSY), as util-linux does.
    /// </summary>
    public static (string Device, int Fd) AttachLoop(string backingFile, bool readOnly)
    {
        int backing = Check(open(backingFile, (readOnly ? O_RDONLY : O_RDWR) | O_CLOEXEC, 0), "open", backingFile);
        try
        {
            int ctl = Check(open("/dev/loop-control", O_RDWR | O_CLOEXEC, 0), "open", "/dev/loop-control");
            try
            {
                for (int attempt = 0; ; attempt++)
                {
                    int n = Check(ioctl_int(ctl, LOOP_CTL_GET_FREE, 0), "ioctl LOOP_CTL_GET_FREE", "/dev/loop-control");
                    string dev = "/dev/loop" + n;
                    int fd = open(dev, (readOnly ? O_RDONLY : O_RDWR) | O_CLOEXEC, 0);
                    if (fd < 0) throw new ErrnoException(Errno, "open", dev);
                    var cfg = new LoopConfig { Fd = (uint)backing };
                    cfg.Info.Flags = LO_FLAGS_AUTOCLEAR | (readOnly ? LO_FLAGS_READ_ONLY : 0);
                    var name = System.Text.Encoding.UTF8.GetBytes(backingFile);
                    for (int i = 0; i < Math.Min(name.Length, LO_NAME_SIZE - 1); i++) cfg.Info.FileName[i] = name[i];
                    if (ioctl_ptr(fd, LOOP_CONFIGURE, &cfg) == 0) return (dev, fd);
                    int e = Errno;
                    close(fd);
                    if (e == EBUSY && attempt < 16) continue; // taken between GET_FREE and CONFIGURE
                    throw new ErrnoException(e, "ioctl LOOP_CONFIGURE", dev);
                }
            }
            finally { close(ctl); }
        }
        finally { close(backing); } // the loop device holds its own reference to the file
    }

    /// <summary>The backing file name the kernel records for a loop device (lo_file_name, at most 63 bytes), or null
    /// when the device is not attached.</summary>
    public static string? LoopBackingFile(string device)
    {
        int fd = open(device, O_RDONLY | O_CLOEXEC, 0);
        if (fd < 0) return null;
        try
        {
            LoopInfo64 info;
            if (ioctl_ptr(fd, LOOP_GET_STATUS64, &info) != 0) return null;
            return Marshal.PtrToStringUTF8((nint)info.FileName);
        }
        finally { close(fd); }
    }
}
