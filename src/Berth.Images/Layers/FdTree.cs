using System.Formats.Tar;
using System.IO.Compression;
using System.Text;
using Berth.Core;
using Berth.Interop;

namespace Berth.Images;

/// <summary>
/// The file-tree writes shared by everything that unpacks a tar into a directory: image layers
/// (<see cref="LayerUnpacker"/>), volume import and docker cp (Berth.Engine's VolumeArchive).
/// Every name is reached from a root directory fd one component at a time with O_NOFOLLOW, so a symlink
/// (in the archive or already on disk) can never redirect a write outside the root. The caller words
/// its errors: <paramref name="hostile"/> builds the "entry rejected" error from the entry's name and why.
/// </summary>
public static class FdTree
{
    /// <summary>O_PATH directory fds: enough to walk and to use as the dirfd of *at calls.</summary>
    public static readonly int PathDirFlags = Libc.O_PATH | Libc.O_DIRECTORY | Libc.O_NOFOLLOW | Libc.O_CLOEXEC;

    /// <summary>Builds the error for an entry that would leave the root: (entry name, why) → exception.</summary>
    public delegate BerthException Hostile(string entry, string why);

    /// <summary>Splits a tar name into components: "./" and empty parts dropped; "..", absolute names and NUL refused.</summary>
    public static string[] SplitName(string name, Hostile hostile)
    {
        if (name.StartsWith('/')) throw hostile(name, "absolute path");
        if (name.Contains('\0')) throw hostile(name, "NUL in name");
        var parts = new List<string>();
        foreach (var p in name.Split('/'))
        {
            if (p.Length == 0 || p == ".") continue;
            if (p == "..") throw hostile(name, "\"..\" component");
            parts.Add(p);
        }
        return [.. parts];
    }

    /// <summary>
    /// Walks <paramref name="parts"/> from <paramref name="rootFd"/> without following symlinks (creating missing
    /// directories with mode 0755 when <paramref name="create"/>); returns an O_PATH fd of the last one, which the
    /// caller closes. A component that is a symlink or not a directory is hostile; a missing one without
    /// <paramref name="create"/> is <paramref name="missing"/>'s error (entry, component), or else an
    /// <see cref="ErrnoException"/> ENOENT.
    /// </summary>
    public static int OpenDir(int rootFd, ReadOnlySpan<string> parts, bool create, string entry, Hostile hostile, Hostile? missing = null)
    {
        int fd = Libc.Check(Libc.openat(rootFd, ".", PathDirFlags, 0), "open", ".");
        foreach (var p in parts)
        {
            int next = Libc.openat(fd, p, PathDirFlags, 0);
            if (next < 0 && Libc.Errno == Libc.ENOENT && create)
            {
                if (Libc.mkdirat(fd, p, 0x1ed) < 0 && Libc.Errno != Libc.EEXIST)
                {
                    int e = Libc.Errno;
                    Libc.close(fd);
                    throw new ErrnoException(e, "mkdir", entry);
                }
                next = Libc.openat(fd, p, PathDirFlags, 0);
            }
            if (next < 0)
            {
                int e = Libc.Errno;
                Libc.close(fd);
                if (e is Libc.ENOTDIR or Libc.ELOOP) throw hostile(entry, $"parent \"{p}\" is a symlink or not a directory");
                if (e == Libc.ENOENT && missing is not null) throw missing(entry, p);
                throw new ErrnoException(e, "open", entry);
            }
            Libc.close(fd);
            fd = next;
        }
        return fd;
    }

    /// <summary>Makes parent/name a directory: a new one (0755), an existing directory kept with its contents, or
    /// whatever else was there replaced (or, with <paramref name="refuseReplace"/>, that error thrown).</summary>
    public static void EnsureDirectory(int parent, string name, string entry, Func<BerthException>? refuseReplace = null)
    {
        if (Libc.mkdirat(parent, name, 0x1ed) == 0) return;
        if (Libc.Errno != Libc.EEXIST) throw new ErrnoException(Libc.Errno, "mkdir", entry);
        int fd = Libc.openat(parent, name, PathDirFlags, 0);
        if (fd >= 0) { Libc.close(fd); return; }
        if (refuseReplace is not null) throw refuseReplace();
        RemoveExisting(parent, name, entry);
        Libc.Check(Libc.mkdirat(parent, name, 0x1ed), "mkdir", entry);
    }

    /// <summary>Removes whatever is at parent/name (a directory with its contents, never following symlinks).</summary>
    public static void RemoveExisting(int parent, string name, string entry)
    {
        if (Libc.unlinkat(parent, name, 0) == 0) return;
        int e = Libc.Errno;
        if (e == Libc.ENOENT) return;
        if (e is Libc.EISDIR or Libc.EPERM)
        {
            if (Libc.unlinkat(parent, name, Libc.AT_REMOVEDIR) == 0) return;
            Directory.Delete($"/proc/self/fd/{parent}/{name}", recursive: true); // does not follow symlinks
            return;
        }
        throw new ErrnoException(e, "unlink", entry);
    }

    /// <summary>Sets parent/name's atime and mtime (not following a symlink).</summary>
    public static void SetMtime(int parent, string name, DateTimeOffset mtime, string entry)
    {
        long sec = Math.DivRem(mtime.UtcTicks - DateTimeOffset.UnixEpoch.UtcTicks, TimeSpan.TicksPerSecond, out long rem);
        if (rem < 0) { rem += TimeSpan.TicksPerSecond; sec -= 1; }
        try { Libc.SetTimesAt(parent, name, sec, rem * 100); }
        catch (ErrnoException e) { throw new ErrnoException(e.Errno, "utimensat", entry); }
    }

    /// <summary>The S_IF* type of a device or fifo entry.</summary>
    public static int NodeType(TarEntryType t) => t switch
    {
        TarEntryType.CharacterDevice => Libc.S_IFCHR,
        TarEntryType.BlockDevice => Libc.S_IFBLK,
        _ => Libc.S_IFIFO,
    };

    private const string SchilyXattr = "SCHILY.xattr.";
    private const string LibarchiveXattr = "LIBARCHIVE.xattr.";

    /// <summary>
    /// The extended attributes a PAX entry carries: "SCHILY.xattr.NAME" (GNU tar, Go's archive/tar; the value as
    /// the PAX record's text) and "LIBARCHIVE.xattr.NAME" (URL-escaped name, base64 value). "trusted.overlay.*" is
    /// never returned: an archive must not forge overlay metadata. <paramref name="bad"/> words a malformed record.
    /// </summary>
    public static IEnumerable<(string Name, byte[] Value)> Xattrs(PaxTarEntry entry, Func<string, BerthException> bad)
    {
        foreach (var (key, value) in entry.ExtendedAttributes)
        {
            string xname;
            byte[] bytes;
            if (key.StartsWith(SchilyXattr, StringComparison.Ordinal))
            {
                xname = key[SchilyXattr.Length..];
                // PAX records are UTF-8 and the tar reader decoded them so: encoding back gives the bytes written.
                bytes = Encoding.UTF8.GetBytes(value);
            }
            else if (key.StartsWith(LibarchiveXattr, StringComparison.Ordinal))
            {
                xname = Uri.UnescapeDataString(key[LibarchiveXattr.Length..]);
                try { bytes = Convert.FromBase64String(value); }
                catch (FormatException) { throw bad(key); }
            }
            else continue;
            if (xname.StartsWith("trusted.overlay.", StringComparison.Ordinal)) continue;
            yield return (xname, bytes);
        }
    }

    /// <summary>Gzip is detected by its magic (1f 8b); anything else is read as a plain tar.</summary>
    public static Stream OpenDecompressed(Stream s)
    {
        var head = new byte[2];
        int n = s.ReadAtLeast(head, 2, throwOnEndOfStream: false);
        return Decompressed(head, n, s);
    }

    /// <summary><see cref="OpenDecompressed"/> with asynchronous reads only (an HTTP request body refuses synchronous ones).</summary>
    public static async Task<Stream> OpenDecompressedAsync(Stream s, CancellationToken ct)
    {
        var head = new byte[2];
        int n = await s.ReadAtLeastAsync(head, 2, throwOnEndOfStream: false, ct);
        return Decompressed(head, n, s);
    }

    private static Stream Decompressed(byte[] head, int n, Stream s)
    {
        Stream joined = new PrefixedStream(head.AsMemory(0, n), s);
        return n == 2 && head[0] == 0x1f && head[1] == 0x8b ? new GZipStream(joined, CompressionMode.Decompress) : joined;
    }

    /// <summary>A stream that first gives back bytes already read from <paramref name="inner"/>.</summary>
    private sealed class PrefixedStream(ReadOnlyMemory<byte> prefix, Stream inner) : Stream
    {
        private ReadOnlyMemory<byte> _prefix = prefix;

        private int TakePrefix(Span<byte> buffer)
        {
            int n = Math.Min(buffer.Length, _prefix.Length);
            _prefix.Span[..n].CopyTo(buffer);
            _prefix = _prefix[n..];
            return n;
        }

        public override int Read(byte[] buffer, int offset, int count) => Read(buffer.AsSpan(offset, count));
        public override int Read(Span<byte> buffer) => _prefix.Length > 0 ? TakePrefix(buffer) : inner.Read(buffer);

        public override Task<int> ReadAsync(byte[] buffer, int offset, int count, CancellationToken ct) =>
            ReadAsync(buffer.AsMemory(offset, count), ct).AsTask();

        public override ValueTask<int> ReadAsync(Memory<byte> buffer, CancellationToken ct = default) =>
            _prefix.Length > 0 ? ValueTask.FromResult(TakePrefix(buffer.Span)) : inner.ReadAsync(buffer, ct);

        public override bool CanRead => true;
        public override bool CanSeek => false;
        public override bool CanWrite => false;
        public override long Length => throw new NotSupportedException();
        public override long Position { get => throw new NotSupportedException(); set => throw new NotSupportedException(); }
        public override void Flush() { }
        public override long Seek(long offset, SeekOrigin origin) => throw new NotSupportedException();
        public override void SetLength(long value) => throw new NotSupportedException();
        public override void Write(byte[] buffer, int offset, int count) => throw new NotSupportedException();
    }
}
