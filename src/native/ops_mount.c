/* Filesystem ops: OPEN_ROOT, MOUNT, MKNOD, SYMLINK, MKDIR, PIVOT_ROOT, MASK_PATH,
 * READONLY_PATH, WRITE_FILE. */
#include "berth_internal.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <sys/statvfs.h>
#include <sys/sysmacros.h>
#include <sys/syscall.h>
#include <unistd.h>

#define ARG_S(op, i) ((op)->args[i].s)
#define ARG_OPT(op, i) ((op)->args[i].len ? (op)->args[i].s : NULL)
#define ARG_U(op, i) ((op)->args[i].u)

/* The path to hand to mount(2) & co for `path`: the path itself, or (IN_ROOT)
 * /proc/self/fd/N of the path opened inside the root; *fdp is the fd to close. */
static int target_path(const char *path, int flags, int create, char *buf, size_t len, int *fdp, char *err)
{
    *fdp = -1;
    if (flags & BERTH_F_IN_ROOT) {
        int fd = berth_open_in_root(path, O_PATH, create, 0755, err);
        if (fd < 0)
            return -1;
        *fdp = fd;
        berth_fd_path(buf, len, fd);
        return 0;
    }
    if (create == BERTH_CREATE_DIR && berth_mkdir_p(path, 0755, err) < 0)
        return -1;
    if (create == BERTH_CREATE_FILE) {
        char base[NAME_MAX + 1];
        int dfd = berth_open_parent(path, 0, base, err);
        if (dfd < 0)
            return -1;
        int f = openat(dfd, base, O_CREAT | O_WRONLY | O_CLOEXEC | O_NOCTTY, 0644);
        int e = errno;
        close(dfd);
        if (f < 0 && e != EISDIR)
            return berth_fail(err, e, "create %s", path);
        if (f >= 0)
            close(f);
    }
    if (strlen(path) >= len)
        return berth_fail(err, ENAMETOOLONG, "resolve %s", path);
    strcpy(buf, path);
    return 0;
}

/* After mounting over an IN_ROOT target, its /proc/self/fd path still names the
 * directory underneath: reopen so later steps apply to the new mount. */
static int reopen_target(const char *path, int flags, char *buf, size_t len, int *fdp, char *err)
{
    if (!(flags & BERTH_F_IN_ROOT))
        return 0;
    close(*fdp);
    return target_path(path, flags, BERTH_CREATE_NONE, buf, len, fdp, err);
}

/* mount(NULL, target, NULL, flags); on EPERM retry with the flags the mount has
 * locked (a mount inherited from a more privileged namespace), like runc. */
static int remount(const char *target, unsigned long flags)
{
    if (mount(NULL, target, NULL, flags, NULL) == 0)
        return 0;
    if (errno != EPERM)
        return -1;
    struct statfs sf;
    if (statfs(target, &sf) < 0) {
        errno = EPERM;
        return -1;
    }
    static const struct {
        unsigned long st, ms;
    } map[] = {
        {ST_RDONLY, MS_RDONLY},   {ST_NOSUID, MS_NOSUID},         {ST_NODEV, MS_NODEV},
        {ST_NOEXEC, MS_NOEXEC},   {ST_NOATIME, MS_NOATIME},       {ST_NODIRATIME, MS_NODIRATIME},
        {ST_RELATIME, MS_RELATIME},
    };
    unsigned long locked = 0;
    for (size_t i = 0; i < sizeof(map) / sizeof(map[0]); i++)
        if ((unsigned long)sf.f_flags & map[i].st)
            locked |= map[i].ms;
    if ((flags | locked) == flags) {
        errno = EPERM;
        return -1;
    }
    return mount(NULL, target, NULL, flags | locked, NULL);
}

int berth_op_mount(const struct berth_op_rec *op, char *err)
{
    const char *src = ARG_OPT(op, 0), *target = ARG_S(op, 1), *fstype = ARG_OPT(op, 2), *data = ARG_OPT(op, 4);
    unsigned long mflags = ARG_U(op, 3), prop = ARG_U(op, 5), rflags = ARG_U(op, 6);
    int create = (op->flags & BERTH_F_MKDIR) ? BERTH_CREATE_DIR
                 : (op->flags & BERTH_F_MKFILE) ? BERTH_CREATE_FILE
                                                  : BERTH_CREATE_NONE;
    char t[PATH_MAX];
    int fd, r = 0;
    if (target_path(target, op->flags, create, t, sizeof(t), &fd, err) < 0)
        return -1;
    /* An op with no source, fstype and flags only changes propagation / remounts. */
    if (src || fstype || mflags) {
        if (mount(src, t, fstype, mflags, data) < 0) {
            r = berth_fail(err, errno, "mount %s to %s", src ? src : fstype ? fstype : "none", target);
            goto out;
        }
        if ((prop || rflags) && reopen_target(target, op->flags, t, sizeof(t), &fd, err) < 0) {
            r = -1;
            goto out;
        }
    }
    if (prop && mount(NULL, t, NULL, prop, NULL) < 0) {
        r = berth_fail(err, errno, "set propagation of %s", target);
        goto out;
    }
    if (rflags && remount(t, rflags) < 0)
        r = berth_fail(err, errno, "remount %s", target);
out:
    if (fd >= 0)
        close(fd);
    return r;
}

int berth_op_mknod(const struct berth_op_rec *op, char *err)
{
    const char *path = ARG_S(op, 0), *host = ARG_S(op, 6);
    char base[NAME_MAX + 1];
    int r = 0;
    int dfd = berth_open_parent(path, op->flags & BERTH_F_IN_ROOT, base, err);
    if (dfd < 0)
        return -1;
    if (mknodat(dfd, base, (mode_t)ARG_U(op, 1), makedev(ARG_U(op, 2), ARG_U(op, 3))) == 0) {
        if (fchownat(dfd, base, (uid_t)ARG_U(op, 4), (gid_t)ARG_U(op, 5), AT_SYMLINK_NOFOLLOW) < 0)
            r = berth_fail(err, errno, "chown %s", path);
    } else if (errno == EPERM && (op->flags & BERTH_F_FALLBACK_BIND)) {
        /* e.g. in a user namespace: bind the host's node onto an empty file */
        int f = openat(dfd, base, O_CREAT | O_EXCL | O_WRONLY | O_CLOEXEC | O_NOCTTY, 0644);
        if (f < 0 && errno != EEXIST) {
            r = berth_fail(err, errno, "create %s", path);
            goto out;
        }
        if (f >= 0)
            close(f);
        int fd = openat(dfd, base, O_PATH | O_NOFOLLOW | O_CLOEXEC);
        if (fd < 0) {
            r = berth_fail(err, errno, "open %s", path);
            goto out;
        }
        char t[64];
        berth_fd_path(t, sizeof(t), fd);
        if (mount(host, t, NULL, MS_BIND, NULL) < 0)
            r = berth_fail(err, errno, "mount %s to %s", host, path);
        close(fd);
    } else if (errno != EEXIST) {
        r = berth_fail(err, errno, "mknod %s", path);
    }
out:
    close(dfd);
    return r;
}

int berth_op_symlink(const struct berth_op_rec *op, char *err)
{
    const char *content = ARG_S(op, 0), *path = ARG_S(op, 1);
    char base[NAME_MAX + 1];
    int dfd = berth_open_parent(path, op->flags & BERTH_F_IN_ROOT, base, err);
    if (dfd < 0)
        return -1;
    int r = 0;
    if (symlinkat(content, dfd, base) < 0 && errno != EEXIST)
        r = berth_fail(err, errno, "symlink %s to %s", content, path);
    close(dfd);
    return r;
}

int berth_op_mkdir(const struct berth_op_rec *op, char *err)
{
    const char *path = ARG_S(op, 0);
    mode_t mode = (mode_t)ARG_U(op, 1);
    if (!(op->flags & BERTH_F_IN_ROOT))
        return berth_mkdir_p(path, mode, err);
    int fd = berth_open_in_root(path, O_PATH | O_DIRECTORY, BERTH_CREATE_DIR, mode, err);
    if (fd < 0)
        return -1;
    close(fd);
    return 0;
}

int berth_op_open_root(const struct berth_op_rec *op, char *err)
{
    int fd = open(ARG_S(op, 0), O_PATH | O_DIRECTORY | O_CLOEXEC);
    if (fd < 0)
        return berth_fail(err, errno, "open %s", ARG_S(op, 0));
    if (berth_root_fd >= 0)
        close(berth_root_fd);
    berth_root_fd = fd;
    return 0;
}

int berth_op_pivot_root(const struct berth_op_rec *op, char *err)
{
    const char *rootfs = ARG_S(op, 0);
    int fd = open(rootfs, O_DIRECTORY | O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return berth_fail(err, errno, "open %s", rootfs);
    int r = fchdir(fd);
    int e = errno;
    close(fd);
    if (r < 0)
        return berth_fail(err, e, "chdir %s", rootfs);
    if (syscall(SYS_pivot_root, ".", ".") < 0)
        return berth_fail(err, errno, "pivot_root %s", rootfs);
    /* the old root is stacked on "."; keep its unmount from propagating anywhere */
    if (mount(NULL, ".", NULL, MS_SLAVE | MS_REC, NULL) < 0)
        return berth_fail(err, errno, "make old root rslave");
    if (umount2(".", MNT_DETACH) < 0)
        return berth_fail(err, errno, "umount old root");
    if (chdir("/") < 0)
        return berth_fail(err, errno, "chdir /");
    return 0;
}

int berth_op_mask_path(const struct berth_op_rec *op, char *err)
{
    const char *path = ARG_S(op, 0);
    char t[PATH_MAX];
    int fd, r = 0;
    struct stat st;
    if (target_path(path, op->flags, BERTH_CREATE_NONE, t, sizeof(t), &fd, err) < 0)
        return errno == ENOENT ? 0 : -1;
    if (stat(t, &st) < 0) {
        r = errno == ENOENT ? 0 : berth_fail(err, errno, "stat %s", path);
    } else if (S_ISDIR(st.st_mode)) {
        if (mount("tmpfs", t, "tmpfs", MS_RDONLY, NULL) < 0)
            r = berth_fail(err, errno, "mount tmpfs to %s", path);
    } else if (mount("/dev/null", t, NULL, MS_BIND, NULL) < 0) {
        r = berth_fail(err, errno, "mount /dev/null to %s", path);
    }
    if (fd >= 0)
        close(fd);
    return r;
}

int berth_op_readonly_path(const struct berth_op_rec *op, char *err)
{
    const char *path = ARG_S(op, 0);
    char t[PATH_MAX];
    int fd, r = 0;
    if (target_path(path, op->flags, BERTH_CREATE_NONE, t, sizeof(t), &fd, err) < 0)
        return errno == ENOENT ? 0 : -1;
    if (mount(t, t, NULL, MS_BIND | MS_REC, NULL) < 0) {
        r = errno == ENOENT ? 0 : berth_fail(err, errno, "mount %s to %s", path, path);
        goto out;
    }
    if (reopen_target(path, op->flags, t, sizeof(t), &fd, err) < 0) {
        r = -1;
        goto out;
    }
    if (remount(t, MS_BIND | MS_REMOUNT | MS_RDONLY | MS_REC) < 0)
        r = berth_fail(err, errno, "remount %s read-only", path);
out:
    if (fd >= 0)
        close(fd);
    return r;
}

int berth_op_write_file(const struct berth_op_rec *op, char *err)
{
    const char *path = ARG_S(op, 0);
    int fd;
    if (op->flags & BERTH_F_IN_ROOT)
        fd = berth_open_in_root(path, O_WRONLY | O_TRUNC, BERTH_CREATE_NONE, 0, err);
    else if ((fd = open(path, O_WRONLY | O_TRUNC | O_CLOEXEC | O_NOCTTY)) < 0)
        berth_fail(err, errno, "open %s", path);
    if (fd < 0)
        return -1;
    int r = 0;
    if (berth_write_all(fd, ARG_S(op, 1), op->args[1].len) < 0)
        r = berth_fail(err, errno, "write %s", path);
    close(fd);
    return r;
}
