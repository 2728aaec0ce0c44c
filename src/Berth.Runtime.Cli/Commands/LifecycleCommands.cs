using Berth.Runtime.Lifecycle;

namespace Berth.Runtime.Cli.Commands;

/// <summary>create, start, run, kill, delete.</summary>
public static class LifecycleCommands
{
    private static readonly string[] CreateValues = ["bundle|b", "console-socket", "pid-file", "preserve-fds"];
    private static readonly string[] CreateBools = ["no-pivot", "no-new-keyring"];

    private static CreateOptions CreateOptionsOf(Args a) => new()
    {
        ConsoleSocket = a.Value("console-socket"),
        PidFile = a.Value("pid-file"),
        PreserveFds = a.Int("preserve-fds", 0),
    };

    public static int Create(RuntimeOptions o, List<string> argv)
    {
        var a = Args.Parse(argv, CreateValues, CreateBools);
        var id = a.ContainerId("create");
        Container.Create(o, id, a.Value("bundle") ?? Directory.GetCurrentDirectory(), CreateOptionsOf(a)).CreatedSpawnerDispose();
        return 0;
    }

    public static int RunContainer(RuntimeOptions o, List<string> argv)
    {
        var a = Args.Parse(argv, CreateValues, [.. CreateBools, "detach|d", "keep"]);
        var id = a.ContainerId("run");
        return Container.Run(o, id, a.Value("bundle") ?? Directory.GetCurrentDirectory(), CreateOptionsOf(a), a.Has("detach"));
    }

    public static int Start(RuntimeOptions o, List<string> argv)
    {
        var a = Args.Parse(argv, [], []);
        Container.Load(o, a.ContainerId("start")).Start();
        return 0;
    }

    public static int Kill(RuntimeOptions o, List<string> argv)
    {
        var a = Args.Parse(argv, [], ["all|a"]);
        var id = a.ContainerId("kill");
        int sig = a.Positionals.Count > 1 ? Signals.Parse(a.Positionals[1]) : Interop.Libc.SIGTERM;
        Container.Load(o, id).Kill(sig, a.Has("all"));
        return 0;
    }

    public static int Delete(RuntimeOptions o, List<string> argv)
    {
        var a = Args.Parse(argv, [], ["force|f"]);
        var id = a.ContainerId("delete");
        Container c;
        try
        {
            c = Container.Load(o, id);
        }
        catch (Core.BerthException e) when (e.Kind == Core.ErrorKind.NotFound && a.Has("force"))
        {
            return 0; // runc: delete --force of a missing container succeeds
        }
        c.Delete(a.Has("force"));
        return 0;
    }
}
