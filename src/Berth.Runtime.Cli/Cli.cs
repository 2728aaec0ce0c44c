using System.Text.Json;
using Berth.Core;
using Berth.Runtime.Cli.Commands;
using Berth.Runtime.Lifecycle;

namespace Berth.Runtime.Cli;

/// <summary>berth-runtime: runc's command line over Berth.Runtime.</summary>
public static class Cli
{
    private const string Usage = """
        NAME:
           berth-runtime - an OCI container runtime (runc-compatible command line)

        USAGE:
           berth-runtime [global options] command [command options] [arguments...]

        COMMANDS:
           create   create a container
           start    executes the user defined process in a created container
           run      create and run a container
           state    output the state of a container
           kill     kill sends the specified signal (default: SIGTERM) to the container's init process
           delete   delete any resources held by the container often used with detached container
           exec     execute new process inside the container
           ps       ps displays the processes running inside a container
           list     lists containers started by berth-runtime with the given root
           events   display container events such as OOM notifications, cpu, memory, and IO usage statistics
           spec     create a new specification file

        GLOBAL OPTIONS:
           --root value        root directory for storage of container state (default: "/run/berth-runtime")
           --log value         set the log file to write berth-runtime logs to (default is '/dev/stderr')
           --log-format value  set the log format ('text' (default), or 'json')
           --debug             enable debug logging
           --version, -v       print the version
           --help, -h          show help
        """;

    public static int Run(string[] argv)
    {
        var log = new Log();
        string verb = "";
        try
        {
            // Global flags come before the verb.
            int i = 0;
            string root = "/run/berth-runtime";
            for (; i < argv.Length && argv[i].StartsWith('-'); i++)
            {
                var a = argv[i];
                string Next() => a.Contains('=') ? a[(a.IndexOf('=') + 1)..]
                    : i + 1 < argv.Length ? argv[++i] : throw new UsageException($"flag needs an argument: {a}");
                var name = a.Split('=')[0].TrimStart('-');
                switch (name)
                {
                    case "root": root = Next(); break;
                    case "log": log.Path = Next(); break;
                    case "log-format": log.Json = Next() == "json"; break;
                    case "debug": case "systemd-cgroup": case "rootless": break;
                    case "criu": Next(); break;
                    case "version": case "v":
                        Console.WriteLine($"berth-runtime version 0.1.0\nnative: {Interop.Native.Version}\nspec: {Container.OciVersion}");
                        return 0;
                    case "help": case "h":
                        Console.WriteLine(Usage);
                        return 0;
                    default: throw new UsageException($"flag provided but not defined: {a}");
                }
            }
            if (i >= argv.Length)
            {
                Console.WriteLine(Usage);
                return 0;
            }
            verb = argv[i];
            var rest = argv.Skip(i + 1).ToList();
            var options = new RuntimeOptions { Root = Path.GetFullPath(root), Warn = log.Warn };
            return verb switch
            {
                "create" => LifecycleCommands.Create(options, rest),
                "start" => LifecycleCommands.Start(options, rest),
                "run" => LifecycleCommands.RunContainer(options, rest),
                "state" => InfoCommands.State(options, rest),
                "kill" => LifecycleCommands.Kill(options, rest),
                "delete" => LifecycleCommands.Delete(options, rest),
                "exec" => ExecCommand.Run(options, rest),
                "ps" => InfoCommands.Ps(options, rest),
                "list" => InfoCommands.List(options, rest),
                "events" => InfoCommands.Events(options, rest),
                "spec" => SpecCommand.Run(rest),
                "help" => PrintHelp(),
                _ => throw new UsageException($"No help topic for '{verb}'"),
            };
        }
        catch (UsageException e)
        {
            log.Error(e.Message);
            return 1;
        }
        catch (ChildException e)
        {
            log.Error($"berth-runtime {verb} failed: unable to start container process: {e.Message}");
            return 1;
        }
        catch (Exception e) when (e is BerthException or JsonException or IOException or UnauthorizedAccessException)
        {
            log.Error(e.Message);
            return 1;
        }
    }

    private static int PrintHelp()
    {
        Console.WriteLine(Usage);
        return 0;
    }
}
