using System.Formats.Tar;
using Berth.Core;
using Berth.Images;
using Berth.Interop;
using Microsoft.Win32.SafeHandles;

namespace Berth.Engine.Volumes;

public static partial class VolumeArchive
{
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
            await using var reader = new TarReader(await FdTree.OpenDecompressedAsync(input, ct), leaveOpen: true);
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
                            int type = FdTree.NodeType(entry.EntryType);
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
        foreach (var (xname, bytes) in FdTree.Xattrs(entry, key => BerthException.Invalid($"{Op}: entry \"{entry.Name}\": bad {key} record")))
        {
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

    internal static string[] SplitName(string name) => FdTree.SplitName(name, Hostile);

    private static BerthException Hostile(string name, string why) =>
        BerthException.Invalid($"{Op}: entry \"{name}\" rejected: {why} (entries must stay inside the destination)");

    private static int OpenDir(int rootFd, ReadOnlySpan<string> parts, bool create, string entry) =>
        FdTree.OpenDir(rootFd, parts, create, entry, Hostile,
            missing: (e, p) => BerthException.Invalid($"{Op}: entry \"{e}\": \"{p}\" does not exist"));

    private static void EnsureDirectory(int parent, string name, string entry) =>
        FdTree.EnsureDirectory(parent, name, entry, NoOverwriteDirNonDir.Value
            ? () => BerthException.Invalid($"cannot overwrite non-directory \"{entry}\" with directory \"{entry}\"")
            : null);

    private static void RemoveExisting(int parent, string name, string entry) => FdTree.RemoveExisting(parent, name, entry);

    private static void SetMtime(int parent, string name, DateTimeOffset mtime, string entry) =>
        FdTree.SetMtime(parent, name, mtime, entry);
}
