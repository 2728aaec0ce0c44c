using System.Globalization;
using Berth.Api.Containers;
using Berth.Core;

namespace Berth.Engine.Volumes;

/// <summary>
/// Reads a container's mount requests as dockerd 20.10 does (volume/mounts/linux_parser.go), with its messages:
/// `-v`/Binds entries (`name:/ctr[:opts]`, `/host:/ctr[:opts]`, `/ctr`), `--mount`/Mounts specs, `--volumes-from`
/// entries, and `--tmpfs`/Tmpfs destinations and options. Pure: nothing is created or looked up here.
/// </summary>
public static class MountSpecParser
{
    public const string DefaultPropagation = "rprivate";
    public const string TargetIsRoot = "invalid specification: destination can't be '/'";

    private static readonly HashSet<string> RwModes = ["rw", "ro"];
    private static readonly HashSet<string> LabelModes = ["z", "Z"];
    private static readonly HashSet<string> ConsistencyModes = ["consistent", "cached", "delegated", "default"];
    public static readonly IReadOnlySet<string> PropagationModes = new HashSet<string> { "private", "rprivate", "slave", "rslave", "shared", "rshared" };

    /// <summary>A Binds entry; a volume's name is checked as the local driver does (a relative host path is refused).</summary>
    public static MountPoint ParseBind(string raw, string? volumeDriver)
    {
        var arr = raw.Split(':', 4);
        if (arr[0] == "") throw InvalidSpec(raw);
        var spec = new MountSpec();
        string mode = "";
        switch (arr.Length)
        {
            case 1:
                spec.Target = arr[0];
                break;
            case 2:
                // A destination and a mode is not a valid volume ("/foo:rw").
                if (ValidMode(arr[1])) throw InvalidSpec(raw);
                spec.Source = arr[0];
                spec.Target = arr[1];
                break;
            case 3:
                spec.Source = arr[0];
                spec.Target = arr[1];
                mode = arr[2];
                break;
            default:
                throw InvalidSpec(raw);
        }
        if (!ValidMode(mode)) throw BerthException.Invalid($"invalid mode: {mode}");
        spec.Type = spec.Source is { } s && s.StartsWith('/') ? "bind" : "volume";
        spec.ReadOnly = !ReadWrite(mode);
        if (!string.IsNullOrEmpty(volumeDriver) && spec.Type == "volume")
            spec.VolumeOptions = new MountVolumeOptions { DriverConfig = new MountDriver { Name = volumeDriver } };
        if (mode.Split(',').Contains("nocopy"))
        {
            spec.VolumeOptions ??= new MountVolumeOptions();
            spec.VolumeOptions.NoCopy = true;
        }
        if (HasPropagation(mode)) spec.BindOptions = new MountBindOptions { Propagation = GetPropagation(mode) };

        MountPoint mp;
        try
        {
            mp = FromSpec(spec, validateBindSourceExists: false);
        }
        catch (BerthException e)
        {
            throw BerthException.Invalid($"invalid volume specification: '{raw}': {e.Message}");
        }
        mp.Mode = mode;
        if (mp.Type == "volume" && mp.Name.Length > 0 && IsLocal(mp.Driver)) ValidateLocalVolumeName(mp.Name);
        return mp;
    }

    /// <summary>A Mounts entry (`--mount`): checked as dockerd checks it (a bind's source must exist).</summary>
    public static MountPoint ParseMount(MountSpec spec)
    {
        var mp = FromSpec(spec, validateBindSourceExists: true);
        if (mp.Type == "bind") mp.SkipMountpointCreation = true;
        if (mp.Type == "volume" && mp.Name.Length > 0 && IsLocal(mp.Driver)) ValidateLocalVolumeName(mp.Name);
        return mp;
    }

    /// <summary>A VolumesFrom entry: the container and "rw" or "ro".</summary>
    public static (string Container, string Mode) ParseVolumesFrom(string spec)
    {
        if (spec.Length == 0) throw BerthException.Invalid("volumes-from specification cannot be an empty string");
        int colon = spec.IndexOf(':');
        string id = colon < 0 ? spec : spec[..colon], mode = colon < 0 ? "" : spec[(colon + 1)..];
        if (mode == "") return (id, "rw");
        // Propagation and copy modes are not allowed here: the volumes keep the source container's.
        if (!ValidMode(mode) || HasPropagation(mode) || mode.Split(',').Contains("nocopy"))
            throw BerthException.Invalid($"invalid mode: {mode}");
        return (id, mode);
    }

    public static void ValidateTmpfsDestination(string dest)
    {
        if (CleanPath(dest) == "/") throw BerthException.Invalid(TargetIsRoot);
        if (!dest.StartsWith('/')) throw BerthException.Invalid($"invalid mount path: '{dest}' mount path must be absolute");
    }

    /// <summary>Docker's ReadWrite: false when the mode has "ro" (or is not a valid mode).</summary>
    public static bool ReadWrite(string mode) => ValidMode(mode) && !mode.Split(',').Contains("ro");

    public static bool ValidMode(string mode)
    {
        if (mode == "") return true;
        int rw = 0, label = 0, prop = 0, copy = 0, consistency = 0;
        foreach (var o in mode.Split(','))
        {
            if (RwModes.Contains(o)) rw++;
            else if (LabelModes.Contains(o)) label++;
            else if (PropagationModes.Contains(o)) prop++;
            else if (o == "nocopy") copy++;
            else if (ConsistencyModes.Contains(o)) consistency++;
            else return false;
        }
        return rw <= 1 && label <= 1 && prop <= 1 && copy <= 1 && consistency <= 1;
    }

    private static bool HasPropagation(string mode) => mode.Split(',').Any(PropagationModes.Contains);

    private static string GetPropagation(string mode) => mode.Split(',').FirstOrDefault(PropagationModes.Contains) ?? DefaultPropagation;

    private static bool IsLocal(string driver) => driver is "" or "local";

    /// <summary>The local driver's rule for names (a relative host path is such a name, and refused).</summary>
    public static void ValidateLocalVolumeName(string name)
    {
        bool ok = name.Length >= 2 && char.IsAsciiLetterOrDigit(name[0])
                  && name.Skip(1).All(ch => char.IsAsciiLetterOrDigit(ch) || ch is '_' or '.' or '-');
        if (!ok)
            throw BerthException.Invalid(
                $"\"{name}\" includes invalid characters for a local volume name, only \"[a-zA-Z0-9][a-zA-Z0-9_.-]\" are allowed. If you intended to pass a host directory, use absolute path");
    }

    private static BerthException InvalidSpec(string raw) => BerthException.Invalid($"invalid volume specification: '{raw}'");

    private static BerthException MountConfig(MountSpec m, string error) =>
        BerthException.Invalid($"invalid mount config for type \"{m.Type ?? ""}\": {error}");

    /// <summary>dockerd's validateMountConfig.</summary>
    public static void Validate(MountSpec m, bool validateBindSourceExists)
    {
        var target = m.Target ?? "";
        if (target.Length == 0) throw MountConfig(m, "field Target must not be empty");
        if (CleanPath(target) == "/") throw MountConfig(m, TargetIsRoot);
        if (!target.StartsWith('/')) throw MountConfig(m, $"invalid mount path: '{target}' mount path must be absolute");
        switch (m.Type)
        {
            case "bind":
                if (string.IsNullOrEmpty(m.Source)) throw MountConfig(m, "field Source must not be empty");
                if (m.BindOptions?.Propagation is { Length: > 0 } p && !PropagationModes.Contains(p))
                    throw MountConfig(m, $"invalid propagation mode: {p}");
                if (m.VolumeOptions is not null) throw MountConfig(m, "field VolumeOptions must not be specified");
                if (!m.Source.StartsWith('/')) throw MountConfig(m, $"invalid mount path: '{m.Source}' mount path must be absolute");
                if (validateBindSourceExists && !Path.Exists(m.Source))
                    throw MountConfig(m, $"bind source path does not exist: {m.Source}");
                break;
            case "volume":
                if (m.BindOptions is not null) throw MountConfig(m, "field BindOptions must not be specified");
                if (m.ReadOnly && string.IsNullOrEmpty(m.Source)) throw MountConfig(m, "must not set ReadOnly mode when using anonymous volumes");
                break;
            case "tmpfs":
                if (m.BindOptions is not null) throw MountConfig(m, "field BindOptions must not be specified");
                if (!string.IsNullOrEmpty(m.Source)) throw MountConfig(m, "field Source must not be specified");
                break;
            default:
                throw MountConfig(m, "mount type unknown");
        }
    }

    private static MountPoint FromSpec(MountSpec spec, bool validateBindSourceExists)
    {
        Validate(spec, validateBindSourceExists);
        var mp = new MountPoint { RW = !spec.ReadOnly, Destination = CleanPath(spec.Target!), Type = spec.Type!, Spec = spec.Clone() };
        switch (spec.Type)
        {
            case "volume":
                mp.Name = spec.Source ?? "";
                mp.Anonymous = mp.Name.Length == 0;
                mp.CopyData = spec.VolumeOptions?.NoCopy != true;
                mp.Driver = spec.VolumeOptions?.DriverConfig?.Name ?? "";
                break;
            case "bind":
                mp.Source = CleanPath(spec.Source!);
                mp.Propagation = spec.BindOptions?.Propagation is { Length: > 0 } p ? p : DefaultPropagation;
                break;
            case "tmpfs":
                mp.TmpfsData = TmpfsData(spec.TmpfsOptions, spec.ReadOnly);
                break;
        }
        return mp;
    }

    /// <summary>dockerd's ConvertTmpfsOptions: "ro", "mode=%o", "size=N[kmg]" (the largest unit that divides).</summary>
    public static string TmpfsData(MountTmpfsOptions? o, bool readOnly)
    {
        var raw = new List<string>();
        if (readOnly) raw.Add("ro");
        if (o is { Mode: not 0 }) raw.Add("mode=" + Convert.ToString(o.Mode, 8));
        if (o is { SizeBytes: not 0 })
        {
            long size = o.SizeBytes;
            string suffix = "";
            foreach (var (s, d) in new[] { ("g", 1L << 30), ("m", 1L << 20), ("k", 1L << 10) })
            {
                if (size % d == 0)
                {
                    size /= d;
                    suffix = s;
                    break;
                }
            }
            raw.Add("size=" + size.ToString(CultureInfo.InvariantCulture) + suffix);
        }
        return string.Join(',', raw);
    }

    private static readonly HashSet<string> TmpfsDataKeys = ["size", "mode", "uid", "gid", "nr_inodes", "nr_blocks", "mpol"];

    /// <summary>The flag an option sets or clears (options that touch the same flag collide); 0 for none.</summary>
    private static ulong FlagKey(string option) => option switch
    {
        "ro" or "rw" => 1, "suid" or "nosuid" => 2, "dev" or "nodev" => 4, "exec" or "noexec" => 8, "sync" or "async" => 16,
        "remount" => 32, "mand" or "nomand" => 64, "dirsync" => 128, "atime" or "noatime" => 1024,
        "diratime" or "nodiratime" => 2048, "bind" => 4096, "rbind" => 4096 | 16384,
        "private" or "rprivate" or "shared" or "rshared" or "slave" or "rslave" or "unbindable" or "runbindable" => ulong.MaxValue,
        "relatime" or "norelatime" => 1 << 21, "strictatime" or "nostrictatime" => 1 << 24,
        _ => 0,
    };

    /// <summary>
    /// Docker's tmpfs options (mount.MergeTmpfsOptions): "noexec,nosuid,nodev" and rprivate, then the user's; a later
    /// option wins over an earlier one on the same flag or data key ("exec" over "noexec", the last "size=").
    /// </summary>
    public static List<string> TmpfsOptions(string data)
    {
        var options = new List<string> { "noexec", "nosuid", "nodev", DefaultPropagation };
        if (data.Length > 0) options.AddRange(data.Split(','));
        var flags = new HashSet<ulong>();
        var keys = new HashSet<string>(StringComparer.Ordinal);
        var merged = new List<string>();
        for (int i = options.Count - 1; i >= 0; i--)
        {
            var o = options[i];
            if (o == "defaults") continue;
            var f = FlagKey(o);
            if (f != 0)
            {
                if (flags.Add(f)) merged.Insert(0, o);
                continue;
            }
            var kv = o.Split('=', 2);
            if (kv.Length != 2 || !TmpfsDataKeys.Contains(kv[0]))
                throw BerthException.Invalid($"Invalid tmpfs option [{string.Join(' ', kv.Select(x => $"\"{x}\""))}]");
            if (keys.Add(kv[0])) merged.Insert(0, o);
        }
        return merged;
    }

    /// <summary>Go's path.Clean.</summary>
    public static string CleanPath(string p)
    {
        if (p.Length == 0) return ".";
        bool rooted = p.StartsWith('/');
        var parts = new List<string>();
        foreach (var part in p.Split('/'))
        {
            if (part is "" or ".") continue;
            if (part == "..")
            {
                if (parts.Count > 0 && parts[^1] != "..") parts.RemoveAt(parts.Count - 1);
                else if (!rooted) parts.Add("..");
                continue;
            }
            parts.Add(part);
        }
        var s = string.Join('/', parts);
        return rooted ? "/" + s : s.Length == 0 ? "." : s;
    }
}
