using Berth.Api.Containers;
using Berth.Core;
using Berth.Engine.Containers.Create;

namespace Berth.Engine.Containers;

public sealed partial class ContainerManager
{
    /// <summary>
    /// After a daemon restart (or crash): containers that ran are watched again (their monitors kept running);
    /// a start that a crash cut short (a "created" container with run-time state: a monitor and init waiting on
    /// exec.fifo, its cgroup, its mount) is undone; run-time state and directories that belong to no container
    /// are removed.
    /// </summary>
    private void Recover()
    {
        var known = new HashSet<string>(StringComparer.Ordinal);
        var running = new HashSet<string>(StringComparer.Ordinal);
        foreach (var c in Store.List())
        {
            known.Add(c.Id);
            EntryOf(c.Id);
            if (c.LegacyCreateRequestJson is not null) Migrate(c);
            if (c.State.Running)
            {
                running.Add(c.Id);
                _ = WatchExitAsync(c.Id);
            }
            else if (Directory.Exists(StateDir(c.Id)) || Directory.Exists(Path.Combine(RuntimeRoot, c.Id)))
            {
                TearDownRunState(c.Id);
            }
        }
        var states = Path.Combine(_options.ExecRoot, "containers");
        if (Directory.Exists(states))
            foreach (var d in Directory.GetDirectories(states))
                if (!known.Contains(Path.GetFileName(d))) TearDownRunState(Path.GetFileName(d));
        if (Directory.Exists(RuntimeRoot))
            foreach (var d in Directory.GetDirectories(RuntimeRoot))
                if (!known.Contains(Path.GetFileName(d))) TearDownRunState(Path.GetFileName(d));
        // Endpoints and sandboxes of containers that do not run any more are released; the others kept.
        _networks?.Reconcile(running);
        ResumeResolvers();
        foreach (var c in Store.List())
        {
            if (c.State.Running || !c.Networks.Values.Any(s => s.EndpointID != "")) continue;
            foreach (var s in c.Networks.Values) s.Clear();
            TryCleanup(() => Store.Save(c));
        }
        CleanExecLeftovers();
        foreach (var orphan in Store.OrphanDirectories())
        {
            TryCleanup(() => _rootfs.Unmount(orphan));
            TryCleanup(() => _rootfs.Remove(orphan));
            TryCleanup(() => Directory.Delete(Store.DirectoryOf(orphan), recursive: true));
        }
    }

    /// <summary>
    /// A record written before the typed config (the raw create body): its config is read from that body, merged
    /// with its image's defaults and dockerd's, and the record saved in the current form. A body that does not
    /// read any more keeps the image reference alone (inspect then shows an empty config, and start says why).
    /// </summary>
    private void Migrate(ContainerRecord c)
    {
        try
        {
            var body = CreateBodyParser.Parse(System.Text.Encoding.UTF8.GetBytes(c.LegacyCreateRequestJson!));
            c.Config = body.ToConfig();
            c.HostConfig = body.HostConfig ?? new HostConfig();
            try { ConfigMerge.WithImage(c.Config, _images.Resolve(c.Image).Defaults); }
            catch (BerthException) { }
            HostConfigDefaults.Apply(c.HostConfig, _options.CgroupV2);
        }
        catch (BerthException)
        {
            c.Config = new ContainerConfig { Image = c.ImageRef };
        }
        if (string.IsNullOrEmpty(c.Config.Image)) c.Config.Image = c.ImageRef;
        c.Config.Labels ??= [];
        c.LegacyCreateRequestJson = null;
        TryCleanup(() => Store.Save(c));
    }

    /// <summary>
    /// Execs live in memory: after a restart every &lt;exec-root&gt;/exec/&lt;id&gt; is a leftover. A directory whose
    /// monitor is gone is deleted now; one whose exec is still running (its monitor alive) when its monitor ends.
    /// </summary>
    private void CleanExecLeftovers()
    {
        var execs = Path.Combine(_options.ExecRoot, "exec");
        if (!Directory.Exists(execs)) return;
        foreach (var dir in Directory.GetDirectories(execs))
        {
            int pid = 0;
            try { _ = int.TryParse(File.ReadAllText(Path.Combine(dir, "monitor.pid")).Trim(), out pid); }
            catch (IOException) { }
            if (pid > 0 && Berth.Interop.Libc.kill(pid, 0) == 0)
            {
                _ = Task.Run(async () =>
                {
                    await Berth.Interop.ProcessExit.WaitAsync(pid, TimeSpan.FromDays(3650));
                    TryCleanup(() => Directory.Delete(dir, recursive: true));
                });
                continue;
            }
            TryCleanup(() => Directory.Delete(dir, recursive: true));
        }
    }

    /// <summary>A container's run-time state without its writable layer (which a created container keeps).</summary>
    private void TearDownRunState(string id) => UndoRunStateAsync(id, CancellationToken.None).GetAwaiter().GetResult();
}
