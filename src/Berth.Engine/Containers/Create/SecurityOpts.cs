using Berth.Core;

namespace Berth.Engine.Containers.Create;

/// <summary>
/// HostConfig.SecurityOpt read as dockerd 20.10 reads it (daemon.parseSecurityOpt): "no-new-privileges[=bool]",
/// "seccomp=unconfined" or "seccomp=&lt;profile JSON&gt;" (the docker CLI reads --security-opt seccomp=FILE and
/// sends the file's content), "apparmor=…", "label=…"; "key:value" is the old spelling of "key=value".
/// This host has neither AppArmor nor SELinux and Berth implements neither: dockerd then ignores any profile or
/// label; Berth takes what means "no confinement" (apparmor=unconfined, label=disable) and refuses the rest by name.
/// </summary>
public static class SecurityOpts
{
    /// <summary>Splits one option into key and value as dockerd does ('=' first, then ':'); null when it has neither.</summary>
    private static (string Key, string Value)? Split(string opt)
    {
        int i = opt.IndexOf('=');
        if (i < 0) i = opt.IndexOf(':');
        return i < 0 ? null : (opt[..i], opt[(i + 1)..]);
    }

    public static void Validate(IEnumerable<string>? opts)
    {
        foreach (var opt in opts ?? [])
        {
            if (opt is "no-new-privileges" or "disable") continue;
            var kv = Split(opt) ?? throw BerthException.Invalid($"invalid --security-opt 1: \"{opt}\"");
            switch (kv.Key)
            {
                case "no-new-privileges" when kv.Value is "true" or "false" or "1" or "0" or "t" or "f" or "TRUE" or "FALSE" or "True" or "False":
                case "seccomp" when kv.Value == "unconfined":
                case "apparmor" when kv.Value == "unconfined":
                case "label" when kv.Value == "disable":
                    break;
                case "seccomp":
                    // A profile: checked when the spec is built at create (DockerSeccompProfile names what is wrong).
                    break;
                case "apparmor":
                    throw BerthException.Invalid($"HostConfig.SecurityOpt: AppArmor profile \"{kv.Value}\": AppArmor is not enabled on this host and "
                        + "not implemented in Berth (only apparmor=unconfined is accepted)");
                case "label":
                    throw BerthException.Invalid($"HostConfig.SecurityOpt: SELinux label \"{kv.Value}\": SELinux is not enabled on this host and "
                        + "not implemented in Berth (only label=disable is accepted)");
                default:
                    throw BerthException.Invalid($"invalid --security-opt 2: \"{opt}\"");
            }
        }
    }

    /// <summary>The seccomp profile's JSON, or null for Docker's default profile (or "unconfined").</summary>
    public static string? SeccompProfile(IEnumerable<string>? opts)
    {
        string? profile = null;
        foreach (var opt in opts ?? [])
            if (Split(opt) is ("seccomp", var v) && v != "unconfined") profile = v;
        return profile;
    }

    public static bool SeccompUnconfined(IEnumerable<string>? opts) =>
        (opts ?? []).Any(o => Split(o) is ("seccomp", "unconfined"));

    /// <summary>The last no-new-privileges option wins (dockerd's loop).</summary>
    public static bool NoNewPrivileges(IEnumerable<string>? opts)
    {
        bool on = false;
        foreach (var opt in opts ?? [])
        {
            if (opt == "no-new-privileges") on = true;
            else if (Split(opt) is ("no-new-privileges", var v)) on = v is "true" or "1" or "t" or "TRUE" or "True";
        }
        return on;
    }
}
