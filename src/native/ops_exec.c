/* Running programs: HOOK, LOOKUP, EXEC. */
#include "berth_internal.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#ifndef CLOSE_RANGE_CLOEXEC
#define CLOSE_RANGE_CLOEXEC (1U << 2)
#endif
#ifndef SYS_pidfd_open
#define SYS_pidfd_open 434
#endif

static char resolved[PATH_MAX];
static int have_resolved;

/* Mark every fd >= 3 close-on-exec. */
static void cloexec_from_3(void)
{
    if (syscall(SYS_close_range, 3U, ~0U, CLOSE_RANGE_CLOEXEC) == 0)
        return;
    struct rlimit rl;
    int max = (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur < 65536) ? (int)rl.rlim_cur : 65536;
    for (int fd = 3; fd < max; fd++)
        fcntl(fd, F_SETFD, FD_CLOEXEC);
}

static long now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec * 1000L + ts.tv_nsec / 1000000L;
}

/* Feed stdin to the hook and wait for it, at most deadline (ms, -1 = none).
 * Returns the wait status, or -1 with errno (ETIMEDOUT after killing it). */
static int hook_wait(pid_t pid, int wfd, const char *in, size_t inlen, long deadline)
{
    int pidfd = (int)syscall(SYS_pidfd_open, pid, 0);
    int status, exited = 0;
    for (;;) {
        if (pidfd < 0 && waitpid(pid, &status, WNOHANG) == pid) {
            exited = 1;
            break;
        }
        long left = deadline < 0 ? -1 : deadline - now_ms();
        if (deadline >= 0 && left <= 0)
            break;
        struct pollfd pf[2];
        nfds_t n = 0;
        if (pidfd >= 0)
            pf[n++] = (struct pollfd){.fd = pidfd, .events = POLLIN};
        if (wfd >= 0)
            pf[n++] = (struct pollfd){.fd = wfd, .events = POLLOUT};
        int timeout = pidfd < 0 ? 10 : (left < 0 || left > INT_MAX) ? -1 : (int)left;
        if (poll(pf, n, timeout) < 0 && errno != EINTR)
            break;
        if (pidfd >= 0 && (pf[0].revents & POLLIN))
            break;
        if (wfd >= 0 && pf[n - 1].revents) {
            ssize_t w = inlen ? write(wfd, in, inlen) : 0;
            if (w > 0) {
                in += w;
                inlen -= (size_t)w;
            }
            if (inlen == 0 || (w < 0 && errno != EAGAIN && errno != EINTR)) {
                close(wfd); /* done, or the hook does not read its stdin */
                wfd = -1;
            }
        }
    }
    int timed_out = !exited && deadline >= 0 && deadline - now_ms() <= 0;
    if (!exited) {
        if (timed_out)
            kill(pid, SIGKILL);
        while (waitpid(pid, &status, 0) < 0 && errno == EINTR)
            ;
        /* a hook that exited at the deadline still counts as finished */
        if (timed_out && WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL)
            status = -1;
    }
    if (wfd >= 0)
        close(wfd);
    if (pidfd >= 0)
        close(pidfd);
    if (status == -1)
        errno = ETIMEDOUT;
    return status;
}

int berth_op_hook(const struct berth_op_rec *op, char *err)
{
    const char *path = op->args[0].s;
    char **argv = op->args[1].list, **env = op->args[2].list;
    uint64_t timeout = op->args[4].u;
    int p[2];
    if (pipe2(p, O_CLOEXEC) < 0)
        return berth_fail(err, errno, "hook %s: pipe", path);
    pid_t pid = berth_raw_clone(0, -1);
    if (pid < 0) {
        int e = errno;
        close(p[0]);
        close(p[1]);
        return berth_fail(err, e, "hook %s: clone", path);
    }
    if (pid == 0) {
        if (dup2(p[0], 0) < 0)
            _exit(127);
        cloexec_from_3();
        berth_signals_default(0);
        berth_signals_unblock();
        execve(path, argv, env);
        _exit(127);
    }
    close(p[0]);
    fcntl(p[1], F_SETFL, O_NONBLOCK);
    long deadline = timeout ? now_ms() + (long)timeout * 1000L : -1;
    int st = hook_wait(pid, p[1], op->args[3].s, op->args[3].len, deadline);
    if (st == -1) {
        if (errno == ETIMEDOUT) {
            snprintf(err, BERTH_ERRLEN, "hook %s: timed out", path);
            berth_fail_detail("", path);
            errno = ETIMEDOUT;
            return -1;
        }
        return berth_fail(err, errno, "hook %s: wait", path);
    }
    if (WIFEXITED(st) && WEXITSTATUS(st) == 0)
        return 0;
    if (WIFEXITED(st)) {
        snprintf(err, BERTH_ERRLEN, "hook %s: exit status %d", path, WEXITSTATUS(st));
    } else {
        char sig[64];
        const char *d = sigdescr_np(WTERMSIG(st));
        snprintf(sig, sizeof(sig), "%s", d ? d : "unknown signal");
        if (sig[0] >= 'A' && sig[0] <= 'Z')
            sig[0] = (char)(sig[0] - 'A' + 'a');
        snprintf(err, BERTH_ERRLEN, "hook %s: signal: %s", path, sig);
    }
    berth_fail_detail("", path);
    errno = 0; /* not a system call failure */
    return -1;
}

static int lookup_fail(char *err, int e, const char *name)
{
    if (e == EACCES)
        snprintf(err, BERTH_ERRLEN, "exec: \"%s\": permission denied", name);
    else
        snprintf(err, BERTH_ERRLEN, "exec: \"%s\": executable file not found in $PATH", name);
    berth_fail_detail("execve", name); /* the lookup is the create-time check of the exec */
    errno = e;
    return -1;
}

/* 0: executable regular file; else the errno that describes why not */
static int check_exec(const char *path)
{
    struct stat st;
    if (stat(path, &st) < 0)
        return errno;
    if (!S_ISREG(st.st_mode) || faccessat(AT_FDCWD, path, X_OK, AT_EACCESS) < 0)
        return EACCES;
    return 0;
}

int berth_op_lookup(const struct berth_op_rec *op, char *err)
{
    const char *name = op->args[0].s;
    char **env = op->args[1].list;
    have_resolved = 0;
    if (!*name)
        return lookup_fail(err, ENOENT, name);
    if (strchr(name, '/')) {
        int e = check_exec(name);
        if (e == EACCES)
            return lookup_fail(err, EACCES, name);
        if (e) {
            char lower[128];
            berth_lower_strerror(e, lower, sizeof(lower));
            snprintf(err, BERTH_ERRLEN, "exec: \"%s\": stat %s: %s", name, name, lower);
            berth_fail_detail("execve", name);
            errno = e;
            return -1;
        }
        if (strlen(name) >= sizeof(resolved))
            return berth_fail(err, ENAMETOOLONG, "exec: \"%s\"", name);
        strcpy(resolved, name);
        have_resolved = 1;
        return 0;
    }
    const char *path = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin";
    for (char **e = env; e && *e; e++)
        if (strncmp(*e, "PATH=", 5) == 0)
            path = *e + 5;
    int best = ENOENT;
    for (const char *p = path;;) {
        const char *q = strchrnul(p, ':');
        int dlen = (int)(q - p);
        char cand[PATH_MAX];
        int n = dlen ? snprintf(cand, sizeof(cand), "%.*s/%s", dlen, p, name)
                     : snprintf(cand, sizeof(cand), "./%s", name);
        if (n > 0 && (size_t)n < sizeof(cand)) {
            int e = check_exec(cand);
            if (e == 0) {
                memcpy(resolved, cand, (size_t)n + 1);
                have_resolved = 1;
                return 0;
            }
            if (e == EACCES)
                best = EACCES;
        }
        if (!*q)
            break;
        p = q + 1;
    }
    return lookup_fail(err, best, name);
}

int berth_op_exec(const struct berth_op_rec *op, char *err)
{
    const char *path = have_resolved ? resolved : op->args[0].s;
    const struct berth_arg *keep = &op->args[3];
    cloexec_from_3();
    for (uint32_t i = 0; i + 4 <= keep->len; i += 4) {
        uint32_t fd;
        memcpy(&fd, keep->s + i, 4);
        if (fcntl((int)fd, F_SETFD, 0) < 0)
            return berth_fail(err, errno, "keep fd %u", fd);
    }
    berth_signals_default(0);
    berth_signals_unblock();
    execve(path, op->args[1].list, op->args[2].list);
    int e = errno;
    berth_fail(err, e, "exec %s", path);
    berth_fail_detail("execve", path);
    berth_child_die(e == ENOENT ? 127 : 126, e, err);
}
