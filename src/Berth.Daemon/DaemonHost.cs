using Berth.Daemon.Routers.System;
using Berth.Daemon.Server;
using Microsoft.AspNetCore.Server.Kestrel.Core;
using HostOptions = Berth.Daemon.Server.HostOptions;

namespace Berth.Daemon;

/// <summary>A running daemon: directories, pid file, sockets, Kestrel and the routes. Program.cs and the tests
/// start it the same way; several can run side by side with different sockets and roots.</summary>
public sealed class DaemonHost : IAsyncDisposable
{
    private readonly WebApplication _app;
    private readonly PidFile? _pidFile;
    private readonly List<string> _sockets;
    private int _stopped;

    private DaemonHost(WebApplication app, PidFile? pidFile, List<string> sockets, DaemonState state, HostOptions hosts)
    {
        _app = app;
        _pidFile = pidFile;
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
    internal static async Task<DaemonHost> StartAsync(DaemonOptions options, Action<IEndpointRouteBuilder>? mapExtra, CancellationToken cancel = default)
    {
        var hosts = new HostOptions(options.Hosts);
        CreateDirectory(options.DataRoot, UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute
            | UnixFileMode.GroupExecute | UnixFileMode.OtherExecute);
        CreateDirectory(options.ExecRoot, UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute);

        PidFile? pidFile = string.IsNullOrEmpty(options.PidFile) ? null : PidFile.Create(options.PidFile);
        var sockets = new List<string>();
        try
        {
            var runtimes = new RuntimeCatalog(options.Runtime, options.Runtimes);
            var state = new DaemonState(options, runtimes, DaemonState.LoadOrCreateEngineId(options.DataRoot));
            EngineSetup.Start(state, runtimes);
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
            return new DaemonHost(app, pidFile, sockets, state, hosts);
        }
        catch
        {
            foreach (string path in sockets) UnixSocketFiles.Remove(path);
            pidFile?.Dispose();
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
            // dockerd has none of these limits: image loads and cp uploads are large and may be slow, and
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
        app.UseMiddleware<ErrorMapping>();
        app.UseRouting();
        SystemRouter.Map(app, state);
        Routers.Containers.ContainersRouter.Map(app, state);
        Routers.Images.ImagesRouter.Map(app, state);
        mapExtra?.Invoke(app);
        // Lowest priority, any method: so a known path with another method is also "page not found", as in dockerd.
        app.MapFallback("{**path}", ErrorMapping.NotFound);
        return app;
    }

    private static void CreateDirectory(string path, UnixFileMode mode)
    {
        if (!Directory.Exists(path)) Directory.CreateDirectory(path, mode);
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
            _pidFile?.Dispose();
        }
    }

    public async ValueTask DisposeAsync() => await StopAsync();
}
