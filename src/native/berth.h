/*
 * berth native piece: the only code that runs between clone and exec.
 *
 * C# (Berth.Runtime) decides everything and encodes it as a flat "plan": a list of
 * operations.  berth_spawn() parses the plan in the parent (no allocation happens in
 * the child), clones, and the child executes the operations in order, talking to the
 * parent over a SOCK_SEQPACKET "sync" socket.  No policy lives here.
 *
 * Contract documented in docs/design/runtime-plan.md; keep both in step.
 */
#ifndef BERTH_H
#define BERTH_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#define BERTH_PLAN_MAGIC 0x4e4c5042u /* "BPLN" little endian */
#define BERTH_PLAN_VERSION 1u

/* ---- plan encoding ------------------------------------------------------------
 * u32 magic, u32 version, u32 op_count, then op_count records:
 *   u16 op, u16 flags, u32 argc, then argc args:
 *     u8 kind (0 = integer, 1 = bytes)
 *     kind 0: u64 value (little endian)
 *     kind 1: u32 length, length bytes (no terminator in the encoding; the parser
 *             keeps a NUL after every byte arg so strings can be used directly)
 * Arguments are positional; each op below lists them.  An op with the wrong
 * argument kinds/count makes berth_spawn fail with EINVAL before cloning.
 */
enum berth_op {
    /* Send SYNC(tag) to the parent and block until it answers CONTINUE (or ABORT). */
    BERTH_OP_SYNC = 1,          /* (bytes tag) */
    BERTH_OP_UNSHARE = 2,       /* (int clone_flags) */
    BERTH_OP_SETHOSTNAME = 3,   /* (bytes name) */
    BERTH_OP_SETDOMAINNAME = 4, /* (bytes name) */
    /* Open the rootfs as the anchor for BERTH_F_IN_ROOT paths (O_PATH dirfd kept). */
    BERTH_OP_OPEN_ROOT = 5,     /* (bytes rootfs_host_path) */
    /* mount(source, target, fstype, mountflags, data); then, if propagation != 0,
     * mount(NULL, target, NULL, propagation, NULL); then, if remount_flags != 0,
     * mount(NULL, target, NULL, remount_flags, NULL) (retrying with the mount's
     * locked flags from statvfs added on EPERM).  source/fstype/data may be empty
     * (= NULL).  With BERTH_F_IN_ROOT the target is resolved inside the root opened
     * by OPEN_ROOT with openat2(RESOLVE_IN_ROOT), created first when
     * BERTH_F_MKDIR / BERTH_F_MKFILE is set, and mounted through /proc/self/fd/N.
     * Implementation notes: when source, fstype are empty and mountflags is 0 the first
     * mount(2) is skipped (a propagation-only or remount-only op).  With IN_ROOT the
     * target is reopened after the first mount, so the propagation and remount steps
     * apply to the new mount, not to the directory underneath it. */
    BERTH_OP_MOUNT = 6,         /* (bytes source, bytes target, bytes fstype, int mountflags,
                                    bytes data, int propagation, int remount_flags) */
    /* mknod(path, mode, makedev(major, minor)) then chown(uid, gid).
     * BERTH_F_FALLBACK_BIND: on EPERM bind-mount the host's node (host_path) instead. */
    BERTH_OP_MKNOD = 7,         /* (bytes path, int mode, int major, int minor, int uid, int gid,
                                    bytes host_path) */
    BERTH_OP_SYMLINK = 8,       /* (bytes link_content, bytes path)  EEXIST is not an error */
    BERTH_OP_MKDIR = 9,         /* (bytes path, int mode)  mkdir -p; EEXIST is not an error */
    /* chdir(rootfs); pivot_root(".", "."); umount2(".", MNT_DETACH); chdir("/") */
    BERTH_OP_PIVOT_ROOT = 10,   /* (bytes rootfs) */
    /* directory: mount tmpfs read-only over it; otherwise bind /dev/null over it.
     * ENOENT is not an error. */
    BERTH_OP_MASK_PATH = 11,    /* (bytes path) */
    /* bind the path onto itself (MS_REC) and remount it read-only. ENOENT is not an error. */
    BERTH_OP_READONLY_PATH = 12,/* (bytes path) */
    /* open(path, O_WRONLY|O_TRUNC) and write content (sysctl, oom_score_adj, ...) */
    BERTH_OP_WRITE_FILE = 13,   /* (bytes path, bytes content) */
    /* setrlimit; when raising the hard limit fails with EPERM, clamp both values
     * to the current hard limit, send WARN and go on. */
    BERTH_OP_SETRLIMIT = 14,    /* (int resource, int soft, int hard) */
    BERTH_OP_CHDIR = 15,        /* (bytes path) */
    BERTH_OP_UMASK = 16,        /* (int mask) */
    BERTH_OP_SETSID = 17,       /* () */
    /* open /dev/ptmx, unlock it, make the pts the controlling terminal (setsid +
     * TIOCSCTTY), dup it onto 0,1,2 and send the master fd over the unix socket
     * console_fd with SCM_RIGHTS (runc's console-socket protocol).  The datagram's
     * payload is the pts path ("/dev/pts/N"); window size is set when rows/cols > 0. */
    BERTH_OP_CONSOLE = 18,      /* (int console_fd, int rows, int cols) */
    BERTH_OP_KEEPCAPS = 19,     /* () prctl(PR_SET_KEEPCAPS, 1) */
    BERTH_OP_SETGROUPS = 20,    /* (bytes gids as u32 little-endian array) */
    BERTH_OP_SETGID = 21,       /* (int gid)  setresgid */
    BERTH_OP_SETUID = 22,       /* (int uid)  setresuid */
    /* drop every capability not in keep_mask from the bounding set (0..last cap) */
    BERTH_OP_CAPS_BOUNDING = 23,/* (int keep_mask) */
    BERTH_OP_CAPSET = 24,       /* (int effective, int permitted, int inheritable) 64-bit masks */
    BERTH_OP_CAPS_AMBIENT = 25, /* (int mask) raise each cap in mask */
    BERTH_OP_NO_NEW_PRIVS = 26, /* () */
    /* seccomp(SECCOMP_SET_MODE_FILTER, flags, {len, filter}); filter is an array of
     * struct sock_filter (8 bytes each). */
    BERTH_OP_SECCOMP = 27,      /* (bytes filter, int flags) */
    BERTH_OP_READY = 28,        /* () send READY */
    /* open(path, O_WRONLY|O_CLOEXEC) - blocks until `start` opens the fifo for
     * reading - then write one byte "0" and close. */
    BERTH_OP_EXEC_FIFO = 29,    /* (bytes path) */
    /* fork; child: stdin from a pipe fed with `stdin`, execve(path, argv, env);
     * wait at most timeout seconds (0 = no limit); non-zero exit is an error. */
    BERTH_OP_HOOK = 30,         /* (bytes path, bytes argv, bytes env, bytes stdin, int timeout) */
    /* resolve name like execvpe with the PATH found in env (NUL-separated list);
     * remember the result for EXEC.  Fails with runc's messages:
     *   exec: "NAME": executable file not found in $PATH   (ENOENT)
     *   exec: "NAME": permission denied                    (EACCES)  */
    BERTH_OP_LOOKUP = 31,       /* (bytes name, bytes env) */
    /* close_range(3, ~0, CLOSE_RANGE_CLOEXEC) except keep_fds (u32 array); reset all
     * signal dispositions to default, unblock all signals; execve(resolved path or
     * path, argv, env).  argv/env are NUL-separated lists (each entry NUL-terminated). */
    BERTH_OP_EXEC = 32,         /* (bytes path, bytes argv, bytes env, bytes keep_fds) */
    /* dup2(from, to) - stdio for exec'd processes */
    BERTH_OP_DUP2 = 33,         /* (int from, int to) */
    /* bring the loopback interface "lo" of the current network namespace up
     * (SIOCGIFFLAGS, then SIOCSIFFLAGS with IFF_UP unless it is up already), as runc
     * does in a new network namespace.  Error text: "ioctl SIOCSIFFLAGS lo: <strerror>". */
    BERTH_OP_LOOPBACK_UP = 34,  /* () */
};

/* op flags */
#define BERTH_F_IN_ROOT 0x1       /* resolve path args inside OPEN_ROOT's root */
#define BERTH_F_MKDIR 0x2         /* MOUNT: create the target as a directory (mkdir -p) */
#define BERTH_F_MKFILE 0x4        /* MOUNT: create the target as an empty file (parents too) */
#define BERTH_F_IGNORE_ENOENT 0x8 /* a missing path is not an error */
#define BERTH_F_FALLBACK_BIND 0x10/* MKNOD: bind the host node when mknod is not permitted */
#define BERTH_F_OPTIONAL 0x20     /* any failure is sent as WARN instead of ERROR */

/* ---- sync socket messages ------------------------------------------------------
 * One SOCK_SEQPACKET datagram per message: u32 type, u32 errno_value, then text.
 *
 * Message texts (implementation notes):
 *  - ERROR/WARN from an op name the call and the path and end with ": " + the C
 *    strerror text, crun style: "mount proc to /proc: No such file or directory",
 *    "open /proc/sys/x: Permission denied", "pivot_root /r: Invalid argument",
 *    "exec /bin/x: No such file or directory" (then exit 127 for ENOENT, else 126).
 *  - LOOKUP uses runc's wording (no strerror suffix), see BERTH_OP_LOOKUP; a name with
 *    a '/' that does not exist gives `exec: "NAME": stat NAME: no such file or directory`.
 *  - HOOK: "hook PATH: exit status N" / "hook PATH: signal: killed" (errno_value 0),
 *    "hook PATH: timed out" (ETIMEDOUT).
 *  - SETRLIMIT clamping: WARN (errno_value EPERM) "rlimit RLIMIT_NOFILE: clamped hard
 *    limit 1048576 to 524288 (raising it needs CAP_SYS_RESOURCE)" ("unlimited" for
 *    RLIM_INFINITY).
 *  - A failing op with BERTH_F_OPTIONAL sends its message as WARN and the plan goes on;
 *    BERTH_F_IGNORE_ENOENT skips an op that failed with ENOENT silently.
 *  - A plan that ends without EXEC makes the child exit 0.
 *  - Type 100 is used internally (first stage -> berth_spawn) and never seen by callers.
 */
enum berth_msg {
    BERTH_MSG_SYNC = 1,     /* child -> parent: text = tag; parent answers CONTINUE/ABORT */
    BERTH_MSG_READY = 2,    /* child -> parent */
    BERTH_MSG_ERROR = 3,    /* child -> parent: errno_value + message; child then exits 1 */
    BERTH_MSG_WARN = 4,     /* child -> parent: message (e.g. rlimit clamped) */
    BERTH_MSG_CONTINUE = 5, /* parent -> child */
    BERTH_MSG_ABORT = 6,    /* parent -> child: exit(1) at once */
};

#define BERTH_MSG_MAX 4096

struct berth_ns_join {
    int32_t fd;     /* open namespace file (C# opened it, so errors name the path) */
    int32_t nstype; /* CLONE_NEW* value for setns */
};

struct berth_spawn_args {
    uint64_t clone_flags;          /* CLONE_NEW* for namespaces to create at clone time */
    const uint8_t *plan;
    uint64_t plan_len;
    const struct berth_ns_join *joins; /* joined in order (user first) */
    int32_t njoins;
    /* When njoins > 0 (or force_two_stage), a first child joins the namespaces and
     * clones the final process with CLONE_PARENT, so the caller is its parent. */
    int32_t force_two_stage;
    /* When into_cgroup is non-zero, the final process is cloned with CLONE_INTO_CGROUP into the
     * cgroup v2 directory open at cgroup_fd (no migration afterwards, so no RCU grace-period wait). */
    int32_t into_cgroup;
    int32_t cgroup_fd;
};

/*
 * Clone a process that executes the plan.  On success returns its pid (a child of
 * the caller) and stores the parent end of the sync socket (CLOEXEC) in *sync_fd.
 * On failure returns -1, sets errno and writes a message naming the syscall to err.
 * The caller must be prepared to reap the pid.
 * (err carries no strerror suffix, e.g. "clone3", "setns pid namespace (fd 7)",
 * "parse plan: op 2 (MOUNT): argument 3 must be an integer"; no process is left
 * behind on failure.  clone_flags other than CLONE_NEW* are refused with EINVAL.)
 */
pid_t berth_spawn(const struct berth_spawn_args *args, int *sync_fd, char *err, size_t errlen);

/* Receive one message. Returns bytes of text (>= 0) and fills type/errno_value;
 * text is NUL-terminated in buf.  Returns 0 with *type = 0 at EOF, -1 on error. */
int berth_sync_recv(int fd, uint32_t *type, uint32_t *errno_value, char *buf, size_t buflen);
/* The same, for an ERROR also giving what failed: *syscall and *path point into buf
 * (empty strings when the message carries none).  On the wire an ERROR's text may be
 * followed by "\0syscall\0path\0"; the return value is the text's length (up to its
 * NUL), so berth_sync_recv callers see the text only.  syscall is the system call
 * behind the failing step ("execve" for EXEC and for LOOKUP, which checks at create
 * time what execve will run; "mount", "open", "chdir", ...; empty when the step is no
 * system call, e.g. a hook's exit status), path the path it was given (for LOOKUP the
 * command name as written) or empty. */
int berth_sync_recv_detail(int fd, uint32_t *type, uint32_t *errno_value, char *buf, size_t buflen,
                           const char **syscall, const char **path);
/* Classifies an ERROR: "not-found" (execve with ENOENT/ENOTDIR: the command does not
 * exist or is not in PATH), "permission" (execve with EACCES/EPERM/ENOEXEC/EISDIR: it
 * exists but cannot be executed), else "other". */
const char *berth_error_kind(uint32_t errno_value, const char *syscall);
/* Send one message. Returns 0 or -1 (MSG_NOSIGNAL is used). */
int berth_sync_send(int fd, uint32_t type, uint32_t errno_value, const char *text);

/* ---- spawn file ------------------------------------------------------------------
 * What a process needs to clone a container's init that another process prepared
 * (berthd runs the C# half of berth-runtime's create; berth-monitor --spawn clones).
 * Written by PendingCreate.EncodeSpawnFile (src/Berth.Runtime), little endian:
 *   u32 magic "BSPN", u32 version 1, u64 clone flags,
 *   i32 exec fifo fd (-1 none), u32 len + exec fifo path,
 *   i32 console fd (-1 none), u32 len + cgroup v2 dir to clone into (empty: none),
 *   u32 njoins, njoins x (i32 CLONE_NEW* type, u32 len + namespace path),
 *   u32 len + plan (the encoding above).
 * The plan refers to the fifo and the console socket by those fd numbers: the spawning
 * process opens them (the console socket connected) at exactly them.
 */
#define BERTH_SPAWN_MAGIC 0x4e505342u /* "BSPN" little endian */
#define BERTH_SPAWN_VERSION 1u
#define BERTH_SPAWN_MAX_JOINS 16

struct berth_spawn_file {
    uint64_t clone_flags;
    int32_t fifo_fd;                /* -1: none */
    const char *fifo;               /* strings are NUL-terminated copies ("" when empty) */
    int32_t console_fd;             /* -1: none */
    const char *cgroup;             /* "": not cloned into a cgroup */
    uint32_t njoins;
    int32_t join_type[BERTH_SPAWN_MAX_JOINS];
    const char *join_path[BERTH_SPAWN_MAX_JOINS];
    const uint8_t *plan;
    uint64_t plan_len;
    char *storage;                  /* owns the copies: berth_spawn_file_free */
};

/* Decodes a spawn file (allocates: parent side only).  Returns 0, or -1 with errno EINVAL
 * and err one of "truncated", "not a version 1 spawn file", "N namespaces to join"
 * (ENOMEM: "out of memory"). */
int berth_spawn_file_decode(const uint8_t *buf, size_t len, struct berth_spawn_file *sf, char *err, size_t errlen);
void berth_spawn_file_free(struct berth_spawn_file *sf);

/* ---- parent-side terminal helpers (tty.c; never used in the child) ---- */
/* Receives one fd sent with SCM_RIGHTS (runc's console-socket protocol). Returns it (CLOEXEC) or -1. */
int berth_recv_fd(int sock);
/* Puts a terminal in raw mode, saving its termios into saved (at least 64 bytes). */
int berth_tty_raw(int fd, void *saved, size_t saved_len);
int berth_tty_restore(int fd, const void *saved, size_t saved_len);
/* Copies the window size of terminal `from` to `to`, or sets it. */
int berth_tty_copy_size(int from, int to);
int berth_tty_set_size(int fd, unsigned short rows, unsigned short cols);

/* ---- sockets inside another network namespace (netns_sock.c) ---- */
/* Makes a UDP socket and a listening TCP socket (both CLOEXEC, non-blocking) bound to ip:port inside the
 * network namespace at ns_path (a bind-mounted nsfs file or /proc/PID/ns/net), on a pthread of its own that
 * enters the namespace and ends (the caller's thread never changes namespace).  0, or -1 with errno and err. */
int berth_netns_listen(const char *ns_path, const char *ip, int port, int *udp_fd, int *tcp_fd, char *err, size_t errlen);

/* Returns a static version string, used by tests to check the library loaded. */
const char *berth_native_version(void);

#endif
