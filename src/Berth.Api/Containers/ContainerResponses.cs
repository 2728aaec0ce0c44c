namespace Berth.Api.Containers;

/// <summary>POST /containers/create → 201 (Docker's ContainerCreateCreatedBody).</summary>
public sealed class ContainerCreateResponse
{
    public string Id { get; set; } = "";
    public List<string> Warnings { get; set; } = [];
}

/// <summary>POST /containers/{id}/wait → 200 (Docker's ContainerWaitOKBody: {"Error":null,"StatusCode":0};
/// Error is set only when waiting failed).</summary>
public sealed class ContainerWaitResponse
{
    public ContainerWaitError? Error { get; set; }
    public long StatusCode { get; set; }
}

public sealed class ContainerWaitError
{
    public string Message { get; set; } = "";
}

[JsonSourceGenerationOptions(
    PropertyNameCaseInsensitive = true,
    UnmappedMemberHandling = JsonUnmappedMemberHandling.Skip)]
[JsonSerializable(typeof(ContainerCreateResponse))]
[JsonSerializable(typeof(ContainerWaitResponse))]
public sealed partial class ContainerResponsesJsonContext : JsonSerializerContext;
