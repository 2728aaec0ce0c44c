using Berth.Interop;

namespace Berth.Engine.Volumes;

/// <summary>
/// Fills a new, empty volume with what the image has at the mount's destination (Docker's copyExistingContents):
/// directories, files, symlinks, hard links (kept as links), devices and fifos, with owner, mode, extended
/// attributes and modification times; then the volume's root takes the owner and mode of the image's directory.
/// A volume that already has something is left alone.
/// </summary>
public static class CopyUp
{
    /// <returns>False when nothing was copied (the volume is not empty, or the source is not a directory).</returns>
    public static bool Copy(string source, string volume)
    {
        if (!Directory.Exists(source) || Directory.EnumerateFileSystemEntries(volume).Any()) return false;
        var links = new Dictionary<(ulong, ulong), string>();
        CopyDirectory(source, volume, links);
        var st = Libc.Lstat(source);
        Libc.Check(Libc.fchownat(Libc.AT_FDCWD, volume, (int)st.Uid, (int)st.Gid, 0), "chown", volume);
        Libc.Check(Libc.fchmodat(Libc.AT_FDCWD, volume, (int)(st.Mode & 0xfff), 0), "chmod", volume);
        return true;
    }

    private static void CopyDirectory(string from, string to, Dictionary<(ulong, ulong), string> links)
    {
        foreach (var src in Directory.EnumerateFileSystemEntries(from))
        {
            var dst = Path.Combine(to, Path.GetFileName(src));
            var st = Libc.Lstat(src);
            uint type = st.Mode & 0xF000;
            switch (type)
            {
                case 0x4000: // directory
                    Libc.Check(Libc.mkdirat(Libc.AT_FDCWD, dst, 0x1c0), "mkdir", dst);
                    CopyDirectory(src, dst, links);
                    break;
                case 0x8000: // regular file
                    if (st.Nlink > 1 && links.TryGetValue((st.Dev, st.Ino), out var first))
                    {
                        Libc.Check(Libc.linkat(Libc.AT_FDCWD, first, Libc.AT_FDCWD, dst, 0), "link", dst);
                        continue;
                    }
                    File.Copy(src, dst, overwrite: false);
                    if (st.Nlink > 1) links[(st.Dev, st.Ino)] = dst;
                    break;
                case 0xA000: // symlink
                    Libc.Check(Libc.symlinkat(new FileInfo(src).LinkTarget ?? "", Libc.AT_FDCWD, dst), "symlink", dst);
                    break;
                case 0x2000 or 0x6000 or 0x1000: // char, block device, fifo
                    Libc.Check(Libc.mknodat(Libc.AT_FDCWD, dst, (int)st.Mode, st.Rdev), "mknod", dst);
                    break;
                default: // sockets are not content
                    continue;
            }
            CopyMetadata(src, dst, st, type == 0xA000);
        }
    }

    private static void CopyMetadata(string src, string dst, Libc.FileStat st, bool symlink)
    {
        Libc.Check(Libc.fchownat(Libc.AT_FDCWD, dst, (int)st.Uid, (int)st.Gid, Libc.AT_SYMLINK_NOFOLLOW), "chown", dst);
        foreach (var (name, value) in Libc.ListXattrs(src)) Libc.SetXattr(dst, name, value);
        if (!symlink) Libc.Check(Libc.fchmodat(Libc.AT_FDCWD, dst, (int)(st.Mode & 0xfff), 0), "chmod", dst);
        Libc.SetTimes(dst, st.Mtime, st.MtimeNs);
    }
}
