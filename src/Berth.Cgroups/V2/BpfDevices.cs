using System.Runtime.InteropServices;
using System.Text;
using Berth.Cgroups.Internal;
using Berth.Core;
using Berth.Interop;

namespace Berth.Cgroups.V2;

/// <summary>
/// Loads and attaches the cgroup v2 device filter (<see cref="DeviceFilter"/>) with bpf(2), like runc's
/// libcontainer/cgroups/devices/ebpf_linux.go.
/// </summary>
/// <remarks>
/// Replacement strategy: the new program is attached with BPF_F_ALLOW_MULTI <i>before</i> the programs that
/// were attached to the cgroup earlier (found with BPF_PROG_QUERY) are detached, so there is never a window
/// without a filter (while both are attached a device needs both to allow it, i.e. it is stricter, never
/// laxer). All programs previously attached directly to the cgroup are assumed to be ours (as runc does).
/// The program fd is closed once attached: the attachment keeps the program alive, and rmdir of the cgroup
/// releases it. Effective programs inherited from ancestors are not touched (query without EFFECTIVE).
/// </remarks>
internal static unsafe class BpfDevices
{
    // enum bpf_cmd
    private const int BPF_PROG_LOAD = 5, BPF_PROG_ATTACH = 8, BPF_PROG_DETACH = 9, BPF_PROG_GET_FD_BY_ID = 13, BPF_PROG_QUERY = 16;

    // enum bpf_prog_type / bpf_attach_type / attach flags
    private const int BPF_PROG_TYPE_CGROUP_DEVICE = 15, BPF_CGROUP_DEVICE = 6, BPF_F_ALLOW_MULTI = 2;

    private const int ENOENT = 2, EINVAL = 22, ENOSPC = 28;

    // Larger than every kernel's union bpf_attr use here; the tail must be (and is) zero.
    private const int AttrSize = 128;

    /// <summary>
    /// Compiles <paramref name="rules"/> and attaches the program to the cgroup v2 directory
    /// <paramref name="dir"/>, replacing the programs attached there before.
    /// </summary>
    public static void Apply(string dir, IReadOnlyList<DeviceRule> rules)
    {
        var insns = DeviceFilter.Generate(rules);
        var dirFd = Libc.open(dir, Libc.O_RDONLY | Libc.O_DIRECTORY | Libc.O_CLOEXEC, 0);
        if (dirFd < 0)
        {
            throw Error($"open {dir}", Marshal.GetLastPInvokeError());
        }

        try
        {
            var old = QueryAttached(dirFd);
            var progFd = Load(insns);
            try
            {
                Attach(dirFd, progFd, dir);
            }
            finally
            {
                Libc.close(progFd);
            }

            foreach (var id in old)
            {
                DetachById(dirFd, id, dir);
            }
        }
        finally
        {
            Libc.close(dirFd);
        }
    }

    /// <summary>IDs of the device programs attached directly to the cgroup (not inherited ones).</summary>
    public static uint[] Query(string dir)
    {
        var dirFd = Libc.open(dir, Libc.O_RDONLY | Libc.O_DIRECTORY | Libc.O_CLOEXEC, 0);
        if (dirFd < 0)
        {
            throw Error($"open {dir}", Marshal.GetLastPInvokeError());
        }

        try
        {
            return QueryAttached(dirFd);
        }
        finally
        {
            Libc.close(dirFd);
        }
    }

    /// <summary>Whether a BPF program with this ID still exists (BPF_PROG_GET_FD_BY_ID; needs CAP_SYS_ADMIN).</summary>
    public static bool ProgramExists(uint id)
    {
        var attr = stackalloc byte[AttrSize];
        new Span<byte>(attr, AttrSize).Clear();
        *(uint*)attr = id;
        var fd = (int)Sys(BPF_PROG_GET_FD_BY_ID, attr);
        if (fd < 0)
        {
            var errno = Marshal.GetLastPInvokeError();
            return errno == ENOENT ? false : throw Error($"BPF_PROG_GET_FD_BY_ID {id}", errno);
        }

        Libc.close(fd);
        return true;
    }

    private static long Sys(int cmd, byte* attr) => Libc.bpf(cmd, attr, AttrSize);

    private static BerthException Error(string what, int errno) =>
        new(ErrorKind.System, $"cgroup v2: device filter: {what}: {Libc.StrError(errno)}");

    private static uint[] QueryAttached(int dirFd)
    {
        var count = 64u;
        while (true)
        {
            var ids = new uint[count];
            fixed (uint* p = ids)
            {
                var attr = stackalloc byte[AttrSize];
                new Span<byte>(attr, AttrSize).Clear();
                *(uint*)(attr + 0) = (uint)dirFd; // target_fd
                *(uint*)(attr + 4) = BPF_CGROUP_DEVICE; // attach_type
                *(ulong*)(attr + 16) = (ulong)p; // prog_ids
                *(uint*)(attr + 24) = count; // prog_cnt
                if (Sys(BPF_PROG_QUERY, attr) < 0)
                {
                    var errno = Marshal.GetLastPInvokeError();
                    if (errno == ENOSPC)
                    {
                        count *= 4;
                        continue;
                    }

                    throw Error("BPF_PROG_QUERY", errno);
                }

                return ids.AsSpan(0, (int)*(uint*)(attr + 24)).ToArray();
            }
        }
    }

    private static int Load(BpfInsn[] insns)
    {
        var code = new ulong[insns.Length];
        for (var i = 0; i < insns.Length; i++)
        {
            code[i] = insns[i].Encode();
        }

        var license = Encoding.ASCII.GetBytes(DeviceFilter.License + "\0");
        var fd = LoadWithLog(code, license, null);
        if (fd >= 0)
        {
            return fd;
        }

        var errno = Marshal.GetLastPInvokeError();

        // Retry with the verifier log so the error says why.
        var log = new byte[1 << 16];
        if (LoadWithLog(code, license, log) is var fd2 and >= 0)
        {
            return fd2;
        }

        var text = Encoding.UTF8.GetString(log, 0, Math.Max(0, Array.IndexOf(log, (byte)0))).Trim();
        throw Error($"BPF_PROG_LOAD ({insns.Length} instructions){(text.Length > 0 ? " verifier: " + text : "")}", errno);
    }

    private static int LoadWithLog(ulong[] code, byte[] license, byte[]? log)
    {
        fixed (ulong* c = code)
        fixed (byte* l = license)
        fixed (byte* lg = log)
        {
            var attr = stackalloc byte[AttrSize];
            new Span<byte>(attr, AttrSize).Clear();
            *(uint*)(attr + 0) = BPF_PROG_TYPE_CGROUP_DEVICE; // prog_type
            *(uint*)(attr + 4) = (uint)code.Length; // insn_cnt
            *(ulong*)(attr + 8) = (ulong)c; // insns
            *(ulong*)(attr + 16) = (ulong)l; // license
            if (log is not null)
            {
                *(uint*)(attr + 24) = 1; // log_level
                *(uint*)(attr + 28) = (uint)log.Length; // log_size
                *(ulong*)(attr + 32) = (ulong)lg; // log_buf
            }

            var name = "berth_devices"u8; // prog_name[16] at 48
            name.CopyTo(new Span<byte>(attr + 48, 16));
            var fd = Sys(BPF_PROG_LOAD, attr);
            if (fd < 0 && Marshal.GetLastPInvokeError() == EINVAL && log is null)
            {
                // Kernels before 4.15's prog_name support reject the name: retry without it.
                new Span<byte>(attr + 48, 16).Clear();
                fd = Sys(BPF_PROG_LOAD, attr);
            }

            return (int)fd;
        }
    }

    private static void Attach(int dirFd, int progFd, string dir)
    {
        var attr = stackalloc byte[AttrSize];
        new Span<byte>(attr, AttrSize).Clear();
        *(uint*)(attr + 0) = (uint)dirFd; // target_fd
        *(uint*)(attr + 4) = (uint)progFd; // attach_bpf_fd
        *(uint*)(attr + 8) = BPF_CGROUP_DEVICE; // attach_type
        *(uint*)(attr + 12) = BPF_F_ALLOW_MULTI; // attach_flags
        if (Sys(BPF_PROG_ATTACH, attr) < 0)
        {
            throw Error($"BPF_PROG_ATTACH to {dir}", Marshal.GetLastPInvokeError());
        }
    }

    private static void DetachById(int dirFd, uint id, string dir)
    {
        var attr = stackalloc byte[AttrSize];
        new Span<byte>(attr, AttrSize).Clear();
        *(uint*)(attr + 0) = id; // prog_id
        var progFd = (int)Sys(BPF_PROG_GET_FD_BY_ID, attr);
        if (progFd < 0)
        {
            var errno = Marshal.GetLastPInvokeError();
            if (errno == ENOENT)
            {
                return; // already gone
            }

            throw Error($"BPF_PROG_GET_FD_BY_ID {id}", errno);
        }

        try
        {
            new Span<byte>(attr, AttrSize).Clear();
            *(uint*)(attr + 0) = (uint)dirFd; // target_fd
            *(uint*)(attr + 4) = (uint)progFd; // attach_bpf_fd
            *(uint*)(attr + 8) = BPF_CGROUP_DEVICE; // attach_type
            if (Sys(BPF_PROG_DETACH, attr) < 0)
            {
                var errno = Marshal.GetLastPInvokeError();
                if (errno != ENOENT)
                {
                    throw Error($"BPF_PROG_DETACH of program {id} from {dir}", errno);
                }
            }
        }
        finally
        {
            Libc.close(progFd);
        }
    }
}
