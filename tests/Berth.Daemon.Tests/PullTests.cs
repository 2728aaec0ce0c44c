using Berth.Daemon.Tests.Registry;

namespace Berth.Daemon.Tests;

/// <summary>
/// docker pull with the real docker CLI from Debian's docker-registry on 127.0.0.1 (started by the test, filled
/// through the registry API v2 by <see cref="TestImages"/>): by tag, by digest, from a manifest list / OCI index
/// (platform selection), OCI uncompressed layers, a second pull fetching no blob, a corrupted blob refused with
/// nothing left behind, the pulled image run.
/// </summary>
public sealed class PullTests(DaemonFixture fx, PullTests.RegistryFixture reg) : IClassFixture<DaemonFixture>, IClassFixture<PullTests.RegistryFixture>
{
    public sealed class RegistryFixture : IDisposable
    {
        public TestRegistry Registry { get; } = new();
        public void Dispose() => Registry.Dispose();
    }

    private TestRegistry Reg => reg.Registry;
    private string Ok(params string[] args) => fx.Ok(args);
    private (int Code, string Stdout, string Stderr) Docker(params string[] args) => fx.Docker(args);

    private string[] Overlay() => Directory.GetDirectories(Path.Combine(fx.Dir.DataRoot, "overlay")).Select(Path.GetFileName).Order().ToArray()!;

    [Fact]
    public void PullByTag_Schema2Gzip_ProgressRepoDigests_SecondPullFetchesNothing_Runs()
    {
        var (digest, _) = TestImages.PushImage(Reg, "test/busybox", "latest", oci: false, gzip: true, "amd64", "hello v1\n");
        var name = $"{Reg.Host}/test/busybox";
        try
        {
            var output = Ok("pull", name);
            Assert.Contains("latest: Pulling from test/busybox", output);
            Assert.Contains("Pulling fs layer", output);
            Assert.Contains("Download complete", output);
            Assert.Contains("Pull complete", output);
            Assert.Contains("Digest: " + digest, output);
            Assert.Contains($"Status: Downloaded newer image for {name}:latest", output);
            Assert.Equal($"[{name}@{digest}]", fx.Inspect(name, "{{.RepoDigests}}"));
            Assert.Equal($"[{name}:latest]", fx.Inspect(name, "{{.RepoTags}}"));
            Assert.Equal("amd64 2", fx.Inspect(name, "{{.Architecture}} {{len .RootFS.Layers}}"));
            Assert.Contains(digest, Ok("images", "--digests", name));

            int blobGets = Reg.BlobGets("test/busybox");
            Assert.Equal(3, blobGets); // config + 2 layers
            var again = Ok("pull", name);
            Assert.Contains($"Status: Image is up to date for {name}:latest", again);
            Assert.Contains("Digest: " + digest, again);
            Assert.Equal(blobGets, Reg.BlobGets("test/busybox"));

            Assert.Equal("ok", Ok("run", "--rm", name, "echo", "ok").Trim());
            Assert.Equal("hello v1", Ok("run", "--rm", name, "cat", "/hello.txt").Trim());
            Assert.Empty(Directory.GetFileSystemEntries(Path.Combine(fx.Dir.DataRoot, "content", "pulls")));
        }
        finally
        {
            Docker("rmi", name);
        }
    }

    [Fact]
    public void PullByDigest_OciUncompressedLayers_Runs()
    {
        var (digest, _) = TestImages.PushImage(Reg, "test/oci", "v1", oci: true, gzip: false, "amd64", "hello oci\n");
        var name = $"{Reg.Host}/test/oci@{digest}";
        try
        {
            var output = Ok("pull", name);
            Assert.Contains($"{digest}: Pulling from test/oci", output);
            Assert.Contains($"Status: Downloaded newer image for {name}", output);
            Assert.Equal($"[{Reg.Host}/test/oci@{digest}]", fx.Inspect(name, "{{.RepoDigests}}"));
            Assert.Equal("hello oci", Ok("run", "--rm", name, "cat", "/hello.txt").Trim());
            Assert.Contains("Image is up to date", Ok("pull", name));
        }
        finally
        {
            Docker("rmi", name);
        }
    }

    [Fact]
    public void PullManifestList_SelectsHostPlatform_AndPlatformFlag()
    {
        var listDigest = TestImages.PushIndex(Reg, "test/multi", "latest", oci: false);
        var indexDigest = TestImages.PushIndex(Reg, "test/multi-oci", "latest", oci: true);
        var name = $"{Reg.Host}/test/multi";
        var ociName = $"{Reg.Host}/test/multi-oci";
        try
        {
            var output = Ok("pull", name);
            Assert.Contains("Digest: " + listDigest, output);
            Assert.Equal("amd64", Ok("run", "--rm", name, "cat", "/hello.txt").Trim());
            Assert.Equal($"[{name}@{listDigest}]", fx.Inspect(name, "{{.RepoDigests}}"));

            Ok("pull", "--platform", "linux/arm64", ociName);
            Assert.Equal("arm64", fx.Inspect(ociName, "{{.Architecture}}"));
            Assert.Contains("Digest: " + indexDigest, Ok("pull", "--platform", "linux/arm64", ociName));

            var (code, stdout, stderr) = Docker("pull", "--platform", "linux/s390x", name);
            Assert.NotEqual(0, code);
            Assert.Contains("no matching manifest for linux/s390x in the manifest list entries", stdout + stderr);
        }
        finally
        {
            Docker("rmi", name);
            Docker("rmi", ociName);
        }
    }

    [Fact]
    public void PullCorruptedBlob_IsRefused_AndLeavesNothing()
    {
        var raw = TestImages.FileLayer("corrupt me " + Guid.NewGuid() + "\n");
        var gz = TestImages.Gzip(raw);
        var layerDigest = Reg.PushBlob("test/bad", gz);
        var baseLayer = TestImages.BusyboxLayer();
        var baseGz = TestImages.Gzip(baseLayer);
        Reg.PushBlob("test/bad", baseGz);
        var config = TestImages.Config("amd64", baseLayer, raw);
        Reg.PushBlob("test/bad", config);
        var manifest = System.Text.Encoding.UTF8.GetBytes(
            $"{{\"schemaVersion\":2,\"mediaType\":\"{TestImages.DockerManifest}\"," +
            $"\"config\":{{\"mediaType\":\"{TestImages.DockerConfig}\",\"digest\":\"{TestRegistry.DigestOf(config)}\",\"size\":{config.Length}}}," +
            $"\"layers\":[{{\"mediaType\":\"{TestImages.DockerLayerGzip}\",\"digest\":\"{TestRegistry.DigestOf(baseGz)}\",\"size\":{baseGz.Length}}}," +
            $"{{\"mediaType\":\"{TestImages.DockerLayerGzip}\",\"digest\":\"{layerDigest}\",\"size\":{gz.Length}}}]}}");
        Reg.PutManifest("test/bad", "latest", TestImages.DockerManifest, manifest);
        // Same size, one byte changed: only the digest can tell.
        var path = Reg.BlobDataPath(layerDigest);
        var bytes = File.ReadAllBytes(path);
        bytes[bytes.Length / 2] ^= 0xff;
        File.WriteAllBytes(path, bytes);

        var before = Overlay();
        var name = $"{Reg.Host}/test/bad";
        var (code, stdout, stderr) = Docker("pull", name);
        Assert.NotEqual(0, code);
        Assert.Contains($"filesystem layer verification failed for digest {layerDigest}", stdout + stderr);
        Assert.DoesNotContain("test/bad", Ok("images", "--format", "{{.Repository}}"));
        Assert.Equal(before, Overlay());
        Assert.Empty(Directory.GetFileSystemEntries(Path.Combine(fx.Dir.DataRoot, "content", "pulls")));
        Assert.False(File.Exists(Path.Combine(fx.Dir.DataRoot, "content", "blobs", "sha256", layerDigest[7..])));
    }

    [Fact]
    public void PullUnknownTag_Is404_WithDockersMessage()
    {
        TestImages.PushImage(Reg, "test/known", "v1", oci: false, gzip: true, "amd64", "known\n");
        var (code, _, stderr) = Docker("pull", $"{Reg.Host}/test/known:nope");
        Assert.Equal(1, code);
        Assert.Contains($"Error response from daemon: manifest for {Reg.Host}/test/known:nope not found: manifest unknown: manifest unknown", stderr);
    }

    [Fact]
    public void Run_OfAnImageNotPresent_PullsIt()
    {
        TestImages.PushImage(Reg, "test/auto", "v2", oci: true, gzip: true, "amd64", "auto\n");
        var name = $"{Reg.Host}/test/auto:v2";
        try
        {
            var (code, stdout, stderr) = Docker("run", "--rm", name, "cat", "/hello.txt");
            Assert.True(code == 0, stdout + stderr + fx.LogTail);
            Assert.Equal("auto", stdout.Trim());
            Assert.Contains($"Unable to find image '{name}' locally", stderr);
            Assert.Contains($"Status: Downloaded newer image for {name}", stderr);
        }
        finally
        {
            Docker("rmi", name);
        }
    }

    [Fact]
    public void PullFromBasicAuthRegistry_UsesTheCliCredentials()
    {
        using var secured = new TestRegistry("alice", "s3cret");
        TestImages.PushImage(secured, "test/private", "latest", oci: false, gzip: true, "amd64", "private\n");
        var name = $"{secured.Host}/test/private";
        var config = Path.Combine(fx.Dir.Path, "docker-config", "config.json");
        Directory.CreateDirectory(Path.GetDirectoryName(config)!);
        var hadConfig = File.Exists(config) ? File.ReadAllText(config) : null;
        try
        {
            var (code, stdout, stderr) = Docker("pull", name);
            Assert.NotEqual(0, code);
            Assert.Contains("no basic auth credentials", stdout + stderr);

            var auth = Convert.ToBase64String(System.Text.Encoding.UTF8.GetBytes("alice:s3cret"));
            File.WriteAllText(config, $"{{\"auths\":{{\"{secured.Host}\":{{\"auth\":\"{auth}\"}}}}}}");
            Assert.Contains($"Status: Downloaded newer image for {name}:latest", Ok("pull", name));
            Assert.Equal("private", Ok("run", "--rm", name, "cat", "/hello.txt").Trim());

            File.WriteAllText(config, $"{{\"auths\":{{\"{secured.Host}\":{{\"auth\":\"{Convert.ToBase64String("alice:wrong"u8)}\"}}}}}}");
            Docker("rmi", name);
            (code, stdout, stderr) = Docker("pull", name);
            Assert.NotEqual(0, code);
            Assert.Contains("unauthorized", stdout + stderr);
        }
        finally
        {
            Docker("rmi", name);
            if (hadConfig is null) File.Delete(config); else File.WriteAllText(config, hadConfig);
        }
    }
}
