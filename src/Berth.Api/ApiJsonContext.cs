namespace Berth.Api;

/// <summary>The one source-generated serializer context of the Engine API (no reflection: NativeAOT-clean).
/// Property names are the C# names, which are Docker's exact field names.</summary>
[JsonSourceGenerationOptions(
    DefaultIgnoreCondition = JsonIgnoreCondition.Never,
    UnmappedMemberHandling = JsonUnmappedMemberHandling.Skip)]
[JsonSerializable(typeof(ErrorResponse))]
[JsonSerializable(typeof(SystemVersion))]
[JsonSerializable(typeof(SystemInfo))]
public sealed partial class ApiJsonContext : JsonSerializerContext
{
    /// <summary>The context to serialize with: like Go's encoder, it leaves '+' and non-ASCII unescaped
    /// (e.g. BuildTime "...+00:00").</summary>
    public static ApiJsonContext Api { get; } = new(new JsonSerializerOptions
    {
        Encoder = JavaScriptEncoder.UnsafeRelaxedJsonEscaping,
        DefaultIgnoreCondition = JsonIgnoreCondition.Never,
        UnmappedMemberHandling = JsonUnmappedMemberHandling.Skip,
    });
}
