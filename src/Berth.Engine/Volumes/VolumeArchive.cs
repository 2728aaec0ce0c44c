using System.Formats.Tar;
using System.Text;
using Berth.Interop;
using Microsoft.Win32.SafeHandles;

namespace Berth.Engine.Volumes;

/// <summary>
/// Volume export and import (beyond Docker; Podman's `volume export` / `volume import`): a volume's _data directory
/// as a PAX tar stream and back. Kept: ownership (numeric uid/gid), mode with set-id and sticky bits, mtimes,
/// xattrs, symlinks, hard links (one inode: later names are hard-link entries), device nodes and fifos, empty
/// directories. Sockets cannot be stored in a tar and are skipped (GNU tar does the same).
/// <para>
/// Xattrs are PAX records: "SCHILY.xattr.NAME" (GNU tar, Docker) when the value is text, otherwise
/// "LIBARCHIVE.xattr.NAME" with the value in base64 (bsdtar's form), because the PAX reader of .NET decodes
/// record values as UTF-8 and would lose binary bytes; import reads both.
/// </para>
/// The tree is read through directory fds, one component at a time with O_NOFOLLOW, so a container that swaps a
/// directory for a symlink during an export cannot make it read host files. Import: see <see cref="ImportAsync"/>.
/// </summary>
public static partial class VolumeArchive
{
    internal const string SchilyXattr = "SCHILY.xattr.";
    internal const string LibarchiveXattr = "LIBARCHIVE.xattr.";
    private static readonly UTF8Encoding StrictUtf8 = new(false, throwOnInvalidBytes: true);

    /// <summary>Writes the tree under <paramref name="dataDir"/> (the volume's _data, which is the "./" entry) to
    /// <paramref name="output"/> as a PAX tar; the stream is left open.</summary>
    public static async Task ExportAsync(string dataDir, Stream output, CancellationToken ct = default)
    {
        int rootFd = Libc.Check(Libc.open(dataDir, Libc.O_RDONLY | Libc.O_DIRECTORY | Libc.O_CLOEXEC, 0), "open", dataDir);
        try
        {
            await using var writer = new TarWriter(output, TarEntryFormat.Pax, leaveOpen: true);
            var links = new Dictionary<(ulong Dev, ulong Ino), string>();
            var rootStat = Libc.LstatAt(rootFd, ".");
            await writer.WriteEntryAsync(MakeEntry(TarEntryType.Directory, "./", rootStat, Xattrs(rootFd, ".")), ct);
            await ExportDir(writer, rootFd, "", links, ct);
        }
        finally { Libc.close(rootFd); }
    }

    private static async Task ExportDir(TarWriter writer, int dirFd, string prefix,
        Dictionary<(ulong, ulong), string> links, CancellationToken ct)
    {
        var names = Directory.EnumerateFileSystemEntries($"/proc/self/fd/{dirFd}")
            .Select(Path.GetFileName).OfType<string>().Order(StringComparer.Ordinal).ToList();
        foreach (var name in names)
        {
            ct.ThrowIfCancellationRequested();
            await WriteOne(writer, dirFd, name, prefix + name, links, ct);
        }
    }

    /// <summary>Writes a tar of dirFd/<paramref name="name"/> (not following it if it is a symlink; a directory with
    /// everything under it) to <paramref name="output"/>, its entries named <paramref name="entryName"/>[/...]:
    /// docker cp's GET /archive. The stream is left open.</summary>
    public static async Task ExportEntryAsync(Stream output, int dirFd, string name, string entryName, CancellationToken ct = default)
    {
        await using var writer = new TarWriter(output, TarEntryFormat.Pax, leaveOpen: true);
        await WriteOne(writer, dirFd, name, entryName, new Dictionary<(ulong, ulong), string>(), ct);
    }

    private static async Task WriteOne(TarWriter writer, int dirFd, string name, string path,
        Dictionary<(ulong, ulong), string> links, CancellationToken ct)
    {
        {
            Libc.FileStat st;
            try { st = Libc.LstatAt(dirFd, name); }
            catch (ErrnoException e) when (e.Errno == Libc.ENOENT) { return; } // removed while we read
            uint type = st.Mode & 0xf000;
            if (type != Libc.S_IFDIR && st.Nlink > 1)
            {
                if (links.TryGetValue((st.Dev, st.Ino), out var first))
                {
                    var link = MakeEntry(TarEntryType.HardLink, path, st, null);
                    link.LinkName = first;
                    await writer.WriteEntryAsync(link, ct);
                    return;
                }
                links[(st.Dev, st.Ino)] = path;
            }
            var xattrs = Xattrs(dirFd, name);
            switch (type)
            {
                case Libc.S_IFDIR:
                {
                    await writer.WriteEntryAsync(MakeEntry(TarEntryType.Directory, path + "/", st, xattrs), ct);
                    int sub = Libc.openat(dirFd, name, Libc.O_RDONLY | Libc.O_DIRECTORY | Libc.O_NOFOLLOW | Libc.O_CLOEXEC, 0);
                    if (sub < 0) throw new ErrnoException(Libc.Errno, "open", path);
                    try { await ExportDir(writer, sub, path + "/", links, ct); }
                    finally { Libc.close(sub); }
                    break;
                }
                case Libc.S_IFREG:
                {
                    int fd = Libc.openat(dirFd, name, Libc.O_RDONLY | Libc.O_NOFOLLOW | Libc.O_NONBLOCK | Libc.O_CLOEXEC, 0);
                    if (fd < 0) throw new ErrnoException(Libc.Errno, "open", path);
                    using var handle = new SafeFileHandle(fd, ownsHandle: true);
                    await using var data = new FileStream(handle, FileAccess.Read, 0, isAsync: false);
                    var entry = MakeEntry(TarEntryType.RegularFile, path, st, xattrs);
                    entry.DataStream = new BoundedStream(data, st.Size); // the size written in the header
                    await writer.WriteEntryAsync(entry, ct);
                    break;
                }
                case 0xa000: // S_IFLNK
                {
                    var entry = MakeEntry(TarEntryType.SymbolicLink, path, st, xattrs);
                    entry.LinkName = Libc.ReadLinkAt(dirFd, name);
                    await writer.WriteEntryAsync(entry, ct);
                    break;
                }
                case Libc.S_IFCHR or Libc.S_IFBLK or Libc.S_IFIFO:
                {
                    var entry = MakeEntry(type switch
                    {
                        Libc.S_IFCHR => TarEntryType.CharacterDevice,
                        Libc.S_IFBLK => TarEntryType.BlockDevice,
                        _ => TarEntryType.Fifo,
                    }, path, st, xattrs);
                    if (type != Libc.S_IFIFO)
                    {
                        entry.DeviceMajor = (int)(((st.Rdev >> 8) & 0xfff) | ((st.Rdev >> 32) & ~0xfffUL));
                        entry.DeviceMinor = (int)((st.Rdev & 0xff) | ((st.Rdev >> 12) & ~0xffUL));
                    }
                    await writer.WriteEntryAsync(entry, ct);
                    break;
                }
                default: break; // sockets: a tar cannot hold them
            }
        }
    }

    private static PaxTarEntry MakeEntry(TarEntryType type, string name, Libc.FileStat st, Dictionary<string, string>? xattrs)
    {
        var entry = xattrs is { Count: > 0 } ? new PaxTarEntry(type, name, xattrs) : new PaxTarEntry(type, name);
        entry.Uid = (int)st.Uid;
        entry.Gid = (int)st.Gid;
        entry.Mode = (UnixFileMode)(st.Mode & 0xfff);
        entry.ModificationTime = DateTimeOffset.FromUnixTimeSeconds(st.Mtime).AddTicks(st.MtimeNs / 100);
        return entry;
    }

    /// <summary>The xattrs of dirFd/name (not following a final symlink) as PAX records.</summary>
    private static Dictionary<string, string>? Xattrs(int dirFd, string name)
    {
        var list = Libc.ListXattrs(name == "." ? $"/proc/self/fd/{dirFd}/" : $"/proc/self/fd/{dirFd}/{name}");
        if (list.Count == 0) return null;
        var records = new Dictionary<string, string>(StringComparer.Ordinal);
        foreach (var (xname, value) in list)
        {
            string? text = null;
            try { text = StrictUtf8.GetString(value); } catch (DecoderFallbackException) { }
            if (text is not null && !text.Contains('\0') && !text.Contains('\n') && !xname.Contains('='))
                records[SchilyXattr + xname] = text;
            else
                records[LibarchiveXattr + Uri.EscapeDataString(xname)] = Convert.ToBase64String(value);
        }
        return records;
    }

    /// <summary>At most <paramref name="length"/> bytes of a file, zero-padded if it shrank: the entry's data matches
    /// the size its header announced even when a container writes the file meanwhile.</summary>
    private sealed class BoundedStream(Stream inner, long length) : Stream
    {
        private long _pos;

        public override int Read(byte[] buffer, int offset, int count) => Read(buffer.AsSpan(offset, count));

        public override int Read(Span<byte> buffer)
        {
            long left = length - _pos;
            if (left <= 0) return 0;
            if (buffer.Length > left) buffer = buffer[..(int)left];
            int n = inner.Read(buffer);
            if (n == 0) { buffer.Clear(); n = buffer.Length; } // shrank: pad
            _pos += n;
            return n;
        }

        public override bool CanRead => true;
        public override bool CanSeek => true; // TarWriter asks Length for the header
        public override bool CanWrite => false;
        public override long Length => length;
        public override long Position { get => _pos; set => throw new NotSupportedException(); }
        public override void Flush() { }
        public override long Seek(long offset, SeekOrigin origin) => throw new NotSupportedException();
        public override void SetLength(long value) => throw new NotSupportedException();
        public override void Write(byte[] buffer, int offset, int count) => throw new NotSupportedException();
    }
}
