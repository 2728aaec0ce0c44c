using Berth.Interop;

namespace Berth.Engine.Volumes;

/// <summary>
/// The file-system steps of the store: &lt;data-root&gt;/volumes/&lt;name&gt;/{volume.json,_data}; a volume is
/// made under a temporary name (".tmp-" and random hex) and renamed into place, removed by a rename to a trash name (".trash-" and random hex)
/// and then deleted, so a crash at any point leaves either the whole volume or a leftover that start-up deletes (and
/// a power cut, the fsyncs being after the answer, at worst a half volume: <see cref="IsHalfVolume"/>).
/// </summary>
internal static class VolumeDirs
{
    public const string MetaFile = "volume.json";
    public const string TempPrefix = ".tmp-";
    public const string TrashPrefix = ".trash-";

    /// <summary>In a volume's directory while the image's content is copied into the volume (<see cref="VolumeStore.CopyUp"/>):
    /// a volume that has it after a crash holds half a copy.</summary>
    public const string CopyUpMarker = "copy-up.pending";

    public const UnixFileMode Mode0755 = UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute
        | UnixFileMode.GroupRead | UnixFileMode.GroupExecute | UnixFileMode.OtherRead | UnixFileMode.OtherExecute;

    /// <summary>Docker's volumes directory mode (0701: others may reach a volume's _data by path, not list names).</summary>
    public const UnixFileMode Mode0701 = UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute | UnixFileMode.OtherExecute;

    /// <summary>A temporary or trash name: the prefix and random hex (not the volume's name, which may take all of
    /// NAME_MAX; the name is in volume.json).</summary>
    public static string Unique(string prefix) =>
        prefix + Convert.ToHexStringLower(System.Security.Cryptography.RandomNumberGenerator.GetBytes(12));

    public static bool IsLeftover(string entry) => entry.StartsWith(TempPrefix, StringComparison.Ordinal) || entry.StartsWith(TrashPrefix, StringComparison.Ordinal);

    /// <summary>What a power cut can leave of a create answered before its fsyncs: a directory with nothing but a
    /// volume.json (missing, empty or invalid: the caller found it so) and an empty _data directory (or none).</summary>
    public static bool IsHalfVolume(string dir)
    {
        foreach (var e in new DirectoryInfo(dir).EnumerateFileSystemInfos("*", new EnumerationOptions { AttributesToSkip = 0 }))
        {
            if (e.Name == MetaFile && e is FileInfo && e.LinkTarget is null) continue;
            if (e.Name == LocalVolumeDriver.DataDirName && e is DirectoryInfo d && d.LinkTarget is null
                && !d.EnumerateFileSystemInfos("*", new EnumerationOptions { AttributesToSkip = 0 }).Any()) continue;
            return false;
        }
        return true;
    }

    /// <summary>Writes a new file (0600), not fsynced: a create's volume.json, fsynced after the answer by
    /// <see cref="VolumeBackgroundIo"/>.</summary>
    public static void Write(string path, ReadOnlySpan<byte> content)
    {
        using var fs = new FileStream(path, new FileStreamOptions
        {
            Mode = FileMode.CreateNew, Access = FileAccess.Write, UnixCreateMode = UnixFileMode.UserRead | UnixFileMode.UserWrite,
        });
        fs.Write(content);
    }

    /// <summary>Deletes a directory tree without following symbolic links; refuses (false) when something is mounted
    /// at or below it (a crash may leave a volume's mount behind: deleting through it would delete the mounted data).</summary>
    public static bool DeleteTree(string dir)
    {
        if (!Directory.Exists(dir)) return true;
        if (MountsUnder(dir).Count > 0) return false;
        Directory.Delete(dir, recursive: true);
        return true;
    }

    /// <summary>Deletes what is inside <paramref name="dir"/> (not the directory itself), links not followed; refuses
    /// (false) when something is mounted below it.</summary>
    public static bool ClearContents(string dir)
    {
        var full = Path.GetFullPath(dir).TrimEnd('/');
        if (MountsUnder(dir).Any(m => m != full)) return false;
        foreach (var e in new DirectoryInfo(dir).EnumerateFileSystemInfos("*", new EnumerationOptions { AttributesToSkip = 0 }))
        {
            if (e is DirectoryInfo d && d.LinkTarget is null) d.Delete(recursive: true);
            else e.Delete();
        }
        return true;
    }

    /// <summary>Writes back the filesystem that holds <paramref name="dir"/> (syncfs): what was copied there is on disk.</summary>
    public static void SyncFilesystem(string dir)
    {
        int fd = Libc.open(dir, Libc.O_RDONLY | Libc.O_DIRECTORY | Libc.O_CLOEXEC, 0);
        if (fd < 0) throw new ErrnoException(System.Runtime.InteropServices.Marshal.GetLastPInvokeError(), "open", dir);
        try
        {
            if (Libc.syncfs(fd) != 0) throw new ErrnoException(System.Runtime.InteropServices.Marshal.GetLastPInvokeError(), "syncfs", dir);
        }
        finally
        {
            Libc.close(fd);
        }
    }

    /// <summary>Mount points at or below <paramref name="dir"/> (from /proc/self/mountinfo).</summary>
    public static IReadOnlyList<string> MountsUnder(string dir)
    {
        var full = Path.GetFullPath(dir).TrimEnd('/');
        var found = new List<string>();
        foreach (var line in File.ReadLines("/proc/self/mountinfo"))
        {
            var fields = line.Split(' ');
            if (fields.Length <= 4) continue;
            var point = Unescape(fields[4]);
            if (point == full || point.StartsWith(full + "/", StringComparison.Ordinal)) found.Add(point);
        }
        return found;
    }

    /// <summary>Bytes of the regular files under <paramref name="dir"/> (links not followed, a hard-linked file counted
    /// once per link as Go's directory.Size does not dedupe either).</summary>
    public static long Size(string dir)
    {
        long total = 0;
        if (!Directory.Exists(dir)) return 0;
        // A walk of its own: the enumerator's recursion would follow links to directories.
        var opts = new EnumerationOptions { AttributesToSkip = 0, IgnoreInaccessible = true };
        var pending = new Stack<DirectoryInfo>();
        pending.Push(new DirectoryInfo(dir));
        while (pending.TryPop(out var d))
        {
            foreach (var e in d.EnumerateFileSystemInfos("*", opts))
            {
                if (e.LinkTarget is not null) continue;
                if (e is DirectoryInfo sub) pending.Push(sub);
                else if (e is FileInfo f) total += f.Length;
            }
        }
        return total;
    }

    private static string Unescape(string s)
    {
        if (!s.Contains('\\')) return s;
        var sb = new System.Text.StringBuilder(s.Length);
        for (int i = 0; i < s.Length; i++)
        {
            if (s[i] == '\\' && i + 3 < s.Length && s[i + 1] is >= '0' and <= '7' && s[i + 2] is >= '0' and <= '7' && s[i + 3] is >= '0' and <= '7')
            {
                sb.Append((char)((s[i + 1] - '0') * 64 + (s[i + 2] - '0') * 8 + (s[i + 3] - '0')));
                i += 3;
            }
            else sb.Append(s[i]);
        }
        return sb.ToString();
    }
}
