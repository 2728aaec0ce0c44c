using System.Security.Cryptography;
using System.Text.Json;
using Berth.Core;
using Berth.Interop;

namespace Berth.Images;

/// <summary>Metadata of one unpacked layer, persisted as &lt;root&gt;/&lt;chainid-hex&gt;/layer.json.</summary>
public sealed class LayerInfo
{
    public required string ChainID { get; init; }
    public required string DiffID { get; init; }
    public string? Parent { get; init; }
    /// <summary>Bytes of regular-file content in this layer's diff.</summary>
    public long Size { get; init; }
    /// <summary>Direct references: images whose top layer this is, child layers, container snapshots.</summary>
    public int RefCount { get; set; }
}

/// <summary>
/// Layers unpacked once each into &lt;root&gt;/&lt;chainid-hex&gt;/diff and shared between images.
/// ChainID(L0) = DiffID(L0); ChainID(Ln) = sha256(ChainID(Ln-1) + " " + DiffID(Ln)) (OCI image spec).
/// A layer holds a reference on its parent; it is deleted when its own count drops to zero.
/// </summary>
public sealed partial class LayerStore
{
    private readonly Lock _lock = new();
    private readonly string _ingest;

    public LayerStore(string root)
    {
        Root = root;
        _ingest = Path.Combine(root, ".ingest");
        DataRootPermissions.CreateDirectory(root); // 0700: no host user may run or read a layer's files (CVE-2021-41091)
        DataRootPermissions.CreateDirectory(_ingest);
        foreach (var stale in Directory.EnumerateDirectories(_ingest)) // interrupted unpacks
            TryDeleteTree(stale);
    }

    public string Root { get; }

    public static Digest ChainId(Digest? parent, Digest diffId) =>
        parent is { } p ? Digest.Of(p + " " + diffId) : diffId;

    /// <summary>ChainIDs of a diff_ids list, bottom to top.</summary>
    public static IReadOnlyList<Digest> ChainIds(IEnumerable<Digest> diffIds)
    {
        var result = new List<Digest>();
        Digest? parent = null;
        foreach (var d in diffIds)
        {
            var c = ChainId(parent, d);
            result.Add(c);
            parent = c;
        }
        return result;
    }

    public string LayerDir(Digest chainId) => Path.Combine(Root, chainId.Hex);

    public string DiffDir(Digest chainId) => Path.Combine(Root, chainId.Hex, "diff");

    public bool Exists(Digest chainId) => File.Exists(Path.Combine(LayerDir(chainId), "layer.json"));

    public LayerInfo? Get(Digest chainId)
    {
        var p = Path.Combine(LayerDir(chainId), "layer.json");
        if (!File.Exists(p)) return null;
        return JsonSerializer.Deserialize(File.ReadAllBytes(p), ImagesJsonContext.Default.LayerInfo);
    }

    public IReadOnlyList<LayerInfo> List()
    {
        var list = new List<LayerInfo>();
        foreach (var d in Directory.EnumerateDirectories(Root))
            if (Digest.TryFromHex(Path.GetFileName(d), out var c) && Get(c) is { } l) list.Add(l);
        return list;
    }

    /// <summary>
    /// Unpacks a layer tar on top of <paramref name="parent"/> (a ChainID, or null for a base layer) and
    /// returns its metadata with one reference taken for the caller. A layer whose ChainID already exists
    /// is not unpacked again: the existing one gains a reference.
    /// </summary>
    public LayerInfo Register(Stream tar, Digest? parent, Digest? expectedDiffId = null)
    {
        if (parent is { } pc && !Exists(pc)) throw BerthException.NotFound($"parent layer {pc} does not exist");
        var tmp = Path.Combine(_ingest, Convert.ToHexStringLower(RandomNumberGenerator.GetBytes(16)));
        var tmpDiff = Path.Combine(tmp, "diff");
        Directory.CreateDirectory(tmpDiff);
        try
        {
            var splitPath = Path.Combine(tmp, TarSplit.FileName);
            UnpackResult unpacked;
            using (var split = new TarSplit.Recorder(splitPath))
            {
                unpacked = LayerUnpacker.Unpack(tar, tmpDiff, split);
                split.Complete();
            }
            if (expectedDiffId is { } want && want != unpacked.DiffId)
                throw BerthException.Invalid($"layer content does not match its diff id: expected {want}, got {unpacked.DiffId}");
            var chainId = ChainId(parent, unpacked.DiffId);
            lock (_lock)
            {
                if (Get(chainId) is { } existing)
                {
                    existing.RefCount++;
                    Save(existing);
                    AdoptTarSplit(chainId, splitPath); // a layer stored before tar-split was kept
                    return existing;
                }
                var info = new LayerInfo
                {
                    ChainID = chainId.ToString(), DiffID = unpacked.DiffId.ToString(),
                    Parent = parent?.ToString(), Size = unpacked.Size, RefCount = 1,
                };
                if (parent is { } p) AddRef(p, 1);
                AtomicFile.WriteAllBytes(Path.Combine(tmp, "layer.json"), Serialize(info));
                var final = LayerDir(chainId);
                if (Directory.Exists(final)) TryDeleteTree(final); // a half-deleted leftover without layer.json
                Directory.Move(tmp, final);
                AtomicFile.FsyncDirectory(Root);
                return info;
            }
        }
        finally
        {
            if (Directory.Exists(tmp)) TryDeleteTree(tmp);
        }
    }

    /// <summary>Takes one more reference on an existing layer.</summary>
    public void Acquire(Digest chainId)
    {
        lock (_lock) AddRef(chainId, 1);
    }

    /// <summary>Drops one reference; returns the ChainIDs of layers deleted as a result (this one and unreferenced parents).</summary>
    public IReadOnlyList<Digest> Release(Digest chainId)
    {
        var deleted = new List<Digest>();
        lock (_lock)
        {
            Digest? current = chainId;
            while (current is { } c)
            {
                var info = Get(c) ?? throw BerthException.NotFound($"layer {c} does not exist");
                info.RefCount--;
                if (info.RefCount > 0)
                {
                    Save(info);
                    break;
                }
                // Delete: first remove the metadata (the layer is gone from then on), then the tree.
                File.Delete(Path.Combine(LayerDir(c), "layer.json"));
                TryDeleteTree(LayerDir(c));
                deleted.Add(c);
                current = info.Parent is null ? null : Digest.Parse(info.Parent);
            }
        }
        return deleted;
    }

    /// <summary>Diff directories of the chain ending at <paramref name="top"/>, top first (overlay lowerdir order).</summary>
    public IReadOnlyList<string> LowerDirs(Digest top)
    {
        var dirs = new List<string>();
        Digest? current = top;
        while (current is { } c)
        {
            var info = Get(c) ?? throw BerthException.NotFound($"layer {c} does not exist");
            dirs.Add(DiffDir(c));
            current = info.Parent is null ? null : Digest.Parse(info.Parent);
        }
        return dirs;
    }

    /// <summary>Sum of layer sizes of the chain ending at <paramref name="top"/>.</summary>
    public long ChainSize(Digest top)
    {
        long size = 0;
        Digest? current = top;
        while (current is { } c && Get(c) is { } info)
        {
            size += info.Size;
            current = info.Parent is null ? null : Digest.Parse(info.Parent);
        }
        return size;
    }

    private void AddRef(Digest chainId, int delta)
    {
        var info = Get(chainId) ?? throw BerthException.NotFound($"layer {chainId} does not exist");
        info.RefCount += delta;
        Save(info);
    }

    private void Save(LayerInfo info) =>
        AtomicFile.WriteAllBytes(Path.Combine(LayerDir(Digest.Parse(info.ChainID)), "layer.json"), Serialize(info));

    private static byte[] Serialize(LayerInfo info) => JsonSerializer.SerializeToUtf8Bytes(info, ImagesJsonContext.Default.LayerInfo);

    internal static void TryDeleteTree(string path)
    {
        try
        {
            if (Directory.Exists(path)) Directory.Delete(path, recursive: true);
        }
        catch (DirectoryNotFoundException)
        {
        }
    }
}
