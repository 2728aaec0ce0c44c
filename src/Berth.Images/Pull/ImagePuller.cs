using System.Security.Cryptography;
using System.Text.Json;
using Berth.Core;
using Berth.Images.Registry;

namespace Berth.Images.Pull;

/// <summary>What a pull asks for: the reference, the platform (null: the host's) and the credentials.</summary>
public sealed record PullRequest(ImageReference Reference, Platform Platform, RegistryAuthConfig Auth, IReadOnlyCollection<string>? InsecureRegistries = null)
{
    /// <summary>
    /// The API's fromImage/tag/platform: "tag" may also be a digest ("sha256:…"); no tag means "latest".
    /// </summary>
    public static PullRequest FromApi(string fromImage, string? tag, string? platform, string? authHeader, IReadOnlyCollection<string>? insecure = null)
    {
        var r = ImageReference.ParseNamed(fromImage);
        if (!string.IsNullOrEmpty(tag))
        {
            if (Digest.TryParse(tag, out var d)) r = r with { Tag = null, Digest = d };
            else if (ImageReference.IsValidTag(tag)) r = r with { Tag = tag, Digest = null };
            else throw BerthException.Invalid("invalid reference format");
        }
        if (r.Tag is null && r.Digest is null) r = r with { Tag = ImageReference.DefaultTag };
        if (r.Digest is not null) r = r with { Tag = null }; // name:tag@digest pulls the digest
        return new PullRequest(r, ParsePlatform(platform), RegistryAuthConfig.FromHeader(authHeader), insecure);
    }

    /// <summary>"linux/arm64/v8", "linux/amd64", "arm64"; empty: the host's platform.</summary>
    public static Platform ParsePlatform(string? s)
    {
        if (string.IsNullOrWhiteSpace(s)) return new Platform { Os = "linux", Architecture = ImageStore.CurrentArchitecture };
        var parts = s.Trim().ToLowerInvariant().Split('/');
        var p = parts.Length switch
        {
            1 => new Platform { Os = "linux", Architecture = parts[0] },
            2 => new Platform { Os = parts[0], Architecture = parts[1] },
            3 => new Platform { Os = parts[0], Architecture = parts[1], Variant = parts[2] },
            _ => throw BerthException.Invalid($"\"{s}\": unknown operating system or architecture: invalid argument"),
        };
        if (p.Os != "linux") throw BerthException.Invalid($"\"{s}\": operating system is not supported: {p.Os}");
        if (p.Architecture is "x86_64" or "x86-64") p.Architecture = "amd64";
        if (p.Architecture is "aarch64") p.Architecture = "arm64";
        return p;
    }
}

/// <summary>
/// The pull pipeline: manifest (by tag or digest; a manifest list / OCI index narrowed to one platform), the
/// image config, layer blobs fetched in parallel (3 at a time, as dockerd) and verified (size and digest)
/// before use, each layer unpacked once into the layer store (layers whose ChainID already exists are not
/// fetched), then the image registered with its tag and repo digest. Blobs are staged in a content store of
/// their own under &lt;data-root&gt;/content/pulls/&lt;random&gt; (temp, fsync, verify, rename) and deleted once
/// unpacked; on any failure everything this pull created (staged blobs, layers it registered) is removed.
/// </summary>
public sealed class ImagePuller
{
    internal const int MaxConcurrentDownloads = 3;
    private readonly ImageStore _store;
    private readonly string _staging;

    public ImagePuller(ImageStore store)
    {
        _store = store;
        _staging = Path.Combine(store.Content.Root, "pulls");
        LayerStore.TryDeleteTree(_staging); // an interrupted pull's leftovers (the puller is made once per daemon)
        Directory.CreateDirectory(_staging);
    }

    /// <summary>
    /// Fetches the manifest named by the request. Errors here (unknown manifest, no access, registry down)
    /// come before any progress is written, so the API answers them with a status code.
    /// </summary>
    public async Task<PullSession> BeginAsync(PullRequest request, CancellationToken ct)
    {
        var client = new RegistryClient(request.Reference, request.Auth, request.InsecureRegistries);
        try
        {
            var r = request.Reference;
            var tagOrDigest = r.Digest?.ToString() ?? r.Tag!;
            var (body, mediaType, digest) = await client.GetManifestAsync(tagOrDigest, r.FamiliarString, ct);
            if (r.Digest is { } wanted && wanted != digest)
                throw new BerthException(ErrorKind.DataLoss, $"manifest verification failed for digest {wanted}");
            return new PullSession(this, client, request, body, mediaType, digest);
        }
        catch
        {
            client.Dispose();
            throw;
        }
    }

    internal ImageStore Store => _store;

    internal ContentStore NewStaging() => new(Path.Combine(_staging, Convert.ToHexStringLower(RandomNumberGenerator.GetBytes(8))));
}

/// <summary>One pull after its manifest was fetched: <see cref="RunAsync"/> writes the progress and returns the image ID.</summary>
public sealed class PullSession : IDisposable
{
    private readonly ImagePuller _puller;
    private readonly RegistryClient _client;
    private readonly PullRequest _request;
    private readonly byte[] _manifest;
    private readonly string _mediaType;
    private readonly Digest _topDigest;

    internal PullSession(ImagePuller puller, RegistryClient client, PullRequest request, byte[] manifest, string mediaType, Digest digest)
    {
        _puller = puller;
        _client = client;
        _request = request;
        _manifest = manifest;
        _mediaType = mediaType;
        _topDigest = digest;
    }

    public ImageReference Reference => _request.Reference;

    /// <summary>The digest recorded in RepoDigests and printed as "Digest: …" (the list's when the tag names a list).</summary>
    public Digest ManifestDigest => _topDigest;

    /// <summary>True when the last run found the image already there and its references unchanged.</summary>
    public bool UpToDate { get; private set; }

    public async Task<string> RunAsync(Action<JsonMessage> report, CancellationToken ct)
    {
        var r = _request.Reference;
        var display = r.FamiliarString;
        report(new JsonMessage("Pulling from " + r.Path, r.Digest?.ToString() ?? r.Tag));
        var manifest = Parse(_manifest, _mediaType, display);
        if (MediaTypes.IsIndex(_mediaType))
        {
            var entry = SelectPlatform(manifest, _request.Platform);
            var child = Digest.Parse(entry.Digest);
            var (body, mt, d) = await _client.GetManifestAsync(child.ToString(), display, ct);
            if (d != child || (entry.Size > 0 && body.Length != entry.Size))
                throw new BerthException(ErrorKind.DataLoss, $"manifest verification failed for digest {child}");
            if (!MediaTypes.IsManifest(mt)) throw Unsupported(mt);
            manifest = Parse(body, mt, display);
        }
        else if (!MediaTypes.IsManifest(_mediaType)) throw Unsupported(_mediaType);
        if (manifest.Config is null || manifest.Layers is null)
            throw new BerthException(ErrorKind.DataLoss, $"invalid manifest for {display}: no config or layers");
        foreach (var l in manifest.Layers) CheckLayerType(l);

        var configDigest = ParseDigest(manifest.Config.Digest, display);
        var store = _puller.Store;
        string id;
        if (store.HasImage(configDigest))
            id = configDigest.ToString(); // present: nothing to fetch, only the references
        else
            id = await PullImage(manifest, configDigest, report, display, ct);
        var updated = store.RecordPull(Digest.Parse(id), r, _topDigest);
        UpToDate = !updated;
        report(new JsonMessage("Digest: " + _topDigest));
        report(new JsonMessage(updated ? "Status: Downloaded newer image for " + display : "Status: Image is up to date for " + display));
        return id;
    }

    private async Task<string> PullImage(ManifestDocument manifest, Digest configDigest, Action<JsonMessage> report, string display, CancellationToken ct)
    {
        var store = _puller.Store;
        var configBytes = await _client.GetSmallBlobAsync(manifest.Config!, display, ct);
        ImageConfig config;
        try
        {
            config = JsonSerializer.Deserialize(configBytes, ImagesJsonContext.Default.ImageConfig)
                ?? throw new JsonException("empty");
        }
        catch (JsonException e)
        {
            throw new BerthException(ErrorKind.DataLoss, $"invalid image config {configDigest}: {e.Message}");
        }
        var layers = manifest.Layers!;
        var diffIds = config.RootFs.DiffIds.Select(s => ParseDigest(s, display)).ToList();
        if (diffIds.Count != layers.Count)
            throw new BerthException(ErrorKind.DataLoss, "layers from manifest don't match image configuration");
        var chain = LayerStore.ChainIds(diffIds);

        // Layers 0..present-1 exist already (a ChainID implies its whole parent chain).
        int present = 0;
        for (int i = chain.Count - 1; i >= 0; i--)
            if (store.Layers.Exists(chain[i])) { present = i + 1; break; }

        var held = new List<Digest>(); // layer references this pull holds (released at the end, but the top's)
        var staging = _puller.NewStaging();
        using var cts = CancellationTokenSource.CreateLinkedTokenSource(ct);
        var downloads = new Task[layers.Count];
        try
        {
            for (int i = 0; i < present; i++)
            {
                report(JsonMessage.Layer("Already exists", ShortId(layers[i])));
            }
            if (present > 0)
            {
                store.Layers.Acquire(chain[present - 1]);
                held.Add(chain[present - 1]);
            }
            for (int i = present; i < layers.Count; i++) report(JsonMessage.Layer("Pulling fs layer", ShortId(layers[i])));
            using var gate = new SemaphoreSlim(ImagePuller.MaxConcurrentDownloads);
            for (int i = present; i < layers.Count; i++)
            {
                var d = layers[i];
                downloads[i] = Download(d, staging, gate, report, display, cts.Token);
            }
            for (int i = present; i < layers.Count; i++)
            {
                try
                {
                    await downloads[i];
                }
                catch
                {
                    cts.Cancel();
                    throw;
                }
                var d = layers[i];
                var id = ShortId(d);
                Digest? parent = i == 0 ? null : chain[i - 1];
                var blob = Digest.Parse(d.Digest);
                var info = await Task.Run(() =>
                {
                    using var s = new ProgressStream(staging.Open(blob), d.Size, n => report(JsonMessage.Progress("Extracting", id, n, d.Size)),
                        $"layer {blob} is larger than its descriptor");
                    return store.Layers.Register(s, parent);
                }, cts.Token);
                var got = Digest.Parse(info.ChainID);
                held.Add(got);
                if (got != chain[i] || info.DiffID != diffIds[i].ToString())
                    throw new BerthException(ErrorKind.DataLoss, $"layers from manifest don't match image configuration: layer {blob} has diff id {info.DiffID}, the config says {diffIds[i]}");
                if (parent is { } p && held.Remove(p)) store.Layers.Release(p); // the child holds its parent now
                staging.Delete(blob);
                report(JsonMessage.Layer("Pull complete", id));
            }
            Digest? top = chain.Count == 0 ? null : chain[^1];
            if (top is { } t) held.Remove(t); // consumed by the image record
            var imageId = store.AddPulledImage(configBytes, configDigest, top);
            return imageId;
        }
        catch
        {
            cts.Cancel();
            foreach (var task in downloads)
                if (task is not null)
                    try { await task; } catch { /* the first error is the one reported */ }
            throw;
        }
        finally
        {
            foreach (var h in held)
                try { store.Layers.Release(h); } catch (BerthException) { }
            LayerStore.TryDeleteTree(staging.Root);
        }
    }

    /// <summary>Fetches one layer blob into the staging store: size and digest verified before it is committed.</summary>
    private async Task Download(Descriptor d, ContentStore staging, SemaphoreSlim gate, Action<JsonMessage> report, string display, CancellationToken ct)
    {
        await gate.WaitAsync(ct);
        try
        {
            var digest = Digest.Parse(d.Digest);
            var id = ShortId(d);
            using var resp = await _client.GetBlobAsync(digest, display, ct);
            var http = await resp.Content.ReadAsStreamAsync(ct);
            using var s = new ProgressStream(http, d.Size, n => report(JsonMessage.Progress("Downloading", id, n, d.Size)),
                $"filesystem layer verification failed for digest {digest}: the registry sent more than {d.Size} bytes");
            await Task.Run(() =>
            {
                try
                {
                    staging.Ingest(s, digest, d.Size);
                }
                catch (BerthException e) when (e.Kind == ErrorKind.DataLoss)
                {
                    throw new BerthException(ErrorKind.DataLoss, $"filesystem layer verification failed for digest {digest}");
                }
            }, ct);
            report(JsonMessage.Layer("Verifying Checksum", id));
            report(JsonMessage.Layer("Download complete", id));
        }
        finally
        {
            gate.Release();
        }
    }

    private static Descriptor SelectPlatform(ManifestDocument index, Platform want)
    {
        foreach (var m in index.Manifests ?? [])
        {
            var p = m.Platform;
            if (p is null || p.Os != want.Os || p.Architecture != want.Architecture) continue;
            if (!string.IsNullOrEmpty(want.Variant) && !VariantMatches(p, want.Variant)) continue;
            return m;
        }
        throw BerthException.NotFound($"no matching manifest for {want} in the manifest list entries");
    }

    private static bool VariantMatches(Platform p, string want) =>
        p.Variant == want || (p.Architecture == "arm64" && string.IsNullOrEmpty(p.Variant) && want == "v8");

    private static void CheckLayerType(Descriptor l)
    {
        switch (l.MediaType)
        {
            case MediaTypes.DockerLayerGzip or MediaTypes.OciLayer or MediaTypes.OciLayerGzip or null:
                return;
            case MediaTypes.OciLayerZstd:
                throw new BerthException(ErrorKind.NotImplemented, $"layer {l.Digest}: zstd-compressed layers are not supported by Berth yet");
            case MediaTypes.DockerLayerForeign:
                throw new BerthException(ErrorKind.NotImplemented, $"layer {l.Digest}: foreign layers (fetched from URLs outside the registry) are not supported by Berth");
            default:
                throw new BerthException(ErrorKind.InvalidParameter, $"layer {l.Digest}: unsupported media type {l.MediaType}");
        }
    }

    private static ManifestDocument Parse(byte[] body, string mediaType, string display)
    {
        try
        {
            return JsonSerializer.Deserialize(body, RegistryJsonContext.Default.ManifestDocument) ?? throw new JsonException("empty");
        }
        catch (JsonException e)
        {
            throw new BerthException(ErrorKind.DataLoss, $"invalid manifest for {display} ({mediaType}): {e.Message}");
        }
    }

    private static BerthException Unsupported(string mediaType) => mediaType is MediaTypes.DockerSchema1 or MediaTypes.DockerSchema1Signed
        ? new BerthException(ErrorKind.NotImplemented, "Docker Image Format v1 and Docker Image manifest version 2, schema 1 support is disabled by default")
        : BerthException.Invalid($"unsupported manifest media type {mediaType}");

    private static Digest ParseDigest(string s, string display) =>
        Digest.TryParse(s, out var d) ? d : throw new BerthException(ErrorKind.DataLoss, $"invalid digest \"{s}\" in the manifest of {display}");

    /// <summary>The 12-hex id Docker shows for a layer: the start of its blob digest.</summary>
    private static string ShortId(Descriptor d) => Digest.TryParse(d.Digest, out var g) ? g.Short : d.Digest;

    public void Dispose() => _client.Dispose();
}
