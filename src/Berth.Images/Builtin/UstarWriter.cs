using System.Text;
using Berth.Core;

namespace Berth.Images;

/// <summary>
/// A minimal POSIX ustar writer whose every byte is fixed here, not by a library: the built-in image's ID is the
/// digest of this output, so it must not change with the .NET version (System.Formats.Tar's header details do).
/// Numeric fields are zero-padded octal ending in NUL (GNU tar's form), the checksum is six octal digits, NUL,
/// space; magic "ustar\0", version "00"; devmajor/devminor are left NUL; names longer than 100 bytes are split into
/// prefix/name at the first '/' that fits (GNU tar's split). The archive ends with two zero blocks and no further padding.
/// </summary>
internal sealed class UstarWriter
{
    private const int Block = 512;
    private readonly Stream _out;

    public UstarWriter(Stream output) => _out = output;

    public void Directory(string name, int mode, long mtime) => WriteHeader(name, '5', mode, 0, mtime, "");

    public void File(string name, int mode, long mtime, ReadOnlySpan<byte> data)
    {
        WriteHeader(name, '0', mode, data.Length, mtime, "");
        _out.Write(data);
        int pad = (int)((Block - data.Length % Block) % Block);
        if (pad > 0) _out.Write(new byte[pad]);
    }

    public void Symlink(string name, string target, long mtime) => WriteHeader(name, '2', 0x1ff, 0, mtime, target);

    /// <summary>The end-of-archive marker: two zero blocks.</summary>
    public void Finish() => _out.Write(new byte[2 * Block]);

    private void WriteHeader(string name, char type, int mode, long size, long mtime, string linkName)
    {
        var h = new byte[Block];
        var (prefix, shortName) = SplitName(name);
        PutString(h, 0, 100, shortName, name);
        PutOctal(h, 100, 8, mode & 0xfff);
        PutOctal(h, 108, 8, 0);             // uid
        PutOctal(h, 116, 8, 0);             // gid
        PutOctal(h, 124, 12, size);
        PutOctal(h, 136, 12, mtime);
        h[156] = (byte)type;
        PutString(h, 157, 100, linkName, name);
        "ustar\0"u8.CopyTo(h.AsSpan(257));
        "00"u8.CopyTo(h.AsSpan(263));
        PutString(h, 265, 32, "root", name);
        PutString(h, 297, 32, "root", name);
        // devmajor, devminor: left NUL (no entry is a device), as Python's tarfile and GNU tar leave them.
        PutString(h, 345, 155, prefix, name);
        // The checksum is computed with its own field as eight spaces.
        h.AsSpan(148, 8).Fill((byte)' ');
        int sum = 0;
        foreach (byte b in h) sum += b;
        PutOctal(h, 148, 7, sum);           // six digits and NUL
        h[155] = (byte)' ';
        _out.Write(h);
    }

    /// <summary>Name as ustar holds it: up to 100 bytes in name, else split at a '/' into prefix (≤155) and name (≤100).</summary>
    internal static (string Prefix, string Name) SplitName(string name)
    {
        int len = Encoding.UTF8.GetByteCount(name);
        if (len <= 100) return ("", name);
        // The shortest prefix that leaves a name of at most 100 bytes, as GNU tar and Python's tarfile split.
        for (int i = 1; i < name.Length; i++)
        {
            if (name[i] != '/') continue;
            string p = name[..i], n = name[(i + 1)..];
            if (Encoding.UTF8.GetByteCount(p) <= 155 && Encoding.UTF8.GetByteCount(n) is > 0 and <= 100) return (p, n);
        }
        throw BerthException.Invalid($"tar entry name too long for ustar: {name}");
    }

    private static void PutString(byte[] h, int offset, int length, string value, string entry)
    {
        byte[] b = Encoding.UTF8.GetBytes(value);
        if (b.Length > length) throw BerthException.Invalid($"tar header field too long in entry {entry}: {value}");
        b.CopyTo(h, offset);
    }

    /// <summary>length-1 octal digits, zero-padded, then NUL.</summary>
    private static void PutOctal(byte[] h, int offset, int length, long value)
    {
        string s = Convert.ToString(value, 8).PadLeft(length - 1, '0');
        if (s.Length > length - 1 || value < 0) throw BerthException.Invalid($"tar header value {value} does not fit in {length} bytes");
        Encoding.ASCII.GetBytes(s, 0, s.Length, h, offset);
        h[offset + length - 1] = 0;
    }
}
