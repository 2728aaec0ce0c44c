/* Internals of libberth; not part of the contract (see berth.h). */
#ifndef BERTH_INTERNAL_H
#define BERTH_INTERNAL_H

#include "berth.h"
#include <stdarg.h>

/* Everything declared below is internal: keep it out of libberth.so's exports. */
#pragma GCC visibility push(hidden)

#define BERTH_ERRLEN 1024

/* internal sync message: first stage -> parent, text = decimal pid of the final child */
#define BERTH_MSG_PID 100

enum { BERTH_ARG_INT = 0, BERTH_ARG_BYTES = 1 };

struct berth_arg {
    int kind;
    uint64_t u;        /* kind INT */
    const char *s;     /* kind BYTES: NUL-terminated copy made by the parser */
    uint32_t len;      /* length without the terminator */
    char **list;       /* NUL-separated list args (argv/env): NULL-terminated vector */
};

struct berth_op_rec {
    uint16_t op;
    uint16_t flags;
    uint32_t argc;
    struct berth_arg *args;
};

struct berth_plan {
    uint32_t nops;
    struct berth_op_rec *ops;
    struct berth_arg *args; /* all arguments, ops[i].args points in here */
    size_t nargs;           /* slots in args */
    char *bytes;            /* all byte args, each followed by a NUL */
};

/* plan.c (parent only: allocates) */
int berth_plan_parse(const uint8_t *buf, uint64_t len, struct berth_plan *plan, char *err, size_t errlen);
void berth_plan_free(struct berth_plan *plan);
const char *berth_op_name(unsigned op);

/* util.c (async-signal-safe) */
extern int berth_sync_fd;  /* child: our end of the sync socket */
int berth_fail(char *err, int errnum, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
/* the failing call and path sent with the next ERROR (berth_fail derives them from its message) */
extern char berth_err_syscall[32];
extern char berth_err_path[BERTH_ERRLEN];
void berth_fail_detail(const char *syscall, const char *path);
const char *berth_strerror(int errnum);
void berth_lower_strerror(int errnum, char *buf, size_t len);
void berth_signals_default(int ignore_sigpipe);
void berth_signals_unblock(void);
__attribute__((noreturn)) void berth_child_die(int status, int errnum, const char *msg);
int berth_write_all(int fd, const char *buf, size_t len);
pid_t berth_raw_clone(uint64_t flags, int cgroup_fd);

/* path.c: resolution inside the root opened by OPEN_ROOT */
enum { BERTH_CREATE_NONE = 0, BERTH_CREATE_DIR = 1, BERTH_CREATE_FILE = 2 };
extern int berth_root_fd;
int berth_open_in_root(const char *path, int flags, int create, mode_t mode, char *err);
int berth_mkdir_p(const char *path, mode_t mode, char *err);
int berth_open_parent(const char *path, int in_root, char *base, char *err);
void berth_fd_path(char *buf, size_t len, int fd);

/* child.c */
__attribute__((noreturn)) void berth_child_main(const struct berth_plan *plan);

/* op implementations: return 0 or -1 with errno set and a message in err */
int berth_op_mount(const struct berth_op_rec *op, char *err);
int berth_op_mknod(const struct berth_op_rec *op, char *err);
int berth_op_symlink(const struct berth_op_rec *op, char *err);
int berth_op_mkdir(const struct berth_op_rec *op, char *err);
int berth_op_open_root(const struct berth_op_rec *op, char *err);
int berth_op_pivot_root(const struct berth_op_rec *op, char *err);
int berth_op_mask_path(const struct berth_op_rec *op, char *err);
int berth_op_readonly_path(const struct berth_op_rec *op, char *err);
int berth_op_write_file(const struct berth_op_rec *op, char *err);

int berth_op_setrlimit(const struct berth_op_rec *op, char *err);
int berth_op_console(const struct berth_op_rec *op, char *err);
int berth_op_caps_bounding(const struct berth_op_rec *op, char *err);
int berth_op_capset(const struct berth_op_rec *op, char *err);
int berth_op_caps_ambient(const struct berth_op_rec *op, char *err);
int berth_op_seccomp(const struct berth_op_rec *op, char *err);
int berth_op_setgroups(const struct berth_op_rec *op, char *err);
int berth_op_exec_fifo(const struct berth_op_rec *op, char *err);
int berth_op_hook(const struct berth_op_rec *op, char *err);
int berth_op_lookup(const struct berth_op_rec *op, char *err);
int berth_op_exec(const struct berth_op_rec *op, char *err);
int berth_op_loopback_up(const struct berth_op_rec *op, char *err);

#pragma GCC visibility pop

#endif
