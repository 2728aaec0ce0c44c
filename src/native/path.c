/* Path resolution for the child.  BERTH_F_IN_ROOT paths are resolved with
 * openat2(RESOLVE_IN_ROOT) against the root opened by OPEN_ROOT, so symlinks (even
 * absolute ones or "..") never lead out of the root.  Missing components are
 * created one at a time relative to a directory fd that itself was resolved in the
 * root. */
#include "berth_internal.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <linux/openat2.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#ifndef SYS_openat2
#define SYS_openat2 437
#endif

int berth_root_fd = -1;

void berth_fd_path(char *buf, size_t len, int fd)
{
    snprintf(buf, len, "/proc/self/fd/%d", fd);
}

static int openat2_in_root(const char *path, int flags)
{
    struct open_how how;
    memset(&how, 0, sizeof(how));
    how.flags = (uint64_t)(flags | O_CLOEXEC);
    how.resolve = RESOLVE_IN_ROOT | RESOLVE_NO_MAGICLINKS;
    long r;
    do
        r = syscall(SYS_openat2, berth_root_fd, path, &how, sizeof(how));
    while (r < 0 && (errno == EINTR || errno == EAGAIN));
    return (int)r;
}

/* Create the missing components of path (inside the root), then open it. */
static int create_in_root(const char *path, int create, mode_t mode, char *err)
{
    char prefix[PATH_MAX], name[NAME_MAX + 1];
    size_t plen = 0;
    int dirfd = openat2_in_root("/", O_PATH | O_DIRECTORY);
    if (dirfd < 0)
        return berth_fail(err, errno, "open root");

    const char *p = path;
    for (;;) {
        while (*p == '/')
            p++;
        if (!*p)
            break;
        const char *q = strchrnul(p, '/');
        size_t clen = (size_t)(q - p);
        const char *rest = q;
        while (*rest == '/')
            rest++;
        int last = *rest == '\0';
        if (clen > NAME_MAX || plen + clen + 2 > sizeof(prefix)) {
            close(dirfd);
            return berth_fail(err, ENAMETOOLONG, "resolve %s", path);
        }
        prefix[plen++] = '/';
        memcpy(prefix + plen, p, clen);
        plen += clen;
        prefix[plen] = '\0';
        memcpy(name, p, clen);
        name[clen] = '\0';
        p = q;

        int fd = openat2_in_root(prefix, O_PATH);
        if (fd < 0 && errno == ENOENT) {
            if (last && create == BERTH_CREATE_FILE) {
                /* O_EXCL: never follows a (dangling) symlink */
                int f = openat(dirfd, name, O_CREAT | O_EXCL | O_WRONLY | O_CLOEXEC | O_NOCTTY, 0644);
                if (f < 0 && errno != EEXIST) {
                    int e = errno;
                    close(dirfd);
                    return berth_fail(err, e, "create %s", prefix);
                }
                if (f >= 0)
                    close(f);
            } else if (mkdirat(dirfd, name, create == BERTH_CREATE_DIR ? mode : 0755) < 0 && errno != EEXIST) {
                int e = errno;
                close(dirfd);
                return berth_fail(err, e, "mkdir %s", prefix);
            }
            fd = openat2_in_root(prefix, O_PATH);
        }
        if (fd < 0) {
            int e = errno;
            close(dirfd);
            return berth_fail(err, e, "open %s", prefix);
        }
        close(dirfd);
        dirfd = fd;
    }
    close(dirfd);
    return 0;
}

int berth_open_in_root(const char *path, int flags, int create, mode_t mode, char *err)
{
    if (berth_root_fd < 0)
        return berth_fail(err, EBADF, "resolve %s (no OPEN_ROOT before)", path);
    int fd = openat2_in_root(path, flags);
    if (fd < 0 && errno == ENOENT && create != BERTH_CREATE_NONE) {
        if (create_in_root(path, create, mode, err) < 0)
            return -1;
        fd = openat2_in_root(path, flags);
    }
    if (fd < 0)
        return berth_fail(err, errno, "open %s", path);
    return fd;
}

int berth_mkdir_p(const char *path, mode_t mode, char *err)
{
    char buf[PATH_MAX];
    size_t len = strlen(path);
    if (len >= sizeof(buf))
        return berth_fail(err, ENAMETOOLONG, "mkdir %s", path);
    memcpy(buf, path, len + 1);
    for (char *p = buf + 1;; p++) {
        if (*p == '/' || *p == '\0') {
            char c = *p;
            *p = '\0';
            if (mkdir(buf, mode) < 0 && errno != EEXIST)
                return berth_fail(err, errno, "mkdir %s", buf);
            *p = c;
            if (!c)
                break;
        }
    }
    struct stat st;
    if (stat(path, &st) < 0)
        return berth_fail(err, errno, "stat %s", path);
    if (!S_ISDIR(st.st_mode))
        return berth_fail(err, ENOTDIR, "mkdir %s", path);
    return 0;
}

/* Open (creating it as needed) the directory that contains path; copy the last
 * component into base (NAME_MAX + 1 bytes). */
int berth_open_parent(const char *path, int in_root, char *base, char *err)
{
    char dir[PATH_MAX];
    size_t len = strlen(path);
    if (len >= sizeof(dir))
        return berth_fail(err, ENAMETOOLONG, "resolve %s", path);
    memcpy(dir, path, len + 1);
    while (len > 1 && dir[len - 1] == '/')
        dir[--len] = '\0';
    char *slash = strrchr(dir, '/');
    const char *b = slash ? slash + 1 : dir;
    if (!*b || strlen(b) > NAME_MAX)
        return berth_fail(err, EINVAL, "resolve %s", path);
    memcpy(base, b, strlen(b) + 1);
    if (!slash)
        strcpy(dir, ".");
    else if (slash == dir)
        dir[1] = '\0';
    else
        *slash = '\0';

    if (in_root)
        return berth_open_in_root(dir, O_PATH | O_DIRECTORY, BERTH_CREATE_DIR, 0755, err);
    if (berth_mkdir_p(dir, 0755, err) < 0)
        return -1;
    int fd = open(dir, O_PATH | O_DIRECTORY | O_CLOEXEC);
    if (fd < 0)
        return berth_fail(err, errno, "open %s", dir);
    return fd;
}
