using System.Globalization;
using System.Text;
using Berth.Core;
using Berth.Interop;

namespace Berth.Cgroups.Internal;

/// <summary>Reads and writes cgroup control files with errno-precise errors.</summary>
internal static class CgroupFile
{
    /// <summary>Test hook: when set (per async flow), every successful write is recorded in order.</summary>
    public static readonly AsyncLocal<List<(string Path, string Value)>?> WriteLog = new();

    /// <summary>Writes <paramref name="value"/> to dir/file (O_WRONLY|O_TRUNC, no O_CREAT, like runc).</summary>
    public static void Write(string controller, string dir, string file, string value)
    {
        var path = Path.Combine(dir, file);
        var bytes = Encoding.UTF8.GetBytes(value);
        int fd;
        do
        {
            fd = Libc.open(path, Libc.O_WRONLY | Libc.O_TRUNC | Libc.O_CLOEXEC, 0);
        }
        while (fd < 0 && System.Runtime.InteropServices.Marshal.GetLastPInvokeError() == Libc.EINTR);

        if (fd < 0)
        {
            throw Fail(controller, path, value);
        }

        try
        {
            nint n;
            do
            {
                n = Libc.Write(fd, bytes);
            }
            while (n < 0 && System.Runtime.InteropServices.Marshal.GetLastPInvokeError() == Libc.EINTR);

            if (n < 0)
            {
                throw Fail(controller, path, value);
            }

            WriteLog.Value?.Add((path, value));
        }
        finally
        {
            Libc.close(fd);
        }
    }

    private static CgroupWriteException Fail(string controller, string path, string value)
    {
        var errno = System.Runtime.InteropServices.Marshal.GetLastPInvokeError();
        return new CgroupWriteException(controller, path, value, errno, Libc.StrError(errno));
    }

    public static bool Exists(string dir, string file) => File.Exists(Path.Combine(dir, file));

    public static string Read(string dir, string file)
    {
        var path = Path.Combine(dir, file);
        try
        {
            return File.ReadAllText(path).Trim();
        }
        catch (FileNotFoundException)
        {
            throw BerthException.NotFound($"cgroup: read {file}: no such file ({path})");
        }
        catch (DirectoryNotFoundException)
        {
            throw BerthException.NotFound($"cgroup: read {file}: no such file ({path})");
        }
    }

    public static string? TryRead(string dir, string file)
    {
        try
        {
            return File.ReadAllText(Path.Combine(dir, file)).Trim();
        }
        catch (IOException)
        {
            return null;
        }
        catch (UnauthorizedAccessException)
        {
            return null;
        }
    }

    /// <summary>Parses an unsigned value; "max" is <see cref="ulong.MaxValue"/>; negative values clamp to 0.</summary>
    public static ulong ParseUlong(string s)
    {
        s = s.Trim();
        if (s == "max")
        {
            return ulong.MaxValue;
        }

        if (ulong.TryParse(s, NumberStyles.None, CultureInfo.InvariantCulture, out var v))
        {
            return v;
        }

        if (long.TryParse(s, NumberStyles.AllowLeadingSign, CultureInfo.InvariantCulture, out var l) && l < 0)
        {
            return 0;
        }

        throw new BerthException(ErrorKind.DataLoss, $"cgroup: cannot parse \"{s}\" as a number");
    }

    public static ulong ReadUlong(string dir, string file) => ParseUlong(Read(dir, file));

    public static ulong TryReadUlong(string dir, string file)
    {
        var s = TryRead(dir, file);
        return s is null || s.Length == 0 ? 0 : ParseUlong(s);
    }

    /// <summary>Parses "key value" lines (memory.stat, cpu.stat, memory.events, ...).</summary>
    public static Dictionary<string, ulong> ParseKeyValues(string? text)
    {
        var result = new Dictionary<string, ulong>(StringComparer.Ordinal);
        if (text is null)
        {
            return result;
        }

        foreach (var line in text.Split('\n', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries))
        {
            var parts = line.Split(' ', StringSplitOptions.RemoveEmptyEntries);
            if (parts.Length == 2 && TryParse(parts[1], out var v))
            {
                result[parts[0]] = v;
            }
        }

        return result;
    }

    public static Dictionary<string, ulong> ReadKeyValues(string dir, string file) => ParseKeyValues(TryRead(dir, file));

    private static bool TryParse(string s, out ulong v)
    {
        if (s == "max")
        {
            v = ulong.MaxValue;
            return true;
        }

        return ulong.TryParse(s, NumberStyles.None, CultureInfo.InvariantCulture, out v);
    }

    /// <summary>Reads cgroup.procs (pids, one a line).</summary>
    public static List<int> ReadPids(string dir)
    {
        var result = new List<int>();
        var text = TryRead(dir, "cgroup.procs");
        if (text is null)
        {
            return result;
        }

        foreach (var line in text.Split('\n', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries))
        {
            if (int.TryParse(line, NumberStyles.None, CultureInfo.InvariantCulture, out var pid))
            {
                result.Add(pid);
            }
        }

        return result;
    }

    /// <summary>Pids in dir and every descendant directory.</summary>
    public static List<int> ReadPidsRecursive(string dir)
    {
        var result = new List<int>();
        if (!Directory.Exists(dir))
        {
            return result;
        }

        result.AddRange(ReadPids(dir));
        foreach (var sub in Directory.EnumerateDirectories(dir))
        {
            result.AddRange(ReadPidsRecursive(sub));
        }

        return result;
    }

    /// <summary>
    /// Removes dir and its child cgroups (deepest first), retrying EBUSY briefly while tasks exit.
    /// Missing directories are fine (idempotent). Errors are appended to <paramref name="errors"/>.
    /// Regular files left inside (fake trees in tests) are removed first.
    /// </summary>
    public static void RemoveTree(string dir, List<string> errors)
    {
        if (!Directory.Exists(dir))
        {
            return;
        }

        try
        {
            foreach (var sub in Directory.EnumerateDirectories(dir).ToList())
            {
                RemoveTree(sub, errors);
            }
        }
        catch (DirectoryNotFoundException)
        {
            return;
        }

        var delay = 10;
        var clearedFiles = false;
        for (var attempt = 0; ; attempt++)
        {
            if (Libc.rmdir(dir) == 0)
            {
                return;
            }

            var errno = System.Runtime.InteropServices.Marshal.GetLastPInvokeError();
            if (errno == Libc.ENOENT)
            {
                return;
            }

            if (errno == Libc.ENOTEMPTY && !clearedFiles)
            {
                // cgroupfs never says ENOTEMPTY (it says EBUSY); this is a fake tree on a regular
                // filesystem (tests): drop the seeded control files, then retry.
                clearedFiles = true;
                try
                {
                    foreach (var f in Directory.EnumerateFiles(dir))
                    {
                        File.Delete(f);
                    }
                }
                catch (IOException)
                {
                }
                catch (UnauthorizedAccessException)
                {
                }

                continue;
            }

            if (errno == Libc.EBUSY && attempt < 8)
            {
                Thread.Sleep(delay);
                delay = Math.Min(delay * 2, 500);
                continue;
            }

            errors.Add($"rmdir {dir}: {Libc.StrError(errno)}");
            return;
        }
    }
}
