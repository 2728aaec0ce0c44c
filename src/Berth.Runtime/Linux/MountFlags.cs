namespace Berth.Runtime.Linux;

/// <summary>mount(2) flags and the parsing of OCI/fstab mount options into flags, propagation and data.</summary>
public static class MountFlags
{
    public const ulong MS_RDONLY = 1, MS_NOSUID = 2, MS_NODEV = 4, MS_NOEXEC = 8, MS_SYNCHRONOUS = 16, MS_REMOUNT = 32,
        MS_MANDLOCK = 64, MS_DIRSYNC = 128, MS_NOSYMFOLLOW = 256, MS_NOATIME = 1024, MS_NODIRATIME = 2048, MS_BIND = 4096,
        MS_MOVE = 8192, MS_REC = 16384, MS_SILENT = 32768, MS_UNBINDABLE = 1 << 17, MS_PRIVATE = 1 << 18,
        MS_SLAVE = 1 << 19, MS_SHARED = 1 << 20, MS_RELATIME = 1 << 21, MS_I_VERSION = 1 << 23,
        MS_STRICTATIME = 1 << 24, MS_LAZYTIME = 1 << 25;

    public readonly record struct Parsed(ulong Flags, ulong ClearFlags, ulong Propagation, string Data, bool Bind, bool Recursive);

    public static Parsed Parse(IEnumerable<string>? options)
    {
        ulong flags = 0, clear = 0, prop = 0;
        bool bind = false, rec = false;
        var data = new List<string>();
        foreach (var o in options ?? [])
        {
            switch (o)
            {
                case "bind": bind = true; break;
                case "rbind": bind = true; rec = true; break;
                case "ro": case "rro": flags |= MS_RDONLY; break;
                case "rw": case "rrw": clear |= MS_RDONLY; break;
                case "nosuid": flags |= MS_NOSUID; break;
                case "suid": clear |= MS_NOSUID; break;
                case "nodev": flags |= MS_NODEV; break;
                case "dev": clear |= MS_NODEV; break;
                case "noexec": flags |= MS_NOEXEC; break;
                case "exec": clear |= MS_NOEXEC; break;
                case "sync": flags |= MS_SYNCHRONOUS; break;
                case "async": clear |= MS_SYNCHRONOUS; break;
                case "dirsync": flags |= MS_DIRSYNC; break;
                case "remount": flags |= MS_REMOUNT; break;
                case "mand": flags |= MS_MANDLOCK; break;
                case "nomand": clear |= MS_MANDLOCK; break;
                case "noatime": flags |= MS_NOATIME; break;
                case "atime": clear |= MS_NOATIME; break;
                case "nodiratime": flags |= MS_NODIRATIME; break;
                case "diratime": clear |= MS_NODIRATIME; break;
                case "relatime": flags |= MS_RELATIME; break;
                case "norelatime": clear |= MS_RELATIME; break;
                case "strictatime": flags |= MS_STRICTATIME; break;
                case "nostrictatime": clear |= MS_STRICTATIME; break;
                case "silent": flags |= MS_SILENT; break;
                case "loud": clear |= MS_SILENT; break;
                case "iversion": flags |= MS_I_VERSION; break;
                case "noiversion": clear |= MS_I_VERSION; break;
                case "lazytime": flags |= MS_LAZYTIME; break;
                case "nolazytime": clear |= MS_LAZYTIME; break;
                case "nosymfollow": flags |= MS_NOSYMFOLLOW; break;
                case "private": prop = MS_PRIVATE; break;
                case "rprivate": prop = MS_PRIVATE | MS_REC; break;
                case "shared": prop = MS_SHARED; break;
                case "rshared": prop = MS_SHARED | MS_REC; break;
                case "slave": prop = MS_SLAVE; break;
                case "rslave": prop = MS_SLAVE | MS_REC; break;
                case "unbindable": prop = MS_UNBINDABLE; break;
                case "runbindable": prop = MS_UNBINDABLE | MS_REC; break;
                // runc extensions without a kernel flag: accepted and ignored.
                case "tmpcopyup": case "idmap": case "ridmap": break;
                default: data.Add(o); break;
            }
        }
        return new Parsed(flags & ~clear, clear, prop, string.Join(',', data), bind, rec);
    }

    /// <summary>rootfsPropagation → flags for "/" (runc's default is rslave).</summary>
    public static ulong RootPropagation(string? value) => value switch
    {
        null or "" => MS_SLAVE | MS_REC,
        "private" => MS_PRIVATE,
        "rprivate" => MS_PRIVATE | MS_REC,
        "slave" => MS_SLAVE,
        "rslave" => MS_SLAVE | MS_REC,
        "shared" => MS_SHARED,
        "rshared" => MS_SHARED | MS_REC,
        "unbindable" => MS_UNBINDABLE,
        "runbindable" => MS_UNBINDABLE | MS_REC,
        _ => throw Core.BerthException.Invalid($"linux.rootfsPropagation: unknown value \"{value}\""),
    };
}
