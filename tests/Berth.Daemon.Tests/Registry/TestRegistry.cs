using System.Diagnostics;
using System.Net;
using System.Net.Http.Headers;
using System.Net.Sockets;
using System.Security.Cryptography;
using System.Text;

namespace Berth.Daemon.Tests.Registry;

/// <summary>
/// Debian's docker-registry (distribution 2.8) on 127.0.0.1:&lt;free port&gt; with its own config and storage in a
/// temporary directory; stopped and removed on Dispose. Pushes go through the HTTP API v2 (blob upload, manifest PUT).
/// </summary>
public sealed class TestRegistry : IDisposable
{
    private const string Binary = "/usr/bin/docker-registry";
    private readonly Process _process;
    private readonly StringBuilder _log = new();
    private readonly HttpClient _http = new() { Timeout = TimeSpan.FromSeconds(30) };

    /// <param name="user">With a user: basic auth (htpasswd, bcrypt) for every request, the pushes included.</param>
    public TestRegistry(string? user = null, string? password = null)
    {
        Assert.True(File.Exists(Binary), "docker-registry is not installed (scripts/deps.sh)");
        Dir = Directory.CreateTempSubdirectory("berth-registry-").FullName;
        Port = FreePort();
        string auth = "";
        if (user is not null)
        {
            var (code, htpasswd, err) = Tests.Run.Command("/usr/bin/htpasswd", ["-Bbn", user, password!]);
            Assert.True(code == 0, "htpasswd (apache2-utils): " + err);
            File.WriteAllText(System.IO.Path.Combine(Dir, "htpasswd"), htpasswd.Trim() + "\n");
            auth = $"auth:\n  htpasswd:\n    realm: berth-test\n    path: {System.IO.Path.Combine(Dir, "htpasswd")}\n";
            _http.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Basic",
                Convert.ToBase64String(Encoding.UTF8.GetBytes(user + ":" + password)));
        }
        File.WriteAllText(System.IO.Path.Combine(Dir, "config.yml"), $"""
            version: 0.1
            log:
              level: info
              accesslog:
                disabled: false
            storage:
              filesystem:
                rootdirectory: {Storage}
              delete:
                enabled: true
            http:
              addr: 127.0.0.1:{Port}
            """ + "\n" + auth);
        var psi = new ProcessStartInfo(Binary, ["serve", System.IO.Path.Combine(Dir, "config.yml")])
        {
            RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false,
        };
        _process = Process.Start(psi)!;
        _process.OutputDataReceived += (_, e) => { if (e.Data is not null) lock (_log) _log.AppendLine(e.Data); };
        _process.ErrorDataReceived += (_, e) => { if (e.Data is not null) lock (_log) _log.AppendLine(e.Data); };
        _process.BeginOutputReadLine();
        _process.BeginErrorReadLine();
        var end = DateTime.UtcNow.AddSeconds(20);
        while (true)
        {
            try
            {
                if (_http.GetAsync(Url("/v2/")).Result.StatusCode == HttpStatusCode.OK) break;
            }
            catch (AggregateException) { }
            Assert.True(DateTime.UtcNow < end && !_process.HasExited, "docker-registry did not start:\n" + Log);
            Thread.Sleep(100);
        }
    }

    public string Dir { get; }
    public int Port { get; }
    public string Host => $"127.0.0.1:{Port}";
    public string Storage => System.IO.Path.Combine(Dir, "storage");

    public string Log
    {
        get { lock (_log) return _log.ToString(); }
    }

    /// <summary>Blob GETs the registry logged so far (its access log).</summary>
    public int BlobGets(string repo) => Log.Split('\n').Count(l => l.Contains($"\"GET /v2/{repo}/blobs/", StringComparison.Ordinal));

    /// <summary>The file the registry serves a blob from (to corrupt it).</summary>
    public string BlobDataPath(string digest)
    {
        var hex = digest["sha256:".Length..];
        return System.IO.Path.Combine(Storage, "docker", "registry", "v2", "blobs", "sha256", hex[..2], hex, "data");
    }

    private string Url(string path) => $"http://{Host}{path}";

    public static string DigestOf(byte[] b) => "sha256:" + Convert.ToHexStringLower(SHA256.HashData(b));

    /// <summary>Monolithic upload: POST /v2/&lt;repo&gt;/blobs/uploads/ then PUT &lt;location&gt;?digest=.</summary>
    public string PushBlob(string repo, byte[] content)
    {
        var digest = DigestOf(content);
        using var post = _http.PostAsync(Url($"/v2/{repo}/blobs/uploads/"), null).Result;
        Assert.Equal(HttpStatusCode.Accepted, post.StatusCode);
        var location = post.Headers.Location!;
        var uri = location.IsAbsoluteUri ? location : new Uri(new Uri(Url("/")), location);
        var put = uri + (uri.Query.Length > 0 ? "&" : "?") + "digest=" + Uri.EscapeDataString(digest);
        using var body = new ByteArrayContent(content);
        body.Headers.ContentType = new MediaTypeHeaderValue("application/octet-stream");
        using var resp = _http.PutAsync(put, body).Result;
        Assert.True(resp.StatusCode == HttpStatusCode.Created, $"blob PUT: {resp.StatusCode} {resp.Content.ReadAsStringAsync().Result}");
        return digest;
    }

    /// <summary>PUT /v2/&lt;repo&gt;/manifests/&lt;reference&gt;; returns the manifest's digest.</summary>
    public string PutManifest(string repo, string reference, string mediaType, byte[] manifest)
    {
        using var body = new ByteArrayContent(manifest);
        body.Headers.ContentType = new MediaTypeHeaderValue(mediaType);
        using var resp = _http.PutAsync(Url($"/v2/{repo}/manifests/{reference}"), body).Result;
        Assert.True(resp.StatusCode == HttpStatusCode.Created, $"manifest PUT: {resp.StatusCode} {resp.Content.ReadAsStringAsync().Result}");
        return DigestOf(manifest);
    }

    private static int FreePort()
    {
        var l = new TcpListener(IPAddress.Loopback, 0);
        l.Start();
        int port = ((IPEndPoint)l.LocalEndpoint).Port;
        l.Stop();
        return port;
    }

    public void Dispose()
    {
        try
        {
            if (!_process.HasExited)
            {
                _process.Kill();
                _process.WaitForExit(10_000);
            }
        }
        catch (InvalidOperationException) { }
        _process.Dispose();
        _http.Dispose();
        try { Directory.Delete(Dir, recursive: true); } catch (IOException) { }
    }
}
