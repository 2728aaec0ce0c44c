// berth: the docker CLI's commands for containers and images, through berthd's Engine API.
namespace Berth.Cli
{
    internal static class Cli
    {
        public static int Main(string[] argv)
        {
            // Not System.Console's own streams: at a terminal they emit ESC [?1h ESC = and read stdin through a line editor.
            Console.SetOut(FdStream.Writer(1));
            Console.SetError(FdStream.Writer(2));
            string? host = null;
            int i = 0;
            for (; i < argv.Length && argv[i].StartsWith('-'); i++)
            {
                if (argv[i] is "-H" or "--host" && i + 1 < argv.Length) host = argv[++i];
                else if (argv[i].StartsWith("--host=", StringComparison.Ordinal)) host = argv[i][7..];
                else if (argv[i] is "-v" or "--version") { Console.WriteLine("Berth version 0.1.0"); return 0; }
                else if (argv[i] is "-h" or "--help") { Console.Write(CommandLine.MainHelp()); return 0; }
                else { Console.Error.WriteLine($"unknown flag: {argv[i]}\nSee 'berth --help'."); return 125; }
            }
            if (i >= argv.Length) { Console.Write(CommandLine.MainHelp()); return 0; }
            try
            {
                return CommandLine.Dispatch(argv, i, host);
            }
            catch (CliException e)
            {
                Console.Out.Flush();
                Console.Error.WriteLine(e.Message);
                return e.ExitCode;
            }
            catch (EngineException e) // the daemon unreachable, or an answer that is not HTTP
            {
                Console.Out.Flush();
                Console.Error.WriteLine(e.Message);
                return 1;
            }
        }
    }
}
