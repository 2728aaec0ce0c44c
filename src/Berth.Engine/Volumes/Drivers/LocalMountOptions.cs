using Berth.Core;
using Berth.Interop;

namespace Berth.Engine.Volumes.Drivers;

/// <summary>
/// The `local` driver's options, as dockerd's (moby volume/local/local_unix.go): `-o type=... -o device=...
/// -o o=...` make a volume that is mount(2)ed on its _data directory instead of being a plain directory:
/// `type=tmpfs device=tmpfs o=size=10m`, `type=none o=bind device=/path`, `type=nfs o=addr=... device=:/export`,
/// `type=ext4 device=/path/disk.img` (a regular file as the device is attached to a loop device first, as
/// `mount -o loop` does; dockerd 20.10 hands the file to mount(2), which refuses it).
/// Only the three keys are accepted ("invalid option key: \"size\""); the words of `o` are mount(8)'s: the flag
/// words (ro, nosuid, bind, ...) become mount flags, the rest is the filesystem's data string.
/// </summary>
public sealed record LocalMountOptions(string Type, string Device, string O)
{
    private static readonly HashSet<string> ValidKeys = ["type", "device", "o"];

    /// <summary>Checks the driver options at create: null when there are none (a plain directory volume), else the
    /// parsed options; an unknown key is refused with dockerd's words (InvalidParameter).</summary>
    public static LocalMountOptions? Parse(IReadOnlyDictionary<string, string>? options)
    {
        if (options is null || options.Count == 0) return null;
        foreach (var key in options.Keys.Order(StringComparer.Ordinal))
            if (!ValidKeys.Contains(key)) throw BerthException.Invalid($"invalid option key: \"{key}\"");
        return new LocalMountOptions(options.GetValueOrDefault("type", ""), options.GetValueOrDefault("device", ""),
            options.GetValueOrDefault("o", ""));
    }

    /// <summary>mount(8)'s flag words (moby/sys/mount flags.go); clear = true words remove the flag.</summary>
    private static readonly Dictionary<string, (bool Clear, ulong Flag)> FlagWords = new()
    {
        ["defaults"] = (false, 0), ["ro"] = (false, Libc.MS_RDONLY), ["rw"] = (true, Libc.MS_RDONLY),
        ["suid"] = (true, Libc.MS_NOSUID), ["nosuid"] = (false, Libc.MS_NOSUID),
        ["dev"] = (true, Libc.MS_NODEV), ["nodev"] = (false, Libc.MS_NODEV),
        ["exec"] = (true, Libc.MS_NOEXEC), ["noexec"] = (false, Libc.MS_NOEXEC),
        ["sync"] = (false, Libc.MS_SYNCHRONOUS), ["async"] = (true, Libc.MS_SYNCHRONOUS),
        ["dirsync"] = (false, Libc.MS_DIRSYNC), ["remount"] = (false, Libc.MS_REMOUNT),
        ["mand"] = (false, Libc.MS_MANDLOCK), ["nomand"] = (true, Libc.MS_MANDLOCK),
        ["atime"] = (true, Libc.MS_NOATIME), ["noatime"] = (false, Libc.MS_NOATIME),
        ["diratime"] = (true, Libc.MS_NODIRATIME), ["nodiratime"] = (false, Libc.MS_NODIRATIME),
        ["bind"] = (false, Libc.MS_BIND), ["rbind"] = (false, Libc.MS_BIND | Libc.MS_REC),
        ["relatime"] = (false, Libc.MS_RELATIME), ["norelatime"] = (true, Libc.MS_RELATIME),
        ["strictatime"] = (false, Libc.MS_STRICTATIME), ["nostrictatime"] = (true, Libc.MS_STRICTATIME),
        ["private"] = (false, Libc.MS_PRIVATE), ["rprivate"] = (false, Libc.MS_PRIVATE | Libc.MS_REC),
        ["shared"] = (false, Libc.MS_SHARED), ["rshared"] = (false, Libc.MS_SHARED | Libc.MS_REC),
        ["slave"] = (false, Libc.MS_SLAVE), ["rslave"] = (false, Libc.MS_SLAVE | Libc.MS_REC),
        ["unbindable"] = (false, Libc.MS_UNBINDABLE), ["runbindable"] = (false, Libc.MS_UNBINDABLE | Libc.MS_REC),
    };

    private const ulong PropagationFlags = Libc.MS_PRIVATE | Libc.MS_SHARED | Libc.MS_SLAVE | Libc.MS_UNBINDABLE;

    /// <summary>The `o` option split as mount(8) does: flags, the data string for the filesystem, and whether a
    /// loop device was asked for ("loop", which mount(2) itself does not know).</summary>
    public (ulong Flags, string Data, bool Loop) Split()
    {
        ulong flags = 0;
        bool loop = false;
        var data = new List<string>();
        foreach (var word in O.Split(',', StringSplitOptions.RemoveEmptyEntries))
        {
            if (word == "loop") { loop = true; continue; }
            if (FlagWords.TryGetValue(word, out var f))
            {
                if (f.Clear) flags &= ~f.Flag;
                else flags |= f.Flag;
            }
            else data.Add(word);
        }
        return (flags, string.Join(',', data), loop);
    }

    public bool IsBind => (Split().Flags & Libc.MS_BIND) != 0;

    /// <summary>
    /// Mounts these options on <paramref name="target"/> (dockerd's localVolume.mount). A regular file as the device
    /// of a filesystem type goes through a loop device with LO_FLAGS_AUTOCLEAR, released by the kernel at unmount.
    /// Errors are worded as dockerd's: "failed to mount local volume: mount DEVICE:TARGET, data: ...: ERRNO".
    /// </summary>
    public void MountOn(string target)
    {
        if (Device.Length == 0) throw new BerthException(ErrorKind.System, "missing device in volume options");
        var (flags, data, loop) = Split();
        if (Type is "nfs" or "cifs") data = ResolveAddr(data);
        bool bind = (flags & Libc.MS_BIND) != 0;
        string source = Device;
        int loopFd = -1;
        try
        {
            if (!bind && (loop || IsRegularFile(Device)))
            {
                try { (source, loopFd) = Libc.AttachLoop(Device, (flags & Libc.MS_RDONLY) != 0); }
                catch (ErrnoException e)
                {
                    throw new BerthException(ErrorKind.System, $"failed to mount local volume: loop device for {Device}: {Libc.StrError(e.Errno)}");
                }
            }
            ulong mountFlags = flags & ~PropagationFlags;
            if (Libc.mount(source, target, Type.Length == 0 ? null : Type, mountFlags, data.Length == 0 ? null : data) != 0)
                throw MountError("mount", source, target, mountFlags, data, Libc.Errno);
            if ((flags & PropagationFlags) != 0 &&
                Libc.mount("", target, null, flags & (PropagationFlags | Libc.MS_REC), null) != 0)
            {
                int e = Libc.Errno;
                Libc.umount2(target, Libc.MNT_DETACH);
                throw MountError("mount", "", target, flags & (PropagationFlags | Libc.MS_REC), "", e);
            }
            if (bind && (flags & Libc.MS_RDONLY) != 0 && // a bind mount becomes read-only on remount only
                Libc.mount("", target, null, mountFlags | Libc.MS_REMOUNT, null) != 0)
            {
                int e = Libc.Errno;
                Libc.umount2(target, Libc.MNT_DETACH);
                throw MountError("remount-ro", "", target, mountFlags | Libc.MS_REMOUNT, "", e);
            }
        }
        finally
        {
            if (loopFd >= 0) Libc.close(loopFd); // the mount holds the device now; after a failure this detaches it
        }
    }

    /// <summary>nfs and cifs take `addr=` as an IP address: a host name is resolved first (dockerd does the same).</summary>
    public static string ResolveAddr(string data)
    {
        var words = data.Split(',');
        for (int i = 0; i < words.Length; i++)
        {
            if (!words[i].StartsWith("addr=", StringComparison.Ordinal)) continue;
            var host = words[i]["addr=".Length..];
            if (System.Net.IPAddress.TryParse(host, out var ip) && ip.AddressFamily == System.Net.Sockets.AddressFamily.InterNetwork) break;
            try
            {
                var addr = System.Net.Dns.GetHostAddresses(host).FirstOrDefault(a => a.AddressFamily == System.Net.Sockets.AddressFamily.InterNetwork)
                    ?? System.Net.Dns.GetHostAddresses(host).First();
                words[i] = "addr=" + addr;
            }
            catch (Exception e) when (e is System.Net.Sockets.SocketException or InvalidOperationException)
            {
                throw new BerthException(ErrorKind.System, $"error resolving passed in network volume address: lookup {host}: {e.Message}");
            }
            break;
        }
        return string.Join(',', words);
    }

    private static bool IsRegularFile(string path)
    {
        try
        {
            var final = File.ResolveLinkTarget(path, returnFinalTarget: true)?.FullName ?? path;
            return (Libc.Lstat(final).Mode & 0xf000) == Libc.S_IFREG;
        }
        catch (Exception e) when (e is IOException or ErrnoException or UnauthorizedAccessException) { return false; }
    }

    private static BerthException MountError(string op, string source, string target, ulong flags, string data, int errno)
    {
        var text = op + " " + (source.Length > 0 ? source + ":" + target : target);
        if (flags != 0) text += ", flags: 0x" + flags.ToString("x");
        if (data.Length > 0) text += ", data: " + data;
        return new BerthException(ErrorKind.System, "failed to mount local volume: " + text + ": " + Libc.StrError(errno).ToLowerInvariant());
    }
}
