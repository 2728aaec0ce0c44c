/* Helpers usable in the child: no allocation, no locks, no stdio streams.
 * snprintf/vsnprintf with %s/%d/%u/%x do not allocate in glibc. */
#include "berth_internal.h"

#include <errno.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <unistd.h>

int berth_sync_fd = -1;

const char *berth_strerror(int errnum)
{
    /* strerrordesc_np: untranslated, no gettext (which may lock or allocate) */
    const char *s = strerrordesc_np(errnum);
    return s ? s : "Unknown error";
}

/* Go-style (runc) lower-case error text: "no such file or directory" */
void berth_lower_strerror(int errnum, char *buf, size_t len)
{
    snprintf(buf, len, "%s", berth_strerror(errnum));
    if (buf[0] >= 'A' && buf[0] <= 'Z')
        buf[0] = (char)(buf[0] - 'A' + 'a');
}

/* The call and path of the last failure in this (child) process: sent after the ERROR text. */
char berth_err_syscall[32];
char berth_err_path[BERTH_ERRLEN];

void berth_fail_detail(const char *syscall, const char *path)
{
    snprintf(berth_err_syscall, sizeof(berth_err_syscall), "%s", syscall ? syscall : "");
    snprintf(berth_err_path, sizeof(berth_err_path), "%s", path ? path : "");
}

/* Derive the call and the path from an op's message ("mount proc to /proc", "exec /bin/x"): the
 * first word names the call (a few message words map to the syscall behind them), the path is
 * the last word starting with '/'. */
static void detail_from_message(const char *msg, size_t len)
{
    static const struct {
        const char *word, *call;
    } calls[] = {
        {"exec", "execve"},     {"remount", "mount"}, {"set", "mount"},    {"make", "mount"},
        {"umount", "umount2"},  {"create", "open"},   {"resolve", "openat2"}, {"send", "sendmsg"},
        {"receive", "recvmsg"}, {"keep", "fcntl"},    {"unlockpt", "ioctl"}, {"ptsname", "ioctl"},
    };
    size_t w = 0;
    while (w < len && msg[w] != ' ')
        w++;
    const char *call = NULL;
    for (size_t i = 0; i < sizeof(calls) / sizeof(calls[0]); i++)
        if (strlen(calls[i].word) == w && strncmp(msg, calls[i].word, w) == 0)
            call = calls[i].call;
    if (call)
        snprintf(berth_err_syscall, sizeof(berth_err_syscall), "%s", call);
    else
        snprintf(berth_err_syscall, sizeof(berth_err_syscall), "%.*s", (int)w, msg);
    berth_err_path[0] = '\0';
    for (size_t i = w; i < len; i++)
        if (msg[i] == '/' && msg[i - 1] == ' ') {
            size_t e = i;
            while (e < len && msg[e] != ' ')
                e++;
            snprintf(berth_err_path, sizeof(berth_err_path), "%.*s", (int)(e - i), msg + i);
            i = e - 1;
        }
}

/* Format "<fmt>: <strerror(errnum)>" into err (BERTH_ERRLEN), note the call and the path
 * (see berth_err_syscall), set errno, return -1. */
int berth_fail(char *err, int errnum, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(err, BERTH_ERRLEN, fmt, ap);
    va_end(ap);
    if (n >= 0 && n < BERTH_ERRLEN) {
        detail_from_message(err, (size_t)n);
        snprintf(err + n, BERTH_ERRLEN - n, ": %s", berth_strerror(errnum));
    }
    errno = errnum;
    return -1;
}

int berth_write_all(int fd, const char *buf, size_t len)
{
    while (len > 0) {
        ssize_t n = write(fd, buf, len);
        if (n < 0) {
            if (errno == EINTR)
                continue;
            return -1;
        }
        buf += n;
        len -= (size_t)n;
    }
    return 0;
}

int berth_sync_send(int fd, uint32_t type, uint32_t errno_value, const char *text)
{
    uint32_t hdr[2] = {type, errno_value};
    size_t len = text ? strlen(text) : 0;
    if (len > BERTH_MSG_MAX - sizeof(hdr))
        len = BERTH_MSG_MAX - sizeof(hdr);
    struct iovec iov[2] = {{hdr, sizeof(hdr)}, {(void *)text, len}};
    struct msghdr mh = {.msg_iov = iov, .msg_iovlen = len ? 2 : 1};
    ssize_t n;
    do
        n = sendmsg(fd, &mh, MSG_NOSIGNAL);
    while (n < 0 && errno == EINTR);
    return n < 0 ? -1 : 0;
}

int berth_sync_recv(int fd, uint32_t *type, uint32_t *errno_value, char *buf, size_t buflen)
{
    return berth_sync_recv_detail(fd, type, errno_value, buf, buflen, NULL, NULL);
}

int berth_sync_recv_detail(int fd, uint32_t *type, uint32_t *errno_value, char *buf, size_t buflen,
                           const char **syscall, const char **path)
{
    uint32_t hdr[2];
    if (syscall)
        *syscall = "";
    if (path)
        *path = "";
    if (!buf || buflen == 0) {
        errno = EINVAL;
        return -1;
    }
    struct iovec iov[2] = {{hdr, sizeof(hdr)}, {buf, buflen - 1}};
    struct msghdr mh = {.msg_iov = iov, .msg_iovlen = 2};
    ssize_t n;
    buf[0] = '\0';
    do
        n = recvmsg(fd, &mh, MSG_CMSG_CLOEXEC);
    while (n < 0 && errno == EINTR);
    if (n < 0)
        return -1;
    if (n == 0) {
        *type = 0;
        *errno_value = 0;
        return 0;
    }
    if ((size_t)n < sizeof(hdr)) {
        errno = EPROTO;
        return -1;
    }
    *type = hdr[0];
    *errno_value = hdr[1];
    n -= sizeof(hdr);
    buf[n] = '\0';
    /* the text ends at its NUL; an ERROR carries "syscall\0path\0" after it */
    size_t text = strnlen(buf, (size_t)n);
    if (text < (size_t)n) {
        const char *s = buf + text + 1, *end = buf + n;
        if (syscall)
            *syscall = s;
        s += strlen(s) + 1;
        if (path && s < end)
            *path = s;
    }
    return (int)text;
}

const char *berth_error_kind(uint32_t errno_value, const char *syscall)
{
    if (!syscall || strcmp(syscall, "execve") != 0)
        return "other";
    switch (errno_value) {
    case ENOENT:
    case ENOTDIR:
        return "not-found";
    case EACCES:
    case EPERM:
    case ENOEXEC:
    case EISDIR:
        return "permission";
    }
    return "other";
}

/* Reset every signal disposition to SIG_DFL with the raw syscall (glibc's
 * sigaction refuses its internal signals).  SIGPIPE is ignored during setup so that
 * writing to a closed pipe fails with EPIPE instead of leaving a pending signal. */
void berth_signals_default(int ignore_sigpipe)
{
    struct {
        unsigned long handler, flags, restorer, mask;
    } ksa;
    for (int sig = 1; sig < 65; sig++) {
        if (sig == SIGKILL || sig == SIGSTOP)
            continue;
        memset(&ksa, 0, sizeof(ksa));
        if (sig == SIGPIPE && ignore_sigpipe)
            ksa.handler = (unsigned long)SIG_IGN;
        syscall(SYS_rt_sigaction, sig, &ksa, NULL, 8);
    }
}

void berth_signals_unblock(void)
{
    uint64_t none = 0;
    syscall(SYS_rt_sigprocmask, SIG_SETMASK, &none, NULL, 8);
}

/* Report the failure to the parent and exit.  Used by the child only. */
void berth_child_die(int status, int errnum, const char *msg)
{
    if (berth_sync_fd >= 0) {
        /* text, then "syscall\0path\0" (berth_sync_recv_detail), all within BERTH_MSG_MAX */
        uint32_t hdr[2] = {BERTH_MSG_ERROR, (uint32_t)errnum};
        size_t room = BERTH_MSG_MAX - sizeof(hdr) - 1; /* a receiver's buffer keeps one byte for a NUL */
        size_t lt = strlen(msg), ls = strlen(berth_err_syscall), lp = strlen(berth_err_path);
        if (lt > room)
            lt = room;
        if (lt + 1 + ls + 1 + lp + 1 > room)
            ls = lp = 0, berth_err_syscall[0] = berth_err_path[0] = '\0';
        struct iovec iov[6] = {{hdr, sizeof(hdr)}, {(void *)msg, lt}, {"", 1}, {berth_err_syscall, ls + 1},
                               {berth_err_path, lp + 1}};
        struct msghdr mh = {.msg_iov = iov, .msg_iovlen = (ls || lp) ? 5 : 2};
        while (sendmsg(berth_sync_fd, &mh, MSG_NOSIGNAL) < 0 && errno == EINTR)
            ;
    }
    _exit(status);
}

struct berth_clone_args {
    uint64_t flags, pidfd, child_tid, parent_tid, exit_signal, stack, stack_size, tls, set_tid, set_tid_size,
        cgroup;
};

/* fork-like clone without glibc's fork (no atfork handlers, no locks).  No CLONE_VM:
 * the child continues on its own copy of the stack. */
pid_t berth_raw_clone(uint64_t flags, int cgroup_fd)
{
    struct berth_clone_args ca;
    memset(&ca, 0, sizeof(ca));
    ca.flags = flags;
    ca.exit_signal = (flags & CLONE_PARENT) ? 0 : SIGCHLD;
    if (cgroup_fd >= 0) {
        /* born in the cgroup: no migration afterwards (CLONE_INTO_CGROUP, cgroup v2 only) */
        ca.flags |= 0x200000000ULL;
        ca.cgroup = (uint64_t)cgroup_fd;
    }
    long r = syscall(SYS_clone3, &ca, sizeof(ca));
    if (r < 0 && errno == ENOSYS && cgroup_fd < 0)
        r = syscall(SYS_clone, (unsigned long)(flags | ((flags & CLONE_PARENT) ? 0 : SIGCHLD)), NULL, NULL, NULL,
                    NULL);
    return (pid_t)r;
}
