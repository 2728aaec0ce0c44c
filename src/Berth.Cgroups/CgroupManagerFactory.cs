using Berth.Cgroups.V1;
using Berth.Cgroups.V2;

namespace Berth.Cgroups;

/// <summary>Picks the v1 (legacy/hybrid) or v2 manager for the host layout.</summary>
public static class CgroupManagerFactory
{
    /// <summary>
    /// Creates a manager for <paramref name="cgroupsPath"/> (see <see cref="CgroupPaths"/> for the semantics;
    /// empty means "/berth/&lt;containerId&gt;"). <paramref name="root"/> defaults to the host layout (detected once per process).
    /// Nothing is created on disk until <see cref="ICgroupManager.Apply"/>.
    /// </summary>
    public static ICgroupManager Create(string? cgroupsPath, string containerId, CgroupRoot? root = null)
    {
        root ??= CgroupRoot.Host;
        var path = CgroupPaths.Normalize(cgroupsPath, containerId);
        return root.Mode == CgroupMode.Unified
            ? new V2CgroupManager(root, path)
            : new V1CgroupManager(root, path);
    }
}
