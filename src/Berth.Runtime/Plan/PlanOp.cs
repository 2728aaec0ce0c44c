namespace Berth.Runtime.Plan;

/// <summary>Operation codes of the native plan; must match enum berth_op in src/native/berth.h.</summary>
public enum PlanOp : ushort
{
    Sync = 1,
    Unshare = 2,
    SetHostname = 3,
    SetDomainname = 4,
    OpenRoot = 5,
    Mount = 6,
    Mknod = 7,
    Symlink = 8,
    Mkdir = 9,
    PivotRoot = 10,
    MaskPath = 11,
    ReadonlyPath = 12,
    WriteFile = 13,
    SetRlimit = 14,
    Chdir = 15,
    Umask = 16,
    Setsid = 17,
    Console = 18,
    KeepCaps = 19,
    SetGroups = 20,
    SetGid = 21,
    SetUid = 22,
    CapsBounding = 23,
    CapSet = 24,
    CapsAmbient = 25,
    NoNewPrivs = 26,
    Seccomp = 27,
    Ready = 28,
    ExecFifo = 29,
    Hook = 30,
    Lookup = 31,
    Exec = 32,
    Dup2 = 33,
    LoopbackUp = 34,
}

/// <summary>Op flags (BERTH_F_* in berth.h).</summary>
[Flags]
public enum PlanFlags : ushort
{
    None = 0,
    InRoot = 0x1,
    Mkdir = 0x2,
    Mkfile = 0x4,
    IgnoreEnoent = 0x8,
    FallbackBind = 0x10,
    Optional = 0x20,
}
