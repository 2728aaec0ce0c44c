using System.Globalization;
using System.Runtime.InteropServices;
using System.Text.Json;
using Berth.Api.Images;
using Berth.Core;
using Berth.Interop;

namespace Berth.Images;

/// <summary>
/// Images under a data root: configs as content blobs (&lt;root&gt;/content), layers in &lt;root&gt;/overlay,
/// the image index in &lt;root&gt;/images/imagedb/sha256/&lt;hex&gt; and tags in &lt;root&gt;/images/repositories.json.
/// An image's ID is the sha256 of its config blob.
/// </summary>
public sealed partial class ImageStore
{
    private readonly Lock _lock = new();
    private readonly string _imagedb;
    private readonly string _repositoriesPath;

    public ImageStore(string dataRoot)
    {
        DataRoot = dataRoot;
        Content = new ContentStore(Path.Combine(dataRoot, "content"));
        Layers = new LayerStore(Path.Combine(dataRoot, "overlay"));
        _imagedb = Path.Combine(dataRoot, "images", "imagedb", Digest.Sha256);
        _repositoriesPath = Path.Combine(dataRoot, "images", "repositories.json");
        DataRootPermissions.CreateDirectory(Path.Combine(dataRoot, "images"));
        Directory.CreateDirectory(_imagedb);
    }

    public string DataRoot { get; }
    public ContentStore Content { get; }
    public LayerStore Layers { get; }

    public static string CurrentArchitecture => RuntimeInformation.OSArchitecture switch
    {
        Architecture.X64 => "amd64",
        Architecture.Arm64 => "arm64",
        Architecture.Arm => "arm",
        Architecture.X86 => "386",
        Architecture.S390x => "s390x",
        Architecture.Ppc64le => "ppc64le",
        Architecture.RiscV64 => "riscv64",
        Architecture.LoongArch64 => "loong64",
        var a => a.ToString().ToLowerInvariant(),
    };

    /// <summary>
    /// `docker import`: one layer from a root filesystem tar (plain or gzip); the config takes Cmd etc. from
    /// <paramref name="changes"/>. Returns the image ID ("sha256:..."). Importing identical content with the
    /// same <paramref name="created"/> yields the same ID and is a no-op apart from tagging.
    /// </summary>
    public string Import(Stream tar, string? repoTag, ImageConfigChanges? changes, DateTime? created = null)
    {
        var reference = repoTag is null ? null : ParseTagReference(repoTag); // invalid names fail before any work
        var layer = Layers.Register(tar, parent: null);
        ImageConfig config;
        try
        {
            config = BuildImportConfig(layer, changes, created);
        }
        catch
        {
            Layers.Release(Digest.Parse(layer.ChainID));
            throw;
        }
        return Commit(config, Digest.Parse(layer.ChainID), reference);
    }

    private static ImageConfig BuildImportConfig(LayerInfo layer, ImageConfigChanges? changes, DateTime? created)
    {
        var when = (created ?? DateTime.UtcNow).ToUniversalTime();
        return new ImageConfig
        {
            Architecture = CurrentArchitecture,
            Os = "linux",
            Created = when,
            Comment = changes?.Comment,
            Config = BuildConfig(changes),
            RootFs = new RootFs { DiffIds = [layer.DiffID] },
            History = [new HistoryEntry { Created = when, CreatedBy = "", Comment = changes?.Comment ?? "Imported from -" }],
        };
    }

    /// <summary>
    /// Stores <paramref name="config"/> as an image whose layer chain ends at <paramref name="topLayer"/>,
    /// consuming the caller's reference on that layer (released if the image already existed or on failure).
    /// </summary>
    private string Commit(ImageConfig config, Digest? topLayer, ImageReference? reference)
    {
        Digest id;
        bool consumed = false;
        try
        {
            id = Content.Ingest(JsonSerializer.SerializeToUtf8Bytes(config, ImagesJsonContext.Default.ImageConfig));
            lock (_lock)
            {
                var recPath = Path.Combine(_imagedb, id.Hex);
                if (!File.Exists(recPath))
                {
                    AtomicFile.WriteAllBytes(recPath, JsonSerializer.SerializeToUtf8Bytes(
                        new ImageRecord { Id = id.ToString(), TopLayer = topLayer?.ToString() }, ImagesJsonContext.Default.ImageRecord));
                    consumed = true; // the image record now owns the layer reference
                }
            }
        }
        finally
        {
            if (!consumed && topLayer is { } t) Layers.Release(t);
        }
        if (reference is not null)
            lock (_lock) SetTag(reference, id);
        return id.ToString();
    }

    private static ContainerConfig BuildConfig(ImageConfigChanges? c)
    {
        var cfg = new ContainerConfig();
        if (c is null) return cfg;
        cfg.Cmd = c.Cmd?.ToList();
        cfg.Entrypoint = c.Entrypoint?.ToList();
        cfg.Env = c.Env?.ToList();
        cfg.WorkingDir = c.WorkingDir;
        cfg.User = c.User;
        cfg.StopSignal = c.StopSignal;
        if (c.Labels is not null)
        {
            cfg.Labels = [];
            foreach (var (k, v) in c.Labels.OrderBy(kv => kv.Key, StringComparer.Ordinal)) cfg.Labels[k] = v;
        }
        if (c.ExposedPorts is not null)
        {
            cfg.ExposedPorts = [];
            foreach (var p in c.ExposedPorts.Order(StringComparer.Ordinal)) cfg.ExposedPorts[p.Contains('/') ? p : p + "/tcp"] = new EmptyObject();
        }
        if (c.Volumes is not null)
        {
            cfg.Volumes = [];
            foreach (var v in c.Volumes.Order(StringComparer.Ordinal)) cfg.Volumes[v] = new EmptyObject();
        }
        return cfg;
    }

    /// <summary>The image config of <paramref name="id"/>.</summary>
    public ImageConfig GetConfig(Digest id) =>
        JsonSerializer.Deserialize(Content.ReadAllBytes(id), ImagesJsonContext.Default.ImageConfig)
        ?? throw new BerthException(ErrorKind.DataLoss, $"image config {id} is empty");

    /// <summary>ChainID of the image's top layer (what a container snapshot is prepared on), null for no layers.</summary>
    public Digest? TopLayer(string nameOrId)
    {
        var id = Resolve(nameOrId);
        var rec = ReadRecord(id) ?? throw NoSuchImage(nameOrId);
        return rec.TopLayer is null ? null : Digest.Parse(rec.TopLayer);
    }

    public IReadOnlyList<ImageSummary> List()
    {
        lock (_lock)
        {
            var tags = ReadRepositories();
            var byImage = TagsByImage(tags);
            var list = new List<ImageSummary>();
            foreach (var id in ImageIds())
            {
                var config = GetConfig(id);
                long size = SizeOf(id);
                list.Add(new ImageSummary
                {
                    Id = id.ToString(),
                    RepoTags = byImage.GetValueOrDefault(id.ToString()) ?? [],
                    Created = config.Created is { } c ? new DateTimeOffset(c.ToUniversalTime()).ToUnixTimeSeconds() : 0,
                    Size = size,
                    VirtualSize = size,
                    Labels = config.Config?.Labels is { Count: > 0 } labels ? labels : null, // dockerd: null when none
                });
            }
            return list.OrderByDescending(i => i.Created).ThenBy(i => i.Id, StringComparer.Ordinal).ToList();
        }
    }

    public ImageInspect Inspect(string nameOrId)
    {
        lock (_lock)
        {
            var id = Resolve(nameOrId);
            var config = GetConfig(id);
            var rec = ReadRecord(id) ?? throw NoSuchImage(nameOrId);
            long size = SizeOf(id);
            var graph = new GraphDriverData();
            if (rec.TopLayer is not null)
            {
                var lowers = Layers.LowerDirs(Digest.Parse(rec.TopLayer));
                graph.Data["UpperDir"] = lowers[0];
                if (lowers.Count > 1) graph.Data["LowerDir"] = string.Join(':', lowers.Skip(1));
            }
            return new ImageInspect
            {
                Id = id.ToString(),
                RepoTags = TagsByImage(ReadRepositories()).GetValueOrDefault(id.ToString()) ?? [],
                Comment = config.Comment ?? "",
                Created = config.Created is { } c ? c.ToUniversalTime().ToString("yyyy-MM-dd'T'HH:mm:ss.FFFFFFF'Z'", CultureInfo.InvariantCulture) : "",
                Author = config.Author ?? "",
                Config = ApiConfig(config.Config),
                Architecture = config.Architecture,
                Variant = config.Variant,
                Os = config.Os,
                Size = size,
                VirtualSize = size,
                GraphDriver = graph,
                RootFS = new RootFsInspect { Type = config.RootFs.Type, Layers = config.RootFs.DiffIds.ToList() },
                Metadata = new InspectMetadata { LastTagTime = rec.LastTagTime ?? InspectMetadata.ZeroTime },
            };
        }
    }

    /// <summary>The OCI config's execution parameters as the API's container Config (dockerd answers the full
    /// container.Config for an image: every field, null/empty where the image sets nothing).</summary>
    private static Berth.Api.Containers.ContainerConfig ApiConfig(ContainerConfig? c) => new()
    {
        User = c?.User ?? "",
        ExposedPorts = c?.ExposedPorts?.ToDictionary(kv => kv.Key, _ => new Berth.Api.Containers.EmptyObject()),
        Env = c?.Env,
        Cmd = c?.Cmd,
        Volumes = c?.Volumes?.ToDictionary(kv => kv.Key, _ => new Berth.Api.Containers.EmptyObject()),
        WorkingDir = c?.WorkingDir ?? "",
        Entrypoint = c?.Entrypoint,
        Labels = c?.Labels,
        StopSignal = c?.StopSignal,
        Healthcheck = c?.Healthcheck,
    };

    /// <summary>
    /// Resolves a reference ("busybox", "busybox:latest", "docker.io/library/busybox:latest"), a full ID
    /// ("sha256:&lt;hex&gt;" or "&lt;hex&gt;") or a unique ID prefix to an image ID. NotFound: "No such image: X".
    /// </summary>
    public Digest Resolve(string nameOrId)
    {
        lock (_lock)
        {
            if (Digest.TryParse(nameOrId, out var full))
                return ImageExists(full) ? full : throw NoSuchImage(nameOrId);

            ImageReference? reference = null;
            try { reference = ImageReference.ParseNormalized(nameOrId); }
            catch (BerthException) { /* maybe an ID prefix */ }

            if (reference is { Tag: { } tag, Digest: null } &&
                ReadRepositories().Repositories.TryGetValue(reference.Name, out var repo) &&
                repo.TryGetValue(tag, out var idString) && Digest.TryParse(idString, out var byTag) && ImageExists(byTag))
                return byTag;

            // ID prefix (Docker: a name lookup first, then the ID prefix).
            var prefix = nameOrId.StartsWith("sha256:", StringComparison.Ordinal) ? nameOrId[7..] : nameOrId;
            if (prefix.Length > 0 && prefix.Length <= 64 && prefix.All(c => c is >= '0' and <= '9' or >= 'a' and <= 'f'))
            {
                Digest? found = null;
                foreach (var id in ImageIds())
                {
                    if (!id.Hex.StartsWith(prefix, StringComparison.Ordinal)) continue;
                    if (found is not null) throw NoSuchImage(nameOrId); // ambiguous
                    found = id;
                }
                if (found is { } f) return f;
            }
            if (reference is null && !LooksLikeIdPrefix(nameOrId)) ImageReference.ParseNormalized(nameOrId); // rethrow the format error
            throw NoSuchImage(nameOrId);
        }
    }

    private static bool LooksLikeIdPrefix(string s) =>
        (s.StartsWith("sha256:", StringComparison.Ordinal) ? s[7..] : s).All(c => c is >= '0' and <= '9' or >= 'a' and <= 'f');

    /// <summary>`docker tag SOURCE REPO[:TAG]`: <paramref name="tag"/> null or empty means "latest".</summary>
    public void Tag(string source, string repo, string? tag)
    {
        var target = string.IsNullOrEmpty(tag) ? repo : repo + ":" + tag;
        var reference = ParseTagReference(target);
        lock (_lock)
        {
            var id = Resolve(source);
            SetTag(reference, id);
        }
    }

    /// <summary>
    /// `docker rmi`: by reference, untags it and deletes the image when no reference is left; by ID, deletes the
    /// image (with force also when it has several references). <paramref name="usedBy"/> returns the ID of a
    /// container that uses the image, or null. Deleted layers are reported as "Deleted: &lt;chainid&gt;".
    /// </summary>
    public IReadOnlyList<ImageDeleteItem> Remove(string nameOrId, bool force, Func<string, string?>? usedBy = null)
    {
        lock (_lock)
        {
            var id = Resolve(nameOrId);
            var idString = id.ToString();
            var repos = ReadRepositories();
            var refs = TagsOf(repos, idString);
            var container = usedBy?.Invoke(idString);
            var items = new List<ImageDeleteItem>();

            ImageReference? byName = null;
            if (!IsIdLike(nameOrId, id))
            {
                try { byName = ImageReference.ParseNormalized(nameOrId); } catch (BerthException) { }
                if (byName is not null && !refs.Any(r => r.Name == byName.Name && r.Tag == byName.Tag)) byName = null;
            }

            if (byName is not null)
            {
                if (refs.Count == 1 && container is not null && !force)
                    throw BerthException.Conflict(
                        $"conflict: unable to remove repository reference \"{nameOrId}\" (must force) - container {ShortId(container)} is using its referenced image {id.Short}");
                RemoveTag(repos, byName);
                items.Add(new ImageDeleteItem(byName.FamiliarString, null));
                refs.RemoveAll(r => r.Name == byName.Name && r.Tag == byName.Tag);
                if (refs.Count > 0 || container is not null)
                {
                    WriteRepositories(repos);
                    return items;
                }
            }
            else
            {
                if (container is not null && !force)
                    throw BerthException.Conflict(
                        $"conflict: unable to delete {id.Short} (must be forced) - image is being used by stopped container {ShortId(container)}");
                if (refs.Count > 1 && !force)
                    throw BerthException.Conflict($"conflict: unable to delete {id.Short} (must be forced) - image is referenced in multiple repositories");
                foreach (var r in refs)
                {
                    RemoveTag(repos, r);
                    items.Add(new ImageDeleteItem(r.FamiliarString, null));
                }
                if (container is not null)
                {
                    // Forced while a container uses it: untagged (dangling) but kept for the container.
                    WriteRepositories(repos);
                    return items;
                }
            }
            WriteRepositories(repos);
            items.AddRange(DeleteImage(id));
            return items;
        }
    }

    private static bool IsIdLike(string s, Digest id)
    {
        var hex = s.StartsWith("sha256:", StringComparison.Ordinal) ? s[7..] : s;
        return hex.Length > 0 && id.Hex.StartsWith(hex, StringComparison.Ordinal);
    }

    private List<ImageDeleteItem> DeleteImage(Digest id)
    {
        var items = new List<ImageDeleteItem>();
        var rec = ReadRecord(id);
        File.Delete(Path.Combine(_imagedb, id.Hex));
        AtomicFile.FsyncDirectory(_imagedb);
        Content.Delete(id);
        items.Add(new ImageDeleteItem(null, id.ToString()));
        if (rec?.TopLayer is { } top)
            foreach (var l in Layers.Release(Digest.Parse(top)))
                items.Add(new ImageDeleteItem(null, l.ToString()));
        return items;
    }

    private long SizeOf(Digest id) => ReadRecord(id)?.TopLayer is { } top ? Layers.ChainSize(Digest.Parse(top)) : 0;

    private bool ImageExists(Digest id) => File.Exists(Path.Combine(_imagedb, id.Hex));

    private IEnumerable<Digest> ImageIds()
    {
        foreach (var f in Directory.EnumerateFiles(_imagedb))
            if (Digest.TryFromHex(Path.GetFileName(f), out var d)) yield return d;
    }

    private ImageRecord? ReadRecord(Digest id)
    {
        var p = Path.Combine(_imagedb, id.Hex);
        return File.Exists(p) ? JsonSerializer.Deserialize(File.ReadAllBytes(p), ImagesJsonContext.Default.ImageRecord) : null;
    }

    private static ImageReference ParseTagReference(string s)
    {
        var r = ImageReference.ParseNormalized(s);
        if (r.Digest is not null) throw BerthException.Invalid("refusing to create a tag with a digest reference");
        return r;
    }

    private void SetTag(ImageReference reference, Digest id)
    {
        var repos = ReadRepositories();
        if (!repos.Repositories.TryGetValue(reference.Name, out var repo))
            repos.Repositories[reference.Name] = repo = new SortedDictionary<string, string>(StringComparer.Ordinal);
        if (repo.TryGetValue(reference.Tag!, out var old) && old == id.ToString()) return;
        repo[reference.Tag!] = id.ToString();
        WriteRepositories(repos);
        if (ReadRecord(id) is { } rec)
        {
            rec.LastTagTime = DateTime.UtcNow.ToString("yyyy-MM-dd'T'HH:mm:ss.FFFFFFF'Z'", CultureInfo.InvariantCulture);
            AtomicFile.WriteAllBytes(Path.Combine(_imagedb, id.Hex), JsonSerializer.SerializeToUtf8Bytes(rec, ImagesJsonContext.Default.ImageRecord));
        }
    }

    private static void RemoveTag(RepositoriesFile repos, ImageReference r)
    {
        if (!repos.Repositories.TryGetValue(r.Name, out var repo)) return;
        repo.Remove(r.Tag!);
        if (repo.Count == 0) repos.Repositories.Remove(r.Name);
    }

    private static List<ImageReference> TagsOf(RepositoriesFile repos, string id)
    {
        var list = new List<ImageReference>();
        foreach (var (name, tags) in repos.Repositories)
            foreach (var (tag, target) in tags)
                if (target == id)
                {
                    int slash = name.IndexOf('/');
                    list.Add(new ImageReference(name[..slash], name[(slash + 1)..], tag, null));
                }
        return list;
    }

    private static Dictionary<string, List<string>> TagsByImage(RepositoriesFile repos)
    {
        var map = new Dictionary<string, List<string>>();
        foreach (var (name, tags) in repos.Repositories)
            foreach (var (tag, target) in tags)
            {
                int slash = name.IndexOf('/');
                var r = new ImageReference(name[..slash], name[(slash + 1)..], tag, null);
                if (!map.TryGetValue(target, out var l)) map[target] = l = [];
                l.Add(r.FamiliarString);
            }
        foreach (var l in map.Values) l.Sort(StringComparer.Ordinal);
        return map;
    }

    private RepositoriesFile ReadRepositories()
    {
        if (!File.Exists(_repositoriesPath)) return new RepositoriesFile();
        var file = JsonSerializer.Deserialize(File.ReadAllBytes(_repositoriesPath), ImagesJsonContext.Default.RepositoriesFile) ?? new RepositoriesFile();
        return file;
    }

    private void WriteRepositories(RepositoriesFile repos) =>
        AtomicFile.WriteAllBytes(_repositoriesPath, JsonSerializer.SerializeToUtf8Bytes(repos, ImagesJsonContext.Default.RepositoriesFile));

    private static string ShortId(string containerId) => containerId.Length > 12 ? containerId[..12] : containerId;

    private static BerthException NoSuchImage(string name) => BerthException.NotFound($"No such image: {name}");
}
