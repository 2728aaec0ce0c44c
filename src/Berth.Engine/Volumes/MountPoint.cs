using Berth.Api.Containers;

namespace Berth.Engine.Volumes;

/// <summary>
/// One mount of a container as its record keeps it (Docker's MountPoint, container.MountPoints): a bind, a volume or
/// a `--mount type=tmpfs`, resolved at create. inspect's Mounts shows Type, Name, Source, Destination, Driver, Mode,
/// RW and Propagation; the rest is what start and remove need.
/// </summary>
public sealed class MountPoint
{
    /// <summary>"bind", "volume" or "tmpfs".</summary>
    public string Type { get; set; } = "";

    /// <summary>The volume's name (64 hex digits for an anonymous one); "" for a bind or a tmpfs.</summary>
    public string Name { get; set; } = "";

    /// <summary>The host path: a bind's source as given (cleaned), a volume's mountpoint; "" for a tmpfs.</summary>
    public string Source { get; set; } = "";
    public string Destination { get; set; } = "";
    public string Driver { get; set; } = "";

    /// <summary>The options the user gave in `-v` (Docker's Mode: "ro", "z", "rw,shared"...); "z" for a local
    /// volume given without any, as dockerd records it.</summary>
    public string Mode { get; set; } = "";
    public bool RW { get; set; } = true;
    public string Propagation { get; set; } = "";

    /// <summary>A volume made for this container (`-v /path`, an image VOLUME, `--mount type=volume` without a
    /// source): `rm -v` and `--rm` remove it.</summary>
    public bool Anonymous { get; set; }

    /// <summary>The image's content at the destination is copied into a new empty volume (not with nocopy).</summary>
    public bool CopyData { get; set; }

    /// <summary>A bind of `--mount`: its source must exist (never created).</summary>
    public bool SkipMountpointCreation { get; set; }

    /// <summary>tmpfs mount data (`--mount type=tmpfs`: "size=1m,mode=1777").</summary>
    public string TmpfsData { get; set; } = "";

    /// <summary>The request this mount came from (Docker's MountPoint.Spec).</summary>
    public MountSpec Spec { get; set; } = new();

    public MountPoint Clone() => new()
    {
        Type = Type, Name = Name, Source = Source, Destination = Destination, Driver = Driver, Mode = Mode, RW = RW,
        Propagation = Propagation, Anonymous = Anonymous, CopyData = CopyData, SkipMountpointCreation = SkipMountpointCreation,
        TmpfsData = TmpfsData, Spec = Spec.Clone(),
    };
}
