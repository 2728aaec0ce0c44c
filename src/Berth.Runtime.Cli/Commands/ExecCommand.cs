using System.Text.Json;
using Berth.Core;
using Berth.Runtime.Lifecycle;
using Berth.Runtime.Spec;

namespace Berth.Runtime.Cli.Commands;

/// <summary>exec: a new process in a running container, from --process JSON or from the command line.</summary>
public static class ExecCommand
{
    public static int Run(RuntimeOptions o, List<string> argv)
    {
        var a = Args.Parse(argv,
            ["console-socket", "cwd", "env|e", "user|u", "additional-gids|g", "process|p", "pid-file", "process-label",
             "apparmor", "cap|c", "preserve-fds", "cgroup"],
            ["tty|t", "detach|d", "no-new-privs", "ignore-paused", "no-subreaper"], stopAtFirstPositional: true);
        var id = a.ContainerId("exec");
        var c = Container.Load(o, id);
        Process process;
        if (a.Value("process") is { } file)
        {
            using var f = File.OpenRead(file);
            process = JsonSerializer.Deserialize(f, SpecJsonContext.Default.Process)
                ?? throw BerthException.Invalid($"{file}: empty process");
        }
        else
        {
            if (a.Positionals.Count < 2) throw new UsageException("exec: no command given: an argument or --process is required");
            process = CopyOf(c.State.Config.Process!);
            process.Args = a.Positionals.Skip(1).ToList();
            process.Terminal = a.Has("tty");
            process.Env = [.. process.Env ?? [], .. a.Values("env")];
            if (a.Value("cwd") is { } cwd) process.Cwd = cwd;
            if (a.Value("user") is { } user)
            {
                var parts = user.Split(':');
                process.User = new User
                {
                    Uid = uint.TryParse(parts[0], out var uid) ? uid : throw BerthException.Invalid($"invalid user \"{user}\""),
                    Gid = parts.Length > 1 ? (uint.TryParse(parts[1], out var gid) ? gid : throw BerthException.Invalid($"invalid user \"{user}\"")) : 0,
                    Umask = process.User.Umask,
                };
            }
            var gids = a.Values("additional-gids").Select(g => uint.TryParse(g, out var n) ? n : throw BerthException.Invalid($"invalid additional gid \"{g}\"")).ToList();
            if (gids.Count > 0) process.User.AdditionalGids = gids;
            if (a.Has("no-new-privs")) process.NoNewPrivileges = true;
            foreach (var cap in a.Values("cap"))
            {
                process.Capabilities ??= new LinuxCapabilities();
                var caps = process.Capabilities;
                caps.Bounding = [.. caps.Bounding ?? [], cap];
                caps.Effective = [.. caps.Effective ?? [], cap];
                caps.Permitted = [.. caps.Permitted ?? [], cap];
                caps.Inheritable = [.. caps.Inheritable ?? [], cap];
                caps.Ambient = [.. caps.Ambient ?? [], cap];
            }
        }
        return c.Exec(process, new ExecOptions
        {
            ConsoleSocket = a.Value("console-socket"), PidFile = a.Value("pid-file"), Detach = a.Has("detach"),
            PreserveFds = a.Int("preserve-fds", 0),
        });
    }

    private static Process CopyOf(Process p) =>
        JsonSerializer.Deserialize(JsonSerializer.Serialize(p, SpecJsonContext.Default.Process), SpecJsonContext.Default.Process)!;
}
