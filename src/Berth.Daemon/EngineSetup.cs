using Berth.Daemon.Server;
using Berth.Engine.Containers;
using Berth.Engine.Images;
using Berth.Images;

namespace Berth.Daemon;

/// <summary>Opens the image store (creating the built-in busybox image) and the container engine.</summary>
public static class EngineSetup
{
    public static void Start(DaemonState state, RuntimeCatalog runtimes)
    {
        var options = state.Options;
        var store = new ImageStore(options.DataRoot);
        if (File.Exists(BusyboxImage.DefaultBinary))
        {
            try { BusyboxImage.Create(store); }
            catch (Exception e) when (e is IOException or Core.BerthException) { DaemonLog.Logger.BusyboxImageFailed(e.Message); }
        }
        var images = new ImageBackend(store, new OverlaySnapshotter(store.Layers)) { Events = state.Events };
        // The volume store: its users are the containers whose records mount a volume; Published feeds the events;
        // drivers other than local are Docker's volume plugins (BERTH_PLUGINS_DIR, else Docker's directories).
        var plugins = new Engine.Volumes.Drivers.VolumePlugins(Engine.Volumes.Drivers.PluginDiscovery.FromEnvironment());
        var volumes = new Engine.Volumes.VolumeStore(options.DataRoot, plugins: plugins)
        {
            Published = (action, name, attrs) => state.Events.Publish(Engine.Events.EngineEvent.Volume, action, name, attrs),
        };
        var networks = new Engine.Networking.NetworkManager(options.DataRoot, options.ExecRoot,
            Engine.Networking.NetworkManager.BridgeNameFor(options.ExecRoot),
            new Engine.Networking.NetworkConfig { Bip = options.Bip, DefaultAddressPools = options.DefaultAddressPools })
        {
            Published = (action, id, attrs) => state.Events.Publish(Engine.Events.EngineEvent.Network, action, id, attrs),
        };
        var containers = new ContainerManager(new EngineOptions
        {
            DataRoot = options.DataRoot, ExecRoot = options.ExecRoot, RuntimePath = runtimes.DefaultPath,
            MonitorPath = FindMonitor(), InitPath = options.InitPath,
            // The exec collector's period: dockerd's 5 minutes; a Go duration in BERTH_EXEC_GC_INTERVAL (tests).
            ExecGcInterval = Environment.GetEnvironmentVariable("BERTH_EXEC_GC_INTERVAL") is { Length: > 0 } gc
                             && Berth.Api.DockerTime.TryParseGoDuration(gc, out var every) && every > TimeSpan.Zero
                ? every : TimeSpan.FromMinutes(5),
        }, images, images, events: state.Events, volumes: volumes, networks: networks);
        images.ContainerUsing = imageId => containers.Store.List().FirstOrDefault(c => c.Image == imageId)?.Id;
        state.Images = images;
        state.Containers = containers;
        state.Exec = containers;
        state.Networks = new Engine.Backends.NetworkBackend(networks, containers);
        state.System = new Engine.Backends.SystemBackend(containers, images, volumes);
        state.Volumes = volumes;
    }

    /// <summary>berth-monitor beside berthd (out/bin), else on PATH.</summary>
    private static string FindMonitor()
    {
        var beside = Path.Combine(AppContext.BaseDirectory, "berth-monitor");
        if (File.Exists(beside)) return beside;
        foreach (var dir in (Environment.GetEnvironmentVariable("PATH") ?? "").Split(':', StringSplitOptions.RemoveEmptyEntries))
        {
            var p = Path.Combine(dir, "berth-monitor");
            if (File.Exists(p)) return p;
        }
        return beside;
    }
}
