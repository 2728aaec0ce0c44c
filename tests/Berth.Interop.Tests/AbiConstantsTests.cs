using System.Diagnostics;
using System.Globalization;
using System.Runtime.InteropServices;
using Berth.Interop;

namespace Berth.Interop.Tests;

/// <summary>
/// Every ABI constant Berth.Interop uses is checked against the C headers of the host (a small C program compiled
/// with cc prints them), and the per-architecture table of the other architecture against the kernel's uapi values.
/// </summary>
public sealed class AbiConstantsTests
{
    /// <summary>What the C# side says, for the host; each name is printed by the C program under the same name.</summary>
    private static Dictionary<string, long> CSharpValues(LinuxArch arch) => new()
    {
        // errno
        ["EPERM"] = Libc.EPERM, ["ENOENT"] = Libc.ENOENT, ["ESRCH"] = Libc.ESRCH, ["EINTR"] = Libc.EINTR,
        ["EIO"] = Libc.EIO, ["ENXIO"] = Libc.ENXIO, ["EBADF"] = Libc.EBADF, ["ECHILD"] = Libc.ECHILD,
        ["EAGAIN"] = Libc.EAGAIN, ["ENOMEM"] = Libc.ENOMEM, ["EACCES"] = Libc.EACCES, ["EBUSY"] = Libc.EBUSY,
        ["EEXIST"] = Libc.EEXIST, ["ENOTDIR"] = Libc.ENOTDIR, ["EISDIR"] = Libc.EISDIR, ["EINVAL"] = Libc.EINVAL,
        ["ENOSPC"] = Libc.ENOSPC, ["EPIPE"] = Libc.EPIPE, ["ERANGE"] = Libc.ERANGE, ["ENOSYS"] = Libc.ENOSYS,
        ["ENOTEMPTY"] = Libc.ENOTEMPTY, ["ELOOP"] = Libc.ELOOP, ["ENODATA"] = Libc.ENODATA,
        ["EOVERFLOW"] = Libc.EOVERFLOW,
        // open(2) flags, libc API values
        ["O_RDONLY"] = Libc.O_RDONLY, ["O_WRONLY"] = Libc.O_WRONLY, ["O_RDWR"] = Libc.O_RDWR,
        ["O_CREAT"] = Libc.O_CREAT, ["O_EXCL"] = Libc.O_EXCL, ["O_NOCTTY"] = Libc.O_NOCTTY,
        ["O_TRUNC"] = Libc.O_TRUNC, ["O_APPEND"] = Libc.O_APPEND, ["O_NONBLOCK"] = Libc.O_NONBLOCK,
        ["O_CLOEXEC"] = Libc.O_CLOEXEC, ["O_PATH"] = Libc.O_PATH, ["O_LARGEFILE"] = Libc.O_LARGEFILE,
        ["O_DIRECTORY"] = arch.O_DIRECTORY, ["O_NOFOLLOW"] = arch.O_NOFOLLOW, ["O_DIRECT"] = arch.O_DIRECT,
        ["O_TMPFILE"] = arch.O_TMPFILE,
        // open(2) flags as the kernel has them (uapi asm/fcntl.h)
        ["K_O_DIRECTORY"] = arch.O_DIRECTORY, ["K_O_NOFOLLOW"] = arch.O_NOFOLLOW, ["K_O_DIRECT"] = arch.O_DIRECT,
        ["K_O_LARGEFILE"] = arch.O_LARGEFILE_KERNEL, ["K_O_TMPFILE"] = arch.O_TMPFILE,
        // *at, stat, mount
        ["AT_FDCWD"] = Libc.AT_FDCWD, ["AT_SYMLINK_NOFOLLOW"] = Libc.AT_SYMLINK_NOFOLLOW,
        ["AT_REMOVEDIR"] = Libc.AT_REMOVEDIR, ["AT_SYMLINK_FOLLOW"] = Libc.AT_SYMLINK_FOLLOW,
        ["AT_EMPTY_PATH"] = Libc.AT_EMPTY_PATH,
        ["S_IFIFO"] = Libc.S_IFIFO, ["S_IFCHR"] = Libc.S_IFCHR, ["S_IFDIR"] = Libc.S_IFDIR,
        ["S_IFBLK"] = Libc.S_IFBLK, ["S_IFREG"] = Libc.S_IFREG,
        ["MS_RDONLY"] = (long)Libc.MS_RDONLY, ["MS_NOSUID"] = (long)Libc.MS_NOSUID, ["MS_NODEV"] = (long)Libc.MS_NODEV,
        ["MS_NOEXEC"] = (long)Libc.MS_NOEXEC, ["MS_REMOUNT"] = (long)Libc.MS_REMOUNT, ["MS_BIND"] = (long)Libc.MS_BIND,
        ["MS_REC"] = (long)Libc.MS_REC, ["MNT_DETACH"] = Libc.MNT_DETACH,
        ["MS_SYNCHRONOUS"] = (long)Libc.MS_SYNCHRONOUS, ["MS_MANDLOCK"] = (long)Libc.MS_MANDLOCK,
        ["MS_DIRSYNC"] = (long)Libc.MS_DIRSYNC, ["MS_NOATIME"] = (long)Libc.MS_NOATIME,
        ["MS_NODIRATIME"] = (long)Libc.MS_NODIRATIME, ["MS_UNBINDABLE"] = (long)Libc.MS_UNBINDABLE,
        ["MS_PRIVATE"] = (long)Libc.MS_PRIVATE, ["MS_SLAVE"] = (long)Libc.MS_SLAVE, ["MS_SHARED"] = (long)Libc.MS_SHARED,
        ["MS_RELATIME"] = (long)Libc.MS_RELATIME, ["MS_STRICTATIME"] = (long)Libc.MS_STRICTATIME,
        ["ENOTSUP"] = Libc.ENOTSUP,
        // loop devices (uapi linux/loop.h)
        ["K_LOOP_SET_FD"] = Libc.LOOP_SET_FD, ["K_LOOP_CLR_FD"] = Libc.LOOP_CLR_FD,
        ["K_LOOP_GET_STATUS64"] = Libc.LOOP_GET_STATUS64, ["K_LOOP_CONFIGURE"] = Libc.LOOP_CONFIGURE,
        ["K_LOOP_CTL_GET_FREE"] = Libc.LOOP_CTL_GET_FREE, ["K_LO_FLAGS_READ_ONLY"] = Libc.LO_FLAGS_READ_ONLY,
        ["K_LO_FLAGS_AUTOCLEAR"] = Libc.LO_FLAGS_AUTOCLEAR, ["K_LO_NAME_SIZE"] = Libc.LO_NAME_SIZE,
        ["K_sizeof(struct loop_info64)"] = Marshal.SizeOf<Libc.LoopInfo64>(),
        ["K_offsetof(struct loop_info64, lo_flags)"] = Marshal.OffsetOf<Libc.LoopInfo64>(nameof(Libc.LoopInfo64.Flags)),
        ["K_offsetof(struct loop_info64, lo_file_name)"] = Marshal.OffsetOf<Libc.LoopInfo64>(nameof(Libc.LoopInfo64.FileName)),
        ["K_sizeof(struct loop_config)"] = Marshal.SizeOf<Libc.LoopConfig>(),
        ["K_offsetof(struct loop_config, info)"] = Marshal.OffsetOf<Libc.LoopConfig>(nameof(Libc.LoopConfig.Info)),
        // namespaces, signals, wait, prctl, poll, sockets
        ["CLONE_NEWNS"] = Libc.CLONE_NEWNS, ["CLONE_NEWCGROUP"] = Libc.CLONE_NEWCGROUP,
        ["CLONE_NEWUTS"] = Libc.CLONE_NEWUTS, ["CLONE_NEWIPC"] = Libc.CLONE_NEWIPC,
        ["CLONE_NEWUSER"] = Libc.CLONE_NEWUSER, ["CLONE_NEWPID"] = Libc.CLONE_NEWPID,
        ["CLONE_NEWNET"] = Libc.CLONE_NEWNET, ["CLONE_NEWTIME"] = Libc.CLONE_NEWTIME,
        ["SIGHUP"] = Libc.SIGHUP, ["SIGINT"] = Libc.SIGINT, ["SIGQUIT"] = Libc.SIGQUIT, ["SIGKILL"] = Libc.SIGKILL,
        ["SIGUSR1"] = Libc.SIGUSR1, ["SIGTERM"] = Libc.SIGTERM, ["SIGCHLD"] = Libc.SIGCHLD,
        ["SIGCONT"] = Libc.SIGCONT, ["SIGSTOP"] = Libc.SIGSTOP, ["SIGWINCH"] = Libc.SIGWINCH,
        ["WNOHANG"] = Libc.WNOHANG, ["PR_SET_CHILD_SUBREAPER"] = Libc.PR_SET_CHILD_SUBREAPER,
        ["POLLIN"] = Libc.POLLIN, ["POLLHUP"] = Libc.POLLHUP,
        ["AF_UNIX"] = Libc.AF_UNIX, ["SOCK_STREAM"] = Libc.SOCK_STREAM, ["SOCK_CLOEXEC"] = Libc.SOCK_CLOEXEC,
        // syscall numbers used through syscall(2)
        ["SYS_bpf"] = arch.SYS_bpf,
        // struct layouts
        ["sizeof(struct timespec)"] = Marshal.SizeOf<Libc.Timespec>(),
        ["offsetof(struct timespec, tv_nsec)"] = Marshal.OffsetOf<Libc.Timespec>(nameof(Libc.Timespec.Nsec)),
        ["sizeof(struct pollfd)"] = Marshal.SizeOf<Libc.PollFd>(),
        ["offsetof(struct pollfd, revents)"] = Marshal.OffsetOf<Libc.PollFd>(nameof(Libc.PollFd.REvents)),
        ["sizeof(struct statx)"] = Marshal.SizeOf<Libc.Statx>(),
        ["offsetof(struct statx, stx_mode)"] = Marshal.OffsetOf<Libc.Statx>(nameof(Libc.Statx.Mode)),
        ["offsetof(struct statx, stx_ino)"] = Marshal.OffsetOf<Libc.Statx>(nameof(Libc.Statx.Ino)),
        ["offsetof(struct statx, stx_mtime)"] = Marshal.OffsetOf<Libc.Statx>(nameof(Libc.Statx.Mtime)),
        ["offsetof(struct statx, stx_rdev_major)"] = Marshal.OffsetOf<Libc.Statx>(nameof(Libc.Statx.RdevMajor)),
        ["offsetof(struct statx, stx_dev_minor)"] = Marshal.OffsetOf<Libc.Statx>(nameof(Libc.Statx.DevMinor)),
        ["STATX_BASIC_STATS"] = Libc.STATX_BASIC_STATS,
        ["sizeof(struct berth_ns_join)"] = Marshal.SizeOf<Native.NsJoin>(),
        ["sizeof(struct berth_spawn_args)"] = Marshal.SizeOf<Native.SpawnArgs>(),
        ["offsetof(struct berth_spawn_args, joins)"] = Marshal.OffsetOf<Native.SpawnArgs>(nameof(Native.SpawnArgs.Joins)),
        ["offsetof(struct berth_spawn_args, cgroup_fd)"] = Marshal.OffsetOf<Native.SpawnArgs>(nameof(Native.SpawnArgs.CgroupFd)),
        ["makedev(0x12345, 0x6789ab)"] = (long)Libc.MakeDev(0x12345, 0x6789ab),
        ["BERTH_MSG_SYNC"] = Native.MsgSync, ["BERTH_MSG_READY"] = Native.MsgReady, ["BERTH_MSG_ERROR"] = Native.MsgError,
        ["BERTH_MSG_WARN"] = Native.MsgWarn, ["BERTH_MSG_CONTINUE"] = Native.MsgContinue, ["BERTH_MSG_ABORT"] = Native.MsgAbort,
    };

    // The libc view: <fcntl.h> etc. with _GNU_SOURCE, as a C program using these calls would see them.
    private const string LibcProgram = """
        #define _GNU_SOURCE
        #include <errno.h>
        #include <fcntl.h>
        #include <poll.h>
        #include <sched.h>
        #include <signal.h>
        #include <stddef.h>
        #include <stdio.h>
        #include <sys/mount.h>
        #include <sys/prctl.h>
        #include <sys/socket.h>
        #include <sys/stat.h>
        #include <sys/syscall.h>
        #include <sys/sysmacros.h>
        #include <sys/wait.h>
        #include <time.h>
        #include "berth.h"
        #define P(x) printf("%s %lld\n", #x, (long long)(x))
        #define PN(name, x) printf("%s %lld\n", name, (long long)(x))
        int main(void) {
            P(EPERM); P(ENOENT); P(ESRCH); P(EINTR); P(EIO); P(ENXIO); P(EBADF); P(ECHILD); P(EAGAIN); P(ENOMEM);
            P(EACCES); P(EBUSY); P(EEXIST); P(ENOTDIR); P(EISDIR); P(EINVAL); P(ENOSPC); P(EPIPE); P(ERANGE);
            P(ENOSYS); P(ENOTEMPTY); P(ELOOP); P(ENODATA); P(EOVERFLOW);
            P(O_RDONLY); P(O_WRONLY); P(O_RDWR); P(O_CREAT); P(O_EXCL); P(O_NOCTTY); P(O_TRUNC); P(O_APPEND);
            P(O_NONBLOCK); P(O_CLOEXEC); P(O_PATH); P(O_LARGEFILE); P(O_DIRECTORY); P(O_NOFOLLOW); P(O_DIRECT);
            P(O_TMPFILE);
            P(AT_FDCWD); P(AT_SYMLINK_NOFOLLOW); P(AT_REMOVEDIR); P(AT_SYMLINK_FOLLOW); P(AT_EMPTY_PATH);
            P(S_IFIFO); P(S_IFCHR); P(S_IFDIR); P(S_IFBLK); P(S_IFREG);
            P(MS_RDONLY); P(MS_NOSUID); P(MS_NODEV); P(MS_NOEXEC); P(MS_REMOUNT); P(MS_BIND); P(MS_REC); P(MNT_DETACH);
            P(MS_SYNCHRONOUS); P(MS_MANDLOCK); P(MS_DIRSYNC); P(MS_NOATIME); P(MS_NODIRATIME); P(MS_UNBINDABLE);
            P(MS_PRIVATE); P(MS_SLAVE); P(MS_SHARED); P(MS_RELATIME); P(MS_STRICTATIME); P(ENOTSUP);
            P(CLONE_NEWNS); P(CLONE_NEWCGROUP); P(CLONE_NEWUTS); P(CLONE_NEWIPC); P(CLONE_NEWUSER); P(CLONE_NEWPID);
            P(CLONE_NEWNET); P(CLONE_NEWTIME);
            P(SIGHUP); P(SIGINT); P(SIGQUIT); P(SIGKILL); P(SIGUSR1); P(SIGTERM); P(SIGCHLD); P(SIGCONT); P(SIGSTOP);
            P(SIGWINCH);
            P(WNOHANG); P(PR_SET_CHILD_SUBREAPER); P(POLLIN); P(POLLHUP); P(AF_UNIX); P(SOCK_STREAM); P(SOCK_CLOEXEC);
            P(SYS_bpf);
            P(sizeof(struct timespec)); P(offsetof(struct timespec, tv_nsec));
            P(sizeof(struct pollfd)); P(offsetof(struct pollfd, revents));
            P(sizeof(struct statx)); P(offsetof(struct statx, stx_mode)); P(offsetof(struct statx, stx_ino));
            P(offsetof(struct statx, stx_mtime)); P(offsetof(struct statx, stx_rdev_major));
            P(offsetof(struct statx, stx_dev_minor)); P(STATX_BASIC_STATS);
            P(sizeof(struct berth_ns_join)); P(sizeof(struct berth_spawn_args));
            P(offsetof(struct berth_spawn_args, joins)); P(offsetof(struct berth_spawn_args, cgroup_fd));
            P(makedev(0x12345, 0x6789ab));
            P(BERTH_MSG_SYNC); P(BERTH_MSG_READY); P(BERTH_MSG_ERROR); P(BERTH_MSG_WARN); P(BERTH_MSG_CONTINUE);
            P(BERTH_MSG_ABORT);
            return 0;
        }
        """;

    // The kernel's view: uapi <asm/fcntl.h> (through <linux/fcntl.h>), where O_LARGEFILE is not 0.
    private const string KernelProgram = """
        #include <linux/fcntl.h>
        #include <linux/loop.h>
        #include <stddef.h>
        #include <stdio.h>
        #define PN(name, x) printf("%s %lld\n", name, (long long)(x))
        int main(void) {
            PN("K_O_DIRECTORY", O_DIRECTORY); PN("K_O_NOFOLLOW", O_NOFOLLOW); PN("K_O_DIRECT", O_DIRECT);
            PN("K_O_LARGEFILE", O_LARGEFILE); PN("K_O_TMPFILE", O_TMPFILE);
            PN("K_LOOP_SET_FD", LOOP_SET_FD); PN("K_LOOP_CLR_FD", LOOP_CLR_FD);
            PN("K_LOOP_GET_STATUS64", LOOP_GET_STATUS64); PN("K_LOOP_CONFIGURE", LOOP_CONFIGURE);
            PN("K_LOOP_CTL_GET_FREE", LOOP_CTL_GET_FREE); PN("K_LO_FLAGS_READ_ONLY", LO_FLAGS_READ_ONLY);
            PN("K_LO_FLAGS_AUTOCLEAR", LO_FLAGS_AUTOCLEAR); PN("K_LO_NAME_SIZE", LO_NAME_SIZE);
            PN("K_sizeof(struct loop_info64)", sizeof(struct loop_info64));
            PN("K_offsetof(struct loop_info64, lo_flags)", offsetof(struct loop_info64, lo_flags));
            PN("K_offsetof(struct loop_info64, lo_file_name)", offsetof(struct loop_info64, lo_file_name));
            PN("K_sizeof(struct loop_config)", sizeof(struct loop_config));
            PN("K_offsetof(struct loop_config, info)", offsetof(struct loop_config, info));
            return 0;
        }
        """;

    [Fact]
    public void Host_constants_match_the_C_headers()
    {
        var arch = LinuxArch.For(RuntimeInformation.ProcessArchitecture);
        Assert.Same(arch, LinuxArch.Current);
        var header = new Dictionary<string, long>();
        foreach (var (k, v) in CompileAndRun("libc", LibcProgram)) header[k] = v;
        foreach (var (k, v) in CompileAndRun("kernel", KernelProgram)) header[k] = v;

        var expected = CSharpValues(arch);
        Assert.Equal(expected.Keys.Order(), header.Keys.Order());
        var mismatches = expected.Where(e => header[e.Key] != e.Value)
            .Select(e => $"{e.Key}: C# {e.Value} (0{Convert.ToString(e.Value, 8)}), C header {header[e.Key]} (0{Convert.ToString(header[e.Key], 8)})")
            .ToList();
        Assert.True(mismatches.Count == 0, $"{arch.Architecture}: C# and the C headers disagree:\n" + string.Join("\n", mismatches));

        // The values Libc exposes are the host's table.
        Assert.Equal(arch.O_NOFOLLOW, Libc.O_NOFOLLOW);
        Assert.Equal(arch.O_DIRECTORY, Libc.O_DIRECTORY);
        Assert.Equal(arch.O_DIRECT, Libc.O_DIRECT);
        Assert.Equal(arch.O_TMPFILE, Libc.O_TMPFILE);
    }

    // Written from the kernel's uapi headers: include/uapi/asm-generic/fcntl.h (x86-64 takes it unchanged),
    // arch/arm64/include/uapi/asm/fcntl.h, arch/x86/entry/syscalls/syscall_64.tbl, include/uapi/asm-generic/unistd.h.
    public static TheoryData<string, int, int, int, int, long> UapiTables => new()
    {
        // arch, O_DIRECTORY, O_NOFOLLOW, O_DIRECT, O_LARGEFILE (kernel), __NR_bpf
        { "X64", Convert.ToInt32("0200000", 8), Convert.ToInt32("0400000", 8), Convert.ToInt32("040000", 8), Convert.ToInt32("0100000", 8), 321 },
        { "Arm64", Convert.ToInt32("040000", 8), Convert.ToInt32("0100000", 8), Convert.ToInt32("0200000", 8), Convert.ToInt32("0400000", 8), 280 },
    };

    [Theory]
    [MemberData(nameof(UapiTables))]
    public void Both_architectures_match_the_kernel_uapi(string archName, int oDirectory, int oNofollow, int oDirect, int oLargefile, long nrBpf)
    {
        var arch = LinuxArch.For(Enum.Parse<Architecture>(archName));
        Assert.Equal(oDirectory, arch.O_DIRECTORY);
        Assert.Equal(oNofollow, arch.O_NOFOLLOW);
        Assert.Equal(oDirect, arch.O_DIRECT);
        Assert.Equal(oLargefile, arch.O_LARGEFILE_KERNEL);
        Assert.Equal(Convert.ToInt32("020000000", 8) | oDirectory, arch.O_TMPFILE);
        Assert.Equal(nrBpf, arch.SYS_bpf);
    }

    [Fact]
    public void On_arm64_the_x86_64_O_NOFOLLOW_would_be_O_LARGEFILE()
    {
        // The bug this table exists for: 0400000 is O_NOFOLLOW on x86-64 and O_LARGEFILE (a no-op) on arm64.
        Assert.Equal(LinuxArch.X64.O_NOFOLLOW, LinuxArch.Arm64.O_LARGEFILE_KERNEL);
        Assert.NotEqual(LinuxArch.X64.O_NOFOLLOW, LinuxArch.Arm64.O_NOFOLLOW);
    }

    [Fact]
    public void Lstat_reports_a_symlink_and_a_device_node_itself()
    {
        string dir = Directory.CreateTempSubdirectory("berth-interop-").FullName;
        try
        {
            File.WriteAllText(Path.Combine(dir, "target"), "hello");
            File.CreateSymbolicLink(Path.Combine(dir, "link"), "target");
            var link = Libc.Lstat(Path.Combine(dir, "link"));
            Assert.Equal(0xa000u, link.Mode & 0xf000); // S_IFLNK
            Assert.Equal(6, link.Size);                // "target"
            var file = Libc.Lstat(Path.Combine(dir, "target"));
            Assert.Equal((uint)Libc.S_IFREG, file.Mode & 0xf000);
            Assert.Equal(5, file.Size);
            Assert.Equal(1ul, file.Nlink);
            Assert.Equal(new DateTimeOffset(File.GetLastWriteTimeUtc(Path.Combine(dir, "target"))).ToUnixTimeSeconds(), file.Mtime);
            var null_ = Libc.Lstat("/dev/null");
            Assert.Equal((uint)Libc.S_IFCHR, null_.Mode & 0xf000);
            Assert.Equal(Libc.MakeDev(1, 3), null_.Rdev);
            var e = Assert.Throws<ErrnoException>(() => Libc.Lstat(Path.Combine(dir, "missing")));
            Assert.Equal(Libc.ENOENT, e.Errno);
        }
        finally
        {
            Directory.Delete(dir, recursive: true);
        }
    }

    [Fact]
    public void Other_architectures_are_refused_by_name()
    {
        var e = Assert.Throws<PlatformNotSupportedException>(() => LinuxArch.For(Architecture.Arm));
        Assert.Contains("Arm", e.Message);
    }

    [Fact]
    public void O_NOFOLLOW_refuses_a_final_symlink_on_this_kernel()
    {
        string dir = Directory.CreateTempSubdirectory("berth-interop-").FullName;
        try
        {
            File.WriteAllText(Path.Combine(dir, "target"), "x");
            File.CreateSymbolicLink(Path.Combine(dir, "link"), Path.Combine(dir, "target"));
            int fd = Libc.open(Path.Combine(dir, "link"), Libc.O_RDONLY | Libc.O_NOFOLLOW | Libc.O_CLOEXEC, 0);
            int errno = Libc.Errno;
            if (fd >= 0) Libc.close(fd);
            Assert.True(fd < 0, "open with O_NOFOLLOW followed a symlink");
            Assert.Equal(Libc.ELOOP, errno);

            fd = Libc.open(Path.Combine(dir, "target"), Libc.O_RDONLY | Libc.O_DIRECTORY | Libc.O_CLOEXEC, 0);
            errno = Libc.Errno;
            if (fd >= 0) Libc.close(fd);
            Assert.True(fd < 0, "open with O_DIRECTORY opened a regular file");
            Assert.Equal(Libc.ENOTDIR, errno);
        }
        finally
        {
            Directory.Delete(dir, recursive: true);
        }
    }

    private static IEnumerable<(string Name, long Value)> CompileAndRun(string name, string source)
    {
        string dir = Directory.CreateTempSubdirectory("berth-abi-").FullName;
        try
        {
            string c = Path.Combine(dir, name + ".c"), exe = Path.Combine(dir, name);
            File.WriteAllText(c, source);
            Run("cc", ["-std=gnu11", "-Wall", "-Werror", "-I", Path.Combine(RepoRoot(), "src", "native"), "-o", exe, c]);
            var lines = Run(exe, []).Split('\n', StringSplitOptions.RemoveEmptyEntries);
            var result = new List<(string, long)>();
            foreach (var line in lines)
            {
                int sp = line.LastIndexOf(' ');
                result.Add((line[..sp], long.Parse(line[(sp + 1)..], CultureInfo.InvariantCulture)));
            }
            return result;
        }
        finally
        {
            Directory.Delete(dir, recursive: true);
        }
    }

    private static string Run(string file, string[] args)
    {
        var psi = new ProcessStartInfo(file) { RedirectStandardOutput = true, RedirectStandardError = true };
        foreach (var a in args) psi.ArgumentList.Add(a);
        Process p;
        try
        {
            p = Process.Start(psi)!;
        }
        catch (System.ComponentModel.Win32Exception e)
        {
            // The build compiles src/native with cc too: a machine that builds Berth has it.
            throw new InvalidOperationException($"cannot run {file} (a C compiler is required for this test): {e.Message}", e);
        }
        using (p)
        {
            var stdout = p.StandardOutput.ReadToEndAsync();
            string stderr = p.StandardError.ReadToEnd();
            p.WaitForExit();
            Assert.True(p.ExitCode == 0, $"{file} {string.Join(' ', args)} exited {p.ExitCode}: {stderr}");
            return stdout.Result;
        }
    }

    private static string RepoRoot()
    {
        for (var d = new DirectoryInfo(AppContext.BaseDirectory); d is not null; d = d.Parent)
            if (File.Exists(Path.Combine(d.FullName, "Berth.slnx"))) return d.FullName;
        throw new InvalidOperationException($"repository root (Berth.slnx) not found above {AppContext.BaseDirectory}");
    }
}
