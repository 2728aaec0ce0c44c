using Berth.Core;
using Berth.Interop;

namespace Berth.Images;

/// <summary>A layer's original tar, rebuilt from its tar-split and diff (docker save).</summary>
public sealed partial class LayerStore
{
    /// <summary>The uncompressed tar of a layer, byte for byte as it was registered: its length, and a writer.</summary>
    public (long Length, Action<Stream> WriteTo) LayerTar(Digest chainId)
    {
        var info = Get(chainId) ?? throw BerthException.NotFound($"layer {chainId} does not exist");
        var split = Path.Combine(LayerDir(chainId), TarSplit.FileName);
        if (!File.Exists(split))
            throw new BerthException(ErrorKind.NotImplemented,
                $"layer {chainId} was stored before Berth kept layer tar metadata and cannot be exported bit-identically; remove and re-create the image");
        var diffId = Digest.Parse(info.DiffID);
        var dir = DiffDir(chainId);
        return (TarSplit.TarLength(split), output => TarSplit.Write(split, dir, diffId, output));
    }

    /// <summary>Gives an existing layer without a tar-split the one just recorded for the same content.</summary>
    private void AdoptTarSplit(Digest chainId, string recorded)
    {
        var target = Path.Combine(LayerDir(chainId), TarSplit.FileName);
        if (File.Exists(target) || !File.Exists(recorded)) return;
        File.Move(recorded, target);
        AtomicFile.FsyncDirectory(LayerDir(chainId));
    }
}
