namespace Berth.Daemon.Routers.System;

/// <summary>GET /info: what `docker info` prints. Counts are 0 until containers and images exist.</summary>
public static class InfoHandler
{
    public static SystemInfo Build(DaemonState state)
    {
        var (osName, osVersion) = HostFacts.OsRelease();
        var counts = state.System?.Counts() ?? default;
        var info = new SystemInfo
        {
            ID = state.EngineId,
            Containers = counts.Containers,
            ContainersRunning = counts.Running,
            ContainersStopped = counts.Stopped,
            Images = counts.Images,
            Driver = "overlay2",
            DriverStatus = [["Backing Filesystem", "extfs"], ["Supports d_type", "true"], ["Native Overlay Diff", "true"], ["userxattr", "false"]],
            Plugins = new PluginsInfo { Volume = ["local"], Network = ["bridge", "host", "macvlan", "null"], Log = ["json-file"] },
            MemoryLimit = true,
            SwapLimit = true,
            CpuCfsPeriod = true,
            CpuCfsQuota = true,
            CPUShares = true,
            CPUSet = true,
            PidsLimit = true,
            OomKillDisable = Berth.Cgroups.CgroupSupport.Host.OomKillDisable, // KernelMemory: false, never applied (ResourceCheck)
            IPv4Forwarding = HostFacts.IPv4Forwarding(),
            Debug = state.Options.Debug,
            NFd = HostFacts.OpenFds(),
            NGoroutines = HostFacts.Threads(),
            SystemTime = DateTime.UtcNow.ToString("yyyy-MM-ddTHH:mm:ss.fffffff00Z", global::System.Globalization.CultureInfo.InvariantCulture),
            LoggingDriver = Berth.Engine.Logs.LogOptions.DefaultDriver,
            CgroupDriver = "cgroupfs",
            CgroupVersion = HostFacts.CgroupVersion(),
            KernelVersion = HostFacts.KernelVersion(),
            OperatingSystem = osName,
            OSVersion = osVersion,
            OSType = "linux",
            Architecture = global::System.Runtime.InteropServices.RuntimeInformation.OSArchitecture switch
            {
                global::System.Runtime.InteropServices.Architecture.X64 => "x86_64",
                global::System.Runtime.InteropServices.Architecture.Arm64 => "aarch64",
                var other => other.ToString().ToLowerInvariant(),
            },
            IndexServerAddress = "https://index.docker.io/v1/",
            NCPU = Environment.ProcessorCount,
            MemTotal = HostFacts.MemTotal(),
            DockerRootDir = state.Options.DataRoot,
            Name = HostFacts.Hostname(),
            ServerVersion = BuildInfo.Version,
            DefaultRuntime = state.Runtimes.DefaultName,
            InitBinary = "",
            SecurityOptions = ["name=seccomp,profile=default"],
            Warnings = [],
        };
        info.RegistryConfig.InsecureRegistryCIDRs.Add("127.0.0.0/8");
        info.RegistryConfig.IndexConfigs["docker.io"] = new IndexInfo { Name = "docker.io", Secure = true, Official = true };
        foreach (var (name, path) in state.Runtimes.Runtimes) info.Runtimes[name] = new RuntimeInfo { Path = path };
        if (state.Runtimes.Warning is string w) info.Warnings.Add(w);
        return info;
    }
}
