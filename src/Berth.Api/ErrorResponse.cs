namespace Berth.Api;

/// <summary>Every error body: <c>{"message":"..."}</c>.</summary>
public sealed class ErrorResponse
{
    public ErrorResponse(string message) => Message = message;

    [JsonPropertyName("message")]
    public string Message { get; set; }
}
