using System.Text.Json;
using Berth.Cli.Http;

namespace Berth.Cli.Commands;

internal static class SystemCommands
{
    public static JsonDocument GetJson(EngineClient api, string path, string what)
    {
        using var r = api.Send("GET", path, null);
        if (r.Status != 200) throw new CliException(what + r.ErrorMessage(), r.Status == 404 ? 1 : 1);
        return JsonDocument.Parse(r.ReadAll());
    }

    public static int Version(Invocation inv)
    {
        var api = inv.Api;
        if (inv.Args.Value("format") is { } format)
        {
            using var server = GetJson(api, "/version", "Error response from daemon: ");
            var ms = new MemoryStream();
            using (var w = new Utf8JsonWriter(ms))
            {
                w.WriteStartObject();
                w.WriteStartObject("Client");
                w.WriteString("Version", "0.1.0");
                w.WriteString("ApiVersion", EngineClient.MaxVersion);
                w.WriteString("Os", "linux");
                w.WriteString("Arch", "amd64");
                w.WriteEndObject();
                w.WritePropertyName("Server");
                server.RootElement.WriteTo(w);
                w.WriteEndObject();
            }
            using var both = JsonDocument.Parse(ms.ToArray());
            Console.WriteLine(Template.Parse(format).Execute(both.RootElement));
            return 0;
        }
        Console.WriteLine($"""
            Client:
             Version:           0.1.0
             API version:       {EngineClient.MaxVersion}
             OS/Arch:           linux/amd64
            """);
        using var doc = GetJson(api, "/version", "Error response from daemon: ");
        var s = doc.RootElement;
        Console.WriteLine($"""

            Server:
             Engine:
              Version:          {s.GetProperty("Version").GetString()}
              API version:      {s.GetProperty("ApiVersion").GetString()} (minimum version {s.GetProperty("MinAPIVersion").GetString()})
              Go version:       {s.GetProperty("GoVersion").GetString()}
              Git commit:       {s.GetProperty("GitCommit").GetString()}
              OS/Arch:          {s.GetProperty("Os").GetString()}/{s.GetProperty("Arch").GetString()}
            """);
        return 0;
    }

    public static int Info(Invocation inv)
    {
        using var doc = GetJson(inv.Api, "/info", "Error response from daemon: ");
        var s = doc.RootElement;
        if (inv.Args.Value("format") is { } f) { Console.WriteLine(Template.Parse(f).Execute(s)); return 0; }
        Console.WriteLine($"""
            Server:
             Containers: {s.GetProperty("Containers").GetInt32()}
              Running: {s.GetProperty("ContainersRunning").GetInt32()}
              Paused: {s.GetProperty("ContainersPaused").GetInt32()}
              Stopped: {s.GetProperty("ContainersStopped").GetInt32()}
             Images: {s.GetProperty("Images").GetInt32()}
             Server Version: {s.GetProperty("ServerVersion").GetString()}
             Storage Driver: {s.GetProperty("Driver").GetString()}
             Logging Driver: {s.GetProperty("LoggingDriver").GetString()}
             Cgroup Driver: {s.GetProperty("CgroupDriver").GetString()}
             Cgroup Version: {s.GetProperty("CgroupVersion").GetString()}
             Default Runtime: {s.GetProperty("DefaultRuntime").GetString()}
             Kernel Version: {s.GetProperty("KernelVersion").GetString()}
             Operating System: {s.GetProperty("OperatingSystem").GetString()}
             CPUs: {s.GetProperty("NCPU").GetInt32()}
             Total Memory: {s.GetProperty("MemTotal").GetInt64() / 1073741824.0:0.##}GiB
             Docker Root Dir: {s.GetProperty("DockerRootDir").GetString()}
            """);
        foreach (var w in s.GetProperty("Warnings").EnumerateArray()) Console.Error.WriteLine(w.GetString());
        return 0;
    }
}
