using System.Formats.Tar;
using Berth.Interop;

namespace Berth.Images.Commit;

/// <summary>
/// A container's overlay upper directory as an OCI layer tar (docker commit): overlay whiteouts (0/0 character
/// devices) become ".wh.NAME" entries, opaque directories (trusted.overlay.opaque=y) get a ".wh..wh..opq" entry;
/// modes, owners, mtimes, symlinks, devices and fifos as they are; names in sorted order. Symlinks are never followed.
/// </summary>
public static class UpperLayerTar
{
    private const uint Dir = 0x4000, Reg = 0x8000, Lnk = 0xa000, Chr = 0x2000, Blk = 0x6000, Fifo = 0x1000;

    public static void Write(string upperDir, Stream output)
    {
        using var w = new TarWriter(output, TarEntryFormat.Pax, leaveOpen: true);
        Walk(w, upperDir, "");
    }

    private static void Walk(TarWriter w, string root, string rel)
    {
        var dir = rel.Length == 0 ? root : Path.Combine(root, rel);
        var names = Directory.EnumerateFileSystemEntries(dir).Select(Path.GetFileName).OfType<string>().Order(StringComparer.Ordinal).ToList();
        foreach (var name in names)
        {
            var path = rel.Length == 0 ? name : rel + "/" + name;
            var full = Path.Combine(root, path);
            Libc.FileStat st;
            try { st = Libc.Lstat(full); }
            catch (ErrnoException) { continue; } // gone meanwhile
            uint type = st.Mode & 0xf000;
            var mtime = DateTimeOffset.FromUnixTimeSeconds(st.Mtime);
            if (type == Chr && st.Rdev == 0)
            {
                var parent = rel.Length == 0 ? "" : rel + "/";
                w.WriteEntry(Entry(TarEntryType.RegularFile, parent + ".wh." + name, 0, 0, 0, mtime));
                continue;
            }
            switch (type)
            {
                case Dir:
                    w.WriteEntry(Entry(TarEntryType.Directory, path + "/", st.Mode, st.Uid, st.Gid, mtime));
                    if (Libc.GetXattr(full, "trusted.overlay.opaque") == "y")
                        w.WriteEntry(Entry(TarEntryType.RegularFile, path + "/.wh..wh..opq", 0, 0, 0, mtime));
                    Walk(w, root, path);
                    break;
                case Reg:
                {
                    var e = Entry(TarEntryType.RegularFile, path, st.Mode, st.Uid, st.Gid, mtime);
                    using var fs = new FileStream(full, new FileStreamOptions { Mode = FileMode.Open, Access = FileAccess.Read, Options = FileOptions.None });
                    e.DataStream = fs;
                    w.WriteEntry(e);
                    break;
                }
                case Lnk:
                {
                    var e = Entry(TarEntryType.SymbolicLink, path, st.Mode, st.Uid, st.Gid, mtime);
                    e.LinkName = new FileInfo(full).LinkTarget ?? "";
                    w.WriteEntry(e);
                    break;
                }
                case Chr or Blk or Fifo:
                {
                    var e = Entry(type == Chr ? TarEntryType.CharacterDevice : type == Blk ? TarEntryType.BlockDevice : TarEntryType.Fifo,
                        path, st.Mode, st.Uid, st.Gid, mtime);
                    if (type != Fifo)
                    {
                        e.DeviceMajor = (int)((st.Rdev >> 8) & 0xfff | (st.Rdev >> 32) & ~0xfffUL);
                        e.DeviceMinor = (int)(st.Rdev & 0xff | (st.Rdev >> 12) & ~0xffUL);
                    }
                    w.WriteEntry(e);
                    break;
                }
                default:
                    break; // sockets are not part of a layer
            }
        }
    }

    private static PaxTarEntry Entry(TarEntryType type, string name, uint mode, uint uid, uint gid, DateTimeOffset mtime) => new(type, name)
    {
        Mode = (UnixFileMode)(mode & 0xfff),
        Uid = (int)uid,
        Gid = (int)gid,
        ModificationTime = mtime,
    };
}
