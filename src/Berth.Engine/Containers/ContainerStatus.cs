using Berth.Core;

namespace Berth.Engine.Containers;

/// <summary>
/// A container's states (Docker's State.Status) and the transitions between them. Every change of a record's
/// status goes through <see cref="Check"/>: an operation that would make an impossible move is a bug, caught
/// here rather than persisted.
/// </summary>
public static class ContainerStatus
{
    public const string Created = "created", Running = "running", Exited = "exited", Removing = "removing", Dead = "dead";

    private static readonly (string From, string To)[] Allowed =
    [
        (Created, Running), (Created, Created), (Created, Removing), (Created, Exited),
        (Running, Exited), (Running, Removing),
        (Exited, Running), (Exited, Exited), (Exited, Removing),
        (Removing, Exited), (Removing, Dead),
        (Dead, Removing),
    ];

    public static void Check(string from, string to)
    {
        if (!Allowed.Contains((from, to)))
            throw new BerthException(ErrorKind.System, $"internal error: a container cannot go from {from} to {to}");
    }
}
