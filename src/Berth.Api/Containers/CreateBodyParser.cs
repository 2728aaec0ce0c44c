using System.Text.Json;
using Berth.Core;

namespace Berth.Api.Containers;

/// <summary>
/// Reads POST /containers/create's body strictly into Docker's types: a value of the wrong JSON type, a number
/// out of range or invalid UTF-8 is a 400 whose message names the field (as dockerd's "json: cannot unmarshal
/// string into Go struct field HostConfig.Memory of type int64"). Field names match case-insensitively, as Go's
/// decoder does; unknown fields are skipped (clients send fields newer than the API version).
/// </summary>
public static class CreateBodyParser
{
    public static ContainerCreateBody Parse(ReadOnlySpan<byte> json)
    {
        ContainerCreateBody? body;
        try
        {
            body = JsonSerializer.Deserialize(json, ContainersJsonContext.Default.ContainerCreateBody);
        }
        catch (JsonException e)
        {
            throw BerthException.Invalid(Describe(e));
        }
        catch (InvalidOperationException e)
        {
            // Invalid UTF-8 and the like surface from the reader this way.
            throw BerthException.Invalid($"invalid JSON: {e.Message}");
        }
        if (body is null) throw BerthException.Invalid("config cannot be empty in order to create a container");
        Normalize(body);
        return body;
    }

    /// <summary>JSON null for a Go value leaves its zero value ("", an empty object): the same here, so that
    /// nothing downstream sees a null where Docker's type has none. A null inside Env/Cmd/Entrypoint is refused.</summary>
    private static void Normalize(ContainerCreateBody b)
    {
        b.Hostname ??= ""; b.Domainname ??= ""; b.User ??= ""; b.Image ??= ""; b.WorkingDir ??= "";
        if (b.Env?.Any(e => e is null) == true) throw BerthException.Invalid("Config.Env: null is not a string");
        if (b.Cmd?.Any(e => e is null) == true) throw BerthException.Invalid("Config.Cmd: null is not a string");
        if (b.Entrypoint?.Any(e => e is null) == true) throw BerthException.Invalid("Config.Entrypoint: null is not a string");
        if (b.HostConfig is not { } h) return;
        h.LogConfig ??= new LogConfig();
        h.RestartPolicy ??= new RestartPolicy();
        h.ConsoleSize ??= [0, 0];
        h.ContainerIDFile ??= ""; h.NetworkMode ??= ""; h.VolumeDriver ??= ""; h.CgroupnsMode ??= ""; h.IpcMode ??= "";
        h.Cgroup ??= ""; h.PidMode ??= ""; h.UTSMode ??= ""; h.UsernsMode ??= ""; h.Isolation ??= ""; h.CgroupParent ??= "";
        h.CpusetCpus ??= ""; h.CpusetMems ??= ""; h.LogConfig.Type ??= ""; h.RestartPolicy.Name ??= "";
    }

    /// <summary>"json: cannot unmarshal into HostConfig.Memory: ..." from System.Text.Json's "$.HostConfig.Memory".</summary>
    private static string Describe(JsonException e)
    {
        var path = e.Path is { Length: > 1 } p ? p.TrimStart('$').TrimStart('.') : null;
        var msg = e.Message;
        int cut = msg.IndexOf(" Path: ", StringComparison.Ordinal);
        if (cut > 0) msg = msg[..cut];
        if (path is null) return $"invalid JSON: {msg}";
        if (msg.StartsWith("The JSON value could not be converted to ", StringComparison.Ordinal))
            msg = "wrong type: expected " + GoType(msg["The JSON value could not be converted to ".Length..].TrimEnd('.'));
        return $"json: cannot unmarshal into field {path}: {msg}";
    }

    private static string GoType(string clr) => clr switch
    {
        "System.Int64" => "int64",
        "System.Int32" => "int",
        "System.UInt16" => "uint16",
        "System.UInt32" or "System.UInt32[]" => clr == "System.UInt32" ? "uint" : "[2]uint",
        "System.UInt64" => "uint64",
        "System.Boolean" => "bool",
        "System.String" => "string",
        "System.Nullable`1[System.Int64]" => "int64",
        "System.Nullable`1[System.Boolean]" => "bool",
        "System.Nullable`1[System.Int32]" => "int",
        _ when clr.Contains("List`1[System.String]") => "[]string",
        _ when clr.Contains("Dictionary`2[System.String,System.String]") => "map[string]string",
        _ when clr.Contains("Dictionary") => "object",
        _ when clr.Contains("List") => "array",
        _ => "object",
    };
}

[JsonSourceGenerationOptions(
    PropertyNameCaseInsensitive = true,
    DefaultIgnoreCondition = JsonIgnoreCondition.Never,
    UnmappedMemberHandling = JsonUnmappedMemberHandling.Skip,
    NumberHandling = JsonNumberHandling.Strict)]
[JsonSerializable(typeof(ContainerCreateBody))]
[JsonSerializable(typeof(ContainerConfig))]
[JsonSerializable(typeof(HostConfig))]
public sealed partial class ContainersJsonContext : JsonSerializerContext;
