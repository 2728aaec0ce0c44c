using System.Text.Json;

namespace Berth.Daemon.Tests;

/// <summary>
/// Berth's payloads against Docker 20.10's, recorded (Golden/docker-20.10/, see its README): the same keys in the
/// same order with the same value types, recursively. Values are not compared (IDs, times, paths, counts differ by
/// nature); maps whose keys are data (Labels, GraphDriver.Data, Networks...) are not compared key by key; Go's nil
/// slices and maps (null) match an array or object. Every difference that remains is listed here with its reason:
/// a new one fails the test, and so does a listed one that went away.
/// </summary>
public sealed class GoldenShapeTests : IAsyncLifetime
{
    private readonly TempDir _dir = new();
    private DaemonHost? _host;
    private EngineClient? _api;

    private EngineClient Api => _api!;

    public async Task InitializeAsync()
    {
        _host = await DaemonHost.StartAsync(_dir.Options());
        _api = EngineCalls.Client(_dir.Socket);
    }

    public async Task DisposeAsync()
    {
        if (_host is not null) await _host.DisposeAsync();
        _dir.Dispose();
    }

    /// <summary>Object keys whose members are data, not schema (Go maps).</summary>
    private static readonly HashSet<string> Maps =
    [
        "Labels", "Data", "Networks", "Ports", "ExposedPorts", "Volumes", "IndexConfigs", "Runtimes", "Config.Config",
        "Options", "Sysctls", "StorageOpt", "DriverOpts",
    ];

    private static bool IsMap(string path)
    {
        string last = path[(path.LastIndexOf('.') + 1)..];
        return Maps.Contains(last) || path.EndsWith("LogConfig.Config", StringComparison.Ordinal);
    }

    private static string Kind(JsonValueKind k) => k switch
    {
        JsonValueKind.True or JsonValueKind.False => "bool",
        _ => k.ToString().ToLowerInvariant(),
    };

    /// <summary>The shape differences between Docker's payload and Berth's, one line each.</summary>
    public static List<string> Differences(JsonElement docker, JsonElement berth, string path = "$")
    {
        var diffs = new List<string>();
        Walk(docker, berth, path, diffs);
        return diffs;
    }

    private static void Walk(JsonElement docker, JsonElement berth, string path, List<string> diffs)
    {
        var (dk, bk) = (docker.ValueKind, berth.ValueKind);
        bool nilable(JsonValueKind k) => k is JsonValueKind.Array or JsonValueKind.Object;
        if (dk == JsonValueKind.Null && nilable(bk) || bk == JsonValueKind.Null && nilable(dk)) return; // Go nil
        if (Kind(dk) != Kind(bk))
        {
            diffs.Add($"{path}: {Kind(dk)} in Docker, {Kind(bk)} in Berth");
            return;
        }
        if (dk == JsonValueKind.Object)
        {
            if (IsMap(path)) return;
            var dKeys = docker.EnumerateObject().Select(p => p.Name).ToList();
            var bKeys = berth.EnumerateObject().Select(p => p.Name).ToList();
            foreach (var k in dKeys.Except(bKeys)) diffs.Add($"{path}.{k}: missing in Berth");
            foreach (var k in bKeys.Except(dKeys)) diffs.Add($"{path}.{k}: not in Docker");
            var common = dKeys.Intersect(bKeys).ToList();
            if (!common.SequenceEqual(bKeys.Intersect(dKeys))) diffs.Add($"{path}: key order differs from Docker's");
            foreach (var k in common) Walk(docker.GetProperty(k), berth.GetProperty(k), $"{path}.{k}", diffs);
        }
        else if (dk == JsonValueKind.Array && docker.GetArrayLength() > 0 && berth.GetArrayLength() > 0)
        {
            Walk(docker[0], berth[0], path + "[0]", diffs);
        }
    }

    private static JsonElement Docker(string name) =>
        JsonDocument.Parse(File.ReadAllText(Path.Combine(AppContext.BaseDirectory, "Golden", "docker-20.10", name))).RootElement;

    private static void AssertShape(string golden, string berthJson, params (string Difference, string Reason)[] expected)
    {
        var actual = Differences(Docker(golden), JsonDocument.Parse(berthJson).RootElement);
        var unexplained = actual.Except(expected.Select(e => e.Difference)).ToList();
        var gone = expected.Select(e => e.Difference).Except(actual).ToList();
        Assert.True(unexplained.Count == 0 && gone.Count == 0,
            $"{golden}:\n  unexplained differences:\n    {string.Join("\n    ", unexplained)}\n  listed but gone:\n    {string.Join("\n    ", gone)}");
    }

    private string Get(string path) => Api.GetString(path);

    [Fact]
    public void Comparer_SeesMissingKeys_Order_AndTypes()
    {
        var d = JsonDocument.Parse("""{"A":1,"B":"x","C":{"D":true},"E":null,"Labels":{"k":"v"}}""").RootElement;
        Assert.Empty(Differences(d, JsonDocument.Parse("""{"A":2,"B":"y","C":{"D":false},"E":[1],"Labels":{}}""").RootElement));
        Assert.Equal(["$.C: missing in Berth", "$.F: not in Docker", "$: key order differs from Docker's", "$.A: number in Docker, string in Berth"],
            Differences(d, JsonDocument.Parse("""{"B":"y","A":"2","E":null,"Labels":null,"F":0}""").RootElement));
    }

    [Fact]
    public void Version() => AssertShape("version.json", Get("/version"));

    [Fact]
    public void Info() => AssertShape("info.json", Get("/info"));

    [Fact]
    public void Errors() => AssertShape("error.json", Api.Send("GET", "/containers/nope/json", null).ReadAll());

    [Fact]
    public async Task Containers()
    {
        var (status, create) = await Api.CallAsync("POST", "/v1.41/containers/create?name=shape", """{"Image":"busybox","Cmd":["cat"],"OpenStdin":true}""");
        Assert.Equal(System.Net.HttpStatusCode.Created, status);
        AssertShape("container-create.json", create);
        var id = JsonDocument.Parse(create).RootElement.GetProperty("Id").GetString()!;

        AssertShape("containers-list-item.json", JsonDocument.Parse(Get("/containers/json?all=1")).RootElement[0].GetRawText());
        AssertShape("container-inspect.json", Get($"/containers/{id}/json"));

        using (var r = Api.Send("POST", $"/containers/{id}/start", null)) Assert.Equal(204, r.Status);
        using (var k = Api.Send("POST", $"/containers/{id}/kill", null)) Assert.Equal(204, k.Status);
        using var wait = Api.Send("POST", $"/containers/{id}/wait", null);
        Assert.Equal(200, wait.Status);
        AssertShape("container-wait.json", wait.ReadAll());
    }

    [Fact]
    public void Images()
    {
        AssertShape("images-list-item.json", JsonDocument.Parse(Get("/images/json")).RootElement[0].GetRawText());
        AssertShape("image-inspect.json", Get("/images/busybox/json"));
    }

    [Fact]
    public async Task SystemDiskUsage()
    {
        var (status, _) = await Api.CallAsync("POST", "/v1.41/volumes/create", """{"Name":"shape-df","Labels":{"refx":"1"}}""");
        Assert.Equal(System.Net.HttpStatusCode.Created, status);
        (status, var create) = await Api.CallAsync("POST", "/v1.41/containers/create?name=shape-df", """{"Image":"busybox","Cmd":["true"],"HostConfig":{"Binds":["shape-df:/d"]}}""");
        Assert.Equal(System.Net.HttpStatusCode.Created, status);
        var id = JsonDocument.Parse(create).RootElement.GetProperty("Id").GetString()!;
        try
        {
            AssertShape("system-df.json", Get("/system/df"));
        }
        finally
        {
            using (Api.Send("DELETE", $"/containers/{id}?force=1", null)) { }
            using (Api.Send("DELETE", "/volumes/shape-df", null)) { }
        }
    }

    [Fact]
    public async Task Volumes()
    {
        var (status, create) = await Api.CallAsync("POST", "/v1.41/volumes/create", """{"Driver":"local","Labels":{"refx":"1"},"Name":"shape-v"}""");
        Assert.Equal(System.Net.HttpStatusCode.Created, status);
        AssertShape("volume-create.json", create);
        AssertShape("volume-create.json", Get("/volumes/shape-v"));
        AssertShape("volumes-list.json", Get("/volumes"));
        var (pruned, report) = await Api.CallAsync("POST", "/v1.41/volumes/prune?filters=" + Uri.EscapeDataString("""{"label":{"refx=1":true}}"""), "");
        Assert.Equal(System.Net.HttpStatusCode.OK, pruned);
        AssertShape("volume-prune.json", report);
        Assert.Equal("""{"VolumesDeleted":["shape-v"],"SpaceReclaimed":0}""", report.Trim());
    }
}
