/* Process ops: SETRLIMIT, CONSOLE, SETGROUPS, capabilities, SECCOMP, EXEC_FIFO, LOOPBACK_UP. */
#include "berth_internal.h"

#include <errno.h>
#include <fcntl.h>
#include <linux/capability.h>
#include <linux/filter.h>
#include <linux/seccomp.h>
#include <net/if.h>
#include <stdio.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <termios.h>
#include <unistd.h>

#define ARG_U(op, i) ((op)->args[i].u)

static const char *rlimit_name(int res)
{
    static const char *names[] = {
        [RLIMIT_CPU] = "RLIMIT_CPU",       [RLIMIT_FSIZE] = "RLIMIT_FSIZE",     [RLIMIT_DATA] = "RLIMIT_DATA",
        [RLIMIT_STACK] = "RLIMIT_STACK",   [RLIMIT_CORE] = "RLIMIT_CORE",       [RLIMIT_RSS] = "RLIMIT_RSS",
        [RLIMIT_NPROC] = "RLIMIT_NPROC",   [RLIMIT_NOFILE] = "RLIMIT_NOFILE",   [RLIMIT_MEMLOCK] = "RLIMIT_MEMLOCK",
        [RLIMIT_AS] = "RLIMIT_AS",         [RLIMIT_LOCKS] = "RLIMIT_LOCKS",     [RLIMIT_SIGPENDING] = "RLIMIT_SIGPENDING",
        [RLIMIT_MSGQUEUE] = "RLIMIT_MSGQUEUE", [RLIMIT_NICE] = "RLIMIT_NICE", [RLIMIT_RTPRIO] = "RLIMIT_RTPRIO",
        [RLIMIT_RTTIME] = "RLIMIT_RTTIME",
    };
    return res >= 0 && res < (int)(sizeof(names) / sizeof(names[0])) && names[res] ? names[res] : "RLIMIT_?";
}

static void fmt_limit(char *buf, size_t len, rlim_t v)
{
    if (v == RLIM_INFINITY)
        snprintf(buf, len, "unlimited");
    else
        snprintf(buf, len, "%llu", (unsigned long long)v);
}

int berth_op_setrlimit(const struct berth_op_rec *op, char *err)
{
    int res = (int)ARG_U(op, 0);
    struct rlimit want = {(rlim_t)ARG_U(op, 1), (rlim_t)ARG_U(op, 2)}, cur;
    if (prlimit(0, res, &want, NULL) == 0)
        return 0;
    int e = errno;
    if (e != EPERM || prlimit(0, res, NULL, &cur) < 0 || want.rlim_max <= cur.rlim_max)
        return berth_fail(err, e, "setrlimit %s", rlimit_name(res));
    struct rlimit clamped = {want.rlim_cur < cur.rlim_max ? want.rlim_cur : cur.rlim_max, cur.rlim_max};
    if (prlimit(0, res, &clamped, NULL) < 0)
        return berth_fail(err, errno, "setrlimit %s", rlimit_name(res));
    char msg[256], a[32], b[32];
    fmt_limit(a, sizeof(a), want.rlim_max);
    fmt_limit(b, sizeof(b), cur.rlim_max);
    snprintf(msg, sizeof(msg), "rlimit %s: clamped hard limit %s to %s (raising it needs CAP_SYS_RESOURCE)",
             rlimit_name(res), a, b);
    berth_sync_send(berth_sync_fd, BERTH_MSG_WARN, EPERM, msg);
    return 0;
}

/* runc's console-socket protocol: the pty master travels over console_fd with
 * SCM_RIGHTS; the payload is the pts path. */
static int send_fd(int sock, int fd, const char *name)
{
    char cbuf[CMSG_SPACE(sizeof(int))];
    memset(cbuf, 0, sizeof(cbuf));
    struct iovec iov = {(void *)name, strlen(name)};
    struct msghdr mh = {.msg_iov = &iov, .msg_iovlen = 1, .msg_control = cbuf, .msg_controllen = sizeof(cbuf)};
    struct cmsghdr *c = CMSG_FIRSTHDR(&mh);
    c->cmsg_level = SOL_SOCKET;
    c->cmsg_type = SCM_RIGHTS;
    c->cmsg_len = CMSG_LEN(sizeof(int));
    memcpy(CMSG_DATA(c), &fd, sizeof(int));
    ssize_t n;
    do
        n = sendmsg(sock, &mh, MSG_NOSIGNAL);
    while (n < 0 && errno == EINTR);
    return n < 0 ? -1 : 0;
}

int berth_op_console(const struct berth_op_rec *op, char *err)
{
    int sock = (int)ARG_U(op, 0);
    unsigned rows = (unsigned)ARG_U(op, 1), cols = (unsigned)ARG_U(op, 2);
    char pts[64];
    int r = -1, master, slave = -1, unlock = 0, n;

    master = open("/dev/ptmx", O_RDWR | O_NOCTTY | O_CLOEXEC);
    if (master < 0)
        return berth_fail(err, errno, "open /dev/ptmx");
    if (ioctl(master, TIOCSPTLCK, &unlock) < 0) {
        berth_fail(err, errno, "unlockpt /dev/ptmx");
        goto out;
    }
    if (ioctl(master, TIOCGPTN, &n) < 0) {
        berth_fail(err, errno, "ptsname /dev/ptmx");
        goto out;
    }
    snprintf(pts, sizeof(pts), "/dev/pts/%d", n);
    /* TIOCGPTPEER opens the peer of this very master, whatever /dev/pts is */
    slave = ioctl(master, TIOCGPTPEER, O_RDWR | O_NOCTTY | O_CLOEXEC);
    if (slave < 0 && (slave = open(pts, O_RDWR | O_NOCTTY | O_CLOEXEC)) < 0) {
        berth_fail(err, errno, "open %s", pts);
        goto out;
    }
    if (rows > 0 || cols > 0) {
        struct winsize ws = {.ws_row = (unsigned short)rows, .ws_col = (unsigned short)cols};
        if (ioctl(slave, TIOCSWINSZ, &ws) < 0) {
            berth_fail(err, errno, "set window size of %s", pts);
            goto out;
        }
    }
    if (send_fd(sock, master, pts) < 0) {
        berth_fail(err, errno, "send console fd over socket %d", sock);
        goto out;
    }
    close(master);
    master = -1;
    if (setsid() < 0 && errno != EPERM) {
        berth_fail(err, errno, "setsid");
        goto out;
    }
    if (ioctl(slave, TIOCSCTTY, 0) < 0) {
        berth_fail(err, errno, "ioctl TIOCSCTTY %s", pts);
        goto out;
    }
    for (int fd = 0; fd < 3; fd++)
        if (dup2(slave, fd) < 0) {
            berth_fail(err, errno, "dup2 %s to %d", pts, fd);
            goto out;
        }
    r = 0;
out:
    if (master >= 0)
        close(master);
    if (slave > 2)
        close(slave);
    return r;
}

int berth_op_setgroups(const struct berth_op_rec *op, char *err)
{
    /* raw syscall: glibc's setgroups would try to sync the parent's (absent) threads */
    gid_t gids[1024];
    size_t n = op->args[0].len / 4;
    if (n > sizeof(gids) / sizeof(gids[0]))
        return berth_fail(err, EINVAL, "setgroups (%zu groups)", n);
    for (size_t i = 0; i < n; i++) {
        uint32_t g;
        memcpy(&g, op->args[0].s + 4 * i, 4);
        gids[i] = g;
    }
    if (syscall(SYS_setgroups, n, gids) < 0)
        return berth_fail(err, errno, "setgroups");
    return 0;
}

int berth_op_caps_bounding(const struct berth_op_rec *op, char *err)
{
    uint64_t keep = ARG_U(op, 0);
    for (int cap = 0; cap < 64; cap++) {
        if (keep & (1ULL << cap))
            continue;
        if (prctl(PR_CAPBSET_DROP, cap, 0, 0, 0) < 0) {
            if (errno == EINVAL)
                break; /* past the last capability the kernel knows */
            return berth_fail(err, errno, "prctl PR_CAPBSET_DROP %d", cap);
        }
    }
    return 0;
}

int berth_op_capset(const struct berth_op_rec *op, char *err)
{
    struct __user_cap_header_struct hdr = {_LINUX_CAPABILITY_VERSION_3, 0};
    struct __user_cap_data_struct data[2];
    uint64_t e = ARG_U(op, 0), p = ARG_U(op, 1), i = ARG_U(op, 2);
    for (int k = 0; k < 2; k++) {
        data[k].effective = (uint32_t)(e >> (32 * k));
        data[k].permitted = (uint32_t)(p >> (32 * k));
        data[k].inheritable = (uint32_t)(i >> (32 * k));
    }
    if (syscall(SYS_capset, &hdr, data) < 0)
        return berth_fail(err, errno, "capset");
    return 0;
}

int berth_op_caps_ambient(const struct berth_op_rec *op, char *err)
{
    uint64_t mask = ARG_U(op, 0);
    for (int cap = 0; cap < 64; cap++)
        if ((mask & (1ULL << cap)) && prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_RAISE, cap, 0, 0) < 0)
            return berth_fail(err, errno, "prctl PR_CAP_AMBIENT_RAISE %d", cap);
    return 0;
}

int berth_op_seccomp(const struct berth_op_rec *op, char *err)
{
    const struct berth_arg *f = &op->args[0];
    unsigned flags = (unsigned)ARG_U(op, 1);
    if (f->len == 0 || f->len % sizeof(struct sock_filter) || f->len / sizeof(struct sock_filter) > 0xffff)
        return berth_fail(err, EINVAL, "seccomp: filter of %u bytes", f->len);
    struct sock_fprog prog = {(unsigned short)(f->len / sizeof(struct sock_filter)), (struct sock_filter *)f->s};
    if (syscall(SYS_seccomp, SECCOMP_SET_MODE_FILTER, flags, &prog) == 0)
        return 0;
    if (flags == 0 && (errno == ENOSYS || errno == EINVAL) && prctl(PR_SET_SECCOMP, SECCOMP_MODE_FILTER, &prog) == 0)
        return 0;
    return berth_fail(err, errno, "seccomp");
}

int berth_op_exec_fifo(const struct berth_op_rec *op, char *err)
{
    const char *path = op->args[0].s;
    int fd;
    do
        fd = open(path, O_WRONLY | O_CLOEXEC);
    while (fd < 0 && errno == EINTR);
    if (fd < 0)
        return berth_fail(err, errno, "open exec fifo %s", path);
    int r = 0;
    if (berth_write_all(fd, "0", 1) < 0)
        r = berth_fail(err, errno, "write exec fifo %s", path);
    close(fd);
    return r;
}

/* "lo" up in the current network namespace (a new one starts with it down). A socket of
 * the namespace serves the interface ioctls; AF_UNIX when IPv4 is not available. */
int berth_op_loopback_up(const struct berth_op_rec *op, char *err)
{
    (void)op;
    int fd = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
    if (fd < 0 && errno == EAFNOSUPPORT)
        fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
    if (fd < 0)
        return berth_fail(err, errno, "socket for lo");
    struct ifreq ifr;
    memset(&ifr, 0, sizeof(ifr));
    strcpy(ifr.ifr_name, "lo");
    int r = 0;
    if (ioctl(fd, SIOCGIFFLAGS, &ifr) < 0)
        r = berth_fail(err, errno, "ioctl SIOCGIFFLAGS lo");
    else if (!(ifr.ifr_flags & IFF_UP)) {
        ifr.ifr_flags |= IFF_UP;
        if (ioctl(fd, SIOCSIFFLAGS, &ifr) < 0)
            r = berth_fail(err, errno, "ioctl SIOCSIFFLAGS lo");
    }
    int e = errno;
    close(fd);
    errno = e;
    return r;
}
