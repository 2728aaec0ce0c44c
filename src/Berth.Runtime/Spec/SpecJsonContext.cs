using System.Text.Json.Serialization;

namespace Berth.Runtime.Spec;

[JsonSourceGenerationOptions(
    PropertyNamingPolicy = JsonKnownNamingPolicy.CamelCase,
    DefaultIgnoreCondition = JsonIgnoreCondition.WhenWritingNull,
    ReadCommentHandling = System.Text.Json.JsonCommentHandling.Skip,
    AllowTrailingCommas = true)]
[JsonSerializable(typeof(Spec))]
[JsonSerializable(typeof(Process))]
[JsonSerializable(typeof(LinuxSeccomp))]
// The runtime's state (which holds the spec) in the same context: one set of type metadata per process. (Each
// context configures its types on first use, and under NativeAOT that costs reflection over attributes: a
// second context for the state cost berth-runtime create ~10% of its time.)
[JsonSerializable(typeof(Lifecycle.ContainerState))]
[JsonSerializable(typeof(Lifecycle.StateOutput))]
[JsonSerializable(typeof(List<Lifecycle.StateOutput>))]
[JsonSerializable(typeof(Lifecycle.HookState))]
[JsonSerializable(typeof(List<int>))]
public sealed partial class SpecJsonContext : JsonSerializerContext;
