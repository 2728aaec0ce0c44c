using Berth.Core;
using Berth.Interop;
using Berth.Runtime.Plan;

namespace Berth.Runtime.Lifecycle;

/// <summary>
/// Starts a plan through the native piece and drives the sync protocol: answers SYNC points through a
/// callback, forwards warnings, and turns the child's ERROR into an exception (after reaping it).
/// </summary>
public sealed class Spawner : IDisposable
{
    private readonly List<int> _fds = [];

    public Spawner(ProcessPlan plan)
    {
        Plan = plan;
    }

    public ProcessPlan Plan { get; }
    public int Pid { get; private set; }
    public int SyncFd { get; private set; } = -1;

    /// <summary>Opens the namespace files to join (so an error names the path) and clones.</summary>
    /// <param name="cgroupV2Dir">a cgroup v2 directory the process is cloned straight into, or null</param>
    public void Start(bool forceTwoStage = false, string? cgroupV2Dir = null)
    {
        int cgroupFd = -1;
        if (cgroupV2Dir is not null)
        {
            cgroupFd = Libc.open(cgroupV2Dir, Libc.O_RDONLY | Libc.O_DIRECTORY | Libc.O_CLOEXEC, 0);
            if (cgroupFd < 0) throw new ErrnoException(Libc.Errno, "open cgroup", cgroupV2Dir);
            _fds.Add(cgroupFd);
        }
        var joins = new Native.NsJoin[Plan.Joins.Count];
        for (int i = 0; i < joins.Length; i++)
        {
            var (type, path) = Plan.Joins[i];
            int fd = Libc.open(path, Libc.O_RDONLY | Libc.O_CLOEXEC, 0);
            if (fd < 0) throw new ErrnoException(Libc.Errno, "open namespace", path);
            _fds.Add(fd);
            joins[i] = new Native.NsJoin { Fd = fd, NsType = type };
        }
        var (pid, sync) = Native.Spawn(Plan.CloneFlags, Plan.Encode(), joins, forceTwoStage, cgroupFd);
        Pid = pid;
        SyncFd = sync;
        CloseJoinFds();
    }

    /// <summary>
    /// Reads messages until READY (returns true) or until the child closed the socket by exec'ing (returns false).
    /// SYNC tags go to <paramref name="onSync"/>, which must return normally for the child to continue.
    /// </summary>
    public bool Drive(Action<string> onSync, Action<string> onWarning, bool stopAtReady = true)
    {
        while (true)
        {
            var msg = Native.Receive(SyncFd);
            switch (msg.Type)
            {
                case 0:
                    return false;
                case Native.MsgSync:
                    try
                    {
                        onSync(msg.Text);
                    }
                    catch
                    {
                        TrySend(Native.MsgAbort);
                        throw;
                    }
                    Native.Send(SyncFd, Native.MsgContinue);
                    break;
                case Native.MsgWarn:
                    onWarning(msg.Text);
                    break;
                case Native.MsgReady:
                    if (stopAtReady) return true;
                    break;
                case Native.MsgError:
                    throw new ChildException(msg.Errno, msg.Text);
                default:
                    throw new BerthException(ErrorKind.System, $"unexpected message {msg.Type} from the container process");
            }
        }
    }

    private void TrySend(int type)
    {
        try { Native.Send(SyncFd, type); }
        catch (ErrnoException) { }
    }

    /// <summary>Kills and reaps the child (failure paths).</summary>
    public void KillAndReap()
    {
        if (Pid <= 0) return;
        Libc.kill(Pid, Libc.SIGKILL);
        try { Libc.WaitPid(Pid, noHang: false, out _); }
        catch (ErrnoException) { }
        Pid = 0;
    }

    private void CloseJoinFds()
    {
        foreach (var fd in _fds) Libc.close(fd);
        _fds.Clear();
    }

    public void Dispose()
    {
        CloseJoinFds();
        if (SyncFd >= 0)
        {
            Libc.close(SyncFd);
            SyncFd = -1;
        }
    }
}

/// <summary>An error the container process reported before exec (message names the syscall and path).</summary>
public sealed class ChildException(int errno, string message)
    : BerthException(errno == Libc.ENOENT ? ErrorKind.NotFound : errno is Libc.EACCES or Libc.EPERM ? ErrorKind.Forbidden : ErrorKind.System, message)
{
    public int Errno { get; } = errno;
}
