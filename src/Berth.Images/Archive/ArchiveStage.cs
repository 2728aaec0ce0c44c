using System.Formats.Tar;
using System.Security.Cryptography;
using Berth.Core;

namespace Berth.Images.Archive;

/// <summary>
/// The files of an image archive (docker-archive or OCI layout), unpacked flat into a private staging directory:
/// the archive's index (manifest.json, index.json) usually comes after the layers, so they are kept until it is
/// read. Names with "..", absolute names and links that leave the archive are refused. Deleted on dispose; leftovers
/// of a crash are deleted when the next load starts.
/// </summary>
internal sealed class ArchiveStage : IDisposable
{
    private readonly string _dir;
    private readonly Dictionary<string, string> _files = new(StringComparer.Ordinal); // archive name → staged file
    private readonly Dictionary<string, string> _links = new(StringComparer.Ordinal);  // archive name → archive name

    private ArchiveStage(string dir) => _dir = dir;

    public static string StagingRoot(string dataRoot) => Path.Combine(dataRoot, "images", "load-tmp");

    /// <summary>Reads the whole archive (plain or gzip) into a new staging directory under <paramref name="root"/>.</summary>
    public static ArchiveStage Read(Stream archive, string root)
    {
        Directory.CreateDirectory(root);
        var stage = new ArchiveStage(Path.Combine(root, Convert.ToHexStringLower(RandomNumberGenerator.GetBytes(16))));
        Directory.CreateDirectory(stage._dir);
        try
        {
            stage.Extract(FdTree.OpenDecompressed(archive));
            return stage;
        }
        catch
        {
            stage.Dispose();
            throw;
        }
    }

    /// <summary>Deletes staging directories left by an interrupted load.</summary>
    public static void CleanLeftovers(string root)
    {
        if (!Directory.Exists(root)) return;
        foreach (var d in Directory.EnumerateDirectories(root)) LayerStore.TryDeleteTree(d);
    }

    private void Extract(Stream tar)
    {
        var reader = new TarReader(tar);
        int n = 0;
        while (true)
        {
            TarEntry? e;
            try { e = reader.GetNextEntry(copyData: false); }
            catch (Exception ex) when (ex is InvalidDataException or FormatException or ArgumentException or EndOfStreamException)
            {
                throw BerthException.Invalid($"invalid archive: {ex.Message}");
            }
            if (e is null) break;
            var name = Normalize(e.Name, e.Name);
            switch (e.EntryType)
            {
                case TarEntryType.RegularFile or TarEntryType.V7RegularFile or TarEntryType.ContiguousFile:
                {
                    var staged = Path.Combine(_dir, (n++).ToString(System.Globalization.CultureInfo.InvariantCulture));
                    using (var fs = new FileStream(staged, FileMode.CreateNew, FileAccess.Write))
                        try { e.DataStream?.CopyTo(fs, 1 << 16); }
                        catch (Exception ex) when (ex is InvalidDataException or EndOfStreamException) { throw BerthException.Invalid($"invalid archive: {ex.Message}"); }
                    _files[name] = staged;
                    _links.Remove(name);
                    break;
                }
                case TarEntryType.SymbolicLink:
                {
                    if (e.LinkName.StartsWith('/')) throw Hostile(e.Name, "symlink to an absolute path");
                    var dir = name.Contains('/') ? name[..name.LastIndexOf('/')] + "/" : "";
                    _links[name] = Normalize(dir + e.LinkName, e.Name, linkTarget: true);
                    break;
                }
                case TarEntryType.HardLink:
                    _links[name] = Normalize(e.LinkName, e.Name, linkTarget: true);
                    break;
                default:
                    break; // directories and anything else carry nothing a load reads
            }
        }
    }

    /// <summary>An archive name without "./" and with ".." resolved; leaving the archive is refused.</summary>
    private static string Normalize(string name, string entry, bool linkTarget = false)
    {
        if (name.StartsWith('/')) throw Hostile(entry, "absolute path");
        var parts = new List<string>();
        foreach (var p in name.Split('/'))
        {
            if (p.Length == 0 || p == ".") continue;
            if (p == "..")
            {
                if (!linkTarget) throw Hostile(entry, "\"..\" component");
                if (parts.Count == 0) throw Hostile(entry, "link target leaves the archive");
                parts.RemoveAt(parts.Count - 1);
                continue;
            }
            parts.Add(p);
        }
        return string.Join('/', parts);
    }

    private static BerthException Hostile(string entry, string why) =>
        BerthException.Invalid($"invalid archive: entry \"{entry}\" rejected: {why}");

    public bool Has(string name) => Resolve(name) is not null;

    private string? Resolve(string name)
    {
        for (int hops = 0; hops < 40; hops++)
        {
            if (_links.TryGetValue(name, out var target)) { name = target; continue; }
            return _files.GetValueOrDefault(name);
        }
        return null;
    }

    public Stream Open(string name) =>
        Resolve(Normalize(name, name)) is { } f ? File.OpenRead(f) : throw BerthException.Invalid($"invalid archive: \"{name}\" is missing");

    public byte[] ReadAll(string name)
    {
        using var s = Open(name);
        using var ms = new MemoryStream();
        s.CopyTo(ms);
        return ms.ToArray();
    }

    public long Length(string name) => Resolve(Normalize(name, name)) is { } f ? new FileInfo(f).Length : 0;

    public void Dispose() => LayerStore.TryDeleteTree(_dir);
}
