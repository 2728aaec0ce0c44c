using System.Diagnostics;
using Berth.Core;

namespace Berth.Images;

/// <summary>
/// The built-in "busybox:latest" image, made from the host's (static) busybox binary: /bin/busybox, one
/// symlink per applet (from `busybox --list-full`), /etc/passwd, /etc/group and the usual directories.
/// The tar is deterministic (sorted entries, fixed mtimes, root ownership) and written byte by byte by
/// <see cref="UstarWriter"/>, not by a library whose header details change between .NET versions, so the image
/// ID depends only on the busybox binary (and the architecture in the config); building it again is a no-op.
/// </summary>
public static class BusyboxImage
{
    public const string Reference = "busybox:latest";
    public const string DefaultBinary = "/bin/busybox";
    public const string Path = "PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin";

    /// <summary>The fixed timestamp of every entry and of the image.</summary>
    public static readonly DateTime Epoch = new(2024, 1, 1, 0, 0, 0, DateTimeKind.Utc);

    /// <summary>Imports the image into <paramref name="store"/> tagged busybox:latest; returns its ID.</summary>
    public static string Create(ImageStore store, string busyboxPath = DefaultBinary)
    {
        using var tar = BuildRootfs(busyboxPath);
        return store.Import(tar, Reference, new ImageConfigChanges { Cmd = ["sh"], Env = [Path] }, Epoch);
    }

    /// <summary>The root filesystem tar (uncompressed, rewound).</summary>
    public static MemoryStream BuildRootfs(string busyboxPath = DefaultBinary)
    {
        if (!File.Exists(busyboxPath)) throw BerthException.NotFound($"busybox binary {busyboxPath} not found");
        var applets = ListApplets(busyboxPath);

        const UnixFileMode d755 = (UnixFileMode)0x1ed, f755 = (UnixFileMode)0x1ed, f644 = (UnixFileMode)0x1a4;
        var dirs = new SortedDictionary<string, UnixFileMode>(StringComparer.Ordinal)
        {
            ["bin"] = d755, ["dev"] = d755, ["etc"] = d755, ["home"] = d755, ["proc"] = (UnixFileMode)0x16d,
            ["root"] = (UnixFileMode)0x1c0, ["sys"] = (UnixFileMode)0x16d, ["tmp"] = (UnixFileMode)0x3ff,
            ["usr"] = d755, ["var"] = d755, ["usr/bin"] = d755, ["usr/sbin"] = d755, ["sbin"] = d755,
            ["var/spool"] = d755, ["var/spool/mail"] = d755, ["var/www"] = d755,
        };
        var links = new SortedDictionary<string, string>(StringComparer.Ordinal);
        foreach (var a in applets)
        {
            var name = a.Trim().TrimStart('/');
            if (name.Length == 0 || name == "bin/busybox" || name.Contains("..")) continue;
            links[name] = "/bin/busybox";
            var parent = System.IO.Path.GetDirectoryName(name)?.Replace('\\', '/');
            while (!string.IsNullOrEmpty(parent))
            {
                dirs.TryAdd(parent, d755);
                parent = System.IO.Path.GetDirectoryName(parent)?.Replace('\\', '/');
            }
        }
        var files = new SortedDictionary<string, (byte[] Data, UnixFileMode Mode)>(StringComparer.Ordinal)
        {
            ["bin/busybox"] = (File.ReadAllBytes(busyboxPath), f755),
            ["etc/passwd"] = ("root:x:0:0:root:/root:/bin/sh\nnobody:x:65534:65534:nobody:/home:/bin/false\n"u8.ToArray(), f644),
            ["etc/group"] = ("root:x:0:\nnobody:x:65534:\n"u8.ToArray(), f644),
        };

        // One sorted list of every entry name so that a parent always precedes its children.
        var names = new SortedSet<string>(StringComparer.Ordinal);
        names.UnionWith(dirs.Keys);
        names.UnionWith(links.Keys);
        names.UnionWith(files.Keys);

        var ms = new MemoryStream();
        var writer = new UstarWriter(ms);
        long mtime = new DateTimeOffset(Epoch).ToUnixTimeSeconds();
        foreach (var name in names)
        {
            if (dirs.TryGetValue(name, out var dm)) writer.Directory(name + "/", (int)dm, mtime);
            else if (files.TryGetValue(name, out var f)) writer.File(name, (int)f.Mode, mtime, f.Data);
            else writer.Symlink(name, links[name], mtime);
        }
        writer.Finish();
        ms.Position = 0;
        return ms;
    }

    private static List<string> ListApplets(string busybox)
    {
        var psi = new ProcessStartInfo(busybox, ["--list-full"]) { RedirectStandardOutput = true, UseShellExecute = false };
        using var p = Process.Start(psi) ?? throw new BerthException(ErrorKind.System, $"cannot run {busybox}");
        using var stdout = p.StandardOutput;
        var lines = stdout.ReadToEnd().Split('\n', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries).ToList();
        p.WaitForExit();
        if (p.ExitCode != 0) throw new BerthException(ErrorKind.System, $"{busybox} --list-full exited with {p.ExitCode}");
        return lines;
    }
}
