using System.Runtime.CompilerServices;

namespace Berth.Daemon.Tests;

/// <summary>
/// Every berthd these tests start (in process or as a child, which inherits the environment) contacts registries on
/// loopback only: the docker CLI pulls an image that create reports missing (e.g. `run --network nosuchnet busybox`
/// answers 404), and test traffic must never leave the machine. A pull of docker.io/... then fails at once with a
/// clear message instead of looking up registry-1.docker.io.
/// </summary>
internal static class LoopbackRegistriesOnly
{
    [ModuleInitializer]
    internal static void Set() => Environment.SetEnvironmentVariable("BERTH_REGISTRIES_LOOPBACK_ONLY", "1");
}
