using System.Text.Json;
using Berth.Core;
using Berth.Engine.Containers;
using Berth.Engine.Specs;

namespace Berth.Daemon.Routers.Containers;

/// <summary>
/// POST /containers/create's body (Docker's container config + HostConfig) read leniently: unknown and newer
/// fields are ignored, as the CLI sends fields newer than 1.41.
/// </summary>
public static class CreateRequest
{
    public static CreateInput Parse(JsonElement body, string? name)
    {
        var host = body.TryGetProperty("HostConfig", out var h) && h.ValueKind == JsonValueKind.Object ? h : default;
        string? Str(JsonElement e, string p) => e.ValueKind == JsonValueKind.Object && e.TryGetProperty(p, out var v) && v.ValueKind == JsonValueKind.String ? v.GetString() : null;
        bool Bool(JsonElement e, string p) => e.ValueKind == JsonValueKind.Object && e.TryGetProperty(p, out var v) && v.ValueKind == JsonValueKind.True;
        long Long(JsonElement e, string p) => e.ValueKind == JsonValueKind.Object && e.TryGetProperty(p, out var v) && v.ValueKind == JsonValueKind.Number ? v.GetInt64() : 0;
        List<string>? List(JsonElement e, string p)
        {
            if (e.ValueKind != JsonValueKind.Object || !e.TryGetProperty(p, out var v)) return null;
            if (v.ValueKind == JsonValueKind.String) return [v.GetString()!];
            return v.ValueKind == JsonValueKind.Array ? v.EnumerateArray().Select(x => x.GetString() ?? "").ToList() : null;
        }

        var image = Str(body, "Image");
        if (string.IsNullOrEmpty(image)) throw BerthException.Invalid("No image specified");
        var network = Str(host, "NetworkMode");
        if (network is not (null or "" or "default" or "none" or "bridge"))
            throw new BerthException(ErrorKind.NotImplemented, $"network mode \"{network}\" is not supported yet: use --network none");
        long? pids = host.ValueKind == JsonValueKind.Object && host.TryGetProperty("PidsLimit", out var pl) && pl.ValueKind == JsonValueKind.Number ? pl.GetInt64() : null;
        int[] console = host.ValueKind == JsonValueKind.Object && host.TryGetProperty("ConsoleSize", out var cs) && cs.ValueKind == JsonValueKind.Array
            ? cs.EnumerateArray().Select(x => x.ValueKind == JsonValueKind.Number && x.TryGetInt32(out var v) ? v : 0).ToArray() : [];
        return new CreateInput
        {
            Name = name,
            Image = image,
            OpenStdin = Bool(body, "OpenStdin"),
            AutoRemove = Bool(host, "AutoRemove"),
            CreateRequestJson = body.GetRawText(),
            Labels = body.TryGetProperty("Labels", out var labels) && labels.ValueKind == JsonValueKind.Object
                ? labels.EnumerateObject().Where(p => p.Value.ValueKind == JsonValueKind.String)
                    .ToDictionary(p => p.Name, p => p.Value.GetString()!, StringComparer.Ordinal)
                : [],
            Spec = new ContainerSpecInput
            {
                Id = "", RootfsPath = "",
                Hostname = Str(body, "Hostname"), Domainname = Str(body, "Domainname"),
                Entrypoint = List(body, "Entrypoint"), Cmd = List(body, "Cmd"), Env = List(body, "Env"),
                WorkingDir = Str(body, "WorkingDir"), User = Str(body, "User"), Tty = Bool(body, "Tty"),
                ConsoleHeight = console.Length == 2 ? console[0] : 0, ConsoleWidth = console.Length == 2 ? console[1] : 0,
                ReadonlyRootfs = Bool(host, "ReadonlyRootfs"), Privileged = Bool(host, "Privileged"),
                CapAdd = List(host, "CapAdd"), CapDrop = List(host, "CapDrop"),
                SeccompUnconfined = (List(host, "SecurityOpt") ?? []).Any(o => o is "seccomp=unconfined" or "seccomp:unconfined"),
                NoNewPrivileges = (List(host, "SecurityOpt") ?? []).Any(o => o.StartsWith("no-new-privileges", StringComparison.Ordinal) && !o.EndsWith("false", StringComparison.Ordinal)),
                Memory = Long(host, "Memory"), MemorySwap = Long(host, "MemorySwap"), MemoryReservation = Long(host, "MemoryReservation"),
                NanoCpus = Long(host, "NanoCpus"), CpuShares = Long(host, "CpuShares"), CpuQuota = Long(host, "CpuQuota"),
                CpuPeriod = Long(host, "CpuPeriod"), CpusetCpus = Str(host, "CpusetCpus"), CpusetMems = Str(host, "CpusetMems"),
                PidsLimit = pids, BlkioWeight = (ushort)Long(host, "BlkioWeight"), OomScoreAdj = (int)Long(host, "OomScoreAdj"),
                ShmSize = Long(host, "ShmSize"),
            },
        };
    }
}
