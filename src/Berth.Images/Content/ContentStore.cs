using System.Security.Cryptography;
using Berth.Core;
using Berth.Interop;

namespace Berth.Images;

/// <summary>
/// Content-addressed blobs under &lt;root&gt;/blobs/sha256/&lt;hex&gt;. Writes go to &lt;root&gt;/ingest/&lt;random&gt;,
/// are fsynced, verified (size and digest), renamed into place, and the directory is fsynced.
/// A blob that already exists is success. Blobs are immutable once committed.
/// </summary>
public sealed class ContentStore
{
    private readonly string _blobs;
    private readonly string _ingest;

    public ContentStore(string root)
    {
        Root = root;
        _blobs = Path.Combine(root, "blobs", Digest.Sha256);
        _ingest = Path.Combine(root, "ingest");
        DataRootPermissions.CreateDirectory(root); // 0700: blobs are reachable by root only
        Directory.CreateDirectory(_blobs);
        Directory.CreateDirectory(_ingest);
    }

    public string Root { get; }

    public string BlobPath(Digest digest) => Path.Combine(_blobs, digest.Hex);

    public bool Exists(Digest digest) => File.Exists(BlobPath(digest));

    /// <summary>Ingests bytes; returns their digest.</summary>
    public Digest Ingest(ReadOnlySpan<byte> content, Digest? expected = null)
    {
        using var ms = new MemoryStream(content.ToArray(), writable: false);
        return Ingest(ms, expected, content.Length);
    }

    /// <summary>
    /// Copies <paramref name="content"/> into the store. When <paramref name="expected"/> or
    /// <paramref name="expectedSize"/> is given and does not match, nothing is committed and a DataLoss error is thrown.
    /// </summary>
    public Digest Ingest(Stream content, Digest? expected = null, long? expectedSize = null)
    {
        // Already there: success without reading (blobs are verified when committed).
        if (expected is { } e && Exists(e)) return e;
        var tmp = Path.Combine(_ingest, Convert.ToHexStringLower(RandomNumberGenerator.GetBytes(16)));
        try
        {
            long size = 0;
            Digest actual;
            using (var hash = IncrementalHash.CreateHash(HashAlgorithmName.SHA256))
            using (var fs = new FileStream(tmp, new FileStreamOptions
            {
                Mode = FileMode.CreateNew, Access = FileAccess.Write,
                UnixCreateMode = UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.GroupRead | UnixFileMode.OtherRead,
            }))
            {
                var buf = new byte[81920];
                int n;
                while ((n = content.Read(buf)) > 0)
                {
                    hash.AppendData(buf, 0, n);
                    fs.Write(buf, 0, n);
                    size += n;
                }
                fs.Flush(flushToDisk: true);
                actual = Digest.FromHash(hash.GetHashAndReset());
            }
            if (expectedSize is { } es && es != size)
                throw new BerthException(ErrorKind.DataLoss, $"content size mismatch: expected {es} bytes, got {size}");
            if (expected is { } ed && ed != actual)
                throw new BerthException(ErrorKind.DataLoss, $"content digest mismatch: expected {ed}, got {actual}");
            var final = BlobPath(actual);
            if (File.Exists(final))
            {
                File.Delete(tmp);
                return actual;
            }
            File.Move(tmp, final, overwrite: true);
            AtomicFile.FsyncDirectory(_blobs);
            return actual;
        }
        catch
        {
            File.Delete(tmp);
            throw;
        }
    }

    public byte[] ReadAllBytes(Digest digest)
    {
        try
        {
            return File.ReadAllBytes(BlobPath(digest));
        }
        catch (FileNotFoundException)
        {
            throw BerthException.NotFound($"content {digest}: not found");
        }
    }

    public Stream Open(Digest digest)
    {
        try
        {
            return File.OpenRead(BlobPath(digest));
        }
        catch (FileNotFoundException)
        {
            throw BerthException.NotFound($"content {digest}: not found");
        }
    }

    /// <summary>Deletes a blob; returns false when it did not exist.</summary>
    public bool Delete(Digest digest)
    {
        var p = BlobPath(digest);
        if (!File.Exists(p)) return false;
        File.Delete(p);
        AtomicFile.FsyncDirectory(_blobs);
        return true;
    }

    public IEnumerable<Digest> List()
    {
        foreach (var f in Directory.EnumerateFiles(_blobs))
            if (Digest.TryFromHex(Path.GetFileName(f), out var d)) yield return d;
    }
}
