namespace Berth.Cli;

/// <summary>An error that ends the command with a message on stderr and an exit code.</summary>
internal sealed class CliException(string message, int exitCode) : Exception(message)
{
    public int ExitCode { get; } = exitCode;
}
