using System.Diagnostics;
using System.Text.RegularExpressions;
using Berth.Core;
using Berth.Engine.Backends;

namespace Berth.Engine.Containers;

public sealed partial class ContainerManager
{
    /// <summary>
    /// docker top (dockerd's ContainerTop): <c>ps</c> runs on the host with the arguments (default -ef) and the
    /// container's pids (-q), and only the rows of the container's processes are kept (the threads of one, with
    /// <c>m</c>, too); again without -q when ps refuses the combination.
    /// </summary>
    public TopResult Top(string idOrName, string psArgs)
    {
        if (string.IsNullOrEmpty(psArgs)) psArgs = "-ef";
        foreach (Match m in PsPidAssignment().Matches(psArgs))
            if (m.Groups[1].Value != "pid") throw BerthException.Invalid($"specifying \"{m.Groups[1].Value}={m.Groups[2].Value}\" is not allowed");
        var c = Store.Get(idOrName);
        if (!c.State.Running) throw BerthException.Conflict($"Container {c.Id} is not running");
        if (c.State.Restarting) throw BerthException.Conflict($"Container {c.Id} is restarting, wait until the container is running");
        var pids = CgroupOf(c) is { } cg && cg.Exists() ? cg.GetPids() : [c.State.Pid];
        var args = psArgs.Split(' ');
        var (code, output, error) = RunPs([.. args, "-q" + string.Join(',', pids)]);
        if (code != 0)
        {
            (code, output, error) = RunPs(args);
            if (code != 0)
                throw new BerthException(ErrorKind.System, "ps: " + (error.Split('\n')[0] is { Length: > 0 } first ? first : $"exit status {code}"));
        }
        var top = ParsePs(output, pids);
        Publish(c, "top");
        return top;
    }

    [GeneratedRegex(@"\s+([^\s]*)=\s*(PID[^\s]*)")]
    private static partial Regex PsPidAssignment();

    private static (int Code, string Stdout, string Stderr) RunPs(IEnumerable<string> args)
    {
        var psi = new ProcessStartInfo("ps") { RedirectStandardOutput = true, RedirectStandardError = true };
        foreach (var a in args) psi.ArgumentList.Add(a);
        using var p = Process.Start(psi) ?? throw new BerthException(ErrorKind.System, "ps: cannot start");
        var stderr = p.StandardError.ReadToEndAsync();
        var stdout = p.StandardOutput.ReadToEnd();
        p.WaitForExit();
        return (p.ExitCode, stdout, stderr.GetAwaiter().GetResult());
    }

    /// <summary>dockerd's parsePSOutput: titles from the first line; rows of the given pids (and the "-" thread rows
    /// that follow one), the last column taking whatever is left of the line.</summary>
    public static TopResult ParsePs(string output, IReadOnlyCollection<int> pids)
    {
        var lines = output.Split('\n');
        var titles = Fields(lines[0]);
        int pidIndex = Array.IndexOf(titles, "PID");
        if (pidIndex < 0) throw new BerthException(ErrorKind.System, "Couldn't find PID field in ps output");
        var rows = new List<IReadOnlyList<string>>();
        bool previousKept = false;
        foreach (var line in lines.Skip(1))
        {
            if (line.Length == 0) continue;
            var f = Fields(line);
            if (f.Length <= pidIndex) continue;
            if (f[pidIndex] == "-")
            {
                if (previousKept) rows.Add(Row(f, titles.Length));
                continue;
            }
            if (!int.TryParse(f[pidIndex], out var pid))
                throw new BerthException(ErrorKind.System, $"Unexpected pid '{f[pidIndex]}': strconv.Atoi: parsing \"{f[pidIndex]}\": invalid syntax");
            previousKept = pids.Contains(pid);
            if (previousKept) rows.Add(Row(f, titles.Length));
        }
        return new TopResult(titles, rows);
    }

    private static string[] Fields(string line) => line.Split([' ', '\t'], StringSplitOptions.RemoveEmptyEntries);

    private static IReadOnlyList<string> Row(string[] f, int titles) =>
        f.Length <= titles ? f : [.. f[..(titles - 1)], string.Join(' ', f[(titles - 1)..])];
}
