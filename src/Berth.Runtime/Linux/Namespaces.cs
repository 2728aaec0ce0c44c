using Berth.Interop;

namespace Berth.Runtime.Linux;

/// <summary>OCI namespace type names ↔ CLONE_NEW* flags and /proc/PID/ns file names.</summary>
public static class Namespaces
{
    public static readonly (string Type, int Flag, string ProcName)[] Table =
    [
        ("user", Libc.CLONE_NEWUSER, "user"),
        ("pid", Libc.CLONE_NEWPID, "pid"),
        ("network", Libc.CLONE_NEWNET, "net"),
        ("ipc", Libc.CLONE_NEWIPC, "ipc"),
        ("uts", Libc.CLONE_NEWUTS, "uts"),
        ("mount", Libc.CLONE_NEWNS, "mnt"),
        ("cgroup", Libc.CLONE_NEWCGROUP, "cgroup"),
        ("time", Libc.CLONE_NEWTIME, "time"),
    ];

    /// <summary>
    /// The namespaces of a running container process to join (exec, hooks): /proc/PID/ns/* for each namespace
    /// type in the container's config (time excepted), the user namespace first so the others are joined
    /// with its privileges.
    /// </summary>
    public static List<(int NsType, string Path)> JoinsOf(int pid, IEnumerable<Spec.LinuxNamespace>? configured)
    {
        var joins = new List<(int, string)>();
        foreach (var ns in configured ?? [])
        {
            if (!TryGet(ns.Type, out int flag, out var proc) || flag == Libc.CLONE_NEWTIME) continue;
            joins.Add((flag, $"/proc/{pid}/ns/{proc}"));
        }
        return UserFirst(joins);
    }

    /// <summary>Orders namespace joins with the user namespace first (stable otherwise).</summary>
    public static List<(int NsType, string Path)> UserFirst(IEnumerable<(int NsType, string Path)> joins) =>
        joins.OrderBy(j => j.NsType == Libc.CLONE_NEWUSER ? 0 : 1).ToList();

    public static bool TryGet(string type, out int flag, out string procName)
    {
        foreach (var (t, f, p) in Table)
        {
            if (t == type)
            {
                flag = f;
                procName = p;
                return true;
            }
        }
        flag = 0;
        procName = "";
        return false;
    }
}
