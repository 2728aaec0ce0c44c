using Berth.Core;

namespace Berth.Engine.Volumes.Drivers;

/// <summary>
/// Finds a legacy (v1) plugin by name as dockerd's pkg/plugins/discovery.go does, first match wins:
/// a unix socket SOCKETS/NAME.sock or SOCKETS/NAME/NAME.sock (SOCKETS = /run/docker/plugins), then for each spec
/// directory (/etc/docker/plugins, /usr/lib/docker/plugins) NAME.spec, NAME/NAME.spec, NAME.json, NAME/NAME.json.
/// A .spec file holds one URL (unix:///path.sock or tcp://host:port); a .json file {"Name", "Addr", "TLSConfig"}
/// (TLS is refused by name: Berth speaks plain HTTP to plugins).
/// The directories are a constructor parameter; <see cref="FromEnvironment"/> honours BERTH_PLUGINS_DIR (one
/// directory holding both sockets and specs: what tests and a rootless daemon use).
/// </summary>
public sealed class PluginDiscovery(string socketsDir, IReadOnlyList<string> specDirs)
{
    public const string EnvironmentVariable = "BERTH_PLUGINS_DIR";

    public string SocketsDir { get; } = socketsDir;
    public IReadOnlyList<string> SpecDirs { get; } = specDirs;

    public static PluginDiscovery Docker { get; } = new("/run/docker/plugins", ["/etc/docker/plugins", "/usr/lib/docker/plugins"]);

    public static PluginDiscovery FromEnvironment() =>
        Environment.GetEnvironmentVariable(EnvironmentVariable) is { Length: > 0 } dir ? new(dir, [dir]) : Docker;

    /// <summary>The plugin's address, or null when no socket or spec of that name exists. Names that are not a plain
    /// file name (v2 "user/name:tag" plugins, "..") are never looked up on disk.</summary>
    public Uri? Find(string name)
    {
        if (!IsPlainName(name)) return null;
        foreach (var p in Paths(SocketsDir, name, ".sock"))
            if (IsSocket(p)) return new Uri("unix://" + p);
        foreach (var dir in SpecDirs)
        {
            foreach (var ext in (string[])[".spec", ".json"])
                foreach (var p in Paths(dir, name, ext))
                    if (File.Exists(p)) return ext == ".spec" ? ReadSpec(name, p) : ReadJsonSpec(name, p);
        }
        return null;
    }

    private static bool IsPlainName(string name) =>
        name.Length > 0 && name != "." && name != ".." && name.IndexOfAny(['/', '\0', ':']) < 0;

    private static IEnumerable<string> Paths(string dir, string name, string ext) =>
        [Path.Combine(dir, name + ext), Path.Combine(dir, name, name + ext)];

    private static bool IsSocket(string path)
    {
        try { return (Berth.Interop.Libc.Lstat(path).Mode & 0xf000) == 0xc000; }
        catch (Berth.Interop.ErrnoException) { return false; }
    }

    private static Uri ReadSpec(string name, string path)
    {
        var text = File.ReadAllText(path).Trim();
        return ParseAddress(name, text, path);
    }

    private static Uri ReadJsonSpec(string name, string path)
    {
        PluginSpecJson? spec;
        try { spec = System.Text.Json.JsonSerializer.Deserialize(File.ReadAllText(path), PluginJsonContext.Default.PluginSpecJson); }
        catch (System.Text.Json.JsonException e) { throw new BerthException(ErrorKind.System, $"plugin spec {path}: {e.Message}"); }
        if (spec?.TLSConfig is { ValueKind: not System.Text.Json.JsonValueKind.Null })
            throw new BerthException(ErrorKind.NotImplemented, $"plugin {name}: TLSConfig in {path}: TLS to plugins is not implemented in Berth yet");
        return ParseAddress(name, spec?.Addr ?? "", path);
    }

    private static Uri ParseAddress(string name, string text, string path)
    {
        if (!Uri.TryCreate(text, UriKind.Absolute, out var uri) || uri.Scheme.Length == 0)
            throw new BerthException(ErrorKind.System, $"plugin {name}: {path}: Unknown protocol");
        if (uri.Scheme is "unix" or "tcp" or "http") return uri;
        throw new BerthException(ErrorKind.NotImplemented,
            $"plugin {name}: address {text} in {path}: only unix:// and tcp:// plugin addresses are implemented in Berth");
    }
}
