using Berth.Runtime.Seccomp;
using Berth.Runtime.Spec;

namespace Berth.Runtime.Tests.Seccomp;

internal static class SeccompTestData
{
    // Docker's profile (moby v20.10.24, Apache-2.0) lives in the repository at tests/testdata (see NOTICE there)
    // and is copied next to the test assembly; BERTH_DOCKER_SECCOMP_PROFILE overrides the location.
    public static string DockerProfilePath =>
        Environment.GetEnvironmentVariable("BERTH_DOCKER_SECCOMP_PROFILE") is { Length: > 0 } p
            ? p
            : Path.Combine(AppContext.BaseDirectory, "testdata", "seccomp-default-v20.10.24.json");

    public static readonly string[] DockerDefaultCaps =
    [
        "CAP_CHOWN", "CAP_DAC_OVERRIDE", "CAP_FSETID", "CAP_FOWNER", "CAP_MKNOD", "CAP_NET_RAW",
        "CAP_SETGID", "CAP_SETUID", "CAP_SETFCAP", "CAP_SETPCAP", "CAP_NET_BIND_SERVICE",
        "CAP_SYS_CHROOT", "CAP_KILL", "CAP_AUDIT_WRITE",
    ];

    public static string DockerProfileJson()
    {
        Assert.True(File.Exists(DockerProfilePath), $"Docker's seccomp profile not found at {DockerProfilePath} (set BERTH_DOCKER_SECCOMP_PROFILE)");
        return File.ReadAllText(DockerProfilePath);
    }

    public static LinuxSeccomp DockerDefault(string kernel = "6.18.44-fc-v657", IReadOnlyCollection<string>? caps = null) =>
        DockerSeccompProfile.ToOci(DockerProfileJson(), caps ?? DockerDefaultCaps, kernel);

    public const uint Allow = 0x7fff0000;
    public const uint KillThread = 0;
    public const uint KillProcess = 0x80000000;
    public const uint Trap = 0x00030000;
    public const uint Log = 0x7ffc0000;
    public static uint Errno(uint e) => 0x00050000 | e;
    public static uint Trace(uint e) => 0x7ff00000 | e;
    public static readonly uint Eperm = Errno(1);
    public static readonly uint Enosys = Errno(38);

    public const uint X32 = 0x40000000;

    // x86_64 numbers (asm/unistd_64.h), written out independently of the generated table.
    public static class Nr64
    {
        public const uint Read = 0, Write = 1, Socket = 41, Clone = 56, Execve = 59, Getpid = 39, Ptrace = 101,
            Syslog = 103, Personality = 135, ArchPrctl = 158, Chroot = 161, Mount = 165, Reboot = 169,
            Keyctl = 250, Unshare = 272, OpenByHandleAt = 304, Bpf = 321, Clone3 = 435, FutexWaitv = 449,
            SetMempolicyHomeNode = 450;
    }

    // i386 numbers (asm/unistd_32.h).
    public static class Nr32
    {
        public const uint Read = 3, Write = 4, Execve = 11, Getpid = 20, Mount = 21, Clone = 120, Personality = 136,
            Socketcall = 102, Chown32 = 212, Keyctl = 288, Unshare = 310, Clone3 = 435, FutexWaitv = 449;
    }

    // x32 numbers without the x32 bit (asm/unistd_x32.h).
    public static class NrX32
    {
        public const uint Read = 0, Mount = 165, Execve = 520, FutexWaitv = 449, Pwritev2 = 547;
    }
}
