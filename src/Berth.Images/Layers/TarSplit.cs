using System.IO.Compression;
using System.Security.Cryptography;
using System.Text;
using Berth.Core;
using Berth.Interop;
using Microsoft.Win32.SafeHandles;

namespace Berth.Images;

/// <summary>
/// A layer's tar stream minus the file contents (as Docker's tar-split): every byte of the uncompressed tar that
/// is not a regular file's content (headers, PAX records, padding, the end blocks) kept as is, and for each
/// file's content the path in the layer and its length. With the unpacked diff it gives back the original
/// tar byte for byte, so the DiffID (and the image ID) survive `docker save`. Kept as
/// &lt;layer&gt;/tar-split.gz; records: 1 raw (int32 length, bytes), 2 file (int32 length, UTF-8 path, int64 size).
/// </summary>
public static class TarSplit
{
    public const string FileName = "tar-split.gz";
    private const byte Raw = 1, FileContent = 2;

    /// <summary>Records the bytes of a tar as the unpacker reads them.</summary>
    public sealed class Recorder : IDisposable
    {
        private readonly FileStream _fs;
        private readonly BinaryWriter _w;
        private readonly MemoryStream _pending = new();
        private string? _file;
        private long _fileBytes;

        public Recorder(string path)
        {
            _fs = new FileStream(path, FileMode.CreateNew, FileAccess.Write);
            _w = new BinaryWriter(new GZipStream(_fs, CompressionLevel.Fastest, leaveOpen: true), Encoding.UTF8, leaveOpen: false);
        }

        /// <summary>Bytes read from the tar stream: raw, or the content of the file being written.</summary>
        public void Append(ReadOnlySpan<byte> bytes)
        {
            if (_file is not null) { _fileBytes += bytes.Length; return; }
            _pending.Write(bytes);
            if (_pending.Length >= 1 << 16) FlushRaw();
        }

        public void BeginFile(string path)
        {
            FlushRaw();
            _file = path;
            _fileBytes = 0;
        }

        public void EndFile()
        {
            if (_file is null) return;
            _w.Write(FileContent);
            var p = Encoding.UTF8.GetBytes(_file);
            _w.Write(p.Length);
            _w.Write(p);
            _w.Write(_fileBytes);
            _file = null;
        }

        private void FlushRaw()
        {
            if (_pending.Length == 0) return;
            _w.Write(Raw);
            _w.Write((int)_pending.Length);
            _w.Write(_pending.GetBuffer(), 0, (int)_pending.Length);
            _pending.SetLength(0);
        }

        /// <summary>Writes what is pending and fsyncs the file.</summary>
        public void Complete()
        {
            FlushRaw();
            _w.Dispose();
            _fs.Flush(flushToDisk: true);
            _fs.Dispose();
        }

        public void Dispose()
        {
            _w.Dispose();
            _fs.Dispose();
        }
    }

    private static IEnumerable<(byte Kind, byte[]? Raw, string? Path, long Size)> Records(string splitPath)
    {
        using var r = new BinaryReader(new GZipStream(File.OpenRead(splitPath), CompressionMode.Decompress), Encoding.UTF8);
        while (true)
        {
            int kind;
            try { kind = r.ReadByte(); }
            catch (EndOfStreamException) { yield break; }
            if (kind == Raw) yield return (Raw, r.ReadBytes(r.ReadInt32()), null, 0);
            else if (kind == FileContent)
            {
                var path = Encoding.UTF8.GetString(r.ReadBytes(r.ReadInt32()));
                yield return (FileContent, null, path, r.ReadInt64());
            }
            else throw new BerthException(ErrorKind.DataLoss, $"{splitPath}: corrupt tar-split record {kind}");
        }
    }

    /// <summary>The length of the tar the split file describes.</summary>
    public static long TarLength(string splitPath)
    {
        long n = 0;
        foreach (var rec in Records(splitPath)) n += rec.Raw?.Length ?? rec.Size;
        return n;
    }

    /// <summary>
    /// Writes the original tar to <paramref name="output"/>, file contents read from <paramref name="diffDir"/>
    /// (reached component by component without following symlinks), and checks its digest against
    /// <paramref name="diffId"/> (DataLoss when they differ: the output is then unusable).
    /// </summary>
    public static void Write(string splitPath, string diffDir, Digest diffId, Stream output)
    {
        using var hash = IncrementalHash.CreateHash(HashAlgorithmName.SHA256);
        int rootFd = Libc.Check(Libc.openat(Libc.AT_FDCWD, diffDir, Libc.O_RDONLY | Libc.O_DIRECTORY | Libc.O_CLOEXEC, 0), "open", diffDir);
        var buf = new byte[1 << 16];
        try
        {
            foreach (var rec in Records(splitPath))
            {
                if (rec.Raw is { } raw)
                {
                    hash.AppendData(raw);
                    output.Write(raw);
                    continue;
                }
                var parts = FdTree.SplitName(rec.Path!, Broken);
                int dfd = FdTree.OpenDir(rootFd, parts.AsSpan(0, parts.Length - 1), create: false, rec.Path!, Broken);
                int fd;
                try { fd = Libc.openat(dfd, parts[^1], Libc.O_RDONLY | Libc.O_NOFOLLOW | Libc.O_CLOEXEC, 0); }
                finally { Libc.close(dfd); }
                if (fd < 0) throw Broken(rec.Path!, $"cannot open it ({Libc.Errno})");
                using var fs = new FileStream(new SafeFileHandle(fd, ownsHandle: true), FileAccess.Read, 0);
                long left = rec.Size;
                while (left > 0)
                {
                    int n = fs.Read(buf, 0, (int)Math.Min(buf.Length, left));
                    if (n <= 0) throw Broken(rec.Path!, "the file is shorter than the layer's entry");
                    hash.AppendData(buf, 0, n);
                    output.Write(buf, 0, n);
                    left -= n;
                }
            }
        }
        finally { Libc.close(rootFd); }
        var actual = Digest.FromHash(hash.GetHashAndReset());
        if (actual != diffId)
            throw new BerthException(ErrorKind.DataLoss, $"layer {diffId} cannot be exported: the rebuilt tar has digest {actual}");
    }

    private static BerthException Broken(string entry, string why) =>
        new(ErrorKind.DataLoss, $"layer file \"{entry}\" cannot be exported: {why}");
}
