using System.Formats.Tar;
using System.Security.Cryptography;
using Berth.Core;
using Berth.Interop;
using Microsoft.Win32.SafeHandles;

namespace Berth.Images;

/// <summary>Result of unpacking one layer tar.</summary>
public sealed record UnpackResult(Digest DiffId, long Size);

/// <summary>
/// Unpacks a layer tar (plain or gzip) into a directory in overlayfs form, computing its DiffID
/// (sha256 of the uncompressed tar stream). Every file is created relative to a directory fd that was
/// reached from the layer root one component at a time with O_NOFOLLOW, so a symlink in the layer can
/// never redirect a write outside it; "..", absolute names and traversal through symlinks or
/// non-directories are rejected (InvalidParameter).
/// OCI whiteouts become overlay whiteouts: ".wh.NAME" → a 0:0 character device NAME,
/// ".wh..wh..opq" → xattr trusted.overlay.opaque=y on the directory.
/// </summary>
public static class LayerUnpacker
{
    private const string WhiteoutPrefix = ".wh.";
    private const string WhiteoutMetaPrefix = ".wh..wh.";
    private const string OpaqueMarker = ".wh..wh..opq";

    /// <summary>Unpacks <paramref name="tar"/> into the existing, empty directory <paramref name="dest"/>.</summary>
    /// <remarks><paramref name="split"/>, when given, records the tar's bytes (see <see cref="TarSplit"/>).</remarks>
    public static UnpackResult Unpack(Stream tar, string dest, TarSplit.Recorder? split = null)
    {
        using var hashing = new HashingStream(OpenDecompressed(tar)) { Split = split };
        bool root = Libc.geteuid() == 0;
        int rootFd = Libc.Check(Libc.openat(Libc.AT_FDCWD, dest, Libc.O_RDONLY | Libc.O_DIRECTORY | Libc.O_CLOEXEC, 0), "open", dest);
        long size = 0;
        var dirTimes = new List<(string[] Parts, DateTimeOffset Mtime)>();
        try
        {
            var reader = new TarReader(hashing);
            TarEntry? entry;
            while ((entry = ReadNext(reader)) is not null)
            {
                if (entry.EntryType is TarEntryType.GlobalExtendedAttributes) continue;
                var parts = SplitName(entry.Name);
                if (parts.Length == 0) continue; // "./": the layer root itself
                var name = parts[^1];
                var parentParts = parts[..^1];

                if (name.StartsWith(WhiteoutPrefix, StringComparison.Ordinal))
                {
                    int pfd = OpenDir(rootFd, parentParts, create: true, entry.Name);
                    try
                    {
                        if (name == OpaqueMarker) SetOpaque(pfd);
                        else if (name.StartsWith(WhiteoutMetaPrefix, StringComparison.Ordinal)) { /* aufs metadata: ignore */ }
                        else
                        {
                            var target = name[WhiteoutPrefix.Length..];
                            ValidateComponent(target, entry.Name);
                            RemoveExisting(pfd, target);
                            Libc.Check(Libc.mknodat(pfd, target, Libc.S_IFCHR, Libc.MakeDev(0, 0)), "mknod", entry.Name);
                        }
                    }
                    finally { Libc.close(pfd); }
                    continue;
                }

                int parent = OpenDir(rootFd, parentParts, create: true, entry.Name);
                try
                {
                    int mode = (int)entry.Mode & 0xfff;
                    switch (entry.EntryType)
                    {
                        case TarEntryType.Directory:
                            FdTree.EnsureDirectory(parent, name, entry.Name);
                            dirTimes.Add((parts, entry.ModificationTime));
                            break;
                        case TarEntryType.RegularFile or TarEntryType.V7RegularFile or TarEntryType.ContiguousFile:
                            RemoveExisting(parent, name);
                            split?.BeginFile(string.Join('/', parts));
                            size += WriteFile(parent, name, entry);
                            split?.EndFile();
                            break;
                        case TarEntryType.SymbolicLink:
                            RemoveExisting(parent, name);
                            Libc.Check(Libc.symlinkat(entry.LinkName, parent, name), "symlink", entry.Name);
                            break;
                        case TarEntryType.HardLink:
                        {
                            var targetParts = SplitName(entry.LinkName);
                            if (targetParts.Length == 0) throw Hostile(entry.Name, "hard link to the layer root");
                            try
                            {
                                int tfd = OpenDir(rootFd, targetParts[..^1], create: false, entry.LinkName);
                                try
                                {
                                    RemoveExisting(parent, name);
                                    Libc.Check(Libc.linkat(tfd, targetParts[^1], parent, name, 0), "link", entry.Name);
                                }
                                finally { Libc.close(tfd); }
                            }
                            catch (ErrnoException e) when (e.Errno == Libc.ENOENT)
                            {
                                // Classified here, where the meaning is known: the layer is bad, not "not found".
                                throw BerthException.Invalid($"layer entry \"{entry.Name}\": hard link target \"{entry.LinkName}\" is not in the layer");
                            }
                            continue; // shares the target's inode: metadata comes from the target
                        }
                        case TarEntryType.CharacterDevice or TarEntryType.BlockDevice or TarEntryType.Fifo:
                        {
                            var pe = (PosixTarEntry)entry;
                            int type = FdTree.NodeType(entry.EntryType);
                            if (!root && type != Libc.S_IFIFO) continue; // unprivileged: device nodes cannot be made
                            RemoveExisting(parent, name);
                            Libc.Check(Libc.mknodat(parent, name, type | mode,
                                Libc.MakeDev((uint)pe.DeviceMajor, (uint)pe.DeviceMinor)), "mknod", entry.Name);
                            break;
                        }
                        default:
                            throw BerthException.Invalid($"layer entry {entry.Name}: unsupported tar entry type {entry.EntryType}");
                    }

                    if (root)
                        Libc.Check(Libc.fchownat(parent, name, entry.Uid, entry.Gid, Libc.AT_SYMLINK_NOFOLLOW), "lchown", entry.Name);
                    if (entry.EntryType != TarEntryType.SymbolicLink)
                        Libc.Check(Libc.fchmodat(parent, name, mode, 0), "chmod", entry.Name); // after chown, which clears set-id bits
                    ApplyXattrs(parent, name, entry);
                    if (entry.EntryType != TarEntryType.Directory)
                        FdTree.SetMtime(parent, name, entry.ModificationTime, entry.Name);
                }
                finally { Libc.close(parent); }
            }

            // Directory mtimes last: creating their children changed them.
            for (int i = dirTimes.Count - 1; i >= 0; i--)
            {
                var (parts, mtime) = dirTimes[i];
                int pfd = OpenDir(rootFd, parts[..^1], create: false, string.Join('/', parts));
                try { FdTree.SetMtime(pfd, parts[^1], mtime, string.Join('/', parts)); }
                finally { Libc.close(pfd); }
            }
            hashing.CopyTo(Stream.Null); // trailing zero blocks are part of the DiffID
            Libc.syncfs(rootFd);
        }
        catch (Exception ex) when (ex is InvalidDataException or FormatException or EndOfStreamException)
        {
            throw BerthException.Invalid($"invalid layer tar: {ex.Message}");
        }
        finally
        {
            Libc.close(rootFd);
        }
        return new UnpackResult(hashing.Digest(), size);
    }

    private static TarEntry? ReadNext(TarReader reader)
    {
        try
        {
            return reader.GetNextEntry(copyData: false);
        }
        catch (Exception ex) when (ex is InvalidDataException or FormatException or ArgumentException)
        {
            throw BerthException.Invalid($"invalid layer tar: {ex.Message}");
        }
    }

    /// <summary>Gzip is detected by its magic (1f 8b); anything else is read as a plain tar.</summary>
    public static Stream OpenDecompressed(Stream s) => FdTree.OpenDecompressed(s);

    /// <summary>Splits a tar name into safe components: "./" prefixes and empty/"." parts dropped; "..", absolute names rejected.</summary>
    internal static string[] SplitName(string name) => FdTree.SplitName(name, Hostile);

    private static void ValidateComponent(string c, string entry)
    {
        if (c.Length == 0 || c == "." || c == ".." || c.Contains('/')) throw Hostile(entry, "invalid whiteout name");
    }

    private static BerthException Hostile(string name, string why) =>
        BerthException.Invalid($"layer entry \"{name}\" rejected: {why} (entries must stay inside the layer)");

    private static int OpenDir(int rootFd, ReadOnlySpan<string> parts, bool create, string entry) =>
        FdTree.OpenDir(rootFd, parts, create, entry, Hostile);

    private static void RemoveExisting(int parent, string name) => FdTree.RemoveExisting(parent, name, name);

    private static long WriteFile(int parent, string name, TarEntry entry)
    {
        int fd = Libc.Check(Libc.openat(parent, name,
            Libc.O_WRONLY | Libc.O_CREAT | Libc.O_EXCL | Libc.O_NOFOLLOW | Libc.O_CLOEXEC, 0x180), "open", entry.Name);
        using var handle = new SafeFileHandle(fd, ownsHandle: true);
        using var fs = new FileStream(handle, FileAccess.Write, 0);
        long before = fs.Position;
        entry.DataStream?.CopyTo(fs, 81920);
        return fs.Position - before;
    }

    private static unsafe void SetOpaque(int dirPathFd)
    {
        // fsetxattr needs a real fd, not O_PATH: reopen the directory itself.
        int fd = Libc.Check(Libc.openat(dirPathFd, ".", Libc.O_RDONLY | Libc.O_DIRECTORY | Libc.O_CLOEXEC, 0), "open", ".");
        try
        {
            byte y = (byte)'y';
            Libc.Check(Libc.fsetxattr(fd, "trusted.overlay.opaque", &y, 1, 0), "setxattr", "trusted.overlay.opaque");
        }
        finally { Libc.close(fd); }
    }

    /// <summary>PAX xattr records (security.capability and friends) on regular files and directories.</summary>
    private static void ApplyXattrs(int parent, string name, TarEntry entry)
    {
        if (entry is not PaxTarEntry pax || entry.EntryType is not (TarEntryType.RegularFile or TarEntryType.Directory)) return;
        string path = $"/proc/self/fd/{parent}/{name}";
        foreach (var (xname, bytes) in FdTree.Xattrs(pax, key => BerthException.Invalid($"layer entry \"{entry.Name}\": bad {key} record")))
        {
            int r = Libc.SetXattr(path, xname, bytes);
            if (r < 0) throw new ErrnoException(-r, "setxattr", entry.Name + " " + xname);
        }
    }

    private sealed class HashingStream(Stream inner) : Stream
    {
        private readonly IncrementalHash _hash = IncrementalHash.CreateHash(HashAlgorithmName.SHA256);

        public TarSplit.Recorder? Split { get; init; }

        public Digest Digest() => Images.Digest.FromHash(_hash.GetHashAndReset());

        public override int Read(byte[] buffer, int offset, int count) => Read(buffer.AsSpan(offset, count));

        public override int Read(Span<byte> buffer)
        {
            int n = inner.Read(buffer);
            _hash.AppendData(buffer[..n]);
            Split?.Append(buffer[..n]);
            return n;
        }

        public override bool CanRead => true;
        public override bool CanSeek => false;
        public override bool CanWrite => false;
        public override long Length => throw new NotSupportedException();
        public override long Position { get => throw new NotSupportedException(); set => throw new NotSupportedException(); }
        public override void Flush() { }
        public override long Seek(long offset, SeekOrigin origin) => throw new NotSupportedException();
        public override void SetLength(long value) => throw new NotSupportedException();
        public override void Write(byte[] buffer, int offset, int count) => throw new NotSupportedException();

        protected override void Dispose(bool disposing)
        {
            if (disposing) { _hash.Dispose(); inner.Dispose(); }
            base.Dispose(disposing);
        }
    }
}
