using Berth.Interop;
using System.Formats.Tar;

namespace Berth.Images.Tests;

public sealed class TempDir : IDisposable
{
    public TempDir()
    {
        Path = Directory.CreateTempSubdirectory("berth-images-").FullName;
    }

    public string Path { get; }

    public string Sub(string name) => System.IO.Path.Combine(Path, name);

    public void Dispose()
    {
        try { Directory.Delete(Path, recursive: true); } catch (IOException) { } catch (UnauthorizedAccessException) { }
    }
}

/// <summary>Builds layer tars entry by entry.</summary>
public sealed class TarBuilder
{
    private readonly MemoryStream _ms = new();
    private readonly TarWriter _w;
    public static readonly DateTimeOffset T0 = new(2020, 5, 6, 7, 8, 9, TimeSpan.Zero);

    public TarBuilder() => _w = new TarWriter(_ms, TarEntryFormat.Pax, leaveOpen: true);

    private TarBuilder Add(PaxTarEntry e, int uid, int gid, DateTimeOffset? mtime)
    {
        e.Uid = uid;
        e.Gid = gid;
        e.ModificationTime = mtime ?? T0;
        _w.WriteEntry(e);
        return this;
    }

    public TarBuilder Dir(string name, int mode = 0x1ed, int uid = 0, int gid = 0, DateTimeOffset? mtime = null) =>
        Add(new PaxTarEntry(TarEntryType.Directory, name) { Mode = (UnixFileMode)mode }, uid, gid, mtime);

    public TarBuilder File(string name, string content, int mode = 0x1a4, int uid = 0, int gid = 0, DateTimeOffset? mtime = null) =>
        Add(new PaxTarEntry(TarEntryType.RegularFile, name)
        {
            Mode = (UnixFileMode)mode, DataStream = new MemoryStream(System.Text.Encoding.UTF8.GetBytes(content)),
        }, uid, gid, mtime);

    public TarBuilder Symlink(string name, string target) =>
        Add(new PaxTarEntry(TarEntryType.SymbolicLink, name) { LinkName = target, Mode = (UnixFileMode)0x1ff }, 0, 0, null);

    public TarBuilder Hardlink(string name, string target) =>
        Add(new PaxTarEntry(TarEntryType.HardLink, name) { LinkName = target, Mode = (UnixFileMode)0x1a4 }, 0, 0, null);

    public TarBuilder CharDev(string name, int major, int minor) =>
        Add(new PaxTarEntry(TarEntryType.CharacterDevice, name) { Mode = (UnixFileMode)0x1b6, DeviceMajor = major, DeviceMinor = minor }, 0, 0, null);

    public TarBuilder Fifo(string name) =>
        Add(new PaxTarEntry(TarEntryType.Fifo, name) { Mode = (UnixFileMode)0x1a4 }, 0, 0, null);

    public byte[] Bytes()
    {
        _w.Dispose();
        return _ms.ToArray();
    }

    public MemoryStream Stream() => new(Bytes());
}

/// <summary>The few system calls the tests need, from Berth.Interop (no P/Invoke of their own).</summary>
public static class Posix
{
    /// <summary>lstat(2), through statx (one layout on x86-64 and arm64).</summary>
    public static Libc.FileStat Lstat(string path) => Libc.Lstat(path);

    public static string? GetXattr(string path, string name) => Libc.GetXattr(path, name);

    public static uint geteuid() => Libc.geteuid();
}
