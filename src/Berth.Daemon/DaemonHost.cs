using Berth.Daemon.Routers.System;
using Berth.Daemon.Server;
using Berth.Images;
using Microsoft.AspNetCore.Server.Kestrel.Core;
using HostOptions = Berth.Daemon.Server.HostOptions;

namespace Berth.Daemon;

/// <summary>A running daemon: directories, pid file, sockets, Kestrel and the routes. Program.cs and the tests
/// start it the same way; several can run side by side with different sockets and roots.</summary>
public sealed class DaemonHost : IAsyncDisposable
{
    private readonly WebApplication _app;
    private readonly PidFile? _pidFile;
    private readonly DataRootLock _dataRootLock;
    private readonly List<string> _sockets;
    private int _stopped;

    private DaemonHost(WebApplication app, PidFile? pidFile, DataRootLock dataRootLock, List<string> sockets, DaemonState state, HostOptions hosts)
    {
        _app = app;
        _pidFile = pidFile;
        _dataRootLock = dataRootLock;
        _sockets = sockets;
        State = state;
        Hosts = hosts;
    }

    public DaemonState State { get; }
    public HostOptions Hosts { get; }

    /// <summary>Completes when the host stops by itself (not through <see cref="StopAsync"/>).</summary>
    public CancellationToken Stopping => _app.Lifetime.ApplicationStopping;

    public static Task<DaemonHost> StartAsync(DaemonOptions options, CancellationToken cancel = default) =>
        StartAsync(options, null, cancel);

    /// <summary><paramref name="mapExtra"/> adds routes (tests use it to reach the error mapping).</summary>
    internal static Task<DaemonHost> StartAsync(DaemonOptions options, Action<IEndpointRouteBuilder>? mapExtra, CancellationToken cancel = default) =>
        StartAsync(options, mapExtra, null, cancel);

    /// <summary><paramref name="backends"/> sets the engine's backends on the state (tests: fakes) instead of
    /// <see cref="EngineSetup.Start"/>.</summary>
    internal static async Task<DaemonHost> StartAsync(DaemonOptions options, Action<IEndpointRouteBuilder>? mapExtra,
        Action<DaemonState>? backends, CancellationToken cancel = default)
    {
        var hosts = new HostOptions(options.Hosts);
        // The data root's lock comes before anything else is touched: a second daemon on the same root would
        // recover (and so kill and unmount) the first one's containers and race it on every metadata file.
        CreateDirectory(options.DataRoot, DataRootPermissions.Traversable);
        DataRootLock dataRootLock = DataRootLock.Acquire(options.DataRoot);
        PidFile? pidFile = null;
        var sockets = new List<string>();
        try
        {
            TightenDataRoot(options.DataRoot);
            CreateDirectory(options.ExecRoot, UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute);
            pidFile = string.IsNullOrEmpty(options.PidFile) ? null : PidFile.Create(options.PidFile);
            var runtimes = new RuntimeCatalog(options.Runtime, options.Runtimes);
            var state = new DaemonState(options, runtimes, DaemonState.LoadOrCreateEngineId(options.DataRoot));
            if (backends is null) EngineSetup.Start(state, runtimes);
            else backends(state);
            foreach (string path in hosts.UnixSockets) UnixSocketFiles.Prepare(path);

            WebApplication app = Build(hosts, state, mapExtra);
            sockets.AddRange(hosts.UnixSockets);
            try
            {
                await app.StartAsync(cancel);
            }
            catch
            {
                await app.DisposeAsync();
                throw;
            }
            foreach (string path in sockets) UnixSocketFiles.SetMode(path);
            _ = MemoryTrimmer.RunAsync(TimeSpan.FromSeconds(1), app.Lifetime.ApplicationStopping);
            foreach (HostAddress a in hosts.Addresses) DaemonLog.Logger.ApiListen(a.UnixPath ?? a.Tcp!.ToString());
            if (runtimes.Warning is string w) DaemonLog.Logger.RuntimeConfigWarning(w);
            return new DaemonHost(app, pidFile, dataRootLock, sockets, state, hosts);
        }
        catch
        {
            foreach (string path in sockets) UnixSocketFiles.Remove(path);
            pidFile?.Dispose();
            dataRootLock.Dispose();
            throw;
        }
    }

    private static WebApplication Build(HostOptions hosts, DaemonState state, Action<IEndpointRouteBuilder>? mapExtra)
    {
        // The empty builder: no appsettings, no HTTPS; Kestrel's core and routing only. Logging: the daemon's own
        // stderr provider (ASP.NET Core's categories from warning up).
        WebApplicationBuilder builder = WebApplication.CreateEmptyBuilder(new WebApplicationOptions
        {
            ContentRootPath = state.Options.ExecRoot,
        });
        builder.WebHost.UseKestrelCore().ConfigureKestrel(k =>
        {
            k.AddServerHeader = false;
            // Bodies are bounded by RequestLimits (4 MiB of JSON; archives and streams unbounded), which answers
            // 413 and lets Kestrel drain the rest; Kestrel's own bound would cut the connection under the sender.
            // dockerd has none of the others: image loads and cp uploads are large and may be slow, and
            // attach, logs -f, wait and events stay open for as long as the container lives.
            k.Limits.MaxRequestBodySize = null;
            k.Limits.MinRequestBodyDataRate = null;
            k.Limits.MinResponseDataRate = null;
            foreach (HostAddress a in hosts.Addresses)
            {
                Action<ListenOptions> listen = l =>
                {
                    l.Protocols = HttpProtocols.Http1;
                    Hijack.AllowHalfClose(l);
                    UpgradeBody.Use(l); // exec start: an upgrade request with a body
                };
                if (a.UnixPath is not null) k.ListenUnixSocket(a.UnixPath, listen);
                else k.Listen(a.Tcp!, listen);
            }
        });
        builder.Logging.ClearProviders();
        builder.Logging.SetMinimumLevel(LogLevel.Trace); // the provider filters
        builder.Logging.AddProvider(DaemonLog.Provider);
        builder.Services.AddRoutingCore();
        builder.Services.Configure<Microsoft.Extensions.Hosting.HostOptions>(o => o.ShutdownTimeout = TimeSpan.FromSeconds(10));

        WebApplication app = builder.Build();
        app.UseMiddleware<VersionMiddleware>();
        app.UseMiddleware<RequestLimits>(); // after the version prefix is stripped, before anything reads a body
        app.UseMiddleware<ErrorMapping>();
        app.UseRouting();
        SystemRouter.Map(app, state);
        Routers.Containers.ContainersRouter.Map(app, state);
        Routers.Exec.ExecRouter.Map(app, state);
        Routers.Images.ImagesRouter.Map(app, state);
        Routers.Networks.NetworksRouter.Map(app, state);
        Routers.Volumes.VolumesRouter.Map(app, state);
        mapExtra?.Invoke(app);
        // Lowest priority, any method: so a known path with another method is also "page not found", as in dockerd.
        app.MapFallback("{**path}", Unimplemented.Handle);
        return app;
    }

    private static void CreateDirectory(string path, UnixFileMode mode)
    {
        if (!Directory.Exists(path)) Directory.CreateDirectory(path, mode);
    }

    /// <summary>
    /// A data root made by an older berthd (or by hand) may be readable by everyone: it keeps at most 0711 (others
    /// may traverse it, not list it). Its content directories are made 0700 by the stores that open them, which
    /// is enough for everything below them (reachable only through them).
    /// </summary>
    private static void TightenDataRoot(string dataRoot)
    {
        const UnixFileMode readWrite = UnixFileMode.GroupRead | UnixFileMode.GroupWrite | UnixFileMode.OtherRead | UnixFileMode.OtherWrite;
        UnixFileMode mode = File.GetUnixFileMode(dataRoot);
        if ((mode & readWrite) != 0) File.SetUnixFileMode(dataRoot, mode & ~readWrite);
    }

    /// <summary>Graceful stop: stop accepting, let requests finish, then remove the sockets and the pid file.</summary>
    public async Task StopAsync()
    {
        if (Interlocked.Exchange(ref _stopped, 1) != 0) return;
        try
        {
            await _app.StopAsync();
            await _app.DisposeAsync();
        }
        finally
        {
            foreach (string path in _sockets) UnixSocketFiles.Remove(path);
            // The volumes' pending fsyncs (creates and removes are answered before them) are on disk before exit.
            (State.Volumes as Engine.Volumes.VolumeStore)?.WaitForBackgroundIo();
            try { (State.Networks as IDisposable)?.Dispose(); }
            catch (Exception e) when (e is IOException or Core.BerthException) { }
            _pidFile?.Dispose();
            _dataRootLock.Dispose();
        }
    }

    public async ValueTask DisposeAsync() => await StopAsync();
}
