namespace Berth.Runtime.Cli;

public static class Cli
{
    public static int Run(string[] args)
    {
        if (args.Length > 0 && args[0] is "--version" or "-v")
        {
            Console.WriteLine($"berth-runtime version 0.1.0\nnative: {Berth.Interop.Native.Version}\nspec: 1.2.0");
            return 0;
        }
        Console.Error.WriteLine("berth-runtime: not implemented yet");
        return 1;
    }
}
