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

/* Format "<fmt>: <strerror(errnum)>" into err (BERTH_ERRLEN), set errno, return -1. */
int berth_fail(char *err, int errnum, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(err, BERTH_ERRLEN, fmt, ap);
    va_end(ap);
    if (n >= 0 && n < BERTH_ERRLEN)
        snprintf(err + n, BERTH_ERRLEN - n, ": %s", berth_strerror(errnum));
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
    uint32_t hdr[2];
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
    return (int)n;
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
    if (berth_sync_fd >= 0)
        berth_sync_send(berth_sync_fd, BERTH_MSG_ERROR, (uint32_t)errnum, msg);
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
