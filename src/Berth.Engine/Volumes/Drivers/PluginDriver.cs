using Berth.Core;

namespace Berth.Engine.Volumes.Drivers;


/// <summary>
/// A volume plugin (Docker's legacy plugin protocol, moby volume/drivers/adapter.go + proxy.go) as an
/// <see cref="IVolumeDriver"/> (the store's volume directory is not the plugin's business: ignored). <see cref="Activate"/> finds the plugin (<see cref="PluginDiscovery"/>), calls
/// /Plugin.Activate (retried while the plugin is not up yet, as dockerd does) and checks it implements
/// "VolumeDriver". Each driver call is one /VolumeDriver.* POST; the plugin's {"Err"} becomes the error:
/// "VolumeDriver.Create: ERR" when the plugin answered with an error status, the bare ERR when it answered 200 with
/// Err set (both as dockerd).
/// </summary>
public sealed class PluginDriver : IVolumeDriver, IDisposable
{
    public const string Interface = "VolumeDriver";

    private readonly PluginClient _client;
    private string? _scope;

    private PluginDriver(string name, PluginClient client)
    {
        Name = name;
        _client = client;
    }

    public string Name { get; }

    /// <summary>Finds and activates the plugin NAME. Not found: NotFound "error looking up volume plugin NAME: plugin
    /// "NAME" not found" (dockerd's words).</summary>
    public static PluginDriver Activate(string name, PluginDiscovery discovery, PluginTimeouts? timeouts = null)
    {
        var address = discovery.Find(name)
            ?? throw BerthException.NotFound($"error looking up volume plugin {name}: plugin \"{name}\" not found");
        var client = new PluginClient(name, address, timeouts ?? PluginTimeouts.Docker);
        try
        {
            PluginManifestJson manifest;
            try
            {
                manifest = client.Call("Plugin.Activate", null, PluginJsonContext.Default.EmptyRequest,
                    PluginJsonContext.Default.PluginManifestJson, client.Timeouts.Short);
            }
            catch (BerthException e)
            {
                throw new BerthException(e.Kind, $"error looking up volume plugin {name}: {e.Message}", e);
            }
            if (manifest.Implements?.Contains(Interface) != true)
                throw BerthException.Invalid($"error looking up volume plugin {name}: Plugin does not implement the requested driver");
            return new PluginDriver(name, client);
        }
        catch
        {
            client.Dispose();
            throw;
        }
    }

    public void Create(string name, string volumeDir, IReadOnlyDictionary<string, string> options)
    {
        var r = _client.Call("VolumeDriver.Create", new VolumeCreateRequest { Name = name, Opts = new(options) },
            PluginJsonContext.Default.VolumeCreateRequest, PluginJsonContext.Default.PluginErrJson, _client.Timeouts.Long);
        ThrowIfErr(r.Err);
    }

    public void Remove(string name, string volumeDir)
    {
        var r = _client.Call("VolumeDriver.Remove", new VolumeNameRequest { Name = name },
            PluginJsonContext.Default.VolumeNameRequest, PluginJsonContext.Default.PluginErrJson, _client.Timeouts.Short);
        ThrowIfErr(r.Err);
    }

    public string Mount(string name, string volumeDir, string id)
    {
        var r = _client.Call("VolumeDriver.Mount", new VolumeMountRequest { Name = name, ID = id },
            PluginJsonContext.Default.VolumeMountRequest, PluginJsonContext.Default.VolumeMountpointResponse, _client.Timeouts.Long);
        ThrowIfErr(r.Err);
        return r.Mountpoint ?? "";
    }

    public void Unmount(string name, string volumeDir, string id)
    {
        var r = _client.Call("VolumeDriver.Unmount", new VolumeMountRequest { Name = name, ID = id },
            PluginJsonContext.Default.VolumeMountRequest, PluginJsonContext.Default.PluginErrJson, _client.Timeouts.Short);
        ThrowIfErr(r.Err);
    }

    public string Path(string name, string volumeDir)
    {
        var r = _client.Call("VolumeDriver.Path", new VolumeNameRequest { Name = name },
            PluginJsonContext.Default.VolumeNameRequest, PluginJsonContext.Default.VolumeMountpointResponse, _client.Timeouts.Short);
        ThrowIfErr(r.Err);
        return r.Mountpoint ?? "";
    }

    public DriverVolume? Get(string name, string volumeDir)
    {
        var r = _client.Call("VolumeDriver.Get", new VolumeNameRequest { Name = name },
            PluginJsonContext.Default.VolumeNameRequest, PluginJsonContext.Default.VolumeGetResponse, _client.Timeouts.Short);
        ThrowIfErr(r.Err);
        return r.Volume is null ? null : ToDriverVolume(r.Volume);
    }

    public IReadOnlyList<DriverVolume> List()
    {
        var r = _client.Call("VolumeDriver.List", new EmptyRequest(),
            PluginJsonContext.Default.EmptyRequest, PluginJsonContext.Default.VolumeListResponse, _client.Timeouts.Short);
        ThrowIfErr(r.Err);
        return r.Volumes?.Select(ToDriverVolume).ToList() ?? [];
    }

    /// <summary>/VolumeDriver.Capabilities, asked once. The call is optional in the protocol: a plugin that fails it is
    /// "local"; a scope other than local/global is read as local (dockerd's adapter).</summary>
    public string Scope => _scope ??= AskScope();

    private string AskScope()
    {
        string scope;
        try
        {
            var r = _client.Call("VolumeDriver.Capabilities", new EmptyRequest(),
                PluginJsonContext.Default.EmptyRequest, PluginJsonContext.Default.VolumeCapabilitiesResponse, _client.Timeouts.Short);
            scope = r.Err is { Length: > 0 } ? "local" : (r.Capabilities?.Scope ?? "").ToLowerInvariant();
        }
        catch (BerthException) { scope = "local"; }
        return scope is "local" or "global" ? scope : "local";
    }

    private static DriverVolume ToDriverVolume(PluginVolumeJson v) => new(v.Name ?? "", v.Mountpoint ?? "", v.Status, v.CreatedAt);

    private static void ThrowIfErr(string? err)
    {
        if (!string.IsNullOrEmpty(err)) throw new BerthException(ErrorKind.System, err);
    }

    public void Dispose() => _client.Dispose();
}

/// <summary>
/// The activated plugins of the daemon, by name (dockerd keeps them for its lifetime). The volume store asks
/// <see cref="Get"/> for any driver name other than "local".
/// </summary>
public sealed class VolumePlugins(PluginDiscovery discovery, PluginTimeouts? timeouts = null) : IDisposable
{
    private readonly Dictionary<string, PluginDriver> _active = new(StringComparer.Ordinal);
    private readonly Lock _lock = new();

    public PluginDriver Get(string name)
    {
        lock (_lock)
        {
            if (_active.TryGetValue(name, out var d)) return d;
        }
        var driver = PluginDriver.Activate(name, discovery, timeouts); // may wait for the plugin: not under the lock
        lock (_lock)
        {
            if (_active.TryGetValue(name, out var existing)) { driver.Dispose(); return existing; }
            _active[name] = driver;
            return driver;
        }
    }

    public void Dispose()
    {
        lock (_lock)
        {
            foreach (var d in _active.Values) d.Dispose();
            _active.Clear();
        }
    }
}
