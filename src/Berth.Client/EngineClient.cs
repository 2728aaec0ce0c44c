using System.Net.Sockets;
using System.Text;
using Berth.Api;
using Berth.Api.Containers;
using Berth.Api.Volumes;

namespace Berth.Client;

/// <summary>
/// A client of the Engine API over a unix socket: HTTP/1.1, one connection per request (as the docker CLI does
/// for hijacked and streaming calls), the API version negotiated once with /_ping (the daemon's Api-Version,
/// capped at <see cref="MaxVersion"/>). Synchronous: the berth CLI (NativeAOT) starts no thread pool for a call.
/// <para><see cref="Send"/> is the raw call (status and body as they came); the typed calls throw
/// <see cref="EngineApiException"/> for an error answer.</para>
/// </summary>
public sealed class EngineClient(string socketPath, string userAgent = "berth-client/0.1.0")
{
    public const string MaxVersion = ApiVersions.Max;
    private string? _version;

    public string SocketPath { get; } = socketPath;

    /// <summary>The negotiated API version (asked once with HEAD /_ping).</summary>
    public string Version
    {
        get
        {
            if (_version is not null) return _version;
            using var r = Send("HEAD", "/_ping", null, versioned: false);
            _version = Negotiate(r.Headers.TryGetValue("api-version", out var v) ? v : null);
            return _version;
        }
        set => _version = value;
    }

    /// <summary>The version to use given the daemon's Api-Version header: the lower of it and ours.</summary>
    public static string Negotiate(string? daemonVersion) =>
        daemonVersion is not null && ApiVersion.TryParse(daemonVersion, out var d) && d < ApiVersions.MaxVersion
            ? d.ToString() : MaxVersion;

    /// <summary>One request; the caller owns (disposes) the response. <paramref name="upgrade"/> asks for the
    /// attach hijack (Connection: Upgrade, Upgrade: tcp; a 101 answer leaves the raw connection in Body).</summary>
    public ApiResponse Send(string method, string path, string? json, bool versioned = true, bool upgrade = false) =>
        Send(method, path, json is null ? null : Encoding.UTF8.GetBytes(json), "application/json", versioned, upgrade);

    public ApiResponse Send(string method, string path, byte[]? body, string contentType, bool versioned = true, bool upgrade = false)
    {
        var socket = Connect();
        try
        {
            var sb = new StringBuilder();
            sb.Append(method).Append(' ').Append(versioned ? "/v" + Version + path : path).Append(" HTTP/1.1\r\n");
            sb.Append("Host: api.moby.localhost\r\nUser-Agent: ").Append(userAgent).Append("\r\n");
            if (body is not null) sb.Append("Content-Type: ").Append(contentType).Append("\r\n");
            if (upgrade) sb.Append("Connection: Upgrade\r\nUpgrade: tcp\r\n");
            sb.Append("Content-Length: ").Append(body?.Length ?? 0).Append("\r\n\r\n");
            socket.Send(Encoding.ASCII.GetBytes(sb.ToString()));
            if (body is { Length: > 0 }) socket.Send(body);
            return HttpWire.ReadResponse(socket, method == "HEAD");
        }
        catch
        {
            socket.Dispose();
            throw;
        }
    }

    /// <summary>Uploads a stream as the body (chunked transfer; docker import).</summary>
    public ApiResponse SendStream(string method, string path, Stream content, string contentType)
    {
        var socket = Connect();
        try
        {
            var head = $"{method} /v{Version}{path} HTTP/1.1\r\nHost: api.moby.localhost\r\nUser-Agent: {userAgent}\r\nContent-Type: {contentType}\r\nTransfer-Encoding: chunked\r\n\r\n";
            socket.Send(Encoding.ASCII.GetBytes(head));
            var buf = new byte[64 * 1024];
            int n;
            while ((n = content.Read(buf)) > 0)
            {
                socket.Send(Encoding.ASCII.GetBytes(n.ToString("x") + "\r\n"));
                socket.Send(buf.AsSpan(0, n));
                socket.Send("\r\n"u8);
            }
            socket.Send("0\r\n\r\n"u8);
            return HttpWire.ReadResponse(socket, false);
        }
        catch
        {
            socket.Dispose();
            throw;
        }
    }

    private Socket Connect()
    {
        var socket = new Socket(AddressFamily.Unix, SocketType.Stream, ProtocolType.Unspecified);
        try
        {
            socket.Connect(new UnixDomainSocketEndPoint(SocketPath));
            return socket;
        }
        catch (SocketException e)
        {
            socket.Dispose();
            throw new EngineUnreachableException($"Cannot connect to the Berth daemon at unix://{SocketPath}. Is berthd running?", e);
        }
    }

    // ---- Typed calls -------------------------------------------------------------------------------------

    /// <summary>GET /_ping: "OK" and the daemon's Api-Version header.</summary>
    public (string Body, string? ApiVersion) Ping()
    {
        using var r = Send("GET", "/_ping", null, versioned: false).EnsureSuccess();
        return (r.ReadAll(), r.Headers.TryGetValue("api-version", out var v) ? v : null);
    }

    /// <summary>GET {path}: the body's text; an error answer throws.</summary>
    public string GetString(string path)
    {
        using var r = Send("GET", path, null).EnsureSuccess();
        return r.ReadAll();
    }

    public JsonDocument GetDocument(string path) => JsonDocument.Parse(GetString(path));

    public SystemVersion SystemVersion() =>
        JsonSerializer.Deserialize(GetString("/version"), ApiJsonContext.Default.SystemVersion)
        ?? throw new EngineException("GET /version: empty answer");

    public JsonDocument SystemInfo() => GetDocument("/info");

    public ContainerCreateResponse ContainerCreate(string body, string? name = null)
    {
        using var r = Send("POST", "/containers/create" + (name is null ? "" : "?name=" + Uri.EscapeDataString(name)), body).EnsureSuccess();
        return JsonSerializer.Deserialize(r.ReadAll(), ContainerResponsesJsonContext.Default.ContainerCreateResponse)
               ?? throw new EngineException("POST /containers/create: empty answer");
    }

    public JsonDocument ContainerList(bool all = false) => GetDocument("/containers/json" + (all ? "?all=1" : ""));

    public JsonDocument ContainerInspect(string idOrName) => GetDocument($"/containers/{Uri.EscapeDataString(idOrName)}/json");

    public void ContainerStart(string idOrName) => Post($"/containers/{Uri.EscapeDataString(idOrName)}/start");

    public void ContainerRemove(string idOrName, bool force = false)
    {
        using var _ = Send("DELETE", $"/containers/{Uri.EscapeDataString(idOrName)}" + (force ? "?force=1" : ""), null).EnsureSuccess();
    }

    /// <summary>POST /containers/{id}/wait: blocks until the condition, then the exit status.</summary>
    public ContainerWaitResponse ContainerWait(string idOrName, string? condition = null)
    {
        using var r = Send("POST", $"/containers/{Uri.EscapeDataString(idOrName)}/wait" + (condition is null ? "" : "?condition=" + condition), null).EnsureSuccess();
        return JsonSerializer.Deserialize(r.ReadAll(), ContainerResponsesJsonContext.Default.ContainerWaitResponse)
               ?? throw new EngineException("POST /containers/wait: empty answer");
    }

    /// <summary>POST /containers/{id}/attach, hijacked: the raw duplex connection (stdcopy frames for a non-tty
    /// container: demultiplex with Berth.Api.Streams.StdCopy).</summary>
    public HijackedStream ContainerAttach(string idOrName, bool stdin = false, bool stdout = true, bool stderr = true, bool logs = false)
    {
        var r = Send("POST", $"/containers/{Uri.EscapeDataString(idOrName)}/attach?stream=1"
                             + (stdin ? "&stdin=1" : "") + (stdout ? "&stdout=1" : "") + (stderr ? "&stderr=1" : "") + (logs ? "&logs=1" : ""),
                     null, upgrade: true);
        if (r.Status is not (101 or 200)) r.EnsureSuccess();
        return r.Hijacked();
    }

    public void ContainerPause(string idOrName) => Post($"/containers/{Uri.EscapeDataString(idOrName)}/pause");

    public void ContainerUnpause(string idOrName) => Post($"/containers/{Uri.EscapeDataString(idOrName)}/unpause");

    public void ContainerRename(string idOrName, string newName) =>
        Post($"/containers/{Uri.EscapeDataString(idOrName)}/rename?name={Uri.EscapeDataString(newName)}");

    /// <summary>GET /containers/{id}/top: {Titles, Processes}.</summary>
    public JsonDocument ContainerTop(string idOrName, string? psArgs = null) =>
        GetDocument($"/containers/{Uri.EscapeDataString(idOrName)}/top" + (psArgs is null ? "" : "?ps_args=" + Uri.EscapeDataString(psArgs)));

    /// <summary>GET /containers/{id}/stats?stream=0: one reading (with precpu_stats a second earlier).</summary>
    public JsonDocument ContainerStats(string idOrName, bool oneShot = false) =>
        GetDocument($"/containers/{Uri.EscapeDataString(idOrName)}/stats?stream=0" + (oneShot ? "&one-shot=1" : ""));

    /// <summary>GET /events: the open stream of JSON lines (since/until in unix seconds, filters as JSON).</summary>
    public ApiResponse Events(string? since = null, string? until = null, string? filtersJson = null)
    {
        var q = new List<string>();
        if (since is not null) q.Add("since=" + Uri.EscapeDataString(since));
        if (until is not null) q.Add("until=" + Uri.EscapeDataString(until));
        if (filtersJson is not null) q.Add("filters=" + Uri.EscapeDataString(filtersJson));
        return Send("GET", "/events" + (q.Count > 0 ? "?" + string.Join('&', q) : ""), null).EnsureSuccess();
    }

    public JsonDocument ImageList() => GetDocument("/images/json");

    public JsonDocument ImageInspect(string name) => GetDocument($"/images/{name}/json");

    // ---- Volumes ----

    /// <summary>POST /volumes/create (an existing volume of the same driver is answered as it is).</summary>
    public Volume VolumeCreate(VolumeCreateBody body)
    {
        using var r = Send("POST", "/volumes/create", JsonSerializer.Serialize(body, VolumesApiJsonContext.Default.VolumeCreateBody)).EnsureSuccess();
        return JsonSerializer.Deserialize(r.ReadAll(), VolumesApiJsonContext.Default.Volume) ?? throw new EngineException("POST /volumes/create: empty answer");
    }

    /// <summary>GET /volumes; <paramref name="filtersJson"/> is the filters query value ({"key":{"value":true}}).</summary>
    public VolumeListResponse VolumeList(string? filtersJson = null) =>
        JsonSerializer.Deserialize(GetString("/volumes" + (filtersJson is null ? "" : "?filters=" + Uri.EscapeDataString(filtersJson))), VolumesApiJsonContext.Default.VolumeListResponse)
        ?? throw new EngineException("GET /volumes: empty answer");

    public Volume VolumeInspect(string name) =>
        JsonSerializer.Deserialize(GetString($"/volumes/{Uri.EscapeDataString(name)}"), VolumesApiJsonContext.Default.Volume)
        ?? throw new EngineException("GET /volumes/{name}: empty answer");

    public void VolumeRemove(string name, bool force = false)
    {
        using var _ = Send("DELETE", $"/volumes/{Uri.EscapeDataString(name)}" + (force ? "?force=1" : ""), null).EnsureSuccess();
    }

    public VolumesPruneReport VolumePrune(string? filtersJson = null)
    {
        using var r = Send("POST", "/volumes/prune" + (filtersJson is null ? "" : "?filters=" + Uri.EscapeDataString(filtersJson)), null).EnsureSuccess();
        return JsonSerializer.Deserialize(r.ReadAll(), VolumesApiJsonContext.Default.VolumesPruneReport) ?? throw new EngineException("POST /volumes/prune: empty answer");
    }

    /// <summary>GET /volumes/{name}/export (Berth extension): the volume's data as a tar, written to
    /// <paramref name="output"/>.</summary>
    public void VolumeExport(string name, Stream output)
    {
        using var r = Send("GET", $"/volumes/{Uri.EscapeDataString(name)}/export", null).EnsureSuccess();
        r.Body.CopyTo(output);
        output.Flush();
    }

    /// <summary>POST /volumes/{name}/import (Berth extension): unpacks a tar (plain or gzip) into the volume.</summary>
    public void VolumeImport(string name, Stream tar)
    {
        using var _ = SendStream("POST", $"/volumes/{Uri.EscapeDataString(name)}/import", tar, "application/x-tar").EnsureSuccess();
    }

    private void Post(string path)
    {
        using var _ = Send("POST", path, null).EnsureSuccess();
    }
}
