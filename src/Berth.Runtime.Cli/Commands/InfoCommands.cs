using System.Diagnostics;
using System.Text.Json;
using Berth.Core;
using Berth.Runtime.Cgroups;
using Berth.Runtime.Lifecycle;

namespace Berth.Runtime.Cli.Commands;

/// <summary>state, list, ps, events.</summary>
public static class InfoCommands
{
    public static int State(RuntimeOptions o, List<string> argv)
    {
        var a = Args.Parse(argv, [], []);
        var c = Container.Load(o, a.ContainerId("state"));
        Console.Write(JsonSerializer.Serialize(c.ToOutput(), IndentedStateJsonContext.Default.StateOutput));
        return 0;
    }

    public static int List(RuntimeOptions o, List<string> argv)
    {
        var a = Args.Parse(argv, ["format|f"], ["quiet|q"]);
        var containers = Container.List(o).ToList();
        if (a.Has("quiet"))
        {
            foreach (var c in containers) Console.WriteLine(c.Id);
            return 0;
        }
        var format = a.Value("format") ?? "table";
        if (format == "json")
        {
            Console.WriteLine(JsonSerializer.Serialize(containers.Select(c => c.ToOutput()).ToList(), Berth.Runtime.Spec.SpecJsonContext.Default.ListStateOutput));
            return 0;
        }
        if (format != "table") throw BerthException.Invalid($"invalid format option \"{format}\"");
        var rows = new List<string[]> { new[] { "ID", "PID", "STATUS", "BUNDLE", "CREATED", "OWNER" } };
        foreach (var c in containers)
        {
            var s = c.ToOutput();
            rows.Add([s.Id, s.Pid.ToString(), s.Status, s.Bundle, s.Created.ToString("yyyy-MM-ddTHH:mm:ss.fffffffZ"), OwnerName(c)]);
        }
        Console.Write(Table(rows));
        return 0;
    }

    // State directories are created by the caller of create, so their owner is this user.
    private static string OwnerName(Container c) => Interop.Libc.geteuid() is var uid && uid == 0 ? "root" : "#" + uid;

    /// <summary>Go tabwriter layout with minwidth 12, padding 3 (runc list).</summary>
    private static string Table(List<string[]> rows)
    {
        int cols = rows[0].Length;
        var widths = new int[cols];
        foreach (var r in rows)
            for (int i = 0; i < cols; i++) widths[i] = Math.Max(widths[i], Math.Max(12, r[i].Length + 3));
        var sb = new System.Text.StringBuilder();
        foreach (var r in rows)
        {
            for (int i = 0; i < cols; i++) sb.Append(i == cols - 1 ? r[i] : r[i].PadRight(widths[i]));
            sb.Append('\n');
        }
        return sb.ToString();
    }

    public static int Ps(RuntimeOptions o, List<string> argv)
    {
        var a = Args.Parse(argv, ["format|f"], [], stopAtFirstPositional: true);
        var c = Container.Load(o, a.ContainerId("ps"));
        var pids = ContainerCgroup.Load(c.State.CgroupsPath).Pids().ToList();
        if (pids.Count == 0 && c.Status != "stopped") pids.Add(c.State.Pid);
        if ((a.Value("format") ?? "table") == "json")
        {
            Console.WriteLine(JsonSerializer.Serialize(pids, Berth.Runtime.Spec.SpecJsonContext.Default.ListInt32));
            return 0;
        }
        var psArgs = a.Positionals.Count > 1 ? a.Positionals.Skip(1).ToList() : ["-ef"];
        var psi = new ProcessStartInfo("ps") { RedirectStandardOutput = true };
        foreach (var arg in psArgs) psi.ArgumentList.Add(arg);
        using var ps = System.Diagnostics.Process.Start(psi) ?? throw new BerthException(ErrorKind.System, "cannot run ps");
        var lines = ps.StandardOutput.ReadToEnd().Split('\n', StringSplitOptions.RemoveEmptyEntries);
        ps.WaitForExit();
        if (lines.Length == 0) return 0;
        int pidCol = Array.IndexOf(lines[0].Split(' ', StringSplitOptions.RemoveEmptyEntries), "PID");
        if (pidCol < 0) throw BerthException.Invalid("couldn't find PID field in ps output");
        Console.WriteLine(lines[0]);
        foreach (var line in lines.Skip(1))
        {
            var f = line.Split(' ', StringSplitOptions.RemoveEmptyEntries);
            if (f.Length > pidCol && int.TryParse(f[pidCol], out int pid) && pids.Contains(pid)) Console.WriteLine(line);
        }
        return 0;
    }

    public static int Events(RuntimeOptions o, List<string> argv)
    {
        var a = Args.Parse(argv, ["interval"], ["stats"]);
        var c = Container.Load(o, a.ContainerId("events"));
        var interval = ParseDuration(a.Value("interval") ?? "5s");
        var cgroup = ContainerCgroup.Load(c.State.CgroupsPath);
        var id = JsonSerializer.Serialize(c.Id, StringContext.Default.String);
        ulong ooms = cgroup.OomKillCount();
        var next = DateTime.UtcNow;
        while (true)
        {
            if (c.Status == "stopped") throw BerthException.Conflict("container with id " + c.Id + " is not running");
            // runc's stream: a stats event every interval, an "oom" event whenever the OOM killer struck.
            ulong now = cgroup.OomKillCount();
            if (now > ooms && !a.Has("stats")) Console.WriteLine($"{{\"type\":\"oom\",\"id\":{id}}}");
            ooms = now;
            if (a.Has("stats") || DateTime.UtcNow >= next)
            {
                Console.WriteLine($"{{\"type\":\"stats\",\"id\":{id},\"data\":{cgroup.StatsJson() ?? "{}"}}}");
                if (a.Has("stats")) return 0;
                next = DateTime.UtcNow + interval;
            }
            Thread.Sleep(TimeSpan.FromMilliseconds(Math.Min(200, interval.TotalMilliseconds)));
        }
    }

    private static TimeSpan ParseDuration(string s)
    {
        if (s.EndsWith("ms") && double.TryParse(s[..^2], out var ms)) return TimeSpan.FromMilliseconds(ms);
        if (s.EndsWith('s') && double.TryParse(s[..^1], out var sec)) return TimeSpan.FromSeconds(sec);
        if (s.EndsWith('m') && double.TryParse(s[..^1], out var min)) return TimeSpan.FromMinutes(min);
        throw BerthException.Invalid($"invalid duration \"{s}\"");
    }
}

[System.Text.Json.Serialization.JsonSerializable(typeof(string))]
internal sealed partial class StringContext : System.Text.Json.Serialization.JsonSerializerContext;
