using System.Runtime.InteropServices;
using Berth.Daemon;
using Berth.Daemon.Server;

try
{
    DaemonOptions options = DaemonOptions.Parse(args, out bool exitEarly);
    if (exitEarly) return 0;
    DaemonLog.DebugEnabled = options.Debug;

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

    DaemonLog.Info($"Daemon has completed initialization (berthd {BuildInfo.Version}, pid {Environment.ProcessId})");
    PosixSignal signal = await signalled.Task;
    DaemonLog.Info($"Processing signal '{signal}'");
    await host.StopAsync();
    DaemonLog.Info("Daemon shutdown complete");
    return 0;
}
catch (BerthException e)
{
    Console.Error.WriteLine($"failed to start daemon: {e.Message}");
    return 1;
}
catch (Exception e) when (e is IOException or UnauthorizedAccessException)
{
    // e.g. a data root berthd may not create, lock or chmod
    Console.Error.WriteLine($"failed to start daemon: {e.Message}");
    return 1;
}
