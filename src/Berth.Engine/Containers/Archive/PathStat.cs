using System.Text;
using System.Text.Json;

namespace Berth.Engine.Containers.Archive;

/// <summary>
/// Docker's ContainerPathStat, the X-Docker-Container-Path-Stat header of HEAD/GET /containers/{id}/archive:
/// base64 of {"name","size","mode","mtime","linkTarget"}, where mode is Go's os.FileMode (permission bits, then the
/// type and set-id bits high up: ModeDir 1&lt;&lt;31, ModeSymlink 1&lt;&lt;27...), which the docker CLI tests.
/// </summary>
public sealed record PathStat(string Name, long Size, uint Mode, DateTimeOffset Mtime, string LinkTarget)
{
    public const uint ModeDir = 1u << 31, ModeSymlink = 1u << 27, ModeDevice = 1u << 26, ModeNamedPipe = 1u << 25,
        ModeSocket = 1u << 24, ModeSetuid = 1u << 23, ModeSetgid = 1u << 22, ModeCharDevice = 1u << 21, ModeSticky = 1u << 20;

    public bool IsDir => (Mode & ModeDir) != 0;

    /// <summary>Go's os.FileMode of a stat(2) st_mode (os.fillFileStatFromSys).</summary>
    public static uint GoFileMode(uint st)
    {
        uint m = st & 0x1ff;
        m |= (st & 0xf000) switch
        {
            0x4000 => ModeDir,
            0xa000 => ModeSymlink,
            0x1000 => ModeNamedPipe,
            0xc000 => ModeSocket,
            0x6000 => ModeDevice,
            0x2000 => ModeDevice | ModeCharDevice,
            _ => 0u,
        };
        if ((st & 0x800) != 0) m |= ModeSetuid;
        if ((st & 0x400) != 0) m |= ModeSetgid;
        if ((st & 0x200) != 0) m |= ModeSticky;
        return m;
    }

    /// <summary>The header's value: base64 (standard, padded) of the JSON, field names as Docker writes them.</summary>
    public string ToHeader()
    {
        using var ms = new MemoryStream();
        using (var w = new Utf8JsonWriter(ms))
        {
            w.WriteStartObject();
            w.WriteString("name", Name);
            w.WriteNumber("size", Size);
            w.WriteNumber("mode", Mode);
            w.WriteString("mtime", Mtime.UtcDateTime.ToString("yyyy-MM-dd'T'HH:mm:ss.FFFFFFF'Z'", System.Globalization.CultureInfo.InvariantCulture));
            w.WriteString("linkTarget", LinkTarget);
            w.WriteEndObject();
        }
        return Convert.ToBase64String(ms.ToArray());
    }
}
