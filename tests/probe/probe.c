/*
 * berth-probe: a static in-container oracle for differential runtime tests
 * (in the spirit of crun's tests/init.c). Built with `gcc -static`, copied
 * into the test rootfs as /probe. Output is plain text, one fact per line,
 * designed to be byte-identical under runc and berth-runtime when they
 * configure the container the same way.
 *
 * Usage: /probe CMD [ARGS...] [+ CMD [ARGS...]]...
 *   Several commands may be chained with a lone "+" argument. The exit code is
 *   that of the last command (or the first that fails).
 * Errors are printed to stdout as "ERR <what> <ERRNONAME>" so they take part
 * in the comparison; the command then exits 1.
 */
#define _GNU_SOURCE
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <limits.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/personality.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/sysmacros.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <unistd.h>

extern char **environ;

static const char *ename(int e)
{
    const char *n = strerrorname_np(e);
    static char buf[32];
    if (n)
        return n;
    snprintf(buf, sizeof buf, "E%d", e);
    return buf;
}

static int fail(const char *what)
{
    printf("ERR %s %s\n", what, ename(errno));
    return 1;
}

static int cat_file(const char *path)
{
    char buf[8192];
    ssize_t n;
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return fail("open");
    fflush(stdout);
    while ((n = read(fd, buf, sizeof buf)) > 0)
        if (write(1, buf, (size_t)n) != n)
            return fail("write");
    if (n < 0) {
        int e = errno;
        close(fd);
        errno = e;
        return fail("read");
    }
    close(fd);
    return 0;
}

/* Print lines of /proc/self/status whose key starts with one of the prefixes. */
static int status_lines(const char *const *keys)
{
    char line[512];
    FILE *f = fopen("/proc/self/status", "re");
    if (!f)
        return fail("open");
    while (fgets(line, sizeof line, f))
        for (const char *const *k = keys; *k; k++)
            if (strncmp(line, *k, strlen(*k)) == 0 && line[strlen(*k)] == ':') {
                fputs(line, stdout);
                break;
            }
    fclose(f);
    return 0;
}

static int cmp_gid(const void *a, const void *b)
{
    gid_t x = *(const gid_t *)a, y = *(const gid_t *)b;
    return x < y ? -1 : x > y;
}

static int cmd_id(void)
{
    gid_t g[NGROUPS_MAX];
    int n = getgroups(NGROUPS_MAX, g);
    if (n < 0)
        return fail("getgroups");
    qsort(g, (size_t)n, sizeof g[0], cmp_gid);
    printf("uid=%u euid=%u gid=%u egid=%u groups=", getuid(), geteuid(), getgid(), getegid());
    for (int i = 0; i < n; i++)
        printf("%s%u", i ? "," : "", g[i]);
    putchar('\n');
    return 0;
}

static const struct { const char *name; int res; } rlims[] = {
    {"AS", RLIMIT_AS}, {"CORE", RLIMIT_CORE}, {"CPU", RLIMIT_CPU},
    {"DATA", RLIMIT_DATA}, {"FSIZE", RLIMIT_FSIZE}, {"LOCKS", RLIMIT_LOCKS},
    {"MEMLOCK", RLIMIT_MEMLOCK}, {"MSGQUEUE", RLIMIT_MSGQUEUE}, {"NICE", RLIMIT_NICE},
    {"NOFILE", RLIMIT_NOFILE}, {"NPROC", RLIMIT_NPROC}, {"RSS", RLIMIT_RSS},
    {"RTPRIO", RLIMIT_RTPRIO}, {"RTTIME", RLIMIT_RTTIME}, {"SIGPENDING", RLIMIT_SIGPENDING},
    {"STACK", RLIMIT_STACK},
};

static void print_lim(rlim_t v)
{
    if (v == RLIM_INFINITY)
        fputs("unlimited", stdout);
    else
        printf("%llu", (unsigned long long)v);
}

static int cmd_rlimits(void)
{
    for (size_t i = 0; i < sizeof rlims / sizeof rlims[0]; i++) {
        struct rlimit r;
        if (getrlimit(rlims[i].res, &r) < 0)
            return fail("getrlimit");
        printf("RLIMIT_%s ", rlims[i].name);
        print_lim(r.rlim_cur);
        putchar(' ');
        print_lim(r.rlim_max);
        putchar('\n');
    }
    return 0;
}

/* Run fn in a forked child so syscalls that change process state stay contained. */
static void try_child(const char *name, long (*fn)(void))
{
    fflush(stdout);
    pid_t pid = fork();
    if (pid < 0) {
        printf("%s=fork-%s\n", name, ename(errno));
        return;
    }
    if (pid == 0) {
        errno = 0;
        long r = fn();
        _exit(r < 0 ? (errno & 0xff) : 0);
    }
    int st;
    if (waitpid(pid, &st, 0) < 0) {
        printf("%s=wait-%s\n", name, ename(errno));
        return;
    }
    if (WIFSIGNALED(st))
        printf("%s=signal-%d\n", name, WTERMSIG(st));
    else if (WEXITSTATUS(st) == 0)
        printf("%s=ok\n", name);
    else
        printf("%s=%s\n", name, ename(WEXITSTATUS(st)));
}

static long t_unshare_user(void) { return unshare(CLONE_NEWUSER); }
static long t_unshare_ns(void) { return unshare(CLONE_NEWNS); }
static long t_keyctl(void) { return syscall(SYS_keyctl, 0 /* KEYCTL_GET_KEYRING_ID */, -3 /* session */, 0); }
static long t_add_key(void) { return syscall(SYS_add_key, "berth-no-such-type", "d", "x", 1, -2 /* process */); }
static long t_setns(void) { return setns(-1, 0); }
static long t_clone3(void) { return syscall(SYS_clone3, NULL, 0); }
static long t_kcmp(void) { return syscall(SYS_kcmp, getpid(), getpid(), 0 /* KCMP_FILE */, 0, 0); }
static long t_get_mempolicy(void) { return syscall(SYS_get_mempolicy, NULL, NULL, 0, NULL, 0); }
static long t_pers_query(void) { return personality(0xffffffff); }
static long t_pers_addr_no_rand(void) { return personality(ADDR_NO_RANDOMIZE); }
static long t_bpf(void) { return syscall(SYS_bpf, 0xffff, NULL, 0); }
/* Target must not exist: ENOENT if the syscall is allowed, EPERM if seccomp denies it.
 * Never point this at a real directory: the probe may be run on the host. */
static long t_mount(void) { return syscall(SYS_mount, "none", "/berth-probe-nonexistent/x", "tmpfs", 0, NULL); }
static long t_chroot(void) { return chroot("/"); }
static long t_getpid(void) { return getpid(); }

static int cmd_seccomp(void)
{
    static const char *const keys[] = {"Seccomp", "Seccomp_filters", NULL};
    status_lines(keys);
    try_child("getpid", t_getpid);
    try_child("unshare(CLONE_NEWUSER)", t_unshare_user);
    try_child("unshare(CLONE_NEWNS)", t_unshare_ns);
    try_child("keyctl", t_keyctl);
    try_child("add_key", t_add_key);
    try_child("setns", t_setns);
    try_child("clone3", t_clone3);
    try_child("kcmp", t_kcmp);
    try_child("get_mempolicy", t_get_mempolicy);
    try_child("personality(0xffffffff)", t_pers_query);
    try_child("personality(ADDR_NO_RANDOMIZE)", t_pers_addr_no_rand);
    try_child("bpf", t_bpf);
    try_child("mount", t_mount);
    try_child("chroot", t_chroot);
    return 0;
}

static int cmp_str(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

static char ftype(mode_t m)
{
    return S_ISDIR(m) ? 'd' : S_ISLNK(m) ? 'l' : S_ISCHR(m) ? 'c' : S_ISBLK(m) ? 'b'
         : S_ISFIFO(m) ? 'p' : S_ISSOCK(m) ? 's' : '-';
}

/* "ls DIR": sorted entry names, one per line: "<type> <name>". */
static int cmd_ls(const char *dir)
{
    DIR *d = opendir(dir);
    if (!d)
        return fail("opendir");
    char *names[4096];
    int n = 0;
    struct dirent *e;
    while ((e = readdir(d)) && n < 4096)
        if (strcmp(e->d_name, ".") && strcmp(e->d_name, ".."))
            names[n++] = strdup(e->d_name);
    closedir(d);
    qsort(names, (size_t)n, sizeof names[0], cmp_str);
    for (int i = 0; i < n; i++) {
        char p[PATH_MAX];
        struct stat st;
        snprintf(p, sizeof p, "%s/%s", dir, names[i]);
        printf("%c %s\n", lstat(p, &st) == 0 ? ftype(st.st_mode) : '?', names[i]);
        free(names[i]);
    }
    return 0;
}

/* "fds": open descriptors (other than the one used to list them) and their targets. */
static int cmd_fds(void)
{
    DIR *d = opendir("/proc/self/fd");
    if (!d)
        return fail("opendir");
    int self = dirfd(d);
    struct dirent *e;
    int fds[1024], n = 0;
    while ((e = readdir(d)) && n < 1024)
        if (e->d_name[0] != '.' && atoi(e->d_name) != self)
            fds[n++] = atoi(e->d_name);
    for (int i = 0; i < n; i++)
        for (int j = i + 1; j < n; j++)
            if (fds[j] < fds[i]) { int t = fds[i]; fds[i] = fds[j]; fds[j] = t; }
    for (int i = 0; i < n; i++) {
        char p[64], t[PATH_MAX];
        snprintf(p, sizeof p, "/proc/self/fd/%d", fds[i]);
        ssize_t l = readlinkat(self, p + strlen("/proc/self/fd/"), t, sizeof t - 1);
        t[l < 0 ? 0 : l] = 0;
        printf("%d %s\n", fds[i], t);
    }
    closedir(d);
    return 0;
}

static int cmd_stat(const char *path)
{
    struct stat st;
    if (lstat(path, &st) < 0)
        return fail("lstat");
    printf("type=%c mode=%04o uid=%u gid=%u", ftype(st.st_mode), st.st_mode & 07777, st.st_uid, st.st_gid);
    if (S_ISCHR(st.st_mode) || S_ISBLK(st.st_mode))
        printf(" rdev=%u:%u", major(st.st_rdev), minor(st.st_rdev));
    if (S_ISREG(st.st_mode))
        printf(" size=%lld", (long long)st.st_size);
    putchar('\n');
    return 0;
}

static int cmd_sysctl(const char *name)
{
    char p[PATH_MAX], buf[4096];
    snprintf(p, sizeof p, "/proc/sys/%s", name);
    for (char *c = p + strlen("/proc/sys/"); *c; c++)
        if (*c == '.')
            *c = '/';
    int fd = open(p, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return fail("open");
    ssize_t n = read(fd, buf, sizeof buf - 1);
    close(fd);
    if (n < 0)
        return fail("read");
    buf[n] = 0;
    while (n > 0 && (buf[n - 1] == '\n' || buf[n - 1] == ' '))
        buf[--n] = 0;
    printf("%s=%s\n", name, buf);
    return 0;
}

static int cmd_write(const char *path, const char *text)
{
    int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    if (fd < 0)
        return fail("open");
    size_t len = strlen(text);
    if (write(fd, text, len) != (ssize_t)len) {
        int e = errno;
        close(fd);
        errno = e;
        return fail("write");
    }
    if (close(fd) < 0)
        return fail("close");
    puts("ok");
    return 0;
}

static void usage(void)
{
    fputs("usage: probe CMD [ARGS] [+ CMD [ARGS]]...\n"
          "  hostname | id | caps | nnp | pid | mounts | rlimits | seccomp | umask | cwd | env\n"
          "  cgroup | oom | fds | cat FILE | write FILE TEXT | exit N | kill-self SIG | segv\n"
          "  sleep SECS | ls DIR | sysctl NAME | stat PATH\n", stderr);
}

/* Runs one command; argv[0] is the command. */
static int run(int argc, char **argv)
{
    const char *c = argv[0];
#define NEED(n) do { if (argc < (n) + 1) { usage(); return 2; } } while (0)
    if (!strcmp(c, "hostname")) {
        char h[HOST_NAME_MAX + 1];
        if (gethostname(h, sizeof h) < 0)
            return fail("gethostname");
        puts(h);
        return 0;
    }
    if (!strcmp(c, "id"))
        return cmd_id();
    if (!strcmp(c, "caps")) {
        static const char *const k[] = {"CapInh", "CapPrm", "CapEff", "CapBnd", "CapAmb", NULL};
        return status_lines(k);
    }
    if (!strcmp(c, "nnp")) {
        static const char *const k[] = {"NoNewPrivs", NULL};
        return status_lines(k);
    }
    if (!strcmp(c, "pid")) {
        printf("pid=%d ppid=%d\n", getpid(), getppid());
        return 0;
    }
    if (!strcmp(c, "mounts"))
        return cat_file("/proc/self/mountinfo");
    if (!strcmp(c, "rlimits"))
        return cmd_rlimits();
    if (!strcmp(c, "seccomp"))
        return cmd_seccomp();
    if (!strcmp(c, "umask")) {
        mode_t m = umask(0);
        umask(m);
        printf("umask=%04o\n", m);
        return 0;
    }
    if (!strcmp(c, "cwd")) {
        char p[PATH_MAX];
        if (!getcwd(p, sizeof p))
            return fail("getcwd");
        puts(p);
        return 0;
    }
    if (!strcmp(c, "env")) {
        for (char **e = environ; *e; e++)
            puts(*e);
        return 0;
    }
    if (!strcmp(c, "cgroup"))
        return cat_file("/proc/self/cgroup");
    if (!strcmp(c, "oom"))
        return cat_file("/proc/self/oom_score_adj");
    if (!strcmp(c, "fds"))
        return cmd_fds();
    if (!strcmp(c, "cat")) {
        NEED(1);
        return cat_file(argv[1]);
    }
    if (!strcmp(c, "write")) {
        NEED(2);
        return cmd_write(argv[1], argv[2]);
    }
    if (!strcmp(c, "exit")) {
        NEED(1);
        fflush(stdout);
        exit(atoi(argv[1]));
    }
    if (!strcmp(c, "kill-self")) {
        NEED(1);
        int sig = atoi(argv[1]);
        fflush(stdout);
        if (kill(getpid(), sig) < 0)
            return fail("kill");
        /* Only reached when the signal was ignored, e.g. SIGKILL sent by PID 1 to itself. */
        printf("alive after signal %d\n", sig);
        return 100;
    }
    if (!strcmp(c, "segv")) {
        fflush(stdout);
        /* Kernel-forced SIGSEGV: kills even a PID-namespace init. */
        volatile int *p = NULL;
        return *p;
    }
    if (!strcmp(c, "sleep")) {
        NEED(1);
        fflush(stdout);
        unsigned s = (unsigned)atoi(argv[1]);
        while ((s = sleep(s)) > 0)
            ;
        return 0;
    }
    if (!strcmp(c, "ls")) {
        NEED(1);
        return cmd_ls(argv[1]);
    }
    if (!strcmp(c, "sysctl")) {
        NEED(1);
        return cmd_sysctl(argv[1]);
    }
    if (!strcmp(c, "stat")) {
        NEED(1);
        return cmd_stat(argv[1]);
    }
    usage();
    return 2;
#undef NEED
}

int main(int argc, char **argv)
{
    int rc = 2, start = 1;
    if (argc < 2) {
        usage();
        return 2;
    }
    for (int i = 1; i <= argc; i++) {
        if (i == argc || !strcmp(argv[i], "+")) {
            if (i > start) {
                argv[i < argc ? i : argc] = NULL;
                rc = run(i - start, argv + start);
                fflush(stdout);
                if (rc != 0)
                    return rc;
            }
            start = i + 1;
        }
    }
    return rc;
}
