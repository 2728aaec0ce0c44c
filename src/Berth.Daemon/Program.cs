using System.Runtime.InteropServices;
using Berth.Daemon;
using Berth.Daemon.Server;

// Logging first: a bad flag or config file is reported through it.
DaemonLog.Configure(debug: false);
try
{
    DaemonOptions options = DaemonOptions.Parse(args, out bool exitEarly);
    if (exitEarly) return 0;
    if (options.Debug) DaemonLog.Configure(debug: true);
    // Containers' log defaults; checked as a container's (dockerd refuses to start with a bad one).
    Berth.Engine.Logs.LogOptions.Validate(new Berth.Api.Containers.LogConfig { Type = options.LogDriver, Config = options.LogOpts });
    Berth.Engine.Logs.LogOptions.DefaultDriver = options.LogDriver;
    Berth.Engine.Logs.LogOptions.DefaultOpts = options.LogOpts;

    DaemonHost host = await DaemonHost.StartAsync(options);
    var signalled = new TaskCompletionSource<PosixSignal>(TaskCreationOptions.RunContinuationsAsynchronously);
    void OnSignal(PosixSignalContext c)
    {
        c.Cancel = true;
        signalled.TrySetResult(c.Signal);
    }
    using var term = PosixSignalRegistration.Create(PosixSignal.SIGTERM, OnSignal);
    using var intr = PosixSignalRegistration.Create(PosixSignal.SIGINT, OnSignal);
    using var quit = PosixSignalRegistration.Create(PosixSignal.SIGQUIT, OnSignal);
    using CancellationTokenRegistration stopping = host.Stopping.Register(() => signalled.TrySetResult(PosixSignal.SIGTERM));

    DaemonLog.Logger.Started(BuildInfo.Version, Environment.ProcessId);
    PosixSignal signal = await signalled.Task;
    DaemonLog.Logger.ProcessingSignal(signal.ToString());
    await host.StopAsync();
    DaemonLog.Logger.ShutdownComplete();
    return 0;
}
catch (BerthException e)
{
    DaemonLog.Logger.StartFailed(e.Message);
    return 1;
}
catch (Exception e) when (e is IOException or UnauthorizedAccessException)
{
    // e.g. a data root berthd may not create, lock or chmod
    DaemonLog.Logger.StartFailed(e.Message);
    return 1;
}
