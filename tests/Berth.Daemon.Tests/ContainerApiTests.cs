using System.Net;
using System.Text.RegularExpressions;

namespace Berth.Daemon.Tests;

/// <summary>
/// The container routes in-process over the unix socket: payloads compared with golden JSON files (Golden/,
/// shapes and key orders from Docker 20.10's recorded traffic), with the values that change from run to run
/// (IDs, names, times) replaced by placeholders.
/// </summary>
public sealed class ContainerApiTests : IAsyncLifetime
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

    private static string Golden(string name) =>
        File.ReadAllText(Path.Combine(AppContext.BaseDirectory, "Golden", name)).TrimEnd('\n') + "\n";

    /// <summary>IDs, generated names and times replaced by placeholders.</summary>
    private static string Normalize(string json, params (string Value, string Placeholder)[] known)
    {
        foreach (var (v, p) in known) json = json.Replace(v, p, StringComparison.Ordinal);
        json = Regex.Replace(json, "\"Created\":\\d+", "\"Created\":\"<unix>\"");
        json = Regex.Replace(json, "\\d{4}-\\d\\d-\\d\\dT\\d\\d:\\d\\d:\\d\\d(\\.\\d+)?Z", "<time>");
        return json;
    }

    private Task<(HttpStatusCode Status, string Body)> Post(string path, string? json = null) => Api.CallAsync("POST", path, json);

    private Task<(HttpStatusCode Status, string Body)> Get(string path) => Api.CallAsync("GET", path);

    private const string CreateBody = """
        {"Hostname":"","Domainname":"","User":"","AttachStdin":false,"AttachStdout":true,"AttachStderr":true,
         "Tty":false,"OpenStdin":false,"StdinOnce":false,"Env":["A=1"],"Cmd":["echo","hi"],"Image":"busybox",
         "Volumes":null,"WorkingDir":"","Entrypoint":null,"OnBuild":null,"Labels":{},
         "HostConfig":{"NetworkMode":"default","AutoRemove":false,"ConsoleSize":[24,80],"Memory":0,"PidsLimit":null,
                       "AFieldFromTheFuture":{"x":[1,2,3]}},
         "NetworkingConfig":{"EndpointsConfig":{}},"AnotherNewerField":true}
        """;

    [Fact]
    public async Task Create_IgnoresUnknownFields_AndAnswers201WithIdAndWarnings()
    {
        var (status, body) = await Post("/v1.41/containers/create?name=golden", CreateBody);
        Assert.Equal(HttpStatusCode.Created, status);
        string id = Regex.Match(body, "[0-9a-f]{64}").Value;
        Assert.Equal(Golden("container-create.json"), Normalize(body, (id, "<id>")));

        // (The built-in image's ID depends on the bytes System.Formats.Tar writes, which differ between .NET 9
        // (berthd) and .NET 10 (this test host): it is read, not fixed here.)
        var (_, image) = await Get("/v1.41/images/busybox/json");
        string imageId = Regex.Match(image, "sha256:[0-9a-f]{64}").Value;
        (status, body) = await Get("/v1.41/containers/json?all=1");
        Assert.Equal(HttpStatusCode.OK, status);
        Assert.Equal(Golden("containers-list.json"), Normalize(body, (id, "<id>"), (imageId, "<busybox-id>")));

        (status, body) = await Get($"/v1.41/containers/golden/json");
        Assert.Equal(HttpStatusCode.OK, status);
        using var doc = System.Text.Json.JsonDocument.Parse(body);
        Assert.Equal(Golden("container-inspect-keys.txt").Split('\n', StringSplitOptions.RemoveEmptyEntries),
            doc.RootElement.EnumerateObject().Select(p => p.Name));
        Assert.Equal("created", doc.RootElement.GetProperty("State").GetProperty("Status").GetString());
        Assert.Equal("/golden", doc.RootElement.GetProperty("Name").GetString());
        Assert.Equal(["echo", "hi"], doc.RootElement.GetProperty("Config").GetProperty("Cmd").EnumerateArray().Select(e => e.GetString()));
        Assert.Equal(id[..12], doc.RootElement.GetProperty("Config").GetProperty("Hostname").GetString());
    }

    [Theory]
    [InlineData("/v1.41/containers/create", """{"Image":"nope","Cmd":["true"]}""", HttpStatusCode.NotFound, "No such image: nope:latest")]
    [InlineData("/v1.41/containers/create", """{"Cmd":["true"]}""", HttpStatusCode.BadRequest, "No image specified")]
    [InlineData("/v1.41/containers/create", """{"Image":"busybox",""", HttpStatusCode.BadRequest, null)]
    [InlineData("/v1.41/containers/create", """{"Image":"busybox","HostConfig":{"Memory":1024}}""", HttpStatusCode.BadRequest, "Minimum memory limit allowed is 6MB")]
    [InlineData("/v1.41/containers/create?name=a/b", """{"Image":"busybox"}""", HttpStatusCode.BadRequest, "Invalid container name (a/b), only [a-zA-Z0-9][a-zA-Z0-9_.-] are allowed")]
    [InlineData("/v1.41/containers/nope/start", null, HttpStatusCode.NotFound, "No such container: nope")]
    [InlineData("/v1.41/containers/nope/wait", null, HttpStatusCode.NotFound, "No such container: nope")]
    [InlineData("/v1.41/containers/nope/kill", null, HttpStatusCode.NotFound, "No such container: nope")]
    public async Task Errors_AreDockersStatusAndMessage(string path, string? body, HttpStatusCode expected, string? message)
    {
        var (status, text) = await Post(path, body);
        Assert.Equal(expected, status);
        using var doc = System.Text.Json.JsonDocument.Parse(text);
        Assert.Equal(["message"], doc.RootElement.EnumerateObject().Select(p => p.Name));
        if (message is not null) Assert.Equal(message, doc.RootElement.GetProperty("message").GetString());
        var (_, list) = await Get("/v1.41/containers/json?all=1");
        Assert.Equal("[]\n", list); // nothing was created
    }

    [Fact]
    public async Task NameInUse_Is409_AndTheFirstStays()
    {
        var (status, first) = await Post("/v1.41/containers/create?name=dup", """{"Image":"busybox","Cmd":["true"]}""");
        Assert.Equal(HttpStatusCode.Created, status);
        string id = Regex.Match(first, "[0-9a-f]{64}").Value;
        var (again, body) = await Post("/v1.41/containers/create?name=dup", """{"Image":"busybox","Cmd":["true"]}""");
        Assert.Equal(HttpStatusCode.Conflict, again);
        Assert.Equal(
            $"{{\"message\":\"Conflict. The container name \\\"/dup\\\" is already in use by container \\\"{id}\\\". You have to remove (or rename) that container to be able to reuse that name.\"}}\n",
            body);
        var (deleted, _) = await Api.CallAsync("DELETE", "/v1.41/containers/dup");
        Assert.Equal(HttpStatusCode.NoContent, deleted);
        var gone = Assert.Throws<EngineApiException>(() => Api.ContainerRemove("dup"));
        Assert.Equal((int)HttpStatusCode.NotFound, gone.Status);
        Assert.Equal("No such container: dup", gone.Message);
    }

    [Fact]
    public void Client_NegotiatesTheVersion_AndTypedErrorsCarryStatusAndMessage()
    {
        Assert.Equal(("OK", "1.41"), Api.Ping());
        Assert.Equal("1.41", Api.Version);
        Assert.Equal("1.41", Api.SystemVersion().ApiVersion);
        Assert.Equal("1.40", EngineClient.Negotiate("1.40")); // an older daemon: its version
        Assert.Equal("1.41", EngineClient.Negotiate("1.45")); // a newer one: ours
        var e = Assert.Throws<EngineApiException>(() => Api.ContainerInspect("nope"));
        Assert.Equal((404, "No such container: nope"), (e.Status, e.Message));
        var unreachable = new EngineClient(Path.Combine(_dir.Path, "no.sock"));
        Assert.Throws<EngineUnreachableException>(() => unreachable.Ping());
    }

    [Fact]
    public void Client_AttachHijacks_AndDemultiplexesStdoutAndStderr()
    {
        var created = Api.ContainerCreate("""{"Image":"busybox","Cmd":["sh","-c","echo out; echo err >&2; exit 3"],"AttachStdout":true,"AttachStderr":true}""", "attached");
        Assert.Matches("^[0-9a-f]{64}$", created.Id);
        Assert.Empty(created.Warnings);
        using var attach = Api.ContainerAttach(created.Id);
        attach.CloseWrite(); // no stdin
        Api.ContainerStart(created.Id);
        var (stdout, stderr) = Berth.Api.Streams.StdCopy.ReadAll(attach);
        Assert.Equal("out\n", System.Text.Encoding.UTF8.GetString(stdout));
        Assert.Equal("err\n", System.Text.Encoding.UTF8.GetString(stderr));
        Assert.Equal(3, Api.ContainerWait(created.Id).StatusCode);
        Api.ContainerRemove(created.Id);
    }

    [Fact]
    public async Task ImageRemove_SeesTheContainersUsingIt_AndInfoCountsBoth()
    {
        // The image backend asks the container backend who uses an image (wired in EngineSetup).
        var (status, created) = await Post("/v1.41/containers/create?name=user", """{"Image":"busybox","Cmd":["true"]}""");
        Assert.Equal(HttpStatusCode.Created, status);
        string id = Regex.Match(created, "[0-9a-f]{64}").Value;
        var (conflict, conflictBody) = await Api.CallAsync("DELETE", "/v1.41/images/busybox");
        Assert.Equal(HttpStatusCode.Conflict, conflict);
        Assert.Contains($"(must force) - container {id[..12]} is using its referenced image", conflictBody);
        var (_, info) = await Get("/v1.41/info");
        using (var doc = System.Text.Json.JsonDocument.Parse(info))
        {
            Assert.Equal(1, doc.RootElement.GetProperty("Containers").GetInt32());
            Assert.Equal(1, doc.RootElement.GetProperty("ContainersStopped").GetInt32());
            Assert.Equal(1, doc.RootElement.GetProperty("Images").GetInt32());
        }
        var (del, _) = await Api.CallAsync("DELETE", "/v1.41/containers/user");
        Assert.Equal(HttpStatusCode.NoContent, del);
        var (rmi, rmiBody) = await Api.CallAsync("DELETE", "/v1.41/images/busybox");
        Assert.Equal(HttpStatusCode.OK, rmi);
        Assert.Contains("\"Untagged\":\"busybox:latest\"", rmiBody);
    }
}
