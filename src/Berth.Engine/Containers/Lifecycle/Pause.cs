using Berth.Core;
using Berth.Interop;

namespace Berth.Engine.Containers;

public sealed partial class ContainerManager
{
    /// <summary>docker pause: the container's cgroup is frozen (v1 freezer.state FROZEN, v2 cgroup.freeze 1).</summary>
    public async Task PauseAsync(string idOrName)
    {
        var c = Store.Get(idOrName);
        var entry = EntryOf(c.Id);
        await entry.Gate.WaitAsync();
        try
        {
            c = Store.Get(c.Id);
            if (!c.State.Running) throw BerthException.Conflict($"Container {c.Id} is not running");
            if (c.State.Paused) throw BerthException.Conflict($"Container {c.Id} is already paused");
            if (c.State.Restarting) throw BerthException.Conflict($"Container {c.Id} is restarting, wait until the container is running");
            var cgroup = CgroupOf(c) ?? throw new BerthException(ErrorKind.System, $"Cannot pause container {c.Id}: the container's cgroup is not found");
            try { cgroup.Freeze(); }
            catch (Exception e) when (e is BerthException or IOException or UnauthorizedAccessException)
            {
                throw new BerthException(ErrorKind.System, $"Cannot pause container {c.Id}: {e.Message}");
            }
            c.State.Paused = true;
            Store.Save(c, Sync.FileOnly);
            Publish(c, "pause");
        }
        finally
        {
            entry.Gate.Release();
        }
    }

    /// <summary>docker unpause: the cgroup is thawed. As dockerd, one that is not paused is a plain error (500).</summary>
    public async Task UnpauseAsync(string idOrName)
    {
        var c = Store.Get(idOrName);
        var entry = EntryOf(c.Id);
        await entry.Gate.WaitAsync();
        try
        {
            c = Store.Get(c.Id);
            if (!c.State.Paused || !c.State.Running) throw new BerthException(ErrorKind.System, $"Container {c.Id} is not paused");
            try { CgroupOf(c)?.Thaw(); }
            catch (Exception e) when (e is BerthException or IOException or UnauthorizedAccessException)
            {
                throw new BerthException(ErrorKind.System, $"Cannot unpause container {c.Id}: {e.Message}");
            }
            c.State.Paused = false;
            Store.Save(c, Sync.FileOnly);
            Publish(c, "unpause");
        }
        finally
        {
            entry.Gate.Release();
        }
    }

    /// <summary>As dockerd's kill: a signal that ends a paused container (its stop signal, SIGKILL) is delivered
    /// once the container is thawed. Called under the gate.</summary>
    private void ThawForExit(ContainerRecord c)
    {
        if (!c.State.Paused) return;
        TryCleanup(() => CgroupOf(c)?.Thaw());
        c.State.Paused = false;
        TryCleanup(() => Store.Save(c, Sync.FileOnly)); // no unpause event: dockerd's kill resumes silently
    }
}
