using Berth.Cli;
using Berth.Cli.Commands;
using Berth.Cli.Http;

// berth: the docker CLI's commands for containers and images, through berthd's Engine API.
namespace Berth.Cli
{
    internal static class Cli
    {
        public const string Usage = """
            Usage:  berth [OPTIONS] COMMAND

            A container engine that speaks Docker's Engine API.

            Options:
              -H, --host string   Daemon socket to connect to (default: $DOCKER_HOST, $BERTH_HOST, unix:///run/berth.sock)
                  --version       Print version information and quit

            Commands:
              run, create, start, ps, logs, inspect, stop, kill, restart, rm,
              images, import, tag, rmi, version, info
            """;

        public static int Main(string[] argv)
        {
            string? host = null;
            int i = 0;
            for (; i < argv.Length && argv[i].StartsWith('-'); i++)
            {
                if (argv[i] is "-H" or "--host" && i + 1 < argv.Length) host = argv[++i];
                else if (argv[i].StartsWith("--host=", StringComparison.Ordinal)) host = argv[i][7..];
                else if (argv[i] is "-v" or "--version") { Console.WriteLine("Berth version 0.1.0"); return 0; }
                else if (argv[i] is "-h" or "--help") { Console.WriteLine(Usage); return 0; }
                else { Console.Error.WriteLine($"unknown flag: {argv[i]}\nSee 'berth --help'."); return 125; }
            }
            if (i >= argv.Length) { Console.WriteLine(Usage); return 0; }
            var command = argv[i];
            var rest = argv[(i + 1)..];
            try
            {
                var api = new ApiClient(ApiClient.SocketFromEnvironment(host));
                return command switch
                {
                    "run" => ContainerCommands.Run(api, rest, create: false),
                    "create" => ContainerCommands.Run(api, rest, create: true),
                    "start" => ContainerCommands.Start(api, rest),
                    "ps" => ContainerCommands.Ps(api, rest),
                    "logs" => ContainerCommands.Logs(api, rest),
                    "inspect" => ContainerCommands.Inspect(api, rest),
                    "stop" => ContainerCommands.Each(api, rest, "stop"),
                    "kill" => ContainerCommands.Each(api, rest, "kill"),
                    "restart" => ContainerCommands.Each(api, rest, "restart"),
                    "rm" => ContainerCommands.Each(api, rest, "rm"),
                    "wait" => ContainerCommands.Wait(api, rest),
                    "images" => ImageCommands.Images(api, rest),
                    "import" => ImageCommands.Import(api, rest),
                    "tag" => ImageCommands.Tag(api, rest),
                    "rmi" => ImageCommands.Rmi(api, rest),
                    "version" => SystemCommands.Version(api),
                    "info" => SystemCommands.Info(api, rest),
                    _ => throw new CliException($"berth: '{command}' is not a berth command.\nSee 'berth --help'", 1),
                };
            }
            catch (CliException e)
            {
                Console.Out.Flush();
                Console.Error.WriteLine(e.Message);
                return e.ExitCode;
            }
        }
    }
}
