using Berth.Core;

namespace Berth.Cgroups;

/// <summary>
/// A failed write to a cgroup control file. The message names the controller, file and value, e.g.
/// "cgroup memory: write memory.limit_in_bytes=12: Device or resource busy". EINVAL/ERANGE/EOVERFLOW are
/// classified as <see cref="ErrorKind.InvalidParameter"/>, ENOENT as <see cref="ErrorKind.NotFound"/>.
/// </summary>
public sealed class CgroupWriteException : BerthException
{
    public CgroupWriteException(string controller, string path, string value, int errno, string strerror, string? detail = null)
        : base(Classify(errno), $"cgroup {controller}: write {System.IO.Path.GetFileName(path)}={value}: {strerror}{(detail is null ? "" : " (" + detail + ")")} ({path})")
    {
        Controller = controller;
        Path = path;
        Value = value;
        Errno = errno;
        Detail = detail;
    }

    /// <summary>What the writer found out about the failure (e.g. the memory usage that a lower limit could not reclaim).</summary>
    public string? Detail { get; }

    public string Controller { get; }
    public string Path { get; }
    public string Value { get; }
    public int Errno { get; }

    private static ErrorKind Classify(int errno) => errno switch
    {
        22 or 34 or 75 => ErrorKind.InvalidParameter, // EINVAL, ERANGE, EOVERFLOW
        2 => ErrorKind.NotFound,
        _ => ErrorKind.System,
    };
}
