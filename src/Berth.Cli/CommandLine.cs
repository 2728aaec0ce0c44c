using System.Text;
using Berth.Cli.Commands;
using Berth.Cli.Http;

namespace Berth.Cli;

/// <summary>
/// A command as docker's CLI defines it: the paths it answers to ("container ls", "ps", ...; the first is its
/// canonical one), its usage line and description, its flags, how many arguments it takes, and what it runs.
/// --help, the usage errors and the help listings all come from this one table.
/// </summary>
internal sealed record CommandSpec(string[] Paths, string Usage, string Description, Flag[] Flags, int Min, int Max,
                                   Func<Invocation, int> Run, bool Interspersed = true);

/// <summary>A parsed command line: the command, the path it was called by ("berth container ls"), its arguments.</summary>
internal sealed class Invocation(CommandSpec spec, string path, Args args, string? host)
{
    private EngineClient? _api;
    public CommandSpec Spec { get; } = spec;
    public string Path { get; } = path;
    public Args Args { get; } = args;
    public EngineClient Api => _api ??= new EngineClient(Hosts.SocketFromEnvironment(host), "berth-cli/0.1.0");
    public string UseLine => Path + " " + Spec.Usage;

    /// <summary>docker's usage error (exit 1 for argument counts, 125 for flags): the message, where help is, the usage.</summary>
    public CliException UsageError(string message, int exitCode = 1) =>
        new($"{message}\nSee '{Path} --help'.\n\nUsage:  {UseLine}\n\n{Spec.Description}", exitCode);
}

internal static class CommandLine
{
    private const string FormatHelpTable = """
        Format output using a custom template:
        'table':            Print output in table format with column headers (default)
        'table TEMPLATE':   Print output in table format using the given Go template
        'json':             Print in JSON format
        'TEMPLATE':         Print output using the given Go template.
        Refer to https://docs.docker.com/go/formatting/ for more information about formatting output with templates
        """;

    private const string FormatHelpInspect = """
        Format output using a custom template:
        'json':             Print in JSON format
        'TEMPLATE':         Print output using the given Go template.
        Refer to https://docs.docker.com/go/formatting/ for more information about formatting output with templates
        """;

    private const string DetachKeysHelp = "Override the key sequence for detaching a container";

    private static Flag[] RunFlags(bool create)
    {
        var flags = new List<Flag>
        {
            new("cpus", '\0', "decimal", "Number of CPUs"),
            new("entrypoint", '\0', "string", "Overwrite the default ENTRYPOINT of the image"),
            new("env", 'e', "list", "Set environment variables"),
            new("env-file", '\0', "list", "Read in a file of environment variables"),
            new("hostname", 'h', "string", "Container host name"),
            new("interactive", 'i', null, "Keep STDIN open even if not attached"),
            new("label", 'l', "list", "Set meta data on a container"),
            new("memory", 'm', "bytes", "Memory limit"),
            new("name", '\0', "string", "Assign a name to the container"),
            new("network", '\0', "network", "Connect a container to a network"),
            new("pids-limit", '\0', "int", "Tune container pids limit (set -1 for unlimited)"),
            new("rm", '\0', null, "Automatically remove the container and its associated anonymous volumes when it exits"),
            new("tty", 't', null, "Allocate a pseudo-TTY"),
            new("user", 'u', "string", "Username or UID (format: <name|uid>[:<group|gid>])"),
            new("workdir", 'w', "string", "Working directory inside the container"),
            new("volume", 'v', "list", "Bind mount a volume"),
            new("mount", '\0', "mount", "Attach a filesystem mount to the container"),
            new("tmpfs", '\0', "list", "Mount a tmpfs directory"),
            new("volumes-from", '\0', "list", "Mount volumes from the specified container(s)"),
            new("read-only", '\0', null, "Mount the container's root filesystem as read only"),
            new("publish", 'p', "list", "Publish a container's port(s) to the host"),
            new("publish-all", 'P', null, "Publish all exposed ports to random ports"),
            new("expose", '\0', "list", "Expose a port or a range of ports"),
        };
        flags.AddRange(RunIsolationFlags.Flags);
        flags.AddRange(RunResourceFlags.Flags);
        if (!create)
        {
            flags.Add(new("detach", 'd', null, "Run container in background and print container ID"));
            flags.Add(new("detach-keys", '\0', "string", DetachKeysHelp));
            flags.Add(new("sig-proxy", '\0', null, "Proxy received signals to the process", "true"));
        }
        return [.. flags.OrderBy(f => f.Long, StringComparer.Ordinal)];
    }

    private static readonly Flag FormatFlag = new("format", '\0', "string", FormatHelpTable);

    /// <summary>Every command berth has, with docker's paths, usage lines, descriptions and flags.</summary>
    public static readonly CommandSpec[] Commands =
    [
        new(["container attach", "attach"], "[OPTIONS] CONTAINER", "Attach local standard input, output, and error streams to a running container",
            [new("detach-keys", '\0', "string", DetachKeysHelp), new("no-stdin", '\0', null, "Do not attach STDIN"),
             new("sig-proxy", '\0', null, "Proxy all received signals to the process", "true")],
            1, 1, ContainerCommands.Attach),
        new(["container exec", "exec"], "[OPTIONS] CONTAINER COMMAND [ARG...]", "Execute a command in a running container",
            [new("detach", 'd', null, "Detached mode: run command in the background"), new("detach-keys", '\0', "string", DetachKeysHelp),
             new("env", 'e', "list", "Set environment variables"), new("env-file", '\0', "list", "Read in a file of environment variables"),
             new("interactive", 'i', null, "Keep STDIN open even if not attached"), new("privileged", '\0', null, "Give extended privileges to the command"),
             new("tty", 't', null, "Allocate a pseudo-TTY"), new("user", 'u', "string", "Username or UID (format: \"<name|uid>[:<group|gid>]\")"),
             new("workdir", 'w', "string", "Working directory inside the container")],
            2, -1, ExecCommand.Run, Interspersed: false),
        new(["container create", "create"], "[OPTIONS] IMAGE [COMMAND] [ARG...]", "Create a new container",
            RunFlags(create: true), 1, -1, i => ContainerCommands.Run(i, create: true), Interspersed: false),
        new(["container inspect"], "[OPTIONS] CONTAINER [CONTAINER...]", "Display detailed information on one or more containers",
            [new("format", 'f', "string", FormatHelpInspect), new("size", 's', null, "Display total file sizes")],
            1, -1, i => ContainerCommands.Inspect(i, "container")),
        new(["container kill", "kill"], "[OPTIONS] CONTAINER [CONTAINER...]", "Kill one or more running containers",
            [new("signal", 's', "string", "Signal to send to the container")], 1, -1, i => ContainerCommands.Each(i, "kill")),
        new(["container logs", "logs"], "[OPTIONS] CONTAINER", "Fetch the logs of a container",
            [new("details", '\0', null, "Show extra details provided to logs"), new("follow", 'f', null, "Follow log output"),
             new("since", '\0', "string", "Show logs since timestamp (e.g. \"2013-01-02T13:23:37Z\") or relative (e.g. \"42m\" for 42 minutes)"),
             new("tail", 'n', "string", "Number of lines to show from the end of the logs", "\"all\""),
             new("timestamps", 't', null, "Show timestamps"),
             new("until", '\0', "string", "Show logs before a timestamp (e.g. \"2013-01-02T13:23:37Z\") or relative (e.g. \"42m\" for 42 minutes)")],
            1, 1, ContainerCommands.Logs),
        new(["container ls", "container list", "container ps", "ps"], "[OPTIONS]", "List containers",
            [new("all", 'a', null, "Show all containers (default shows just running)"),
             new("filter", 'f', "filter", "Filter output based on conditions provided"), FormatFlag,
             new("last", 'n', "int", "Show n last created containers (includes all states)", "-1"),
             new("latest", 'l', null, "Show the latest created container (includes all states)"),
             new("no-trunc", '\0', null, "Don't truncate output"), new("quiet", 'q', null, "Only display container IDs"),
             new("size", 's', null, "Display total file sizes")],
            0, 0, ContainerCommands.Ps),
        new(["container restart", "restart"], "[OPTIONS] CONTAINER [CONTAINER...]", "Restart one or more containers",
            [new("timeout", 't', "int", "Seconds to wait before killing the container"),
             new("time", '\0', "int", "Seconds to wait before killing the container (deprecated: use --timeout)", Hidden: true)],
            1, -1, i => ContainerCommands.Each(i, "restart")),
        new(["container rm", "container remove", "rm"], "[OPTIONS] CONTAINER [CONTAINER...]", "Remove one or more containers",
            [new("force", 'f', null, "Force the removal of a running container (uses SIGKILL)"),
             new("volumes", 'v', null, "Remove anonymous volumes associated with the container")],
            1, -1, i => ContainerCommands.Each(i, "rm")),
        new(["container run", "run"], "[OPTIONS] IMAGE [COMMAND] [ARG...]", "Create and run a new container from an image",
            RunFlags(create: false), 1, -1, i => ContainerCommands.Run(i, create: false), Interspersed: false),
        new(["container start", "start"], "[OPTIONS] CONTAINER [CONTAINER...]", "Start one or more stopped containers",
            [new("attach", 'a', null, "Attach STDOUT/STDERR and forward signals"), new("detach-keys", '\0', "string", DetachKeysHelp),
             new("interactive", 'i', null, "Attach container's STDIN")],
            1, -1, ContainerCommands.Start),
        new(["container stop", "stop"], "[OPTIONS] CONTAINER [CONTAINER...]", "Stop one or more running containers",
            [new("timeout", 't', "int", "Seconds to wait before killing the container"),
             new("time", '\0', "int", "Seconds to wait before killing the container (deprecated: use --timeout)", Hidden: true)],
            1, -1, i => ContainerCommands.Each(i, "stop")),
        new(["container pause", "pause"], "CONTAINER [CONTAINER...]", "Pause all processes within one or more containers",
            [], 1, -1, i => ContainerCommands.Each(i, "pause")),
        new(["container unpause", "unpause"], "CONTAINER [CONTAINER...]", "Unpause all processes within one or more containers",
            [], 1, -1, i => ContainerCommands.Each(i, "unpause")),
        new(["container port", "port"], "CONTAINER [PRIVATE_PORT[/PROTO]]", "List port mappings or a specific mapping for the container",
            [], 1, 2, RunPortFlags.Port),
        new(["container rename", "rename"], "CONTAINER NEW_NAME", "Rename a container", [], 2, 2, OperationCommands.Rename),
        new(["container top", "top"], "CONTAINER [ps OPTIONS]", "Display the running processes of a container", [], 1, -1, OperationCommands.Top,
            Interspersed: false),
        new(["container stats", "stats"], "[OPTIONS] [CONTAINER...]", "Display a live stream of container(s) resource usage statistics",
            [new("all", 'a', null, "Show all containers (default shows just running)"),
             new("no-stream", '\0', null, "Disable streaming stats and only pull the first result")],
            0, -1, OperationCommands.Stats),
        new(["system events", "events"], "[OPTIONS]", "Get real time events from the server",
            [new("filter", 'f', "filter", "Filter output based on conditions provided"), new("format", '\0', "string", "Format the output using the given Go template"),
             new("since", '\0', "string", "Show all events created since timestamp"), new("until", '\0', "string", "Stream events until this timestamp")],
            0, 0, OperationCommands.Events),
        new(["container wait", "wait"], "CONTAINER [CONTAINER...]", "Block until one or more containers stop, then print their exit codes",
            [], 1, -1, ContainerCommands.Wait),
        new(["image import", "import"], "[OPTIONS] file|URL|- [REPOSITORY[:TAG]]", "Import the contents from a tarball to create a filesystem image",
            [new("change", 'c', "list", "Apply Dockerfile instruction to the created image"), new("message", 'm', "string", "Set commit message for imported image")],
            1, 2, ImageCommands.Import),
        new(["image inspect"], "[OPTIONS] IMAGE [IMAGE...]", "Display detailed information on one or more images",
            [new("format", 'f', "string", FormatHelpInspect)], 1, -1, i => ContainerCommands.Inspect(i, "image")),
        new(["image ls", "image list", "images"], "[OPTIONS] [REPOSITORY[:TAG]]", "List images",
            [new("all", 'a', null, "Show all images (default hides intermediate images)"), FormatFlag,
             new("no-trunc", '\0', null, "Don't truncate output"), new("quiet", 'q', null, "Only show image IDs")],
            0, 1, ImageCommands.Images),
        new(["image rm", "image remove", "rmi"], "[OPTIONS] IMAGE [IMAGE...]", "Remove one or more images",
            [new("force", 'f', null, "Force removal of the image"), new("no-prune", '\0', null, "Do not delete untagged parents")],
            1, -1, ImageCommands.Rmi),
        new(["image tag", "tag"], "SOURCE_IMAGE[:TAG] TARGET_IMAGE[:TAG]", "Create a tag TARGET_IMAGE that refers to SOURCE_IMAGE",
            [], 2, 2, ImageCommands.Tag),
        new(["inspect"], "[OPTIONS] NAME|ID [NAME|ID...]", "Return low-level information on Berth objects",
            [new("format", 'f', "string", FormatHelpInspect), new("size", 's', null, "Display total file sizes if the type is container"),
             new("type", '\0', "string", "Only inspect objects of the given type")],
            1, -1, i => ContainerCommands.Inspect(i, null)),
        new(["system df"], "[OPTIONS]", "Show Berth disk usage",
            [FormatFlag,
             new("verbose", 'v', null, "Show detailed information on space usage")],
            0, 0, SystemDiskCommands.Df),
        new(["system prune"], "[OPTIONS]", "Remove unused data",
            [new("all", 'a', null, "Remove all unused images not just dangling ones"),
             new("filter", '\0', "filter", "Provide filter values (e.g. \"label=<key>=<value>\")"),
             new("force", 'f', null, "Do not prompt for confirmation"),
             new("volumes", '\0', null, "Prune volumes")],
            0, 0, SystemDiskCommands.Prune),
        new(["system info", "info"], "[OPTIONS]", "Display system-wide information",
            [new("format", 'f', "string", FormatHelpInspect)], 0, 0, SystemCommands.Info),
        new(["volume create"], "[OPTIONS] [VOLUME]", "Create a volume",
            [new("driver", 'd', "string", "Specify volume driver name", "local"), new("label", '\0', "list", "Set metadata for a volume"),
             new("name", '\0', "string", "Specify volume name", Hidden: true), new("opt", 'o', "list", "Set driver specific options")],
            0, 1, VolumeCommands.Create),
        new(["volume export"], "[OPTIONS] VOLUME", "Export the data of a volume to a tar archive (STDOUT by default)",
            [new("output", 'o', "string", "Write to a file, instead of STDOUT")], 1, 1, VolumeCommands.Export),
        new(["volume import"], "VOLUME [SOURCE]", "Import a tar archive (a file, or STDIN by default) into a volume",
            [], 1, 2, VolumeCommands.Import),
        new(["volume inspect"], "[OPTIONS] VOLUME [VOLUME...]", "Display detailed information on one or more volumes",
            [new("format", 'f', "string", FormatHelpInspect)], 1, -1, VolumeCommands.Inspect),
        new(["volume ls", "volume list"], "[OPTIONS]", "List volumes",
            [new("filter", 'f', "filter", "Provide filter values (e.g. 'dangling=true')"), FormatFlag,
             new("quiet", 'q', null, "Only display volume names")],
            0, 0, VolumeCommands.Ls),
        new(["volume prune"], "[OPTIONS]", "Remove all unused local volumes",
            [new("filter", '\0', "filter", "Provide filter values (e.g. 'label=<label>')"), new("force", 'f', null, "Do not prompt for confirmation")],
            0, 0, VolumeCommands.Prune),
        new(["volume rm", "volume remove"], "[OPTIONS] VOLUME [VOLUME...]", "Remove one or more volumes",
            [new("force", 'f', null, "Force the removal of one or more volumes")],
            1, -1, VolumeCommands.Rm),
        new(["version", "system version"], "[OPTIONS]", "Show the Berth version information",
            [new("format", 'f', "string", FormatHelpInspect)], 0, 0, SystemCommands.Version),
    ];

    /// <summary>The management commands: a group name and its description.</summary>
    public static readonly (string Name, string Description)[] Groups =
        [("container", "Manage containers"), ("image", "Manage images"), ("system", "Manage Berth"), ("volume", "Manage volumes")];

    /// <summary>
    /// Runs the command at argv[start..] (after the global options): resolves a path of one or two words,
    /// parses the flags, answers --help, checks the argument count.
    /// </summary>
    public static int Dispatch(string[] argv, int start, string? host)
    {
        var word = argv[start];
        if (word == "help") // docker's `help [COMMAND]`
        {
            if (start + 1 >= argv.Length) { Console.Write(MainHelp()); return 0; }
            return Dispatch([.. argv[(start + 1)..], "--help"], 0, host);
        }
        var group = Groups.FirstOrDefault(g => g.Name == word);
        string path;
        int rest;
        if (group.Name is not null)
        {
            if (start + 1 >= argv.Length || argv[start + 1] is "--help" or "-h")
            {
                Console.Write(GroupHelp(group.Name, group.Description));
                return 0;
            }
            path = word + " " + argv[start + 1];
            rest = start + 2;
            if (Find(path) is null)
            {
                if (argv[start + 1].StartsWith('-'))
                    throw new CliException($"unknown flag: {argv[start + 1]}\nSee 'berth {word} --help'.", 125);
                throw new CliException($"berth: '{argv[start + 1]}' is not a berth {word} command.\nSee 'berth {word} --help'", 1);
            }
        }
        else
        {
            path = word;
            rest = start + 1;
        }
        var spec = Find(path) ?? throw new CliException($"berth: '{word}' is not a berth command.\nSee 'berth --help'", 1);
        var fullPath = "berth " + path;
        Args args;
        try
        {
            args = Args.Parse(argv[rest..], spec.Flags, spec.Interspersed);
        }
        catch (CliException e)
        {
            var probe = new Invocation(spec, fullPath, new Args(), host);
            throw probe.UsageError(e.Message, 125);
        }
        var inv = new Invocation(spec, fullPath, args, host);
        if (args.Help)
        {
            Console.Write(Help(spec, fullPath));
            return 0;
        }
        int n = args.Positional.Count;
        string Plural(int k) => k == 1 ? "argument" : "arguments";
        if (spec.Max == 0 && n > 0) throw inv.UsageError($"\"{fullPath}\" accepts no arguments.");
        if (spec.Min == spec.Max && n != spec.Min) throw inv.UsageError($"\"{fullPath}\" requires exactly {spec.Min} {Plural(spec.Min)}.");
        if (spec.Max < 0 && n < spec.Min) throw inv.UsageError($"\"{fullPath}\" requires at least {spec.Min} {Plural(spec.Min)}.");
        if (spec.Max > 0 && (n < spec.Min || n > spec.Max))
            throw inv.UsageError(spec.Min == 0 ? $"\"{fullPath}\" requires at most {spec.Max} {Plural(spec.Max)}."
                : $"\"{fullPath}\" requires at least {spec.Min} and at most {spec.Max} {Plural(spec.Max)}.");
        return spec.Run(inv);
    }

    public static CommandSpec? Find(string path)
    {
        foreach (var c in Commands)
            foreach (var p in c.Paths)
                if (p == path) return c;
        return null;
    }

    /// <summary>docker's help for one command: usage, description, aliases, options.</summary>
    public static string Help(CommandSpec spec, string fullPath)
    {
        var sb = new StringBuilder();
        sb.Append("Usage:  ").Append(fullPath).Append(' ').Append(spec.Usage).Append("\n\n").Append(spec.Description).Append('\n');
        if (spec.Paths.Length > 1)
            sb.Append("\nAliases:\n  ").AppendJoin(", ", spec.Paths.Select(p => "berth " + p)).Append('\n');
        var flags = spec.Flags.Where(f => !f.Hidden).ToList();
        if (flags.Count > 0)
        {
            var heads = flags.Select(f => (f.Short != '\0' ? $"  -{f.Short}, --{f.Long}" : $"      --{f.Long}") + (f.IsBool ? "" : " " + f.Type)).ToList();
            int col = heads.Max(h => h.Length) + 3;
            sb.Append("\nOptions:\n");
            for (int i = 0; i < flags.Count; i++)
            {
                var lines = flags[i].Help.Split('\n');
                if (flags[i].Default is { } d) lines[^1] += $" (default {d})";
                sb.Append(heads[i].PadRight(col)).Append(lines[0]).Append('\n');
                foreach (var l in lines.Skip(1)) sb.Append(' ', col).Append(l).Append('\n');
            }
        }
        return sb.ToString();
    }

    /// <summary>`berth container` / `berth container --help`: the group's commands.</summary>
    public static string GroupHelp(string group, string description)
    {
        var sb = new StringBuilder();
        sb.Append($"Usage:  berth {group} COMMAND\n\n{description}\n\nCommands:\n");
        var prefix = group + " ";
        var subs = Commands.Select(c => (Name: c.Paths.FirstOrDefault(p => p.StartsWith(prefix, StringComparison.Ordinal)), c.Description))
            .Where(x => x.Name is not null).Select(x => (Name: x.Name![prefix.Length..], x.Description)).OrderBy(x => x.Name, StringComparer.Ordinal).ToList();
        foreach (var (name, desc) in subs) sb.Append("  ").Append(name.PadRight(12)).Append(desc).Append('\n');
        sb.Append($"\nRun 'berth {group} COMMAND --help' for more information on a command.\n");
        return sb.ToString();
    }

    /// <summary>`berth --help`: the global options, the management commands and the commands.</summary>
    public static string MainHelp()
    {
        var sb = new StringBuilder("""
            Usage:  berth [OPTIONS] COMMAND

            A container engine that speaks Docker's Engine API.

            Options:
              -H, --host string   Daemon socket to connect to (default: $DOCKER_HOST, $BERTH_HOST, unix:///run/berth.sock)
              -h, --help          Print usage
              -v, --version       Print version information and quit

            Management Commands:

            """);
        foreach (var (name, desc) in Groups) sb.Append("  ").Append(name.PadRight(12)).Append(desc).Append('\n');
        sb.Append("\nCommands:\n");
        foreach (var (name, desc) in Commands.Select(c => (Name: c.Paths.FirstOrDefault(p => !p.Contains(' ')), c.Description))
                     .Where(x => x.Name is not null).OrderBy(x => x.Name, StringComparer.Ordinal))
            sb.Append("  ").Append(name!.PadRight(12)).Append(desc).Append('\n');
        sb.Append("\nRun 'berth COMMAND --help' for more information on a command.\n");
        return sb.ToString();
    }
}
