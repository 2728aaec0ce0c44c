using System.Security.Cryptography;
using System.Text.Json;
using System.Text.RegularExpressions;
using Berth.Core;
using Berth.Interop;

namespace Berth.Engine.Containers;

/// <summary>
/// The engine's containers: &lt;data-root&gt;/containers/&lt;id&gt;/container.json (written atomically), with an
/// in-memory index by id and name. Lookup accepts a full id, a name (with or without "/") or a unique id prefix.
/// </summary>
public sealed partial class ContainerStore
{
    private readonly string _dir;
    private readonly Lock _lock = new();
    private readonly Dictionary<string, ContainerRecord> _byId = new(StringComparer.Ordinal);
    private readonly Dictionary<string, string> _idByName = new(StringComparer.Ordinal);

    public ContainerStore(string dataRoot)
    {
        _dir = Path.Combine(dataRoot, "containers");
        // 0700: a container's directory (logs, hosts, resolv.conf) is root's only; tightened when it exists.
        Berth.Images.DataRootPermissions.CreateDirectory(_dir);
        foreach (var d in Directory.GetDirectories(_dir))
        {
            var file = Path.Combine(d, "container.json");
            if (!File.Exists(file)) continue; // a create that died before it was recorded
            try
            {
                var c = JsonSerializer.Deserialize(File.ReadAllBytes(file), ContainerJsonContext.Default.ContainerRecord);
                if (c is null) continue;
                _byId[c.Id] = c;
                _idByName[c.Name] = c.Id;
            }
            catch (JsonException)
            {
                // a corrupt record is skipped, not fatal: the daemon must still start
            }
        }
    }

    public string DirectoryOf(string id) => Path.Combine(_dir, id);

    [GeneratedRegex("^/?[a-zA-Z0-9][a-zA-Z0-9_.-]+$")]
    private static partial Regex NamePattern();

    public static string NewId() => Convert.ToHexStringLower(RandomNumberGenerator.GetBytes(32));

    /// <summary>
    /// Reserves a name (validated, unique) for a new container, in memory: the caller's <see cref="Save"/> records
    /// it once it is complete (a directory without container.json is a create that died, skipped at load).
    /// </summary>
    public ContainerRecord Add(ContainerRecord c, string? requestedName)
    {
        lock (_lock)
        {
            string name;
            if (string.IsNullOrEmpty(requestedName))
            {
                name = NameGenerator.Next(_idByName.ContainsKey);
            }
            else
            {
                if (!NamePattern().IsMatch(requestedName))
                    throw BerthException.Invalid($"Invalid container name ({requestedName}), only [a-zA-Z0-9][a-zA-Z0-9_.-] are allowed");
                name = requestedName.TrimStart('/');
                if (_idByName.TryGetValue(name, out var other))
                    throw BerthException.Conflict(
                        $"Conflict. The container name \"/{name}\" is already in use by container \"{other}\". You have to remove (or rename) that container to be able to reuse that name.");
            }
            c.Name = name;
            Directory.CreateDirectory(DirectoryOf(c.Id), Berth.Images.DataRootPermissions.Private);
            _byId[c.Id] = c;
            _idByName[name] = c.Id;
            return c;
        }
    }

    /// <summary>docker rename: the new name is checked and reserved as at create, the old one freed (the caller
    /// saves the record).</summary>
    public void Rename(ContainerRecord c, string newName)
    {
        lock (_lock)
        {
            if (!NamePattern().IsMatch(newName))
                throw BerthException.Invalid($"Invalid container name ({newName}), only [a-zA-Z0-9][a-zA-Z0-9_.-] are allowed");
            var name = newName.TrimStart('/');
            if (_idByName.TryGetValue(name, out var other) && other != c.Id)
                throw BerthException.Conflict(
                    $"Conflict. The container name \"/{name}\" is already in use by container \"{other}\". You have to remove (or rename) that container to be able to reuse that name.");
            _idByName.Remove(c.Name);
            c.Name = name;
            _idByName[name] = c.Id;
        }
    }

    /// <summary>Writes the record atomically; durably (fsync of the file and the directory) unless told otherwise.</summary>
    public void Save(ContainerRecord c, Sync sync = Sync.FileAndDirectory) =>
        AtomicFile.WriteAllBytes(Path.Combine(DirectoryOf(c.Id), "container.json"),
            JsonSerializer.SerializeToUtf8Bytes(c, ContainerJsonContext.Default.ContainerRecord), sync: sync);

    /// <summary>By full id, name, or unique id prefix; Docker's errors otherwise.</summary>
    public ContainerRecord Get(string idOrName)
    {
        lock (_lock)
        {
            if (TryGetLocked(idOrName, out var c, out var error)) return c!;
            throw error!;
        }
    }

    public bool TryGet(string idOrName, out ContainerRecord? c)
    {
        lock (_lock) return TryGetLocked(idOrName, out c, out _);
    }

    private bool TryGetLocked(string idOrName, out ContainerRecord? c, out BerthException? error)
    {
        error = null;
        var key = idOrName.TrimStart('/');
        if (_byId.TryGetValue(key, out c)) return true;
        if (_idByName.TryGetValue(key, out var id)) return (c = _byId[id]) is not null;
        if (key.Length > 0 && key.All(Uri.IsHexDigit))
        {
            var matches = _byId.Keys.Where(k => k.StartsWith(key, StringComparison.Ordinal)).Take(2).ToList();
            if (matches.Count == 1) return (c = _byId[matches[0]]) is not null;
            if (matches.Count > 1)
            {
                error = BerthException.Invalid($"multiple IDs found with provided prefix: {key}");
                return false;
            }
        }
        error = BerthException.NotFound($"No such container: {idOrName}");
        return false;
    }

    public IReadOnlyList<ContainerRecord> List()
    {
        lock (_lock) return _byId.Values.OrderByDescending(c => c.Created).ToList();
    }

    /// <summary>Forgets the container and deletes its directory (logs, state files).</summary>
    public void Remove(string id)
    {
        lock (_lock)
        {
            if (_byId.Remove(id, out var c)) _idByName.Remove(c.Name);
        }
        var dir = DirectoryOf(id);
        if (Directory.Exists(dir)) Directory.Delete(dir, recursive: true);
    }

    /// <summary>Directories under containers/ that hold no loaded record: creates that died before they were
    /// recorded, or records that could not be read.</summary>
    public IReadOnlyList<string> OrphanDirectories()
    {
        lock (_lock)
            return Directory.GetDirectories(_dir).Select(Path.GetFileName).Where(n => n is not null && !_byId.ContainsKey(n)).ToList()!;
    }

    public bool IsImageInUse(string imageId)
    {
        lock (_lock) return _byId.Values.Any(c => c.Image == imageId);
    }
}
