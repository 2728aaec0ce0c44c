namespace Berth.Client;

/// <summary>Anything that went wrong talking to the engine.</summary>
public class EngineException(string message, Exception? inner = null) : Exception(message, inner);

/// <summary>The socket could not be connected, or the daemon closed the connection before answering.</summary>
public sealed class EngineUnreachableException(string message, Exception? inner = null) : EngineException(message, inner);

/// <summary>An error answer: the HTTP status and Docker's <c>{"message": ...}</c> (or the body's text).</summary>
public sealed class EngineApiException(int status, string message) : EngineException(message)
{
    public int Status { get; } = status;
}
