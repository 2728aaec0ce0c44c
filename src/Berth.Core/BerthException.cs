namespace Berth.Core;

/// <summary>An error that crosses a subsystem boundary, classified by <see cref="ErrorKind"/>.</summary>
public class BerthException : Exception
{
    public BerthException(ErrorKind kind, string message, Exception? inner = null)
        : base(message, inner)
    {
        Kind = kind;
    }

    public ErrorKind Kind { get; }

    public static BerthException NotFound(string message) => new(ErrorKind.NotFound, message);
    public static BerthException Invalid(string message) => new(ErrorKind.InvalidParameter, message);
    public static BerthException Conflict(string message) => new(ErrorKind.Conflict, message);
}
