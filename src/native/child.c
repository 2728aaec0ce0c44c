/* The child: runs the plan's ops in order.  Async-signal-safe in spirit: no
 * allocation, no locks, no stdio streams, raw syscalls for credentials. */
#include "berth_internal.h"

#include <errno.h>
#include <fcntl.h>
#include <sched.h>
#include <stdio.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#define ARG_S(op, i) ((op)->args[i].s)
#define ARG_U(op, i) ((op)->args[i].u)

static int op_sync(const struct berth_op_rec *op, char *err)
{
    char buf[64];
    uint32_t type, e;
    if (berth_sync_send(berth_sync_fd, BERTH_MSG_SYNC, 0, ARG_S(op, 0)) < 0)
        return berth_fail(err, errno, "send sync %s", ARG_S(op, 0));
    if (berth_sync_recv(berth_sync_fd, &type, &e, buf, sizeof(buf)) < 0)
        return berth_fail(err, errno, "receive sync %s", ARG_S(op, 0));
    if (type == BERTH_MSG_CONTINUE)
        return 0;
    _exit(1); /* ABORT, EOF (the parent went away) or nonsense */
}

static int run_op(const struct berth_op_rec *op, char *err)
{
    switch (op->op) {
    case BERTH_OP_SYNC:
        return op_sync(op, err);
    case BERTH_OP_UNSHARE:
        if (unshare((int)ARG_U(op, 0)) < 0)
            return berth_fail(err, errno, "unshare 0x%llx", (unsigned long long)ARG_U(op, 0));
        return 0;
    case BERTH_OP_SETHOSTNAME:
        if (sethostname(ARG_S(op, 0), op->args[0].len) < 0)
            return berth_fail(err, errno, "sethostname %s", ARG_S(op, 0));
        return 0;
    case BERTH_OP_SETDOMAINNAME:
        if (setdomainname(ARG_S(op, 0), op->args[0].len) < 0)
            return berth_fail(err, errno, "setdomainname %s", ARG_S(op, 0));
        return 0;
    case BERTH_OP_OPEN_ROOT:
        return berth_op_open_root(op, err);
    case BERTH_OP_MOUNT:
        return berth_op_mount(op, err);
    case BERTH_OP_MKNOD:
        return berth_op_mknod(op, err);
    case BERTH_OP_SYMLINK:
        return berth_op_symlink(op, err);
    case BERTH_OP_MKDIR:
        return berth_op_mkdir(op, err);
    case BERTH_OP_PIVOT_ROOT:
        return berth_op_pivot_root(op, err);
    case BERTH_OP_MASK_PATH:
        return berth_op_mask_path(op, err);
    case BERTH_OP_READONLY_PATH:
        return berth_op_readonly_path(op, err);
    case BERTH_OP_WRITE_FILE:
        return berth_op_write_file(op, err);
    case BERTH_OP_SETRLIMIT:
        return berth_op_setrlimit(op, err);
    case BERTH_OP_CHDIR:
        if (chdir(ARG_S(op, 0)) < 0)
            return berth_fail(err, errno, "chdir %s", ARG_S(op, 0));
        return 0;
    case BERTH_OP_UMASK:
        umask((mode_t)ARG_U(op, 0));
        return 0;
    case BERTH_OP_SETSID:
        if (setsid() < 0)
            return berth_fail(err, errno, "setsid");
        return 0;
    case BERTH_OP_CONSOLE:
        return berth_op_console(op, err);
    case BERTH_OP_KEEPCAPS:
        if (prctl(PR_SET_KEEPCAPS, 1, 0, 0, 0) < 0)
            return berth_fail(err, errno, "prctl PR_SET_KEEPCAPS");
        return 0;
    case BERTH_OP_SETGROUPS:
        return berth_op_setgroups(op, err);
    case BERTH_OP_SETGID: /* raw syscalls: glibc would try to sync the parent's threads */
        if (syscall(SYS_setresgid, (gid_t)ARG_U(op, 0), (gid_t)ARG_U(op, 0), (gid_t)ARG_U(op, 0)) < 0)
            return berth_fail(err, errno, "setresgid %llu", (unsigned long long)ARG_U(op, 0));
        return 0;
    case BERTH_OP_SETUID:
        if (syscall(SYS_setresuid, (uid_t)ARG_U(op, 0), (uid_t)ARG_U(op, 0), (uid_t)ARG_U(op, 0)) < 0)
            return berth_fail(err, errno, "setresuid %llu", (unsigned long long)ARG_U(op, 0));
        return 0;
    case BERTH_OP_CAPS_BOUNDING:
        return berth_op_caps_bounding(op, err);
    case BERTH_OP_CAPSET:
        return berth_op_capset(op, err);
    case BERTH_OP_CAPS_AMBIENT:
        return berth_op_caps_ambient(op, err);
    case BERTH_OP_NO_NEW_PRIVS:
        if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) < 0)
            return berth_fail(err, errno, "prctl PR_SET_NO_NEW_PRIVS");
        return 0;
    case BERTH_OP_SECCOMP:
        return berth_op_seccomp(op, err);
    case BERTH_OP_READY:
        if (berth_sync_send(berth_sync_fd, BERTH_MSG_READY, 0, NULL) < 0)
            return berth_fail(err, errno, "send ready");
        return 0;
    case BERTH_OP_EXEC_FIFO:
        return berth_op_exec_fifo(op, err);
    case BERTH_OP_HOOK:
        return berth_op_hook(op, err);
    case BERTH_OP_LOOKUP:
        return berth_op_lookup(op, err);
    case BERTH_OP_EXEC:
        return berth_op_exec(op, err);
    case BERTH_OP_DUP2:
        if (dup2((int)ARG_U(op, 0), (int)ARG_U(op, 1)) < 0)
            return berth_fail(err, errno, "dup2 %llu to %llu", (unsigned long long)ARG_U(op, 0),
                              (unsigned long long)ARG_U(op, 1));
        return 0;
    case BERTH_OP_LOOPBACK_UP:
        return berth_op_loopback_up(op, err);
    }
    return berth_fail(err, EINVAL, "op %u", op->op);
}

void berth_child_main(const struct berth_plan *plan)
{
    for (uint32_t i = 0; i < plan->nops; i++) {
        const struct berth_op_rec *op = &plan->ops[i];
        char err[BERTH_ERRLEN];
        err[0] = '\0';
        berth_err_syscall[0] = berth_err_path[0] = '\0';
        if (run_op(op, err) == 0)
            continue;
        int e = errno;
        if ((op->flags & BERTH_F_IGNORE_ENOENT) && e == ENOENT)
            continue;
        if (op->flags & BERTH_F_OPTIONAL) {
            berth_sync_send(berth_sync_fd, BERTH_MSG_WARN, (uint32_t)e, err);
            continue;
        }
        berth_child_die(1, e, err);
    }
    _exit(0);
}
