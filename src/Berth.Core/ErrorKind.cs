namespace Berth.Core;

/// <summary>What kind of failure an error is; mapped once to exit codes and HTTP statuses at the edges.</summary>
public enum ErrorKind
{
    System,
    NotFound,
    InvalidParameter,
    Conflict,
    Unauthorized,
    Forbidden,
    Unavailable,
    NotModified,
    NotImplemented,
    Cancelled,
    DataLoss,
}
