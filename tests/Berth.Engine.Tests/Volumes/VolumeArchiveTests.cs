using System.Formats.Tar;
using System.Text;
using Berth.Core;
using Berth.Engine.Volumes;
using Berth.Interop;

namespace Berth.Engine.Tests.Volumes;

/// <summary>Volume export/import on the real filesystem, as root: what a round trip keeps, and hostile archives.</summary>
public sealed class VolumeArchiveTests : IDisposable
{
    private readonly string _dir = Directory.CreateTempSubdirectory("berth-volarchive-").FullName;

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    private string NewDir(string name) => Directory.CreateDirectory(Path.Combine(_dir, name)).FullName;

    private static void Check(int r, string what) => Assert.True(r == 0, $"{what}: {Libc.StrError(Libc.Errno)}");

    private static byte[] Export(string dir)
    {
        using var ms = new MemoryStream();
        VolumeArchive.ExportAsync(dir, ms).GetAwaiter().GetResult();
        return ms.ToArray();
    }

    private static void Import(byte[] tar, string dir) => VolumeArchive.ImportAsync(new MemoryStream(tar), dir).GetAwaiter().GetResult();

    [Fact]
    public void Round_trip_keeps_owner_modes_mtimes_xattrs_links_devices_and_fifos()
    {
        Assert.True(Libc.geteuid() == 0, "the archive tests need root (chown, mknod)");
        var src = NewDir("src");
        var f = Path.Combine(src, "suid");
        File.WriteAllText(f, "set-id file");
        Check(Libc.fchownat(Libc.AT_FDCWD, f, 1000, 1000, 0), "chown");
        File.SetUnixFileMode(f, (UnixFileMode)Convert.ToInt32("4755", 8)); // after chown, which clears set-id bits
        Assert.Equal(0, Libc.SetXattr(f, "user.x", "hello"u8));
        Assert.Equal(0, Libc.SetXattr(f, "user.bin", new byte[] { 0xff, 0x00, 0x80, 0x0a }));
        Directory.CreateDirectory(Path.Combine(src, "sub/empty"));
        File.WriteAllText(Path.Combine(src, "sub/a"), "hard linked");
        Check(Libc.linkat(Libc.AT_FDCWD, Path.Combine(src, "sub/a"), Libc.AT_FDCWD, Path.Combine(src, "b"), 0), "link");
        File.CreateSymbolicLink(Path.Combine(src, "link"), "sub/a");
        File.CreateSymbolicLink(Path.Combine(src, "dangling"), "/nonexistent/target");
        Check(Libc.mkfifo(Path.Combine(src, "fifo"), Convert.ToInt32("640", 8)), "mkfifo");
        Check(Libc.mknodat(Libc.AT_FDCWD, Path.Combine(src, "null"), Libc.S_IFCHR | Convert.ToInt32("666", 8), Libc.MakeDev(1, 3)), "mknod");
        var mtime = new DateTime(2021, 3, 4, 5, 6, 7, DateTimeKind.Utc);
        File.SetLastWriteTimeUtc(f, mtime);
        Directory.SetLastWriteTimeUtc(Path.Combine(src, "sub/empty"), mtime);
        Directory.SetLastWriteTimeUtc(Path.Combine(src, "sub"), mtime);

        var tar = Export(src);
        var dst = NewDir("dst");
        Import(tar, dst);

        var st = Libc.Lstat(Path.Combine(dst, "suid"));
        Assert.Equal((1000u, 1000u), (st.Uid, st.Gid));
        Assert.Equal(Convert.ToInt32("104755", 8), (int)st.Mode);
        Assert.Equal("set-id file", File.ReadAllText(Path.Combine(dst, "suid")));
        Assert.Equal(new DateTimeOffset(mtime).ToUnixTimeSeconds(), st.Mtime);
        Assert.Equal("hello", Libc.GetXattr(Path.Combine(dst, "suid"), "user.x"));
        var xattrs = Libc.ListXattrs(Path.Combine(dst, "suid")).ToDictionary(x => x.Name, x => x.Value);
        Assert.Equal(new byte[] { 0xff, 0x00, 0x80, 0x0a }, xattrs["user.bin"]);

        var a = Libc.Lstat(Path.Combine(dst, "sub/a"));
        var b = Libc.Lstat(Path.Combine(dst, "b"));
        Assert.Equal(a.Ino, b.Ino);
        Assert.Equal(2ul, a.Nlink);
        Assert.Equal("sub/a", new FileInfo(Path.Combine(dst, "link")).LinkTarget);
        Assert.Equal("/nonexistent/target", new FileInfo(Path.Combine(dst, "dangling")).LinkTarget);
        Assert.True(Directory.Exists(Path.Combine(dst, "sub/empty")));
        Assert.Equal(new DateTimeOffset(mtime).ToUnixTimeSeconds(), Libc.Lstat(Path.Combine(dst, "sub")).Mtime);
        Assert.Equal(new DateTimeOffset(mtime).ToUnixTimeSeconds(), Libc.Lstat(Path.Combine(dst, "sub/empty")).Mtime);
        var fifo = Libc.Lstat(Path.Combine(dst, "fifo"));
        Assert.Equal(Libc.S_IFIFO | Convert.ToInt32("640", 8), (int)fifo.Mode);
        var dev = Libc.Lstat(Path.Combine(dst, "null"));
        Assert.Equal(Libc.S_IFCHR, (int)dev.Mode & 0xf000);
        Assert.Equal(Libc.MakeDev(1, 3), dev.Rdev);

        // The archive is one a standard reader understands: GNU-style SCHILY.xattr for text values, hard links as links.
        var entries = ReadEntries(tar);
        Assert.Equal("./", entries[0].Name);
        var suid = (PaxTarEntry)entries.Single(e => e.Name == "suid");
        Assert.Equal("hello", suid.ExtendedAttributes["SCHILY.xattr.user.x"]);
        Assert.Contains(entries, e => e.Name == "sub/a" && e.EntryType == TarEntryType.HardLink && e.LinkName == "b");
        Assert.Contains(entries, e => e.Name == "sub/empty/" && e.EntryType == TarEntryType.Directory);
    }

    [Fact]
    public void Import_adds_to_an_existing_volume_and_overwrites_what_the_archive_names()
    {
        var src = NewDir("src2");
        File.WriteAllText(Path.Combine(src, "same"), "new");
        Directory.CreateDirectory(Path.Combine(src, "dir"));
        File.WriteAllText(Path.Combine(src, "dir/inner"), "inner");
        var dst = NewDir("dst2");
        File.WriteAllText(Path.Combine(dst, "same"), "old content that is longer");
        File.WriteAllText(Path.Combine(dst, "kept"), "kept");
        Directory.CreateDirectory(Path.Combine(dst, "dir"));
        File.WriteAllText(Path.Combine(dst, "dir/other"), "other");

        Import(Export(src), dst);

        Assert.Equal("new", File.ReadAllText(Path.Combine(dst, "same")));
        Assert.Equal("kept", File.ReadAllText(Path.Combine(dst, "kept")));
        Assert.Equal("inner", File.ReadAllText(Path.Combine(dst, "dir/inner")));
        Assert.Equal("other", File.ReadAllText(Path.Combine(dst, "dir/other")));
    }

    [Fact]
    public async Task Export_and_import_use_asynchronous_IO_only_and_import_takes_gzip()
    {
        // An HTTP body (Kestrel) refuses synchronous reads and writes: both directions must work on such a stream.
        var src = NewDir("asrc");
        File.WriteAllBytes(Path.Combine(src, "big"), Enumerable.Range(0, 300_000).Select(i => (byte)i).ToArray());
        using var tar = new MemoryStream();
        await VolumeArchive.ExportAsync(src, new AsyncOnlyStream(tar));
        var dst = NewDir("adst");
        await VolumeArchive.ImportAsync(new AsyncOnlyStream(new MemoryStream(tar.ToArray())), dst);
        Assert.Equal(File.ReadAllBytes(Path.Combine(src, "big")), File.ReadAllBytes(Path.Combine(dst, "big")));

        using var gz = new MemoryStream();
        using (var z = new System.IO.Compression.GZipStream(gz, System.IO.Compression.CompressionMode.Compress, leaveOpen: true))
            z.Write(tar.ToArray());
        var dst2 = NewDir("adst2");
        await VolumeArchive.ImportAsync(new AsyncOnlyStream(new MemoryStream(gz.ToArray())), dst2);
        Assert.Equal(300_000, new FileInfo(Path.Combine(dst2, "big")).Length);
    }

    private sealed class AsyncOnlyStream(Stream inner) : Stream
    {
        public override int Read(byte[] buffer, int offset, int count) => throw new InvalidOperationException("synchronous read");
        public override void Write(byte[] buffer, int offset, int count) => throw new InvalidOperationException("synchronous write");
        public override ValueTask<int> ReadAsync(Memory<byte> buffer, CancellationToken ct = default) => inner.ReadAsync(buffer, ct);
        public override Task<int> ReadAsync(byte[] buffer, int offset, int count, CancellationToken ct) => inner.ReadAsync(buffer, offset, count, ct);
        public override ValueTask WriteAsync(ReadOnlyMemory<byte> buffer, CancellationToken ct = default) => inner.WriteAsync(buffer, ct);
        public override Task WriteAsync(byte[] buffer, int offset, int count, CancellationToken ct) => inner.WriteAsync(buffer, offset, count, ct);
        public override Task FlushAsync(CancellationToken ct) => Task.CompletedTask;
        public override void Flush() { }
        public override bool CanRead => true;
        public override bool CanSeek => false;
        public override bool CanWrite => true;
        public override long Length => throw new NotSupportedException();
        public override long Position { get => throw new NotSupportedException(); set => throw new NotSupportedException(); }
        public override long Seek(long offset, SeekOrigin origin) => throw new NotSupportedException();
        public override void SetLength(long value) => throw new NotSupportedException();
    }

    private static List<TarEntry> ReadEntries(byte[] tar)
    {
        var list = new List<TarEntry>();
        using var r = new TarReader(new MemoryStream(tar));
        while (r.GetNextEntry(copyData: true) is { } e) list.Add(e);
        return list;
    }

    private static byte[] Tar(params TarEntry[] entries)
    {
        using var ms = new MemoryStream();
        using (var w = new TarWriter(ms, TarEntryFormat.Pax, leaveOpen: true))
            foreach (var e in entries) w.WriteEntry(e);
        return ms.ToArray();
    }

    private static PaxTarEntry FileEntry(string name, string content) =>
        new(TarEntryType.RegularFile, name) { DataStream = new MemoryStream(Encoding.UTF8.GetBytes(content)), Mode = (UnixFileMode)Convert.ToInt32("644", 8) };

    private static PaxTarEntry LinkEntry(TarEntryType type, string name, string target) =>
        new(type, name) { LinkName = target, Mode = (UnixFileMode)Convert.ToInt32("777", 8) };

    [Theory]
    [InlineData("../escape")]
    [InlineData("a/../../escape")]
    [InlineData("/abs/escape")]
    public void Names_leaving_the_volume_are_refused(string name)
    {
        var dst = NewDir("vol");
        var ex = Assert.Throws<BerthException>(() => Import(Tar(FileEntry(name, "x")), dst));
        Assert.Equal(ErrorKind.InvalidParameter, ex.Kind);
        Assert.Contains("rejected", ex.Message);
        Assert.False(File.Exists(Path.Combine(_dir, "escape")));
        Assert.False(File.Exists("/abs/escape"));
    }

    [Fact]
    public void A_file_through_a_symlink_of_the_archive_is_refused()
    {
        var outside = NewDir("outside");
        var dst = NewDir("vol");
        var ex = Assert.Throws<BerthException>(() => Import(Tar(
            LinkEntry(TarEntryType.SymbolicLink, "link", outside),
            FileEntry("link/pwned", "x")), dst));
        Assert.Contains("parent \"link\" is a symlink", ex.Message);
        Assert.Empty(Directory.GetFileSystemEntries(outside));
    }

    [Fact]
    public void A_file_through_a_symlink_already_in_the_volume_is_refused()
    {
        var outside = NewDir("outside");
        var dst = NewDir("vol");
        File.CreateSymbolicLink(Path.Combine(dst, "dir"), outside); // a container made it
        Assert.Throws<BerthException>(() => Import(Tar(FileEntry("dir/pwned", "x")), dst));
        Assert.Empty(Directory.GetFileSystemEntries(outside));
    }

    [Fact]
    public void A_symlink_entry_replaces_a_file_without_writing_through_it()
    {
        var outside = NewDir("outside");
        File.WriteAllText(Path.Combine(outside, "secret"), "secret");
        var dst = NewDir("vol");
        Import(Tar(LinkEntry(TarEntryType.SymbolicLink, "f", Path.Combine(outside, "secret")), FileEntry("f", "overwritten")), dst);
        Assert.Equal("secret", File.ReadAllText(Path.Combine(outside, "secret")));
        Assert.Equal("overwritten", File.ReadAllText(Path.Combine(dst, "f")));
        Assert.Null(new FileInfo(Path.Combine(dst, "f")).LinkTarget);
    }

    [Theory]
    [InlineData("../outside/secret")]
    [InlineData("/etc/passwd")]
    [InlineData("link/secret")]
    public void Hard_links_to_outside_names_are_refused(string target)
    {
        var outside = NewDir("outside");
        File.WriteAllText(Path.Combine(outside, "secret"), "secret");
        var dst = NewDir("vol");
        Assert.Throws<BerthException>(() => Import(Tar(
            LinkEntry(TarEntryType.SymbolicLink, "link", outside),
            LinkEntry(TarEntryType.HardLink, "hl", target)), dst));
        Assert.False(File.Exists(Path.Combine(dst, "hl")));
        Assert.Equal(1ul, Libc.Lstat(Path.Combine(outside, "secret")).Nlink);
    }

    [Fact]
    public void A_corrupt_tar_is_an_invalid_parameter()
    {
        var dst = NewDir("vol");
        var junk = Encoding.ASCII.GetBytes(new string('x', 1024));
        var ex = Assert.Throws<BerthException>(() => Import(junk, dst));
        Assert.Equal(ErrorKind.InvalidParameter, ex.Kind);
    }
}
