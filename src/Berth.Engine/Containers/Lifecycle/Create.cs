using Berth.Core;
using Berth.Engine.Containers.Create;
using Berth.Engine.Specs;

namespace Berth.Engine.Containers;

public sealed partial class ContainerManager
{
    /// <summary>
    /// docker create: checks the request (every field honoured or refused, values as dockerd checks them), merges
    /// the image's defaults into the config, reserves the name, writes the etc files and the writable layer, and
    /// records the container. A failure leaves nothing behind.
    /// </summary>
    public CreateResult Create(CreateInput input)
    {
        var config = input.Config;
        var host = input.HostConfig;
        var warnings = CreateCheck.Validate(config, host, input.NetworkingConfig);
        if (string.IsNullOrEmpty(config.Image)) throw BerthException.Invalid("No image specified");
        var (imageId, defaults) = _images.Resolve(config.Image);
        CheckPlatform(input.Platform, config.Image, defaults);
        ConfigMerge.WithImage(config, defaults);
        HostConfigDefaults.Apply(host, _options.CgroupV2);
        if (host.Init == true) _ = InitBinary();
        var mounts = PlanMounts(config, host);
        var networks = NetworksAtCreate(config, host, input.NetworkingConfig);
        CheckLinksAtCreate(host);
        if (host.Privileged && DockerSpec.CapabilitiesMissingFromHost() is { Count: > 0 } missing)
            warnings.Add($"Privileged: the host's capability bounding set lacks {string.Join(", ", missing)}: the container gets every other capability");

        var id = ContainerStore.NewId();
        var record = new ContainerRecord
        {
            Id = id, Created = DateTime.UtcNow, Image = imageId, ImageRef = config.Image, Config = config, HostConfig = host,
            MountPoints = mounts,
            Networks = networks,
        };
        // Build the spec now, so that a bad request fails at create as with Docker (with a throwaway rootfs path).
        var probe = DockerSpec.Build(ConfigMerge.ToSpecInput(record, "/nonexistent", null, SpecMounts(record, start: false)), new ImageDefaults(),
            _options.CgroupV2, resolveUser: false);
        record.Path = probe.Process!.Args![0];
        record.Args = probe.Process.Args.Skip(1).ToList();
        // --network host: the host's name, as dockerd gives it.
        if (string.IsNullOrEmpty(config.Hostname) && host.NetworkMode == "host") config.Hostname = EtcFiles.HostHostname();
        if (string.IsNullOrEmpty(config.Hostname)) config.Hostname = id[..12];

        record = Store.Add(record, input.Name);
        var madeVolumes = new List<string>();
        try
        {
            NormalizeLinks(record);
            record.LogPath = host.LogConfig.Type == "none" ? "" : Path.Combine(Store.DirectoryOf(id), id + "-json.log");
            EtcFiles.Write(Store.DirectoryOf(id), record, probe.Hostname!, _networks?.HostGatewayIp);
            _rootfs.Prepare(id, imageId);
            CreateVolumes(id, record.MountPoints, madeVolumes);
            Store.Save(record);
        }
        catch
        {
            TryCleanup(() => _rootfs.Unmount(id));
            TryCleanup(() => _rootfs.Remove(id));
            Store.Remove(id);
            foreach (var v in madeVolumes) TryCleanup(() => _volumes.RemoveIfUnused(v));
            throw;
        }
        EntryOf(id);
        Publish(record, "create");
        return new CreateResult(record, warnings);
    }

    /// <summary>A platform that the image is not for is refused (Berth pulls nothing: there is no other variant).</summary>
    private static void CheckPlatform(string? platform, string reference, ImageDefaults image)
    {
        if (string.IsNullOrEmpty(platform)) return;
        var parts = platform.ToLowerInvariant().Split('/');
        string os = parts[0], arch = parts.Length > 1 ? parts[1] : image.Architecture;
        arch = arch switch { "x86_64" or "x86-64" => "amd64", "aarch64" => "arm64", _ => arch };
        if (os != image.Os || arch != image.Architecture)
            throw BerthException.Invalid(
                $"image with reference {reference} was found but does not match the specified platform: wanted {platform}, actual: {image.Os}/{image.Architecture}");
    }
}
