namespace Berth.Daemon.Routers.System;

/// <summary>GET /version in Docker's shape; "GoVersion" carries the .NET runtime version.</summary>
public static class VersionHandler
{
    public static SystemVersion Build()
    {
        string kernel = HostFacts.KernelVersion();
        string dotnet = "dotnet " + Environment.Version;
        var engine = new ComponentVersion { Name = "Engine", Version = BuildInfo.Version };
        engine.Details["ApiVersion"] = ApiVersions.Max;
        engine.Details["Arch"] = Arch;
        engine.Details["BuildTime"] = BuildInfo.BuildTime;
        engine.Details["Experimental"] = "false";
        engine.Details["GitCommit"] = BuildInfo.GitCommit;
        engine.Details["GoVersion"] = dotnet;
        engine.Details["KernelVersion"] = kernel;
        engine.Details["MinAPIVersion"] = ApiVersions.Min;
        engine.Details["Os"] = "linux";
        return new SystemVersion
        {
            Platform = new ComponentPlatform { Name = "Berth Engine" },
            Components = [engine],
            Version = BuildInfo.Version,
            ApiVersion = ApiVersions.Max,
            MinAPIVersion = ApiVersions.Min,
            GitCommit = BuildInfo.GitCommit,
            GoVersion = dotnet,
            Os = "linux",
            Arch = Arch,
            KernelVersion = kernel,
            BuildTime = BuildInfo.BuildTime,
        };
    }

    /// <summary>GOARCH spelling.</summary>
    public static string Arch => global::System.Runtime.InteropServices.RuntimeInformation.OSArchitecture switch
    {
        global::System.Runtime.InteropServices.Architecture.X64 => "amd64",
        global::System.Runtime.InteropServices.Architecture.Arm64 => "arm64",
        global::System.Runtime.InteropServices.Architecture.Arm => "arm",
        var other => other.ToString().ToLowerInvariant(),
    };
}
