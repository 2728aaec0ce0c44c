using System.Security.Cryptography;
using Berth.Core;

namespace Berth.Images.Tests;

public class DigestTests
{
    private const string EmptySha = "sha256:e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855";

    [Fact]
    public void Parses_and_formats()
    {
        var d = Digest.Parse(EmptySha);
        Assert.Equal(EmptySha, d.ToString());
        Assert.Equal("e3b0c44298fc", d.Short);
        Assert.Equal(d, Digest.Of(ReadOnlySpan<byte>.Empty));
        Assert.True(Digest.TryFromHex(d.Hex, out var d2));
        Assert.Equal(d, d2);
    }

    [Theory]
    [InlineData("")]
    [InlineData("e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855")]
    [InlineData("sha256:E3B0C44298FC1C149AFBF4C8996FB92427AE41E4649B934CA495991B7852B855")]
    [InlineData("sha256:e3b0c44298fc")]
    [InlineData("sha512:e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855")]
    [InlineData("sha256:e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b85g")]
    [InlineData("sha256:e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b8555")]
    public void Rejects_invalid(string s)
    {
        Assert.False(Digest.TryParse(s, out _));
        var ex = Assert.Throws<BerthException>(() => Digest.Parse(s));
        Assert.Equal(ErrorKind.InvalidParameter, ex.Kind);
    }
}

public class ContentStoreTests
{
    [Fact]
    public void Ingest_commits_verified_blob_and_is_idempotent()
    {
        using var tmp = new TempDir();
        var store = new ContentStore(tmp.Path);
        var data = "hello berth"u8.ToArray();
        var expected = Digest.FromHash(SHA256.HashData(data));
        var d = store.Ingest(new MemoryStream(data), expected, data.Length);
        Assert.Equal(expected, d);
        Assert.True(store.Exists(d));
        Assert.Equal(data, store.ReadAllBytes(d));
        Assert.Equal(Path.Combine(tmp.Path, "blobs", "sha256", d.Hex), store.BlobPath(d));
        Assert.Equal(d, store.Ingest(data)); // already exists: success
        Assert.Equal([d], store.List());
        Assert.Empty(Directory.EnumerateFileSystemEntries(tmp.Sub("ingest")));
        Assert.True(store.Delete(d));
        Assert.False(store.Exists(d));
        Assert.False(store.Delete(d));
        Assert.Equal(ErrorKind.NotFound, Assert.Throws<BerthException>(() => store.ReadAllBytes(d)).Kind);
    }

    [Fact]
    public void Bad_digest_or_size_is_data_loss_and_leaves_nothing()
    {
        using var tmp = new TempDir();
        var store = new ContentStore(tmp.Path);
        var data = "payload"u8.ToArray();
        var wrong = Digest.Of("something else");
        var ex = Assert.Throws<BerthException>(() => store.Ingest(new MemoryStream(data), wrong));
        Assert.Equal(ErrorKind.DataLoss, ex.Kind);
        Assert.Contains("digest mismatch", ex.Message);
        ex = Assert.Throws<BerthException>(() => store.Ingest(new MemoryStream(data), null, data.Length + 1));
        Assert.Equal(ErrorKind.DataLoss, ex.Kind);
        Assert.Empty(Directory.EnumerateFileSystemEntries(tmp.Sub("ingest")));
        Assert.Empty(Directory.EnumerateFileSystemEntries(Path.Combine(tmp.Path, "blobs", "sha256")));
    }
}
