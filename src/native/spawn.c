/* berth_spawn: parse the plan, clone (one or two stages), hand back pid + sync fd. */
#include "berth_internal.h"

#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#ifndef CLONE_NEWTIME
#define CLONE_NEWTIME 0x00000080
#endif

#define ALLOWED_CLONE_FLAGS                                                                                          \
    ((uint64_t)(CLONE_NEWNS | CLONE_NEWUTS | CLONE_NEWIPC | CLONE_NEWUSER | CLONE_NEWPID | CLONE_NEWNET |           \
                CLONE_NEWCGROUP | CLONE_NEWTIME))

static pid_t spawn_fail(char *err, size_t errlen, int e, const char *fmt, ...) __attribute__((format(printf, 4, 5)));
static pid_t spawn_fail(char *err, size_t errlen, int e, const char *fmt, ...)
{
    if (err && errlen) {
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(err, errlen, fmt, ap);
        va_end(ap);
    }
    errno = e;
    return -1;
}

static const char *ns_name(int nstype)
{
    switch (nstype) {
    case CLONE_NEWNS: return "mnt";
    case CLONE_NEWUTS: return "uts";
    case CLONE_NEWIPC: return "ipc";
    case CLONE_NEWUSER: return "user";
    case CLONE_NEWPID: return "pid";
    case CLONE_NEWNET: return "net";
    case CLONE_NEWCGROUP: return "cgroup";
    case CLONE_NEWTIME: return "time";
    }
    return "namespace";
}

/* First stage of a two-stage spawn (a child of the caller): join the namespaces,
 * clone the final process as a sibling (CLONE_PARENT), report its pid, exit.  The
 * final process waits on a pipe until its pid has been reported, so that the pid
 * message is always the first on the socket. Messages here carry no strerror text:
 * berth_spawn's err names the call only. */
__attribute__((noreturn)) static void first_stage(const struct berth_spawn_args *args, const struct berth_plan *plan)
{
    char msg[128];
    for (int32_t i = 0; i < args->njoins; i++) {
        const struct berth_ns_join *j = &args->joins[i];
        if (setns(j->fd, j->nstype) < 0) {
            int e = errno;
            snprintf(msg, sizeof(msg), "setns %s namespace (fd %d)", ns_name(j->nstype), j->fd);
            berth_child_die(1, e, msg);
        }
    }
    int gate[2];
    if (pipe2(gate, O_CLOEXEC) < 0)
        berth_child_die(1, errno, "pipe");
    pid_t pid = berth_raw_clone(args->clone_flags | CLONE_PARENT, args->into_cgroup ? args->cgroup_fd : -1);
    if (pid < 0)
        berth_child_die(1, errno, "clone3");
    if (pid == 0) {
        char c;
        ssize_t n;
        close(gate[1]);
        do
            n = read(gate[0], &c, 1);
        while (n < 0 && errno == EINTR);
        if (n != 1)
            _exit(1);
        close(gate[0]);
        berth_child_main(plan);
    }
    close(gate[0]);
    snprintf(msg, sizeof(msg), "%d", (int)pid);
    if (berth_sync_send(berth_sync_fd, BERTH_MSG_PID, 0, msg) < 0)
        _exit(1); /* the final process sees EOF on the gate and exits */
    berth_write_all(gate[1], "g", 1);
    _exit(0);
}

/* Parent side of a two-stage spawn: read the final pid (or the first stage's
 * error) and reap the first stage. */
static pid_t finish_two_stage(pid_t first, int fd, char *err, size_t errlen)
{
    char buf[BERTH_MSG_MAX];
    uint32_t type = 0, ev = 0;
    int n = berth_sync_recv(fd, &type, &ev, buf, sizeof(buf));
    int e = errno, st = 0;
    while (waitpid(first, &st, 0) < 0 && errno == EINTR)
        ;
    if (n < 0)
        return spawn_fail(err, errlen, e, "receive pid of the container process");
    switch (type) {
    case BERTH_MSG_PID: {
        char *end;
        long pid = strtol(buf, &end, 10);
        if (pid <= 0 || *end)
            return spawn_fail(err, errlen, EPROTO, "bad pid message from the first stage");
        return (pid_t)pid;
    }
    case BERTH_MSG_ERROR:
        return spawn_fail(err, errlen, ev ? (int)ev : EPROTO, "%s", buf);
    case 0:
        return spawn_fail(err, errlen, ECHILD, "first stage exited (wait status %d)", st);
    default:
        return spawn_fail(err, errlen, EPROTO, "unexpected message %u from the first stage", type);
    }
}

pid_t berth_spawn(const struct berth_spawn_args *args, int *sync_fd, char *err, size_t errlen)
{
    struct berth_plan plan;
    sigset_t all, old;
    int sv[2];

    if (err && errlen)
        err[0] = '\0';
    if (!args || !sync_fd || args->njoins < 0 || (args->njoins > 0 && !args->joins))
        return spawn_fail(err, errlen, EINVAL, "berth_spawn: bad arguments");
    if (args->clone_flags & ~ALLOWED_CLONE_FLAGS)
        return spawn_fail(err, errlen, EINVAL, "berth_spawn: clone flags 0x%llx are not namespace flags",
                          (unsigned long long)(args->clone_flags & ~ALLOWED_CLONE_FLAGS));
    if (berth_plan_parse(args->plan, args->plan_len, &plan, err, errlen) < 0)
        return -1;
    if (socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sv) < 0) {
        int e = errno;
        berth_plan_free(&plan);
        return spawn_fail(err, errlen, e, "socketpair");
    }
    int two_stage = args->njoins > 0 || args->force_two_stage;

    /* No signal handler of the caller may run in the child: block everything
     * around the clone; the child resets all dispositions before unblocking. */
    sigfillset(&all);
    pthread_sigmask(SIG_SETMASK, &all, &old);
    pid_t pid = berth_raw_clone(two_stage ? 0 : args->clone_flags, !two_stage && args->into_cgroup ? args->cgroup_fd : -1);
    if (pid == 0) {
        close(sv[0]);
        berth_sync_fd = sv[1];
        berth_signals_default(1);
        if (two_stage)
            first_stage(args, &plan);
        berth_child_main(&plan);
    }
    int e = errno;
    pthread_sigmask(SIG_SETMASK, &old, NULL);
    close(sv[1]);
    berth_plan_free(&plan);
    if (pid < 0) {
        close(sv[0]);
        return spawn_fail(err, errlen, e, "clone3");
    }
    if (two_stage) {
        pid = finish_two_stage(pid, sv[0], err, errlen);
        if (pid < 0) {
            e = errno;
            close(sv[0]);
            errno = e;
            return -1;
        }
    }
    *sync_fd = sv[0];
    return pid;
}
