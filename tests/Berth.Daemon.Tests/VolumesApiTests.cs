using System.Net;
using System.Text.Json;

namespace Berth.Daemon.Tests;

/// <summary>The /volumes endpoints in process: statuses, error bodies, the request body's checks.</summary>
public sealed class VolumesApiTests : IAsyncLifetime
{
    private readonly TempDir _dir = new();
    private DaemonHost? _host;
    private EngineClient Api => EngineCalls.Client(_dir.Socket);

    public async Task InitializeAsync() => _host = await DaemonHost.StartAsync(_dir.Options());

    public async Task DisposeAsync()
    {
        if (_host is not null) await _host.DisposeAsync();
        _dir.Dispose();
    }

    [Fact]
    public async Task StatusesAndErrorBodiesAsDockerd()
    {
        var (status, body) = await Api.CallAsync("GET", "/v1.41/volumes/nope");
        Assert.Equal((HttpStatusCode.NotFound, """{"message":"get nope: no such volume"}"""), (status, body.Trim()));
        (status, body) = await Api.CallAsync("DELETE", "/v1.41/volumes/nope");
        Assert.Equal((HttpStatusCode.NotFound, """{"message":"get nope: no such volume"}"""), (status, body.Trim()));
        (status, _) = await Api.CallAsync("DELETE", "/v1.41/volumes/nope?force=1");
        Assert.Equal(HttpStatusCode.NoContent, status);

        (status, body) = await Api.CallAsync("POST", "/v1.41/volumes/create", "");
        Assert.Equal((HttpStatusCode.BadRequest, """{"message":"got EOF while reading request body"}"""), (status, body.Trim()));
        (status, _) = await Api.CallAsync("POST", "/v1.41/volumes/create", "{not json");
        Assert.Equal(HttpStatusCode.BadRequest, status);
        (status, body) = await Api.CallAsync("POST", "/v1.41/volumes/create", """{"Name":"bad/name"}""");
        Assert.Equal(HttpStatusCode.BadRequest, status);
        Assert.Contains("includes invalid characters for a local volume name", body);

        // An empty body object makes an anonymous volume; the same name twice answers the same volume (201 both).
        (status, body) = await Api.CallAsync("POST", "/v1.41/volumes/create", "{}");
        Assert.Equal(HttpStatusCode.Created, status);
        Assert.Matches("^[0-9a-f]{64}$", JsonDocument.Parse(body).RootElement.GetProperty("Name").GetString()!);
        (status, var first) = await Api.CallAsync("POST", "/v1.41/volumes/create", """{"Name":"twice","Labels":{}}""");
        Assert.Equal(HttpStatusCode.Created, status);
        (status, var second) = await Api.CallAsync("POST", "/v1.41/volumes/create", """{"Name":"twice","Labels":{"x":"y"}}""");
        Assert.Equal(HttpStatusCode.Created, status);
        Assert.Equal(first, second);
        Assert.Equal("{}", JsonDocument.Parse(first).RootElement.GetProperty("Labels").GetRawText());

        (status, body) = await Api.CallAsync("GET", "/v1.41/volumes?filters=" + Uri.EscapeDataString("""{"dangling":["maybe"]}"""));
        Assert.Equal((HttpStatusCode.BadRequest, """{"message":"Invalid filter 'dangling=[maybe]'"}"""), (status, body.Trim()));
        (status, body) = await Api.CallAsync("GET", "/v1.41/volumes?filters=" + Uri.EscapeDataString("""{"name":["twi"]}"""));
        Assert.Equal(HttpStatusCode.OK, status);
        Assert.Equal("twice", JsonDocument.Parse(body).RootElement.GetProperty("Volumes")[0].GetProperty("Name").GetString());

        // Unversioned paths route too (the CLI's untyped inspect asks without a version).
        (status, _) = await Api.CallAsync("GET", "/volumes/twice");
        Assert.Equal(HttpStatusCode.OK, status);
    }
}
