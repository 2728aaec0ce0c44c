using System.Formats.Tar;
using System.IO.Compression;
using System.Text;

namespace Berth.Daemon.Tests.Registry;

/// <summary>
/// Small runnable images pushed to a <see cref="TestRegistry"/> in several shapes: a base layer with the host's
/// static busybox (bin/busybox and sh/echo/cat links) and a top layer with /hello.txt; Docker schema2 with gzip
/// layers, OCI with uncompressed layers, a manifest list / OCI index with an amd64 (the host) and an arm64 entry.
/// </summary>
public static class TestImages
{
    public const string DockerManifest = "application/vnd.docker.distribution.manifest.v2+json";
    public const string DockerList = "application/vnd.docker.distribution.manifest.list.v2+json";
    public const string DockerConfig = "application/vnd.docker.container.image.v1+json";
    public const string DockerLayerGzip = "application/vnd.docker.image.rootfs.diff.tar.gzip";
    public const string OciManifest = "application/vnd.oci.image.manifest.v1+json";
    public const string OciIndex = "application/vnd.oci.image.index.v1+json";
    public const string OciConfig = "application/vnd.oci.image.config.v1+json";
    public const string OciLayer = "application/vnd.oci.image.layer.v1.tar";
    public const string OciLayerGzip = "application/vnd.oci.image.layer.v1.tar+gzip";

    private static readonly DateTimeOffset Epoch = new(2024, 1, 1, 0, 0, 0, TimeSpan.Zero);

    /// <summary>The base layer: bin/busybox and links (uncompressed tar).</summary>
    public static byte[] BusyboxLayer()
    {
        var ms = new MemoryStream();
        using (var w = new TarWriter(ms, TarEntryFormat.Pax, leaveOpen: true))
        {
            w.WriteEntry(new PaxTarEntry(TarEntryType.Directory, "bin/") { Mode = (UnixFileMode)0x1ED, ModificationTime = Epoch });
            w.WriteEntry(new PaxTarEntry(TarEntryType.Directory, "tmp/") { Mode = (UnixFileMode)0x3FF | UnixFileMode.StickyBit, ModificationTime = Epoch });
            var bin = File.ReadAllBytes("/bin/busybox");
            w.WriteEntry(new PaxTarEntry(TarEntryType.RegularFile, "bin/busybox")
            {
                Mode = (UnixFileMode)0x1ED, ModificationTime = Epoch, DataStream = new MemoryStream(bin),
            });
            foreach (var applet in new[] { "sh", "echo", "cat", "ls" })
                w.WriteEntry(new PaxTarEntry(TarEntryType.SymbolicLink, "bin/" + applet) { LinkName = "busybox", Mode = (UnixFileMode)0x1FF, ModificationTime = Epoch });
        }
        return ms.ToArray();
    }

    /// <summary>A layer with one file /hello.txt.</summary>
    public static byte[] FileLayer(string content)
    {
        var ms = new MemoryStream();
        using (var w = new TarWriter(ms, TarEntryFormat.Pax, leaveOpen: true))
            w.WriteEntry(new PaxTarEntry(TarEntryType.RegularFile, "hello.txt")
            {
                Mode = (UnixFileMode)0x1A4, ModificationTime = Epoch, DataStream = new MemoryStream(Encoding.UTF8.GetBytes(content)),
            });
        return ms.ToArray();
    }

    public static byte[] Gzip(byte[] b)
    {
        var ms = new MemoryStream();
        using (var gz = new GZipStream(ms, CompressionLevel.Fastest, leaveOpen: true)) gz.Write(b);
        return ms.ToArray();
    }

    public static byte[] Config(string architecture, params byte[][] uncompressedLayers)
    {
        var diffIds = string.Join(",", uncompressedLayers.Select(l => $"\"{TestRegistry.DigestOf(l)}\""));
        return Encoding.UTF8.GetBytes(
            $"{{\"architecture\":\"{architecture}\",\"os\":\"linux\",\"created\":\"2024-01-01T00:00:00Z\"," +
            "\"config\":{\"Env\":[\"PATH=/bin\"],\"Cmd\":[\"sh\"]}," +
            $"\"rootfs\":{{\"type\":\"layers\",\"diff_ids\":[{diffIds}]}}," +
            "\"history\":[{\"created\":\"2024-01-01T00:00:00Z\",\"created_by\":\"test\"}]}");
    }

    private static string Desc(string mediaType, byte[] blob, string? platform = null) =>
        $"{{\"mediaType\":\"{mediaType}\",\"digest\":\"{TestRegistry.DigestOf(blob)}\",\"size\":{blob.Length}{platform}}}";

    /// <summary>Pushes layers and config, then a single-platform manifest; returns (manifest digest, manifest bytes).</summary>
    public static (string Digest, byte[] Manifest) PushImage(TestRegistry reg, string repo, string reference, bool oci, bool gzip,
        string architecture, string hello)
    {
        var raw = new[] { BusyboxLayer(), FileLayer(hello) };
        var blobs = gzip ? raw.Select(Gzip).ToArray() : raw;
        foreach (var b in blobs) reg.PushBlob(repo, b);
        var config = Config(architecture, raw);
        reg.PushBlob(repo, config);
        string layerType = oci ? (gzip ? OciLayerGzip : OciLayer) : DockerLayerGzip;
        Assert.True(oci || gzip, "a Docker schema2 manifest has gzip layers");
        var mt = oci ? OciManifest : DockerManifest;
        var manifest = Encoding.UTF8.GetBytes(
            $"{{\"schemaVersion\":2,\"mediaType\":\"{mt}\",\"config\":{Desc(oci ? OciConfig : DockerConfig, config)}," +
            $"\"layers\":[{string.Join(",", blobs.Select(b => Desc(layerType, b)))}]}}");
        var digest = reg.PutManifest(repo, reference, mt, manifest);
        return (digest, manifest);
    }

    /// <summary>A manifest list (or OCI index) with an amd64 and an arm64 image whose /hello.txt names the architecture.</summary>
    public static string PushIndex(TestRegistry reg, string repo, string tag, bool oci)
    {
        var (amd, amdBytes) = PushImage(reg, repo, "amd64-only", oci, gzip: true, "amd64", "amd64\n");
        var (arm, armBytes) = PushImage(reg, repo, "arm64-only", oci, gzip: true, "arm64", "arm64\n");
        var mt = oci ? OciManifest : DockerManifest;
        var listType = oci ? OciIndex : DockerList;
        var list = Encoding.UTF8.GetBytes(
            $"{{\"schemaVersion\":2,\"mediaType\":\"{listType}\",\"manifests\":[" +
            Desc(mt, armBytes, ",\"platform\":{\"architecture\":\"arm64\",\"os\":\"linux\",\"variant\":\"v8\"}") + "," +
            Desc(mt, amdBytes, ",\"platform\":{\"architecture\":\"amd64\",\"os\":\"linux\"}") + "]}");
        _ = amd; _ = arm;
        return reg.PutManifest(repo, tag, listType, list);
    }
}
