using System.Formats.Tar;
using System.Text;
using Berth.Core;
using Berth.Interop;
using Microsoft.Win32.SafeHandles;

namespace Berth.Engine.Volumes;

public static partial class VolumeArchive
{
    private static readonly int PathDirFlags = Libc.O_PATH | Libc.O_DIRECTORY | Libc.O_NOFOLLOW | Libc.O_CLOEXEC;

    /// <summary>
    /// Unpacks a tar (plain or gzip) into the existing volume directory <paramref name="dataDir"/>, adding to what is
    /// there and overwriting what the archive names (Podman's `volume import`); an entry of another type replaces
    /// the existing one, an existing directory is kept and merged. The "./" entry's owner, mode and mtime go to the
    /// volume's root. Ownership is restored when running as root.
    /// Every entry is created relative to a directory fd reached from the volume root one component at a time with
    /// O_NOFOLLOW: absolute names, ".." components, a parent that is a symlink (in the archive or already in the
    /// volume) and hard links to outside names are refused (InvalidParameter "volume import: entry ... rejected").
    /// What was unpacked before a refused entry stays (as with tar).
    /// </summary>
    public static async Task ImportAsync(Stream input, string dataDir, CancellationToken ct = default)
    {
        int rootFd = Libc.Check(Libc.open(dataDir, Libc.O_RDONLY | Libc.O_DIRECTORY | Libc.O_CLOEXEC, 0), "open", dataDir);
        try { await ImportAtAsync(input, rootFd, ImportOptions.Volume, ct); }
        finally { Libc.close(rootFd); }
    }

    /// <summary>How an archive is unpacked: volume import keeps the archive's owners and sets the root's metadata;
    /// docker cp (PUT /archive) gives files to root unless copyUIDGID, leaves the extraction directory alone, and
    /// with noOverwriteDirNonDir refuses to replace a directory by a non-directory or the reverse.</summary>
    public sealed record ImportOptions(string Label, bool KeepOwner, bool RootMetadata, bool NoOverwriteDirNonDir)
    {
        public static readonly ImportOptions Volume = new("volume import", true, true, false);
    }

    /// <summary><see cref="ImportAsync"/> into the directory open as <paramref name="rootFd"/> (left open).</summary>
    public static async Task ImportAtAsync(Stream input, int rootFd, ImportOptions options, CancellationToken ct = default)
    {
        bool root = Libc.geteuid() == 0;
        Label.Value = options.Label;
        NoOverwriteDirNonDir.Value = options.NoOverwriteDirNonDir;
        var dirTimes = new List<(string[] Parts, DateTimeOffset Mtime)>();
        try
        {
            await using var reader = new TarReader(await OpenDecompressedAsync(input, ct), leaveOpen: true);
            while (await ReadNext(reader, ct) is { } entry)
            {
                if (entry.EntryType is TarEntryType.GlobalExtendedAttributes) continue;
                var parts = SplitName(entry.Name);
                if (parts.Length == 0)
                {
                    if (entry.EntryType != TarEntryType.Directory) throw Hostile(entry.Name, "the volume root must be a directory");
                    if (!options.RootMetadata) continue;
                    ApplyMetadata(rootFd, ".", entry, root, options.KeepOwner);
                    dirTimes.Add((parts, entry.ModificationTime));
                    continue;
                }
                var name = parts[^1];
                int parent = OpenDir(rootFd, parts[..^1], create: true, entry.Name);
                try
                {
                    switch (entry.EntryType)
                    {
                        case TarEntryType.Directory:
                            EnsureDirectory(parent, name, entry.Name);
                            dirTimes.Add((parts, entry.ModificationTime));
                            break;
                        case TarEntryType.RegularFile or TarEntryType.V7RegularFile or TarEntryType.ContiguousFile:
                            ReplaceWithNonDir(parent, name, entry.Name);
                            await WriteFile(parent, name, entry, ct);
                            break;
                        case TarEntryType.SymbolicLink:
                            ReplaceWithNonDir(parent, name, entry.Name);
                            Libc.Check(Libc.symlinkat(entry.LinkName, parent, name), "symlink", entry.Name);
                            break;
                        case TarEntryType.HardLink:
                            Link(rootFd, parent, name, entry);
                            continue; // one inode: the metadata is the target's
                        case TarEntryType.CharacterDevice or TarEntryType.BlockDevice or TarEntryType.Fifo:
                        {
                            int type = entry.EntryType switch
                            {
                                TarEntryType.CharacterDevice => Libc.S_IFCHR,
                                TarEntryType.BlockDevice => Libc.S_IFBLK,
                                _ => Libc.S_IFIFO,
                            };
                            if (!root && type != Libc.S_IFIFO)
                                throw BerthException.Invalid($"{Op}: entry \"{entry.Name}\": device nodes need root");
                            ReplaceWithNonDir(parent, name, entry.Name);
                            var pe = (PosixTarEntry)entry;
                            Libc.Check(Libc.mknodat(parent, name, type | ((int)entry.Mode & 0xfff),
                                Libc.MakeDev((uint)pe.DeviceMajor, (uint)pe.DeviceMinor)), "mknod", entry.Name);
                            break;
                        }
                        default:
                            throw BerthException.Invalid($"{Op}: entry \"{entry.Name}\": unsupported tar entry type {entry.EntryType}");
                    }
                    ApplyMetadata(parent, name, entry, root, options.KeepOwner);
                }
                finally { Libc.close(parent); }
            }

            for (int i = dirTimes.Count - 1; i >= 0; i--) // children changed their directory's mtime
            {
                var (parts, mtime) = dirTimes[i];
                string shown = parts.Length == 0 ? "./" : string.Join('/', parts);
                int pfd = OpenDir(rootFd, parts.Length == 0 ? [] : parts[..^1], create: false, shown);
                try { SetMtime(pfd, parts.Length == 0 ? "." : parts[^1], mtime, shown); }
                finally { Libc.close(pfd); }
            }
        }
        catch (Exception ex) when (ex is InvalidDataException or FormatException or EndOfStreamException)
        {
            throw BerthException.Invalid($"{options.Label}: invalid tar: {ex.Message}");
        }
    }

    /// <summary>The operation named in errors ("volume import", "docker cp") of the import on this flow.</summary>
    private static readonly AsyncLocal<string> Label = new();
    private static string Op => Label.Value ?? "volume import";
    private static readonly AsyncLocal<bool> NoOverwriteDirNonDir = new();

    /// <summary>Before a non-directory replaces parent/name: refused over a directory with noOverwriteDirNonDir.</summary>
    private static void ReplaceWithNonDir(int parent, string name, string entry)
    {
        if (NoOverwriteDirNonDir.Value && StatOrNull(parent, name) is { } st && (st.Mode & 0xf000) == Libc.S_IFDIR)
            throw BerthException.Invalid($"cannot overwrite directory \"{entry}\" with non-directory \"{entry}\"");
        RemoveExisting(parent, name, entry);
    }

    /// <summary>Gzip (magic 1f 8b) or a plain tar, detected with asynchronous reads only (an HTTP request body
    /// refuses synchronous ones).</summary>
    private static async Task<Stream> OpenDecompressedAsync(Stream input, CancellationToken ct)
    {
        var head = new byte[2];
        int n = await input.ReadAtLeastAsync(head, 2, throwOnEndOfStream: false, ct);
        Stream joined = new PrefixedStream(head.AsMemory(0, n), input);
        return n == 2 && head[0] == 0x1f && head[1] == 0x8b ? new System.IO.Compression.GZipStream(joined, System.IO.Compression.CompressionMode.Decompress) : joined;
    }

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

    private static async Task<TarEntry?> ReadNext(TarReader reader, CancellationToken ct)
    {
        try { return await reader.GetNextEntryAsync(copyData: false, ct); }
        catch (Exception ex) when (ex is InvalidDataException or FormatException or ArgumentException)
        {
            throw BerthException.Invalid($"{Op}: invalid tar: {ex.Message}");
        }
    }

    /// <summary>Owner (root only; before the mode, as chown clears set-id bits), mode (not of a symlink, which has
    /// none), xattrs, mtime.</summary>
    private static void ApplyMetadata(int parent, string name, TarEntry entry, bool root, bool keepOwner)
    {
        if (root)
            Libc.Check(Libc.fchownat(parent, name, keepOwner ? entry.Uid : 0, keepOwner ? entry.Gid : 0, Libc.AT_SYMLINK_NOFOLLOW), "lchown", entry.Name);
        if (entry.EntryType != TarEntryType.SymbolicLink)
            Libc.Check(Libc.fchmodat(parent, name, (int)entry.Mode & 0xfff, 0), "chmod", entry.Name);
        if (entry is PaxTarEntry pax) ApplyXattrs(parent, name, pax);
        if (entry.EntryType != TarEntryType.Directory) SetMtime(parent, name, entry.ModificationTime, entry.Name);
    }

    private static void ApplyXattrs(int parent, string name, PaxTarEntry entry)
    {
        string path = name == "." ? $"/proc/self/fd/{parent}/" : $"/proc/self/fd/{parent}/{name}";
        foreach (var (key, value) in entry.ExtendedAttributes)
        {
            string xname;
            byte[] bytes;
            if (key.StartsWith(SchilyXattr, StringComparison.Ordinal))
            {
                xname = key[SchilyXattr.Length..];
                bytes = Encoding.UTF8.GetBytes(value);
            }
            else if (key.StartsWith(LibarchiveXattr, StringComparison.Ordinal))
            {
                xname = Uri.UnescapeDataString(key[LibarchiveXattr.Length..]);
                try { bytes = Convert.FromBase64String(value); }
                catch (FormatException) { throw BerthException.Invalid($"{Op}: entry \"{entry.Name}\": bad {key} record"); }
            }
            else continue;
            if (xname.StartsWith("trusted.overlay.", StringComparison.Ordinal)) continue; // never forge overlay metadata
            int r = Libc.SetXattr(path, xname, bytes);
            if (r == -Libc.ENOTSUP) continue; // the volume's filesystem has no xattrs of this namespace (as GNU tar: skip)
            if (r < 0) throw new ErrnoException(-r, "setxattr", entry.Name + " " + xname);
        }
    }

    private static void Link(int rootFd, int parent, string name, TarEntry entry)
    {
        var target = SplitName(entry.LinkName);
        if (target.Length == 0) throw Hostile(entry.Name, "hard link to the volume root");
        int tfd = OpenDir(rootFd, target[..^1], create: false, entry.LinkName);
        try
        {
            var st = StatOrNull(tfd, target[^1]);
            if (st is null) throw BerthException.Invalid($"{Op}: entry \"{entry.Name}\": hard link target \"{entry.LinkName}\" is not in the archive or the volume");
            if ((st.Value.Mode & 0xf000) == Libc.S_IFDIR) throw Hostile(entry.Name, "hard link to a directory");
            RemoveExisting(parent, name, entry.Name);
            Libc.Check(Libc.linkat(tfd, target[^1], parent, name, 0), "link", entry.Name);
        }
        finally { Libc.close(tfd); }
    }

    private static Libc.FileStat? StatOrNull(int dirFd, string name)
    {
        try { return Libc.LstatAt(dirFd, name); }
        catch (ErrnoException e) when (e.Errno == Libc.ENOENT) { return null; }
    }

    private static async Task WriteFile(int parent, string name, TarEntry entry, CancellationToken ct)
    {
        int fd = Libc.Check(Libc.openat(parent, name,
            Libc.O_WRONLY | Libc.O_CREAT | Libc.O_EXCL | Libc.O_NOFOLLOW | Libc.O_CLOEXEC, 0x180), "open", entry.Name);
        using var handle = new SafeFileHandle(fd, ownsHandle: true);
        await using var fs = new FileStream(handle, FileAccess.Write, 0, isAsync: false);
        if (entry.DataStream is { } data) await data.CopyToAsync(fs, 81920, ct);
    }

    /// <summary>Splits a tar name into components: "./" and empty parts dropped; "..", absolute names refused.</summary>
    internal static string[] SplitName(string name)
    {
        if (name.StartsWith('/')) throw Hostile(name, "absolute path");
        if (name.Contains('\0')) throw Hostile(name, "NUL in name");
        var parts = new List<string>();
        foreach (var p in name.Split('/'))
        {
            if (p.Length == 0 || p == ".") continue;
            if (p == "..") throw Hostile(name, "\"..\" component");
            parts.Add(p);
        }
        return [.. parts];
    }

    private static BerthException Hostile(string name, string why) =>
        BerthException.Invalid($"{Op}: entry \"{name}\" rejected: {why} (entries must stay inside the destination)");

    /// <summary>Walks <paramref name="parts"/> from <paramref name="rootFd"/> without following symlinks (creating
    /// missing directories when asked); returns an O_PATH fd of the last one.</summary>
    private static int OpenDir(int rootFd, ReadOnlySpan<string> parts, bool create, string entry)
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
                if (e is Libc.ENOTDIR or Libc.ELOOP) throw Hostile(entry, $"parent \"{p}\" is a symlink or not a directory");
                if (e == Libc.ENOENT) throw BerthException.Invalid($"{Op}: entry \"{entry}\": \"{p}\" does not exist");
                throw new ErrnoException(e, "open", entry);
            }
            Libc.close(fd);
            fd = next;
        }
        return fd;
    }

    private static void EnsureDirectory(int parent, string name, string entry)
    {
        if (Libc.mkdirat(parent, name, 0x1ed) == 0) return;
        if (Libc.Errno != Libc.EEXIST) throw new ErrnoException(Libc.Errno, "mkdir", entry);
        int fd = Libc.openat(parent, name, PathDirFlags, 0);
        if (fd >= 0) { Libc.close(fd); return; } // already a directory: merge
        if (NoOverwriteDirNonDir.Value)
            throw BerthException.Invalid($"cannot overwrite non-directory \"{entry}\" with directory \"{entry}\"");
        RemoveExisting(parent, name, entry);
        Libc.Check(Libc.mkdirat(parent, name, 0x1ed), "mkdir", entry);
    }

    /// <summary>Removes whatever is at parent/name (a directory with its contents, never following symlinks).</summary>
    private static void RemoveExisting(int parent, string name, string entry)
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

    private static void SetMtime(int parent, string name, DateTimeOffset mtime, string entry)
    {
        long sec = Math.DivRem(mtime.UtcTicks - DateTimeOffset.UnixEpoch.UtcTicks, TimeSpan.TicksPerSecond, out long rem);
        if (rem < 0) { rem += TimeSpan.TicksPerSecond; sec -= 1; }
        try { Libc.SetTimesAt(parent, name, sec, rem * 100); }
        catch (ErrnoException e) { throw new ErrnoException(e.Errno, "utimensat", entry); }
    }
}
