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
