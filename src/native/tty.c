/* Parent-side terminal helpers (not used between clone and exec): receiving the pty master
 * over a console socket, raw mode for the caller's terminal, window-size propagation. */
#include "berth.h"

#include <errno.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <termios.h>
#include <unistd.h>

int berth_recv_fd(int sock)
{
    char data[256];
    char control[CMSG_SPACE(sizeof(int))];
    struct iovec iov = {data, sizeof(data)};
    struct msghdr mh = {.msg_iov = &iov, .msg_iovlen = 1, .msg_control = control, .msg_controllen = sizeof(control)};
    ssize_t n;
    do
        n = recvmsg(sock, &mh, MSG_CMSG_CLOEXEC);
    while (n < 0 && errno == EINTR);
    if (n < 0)
        return -1;
    for (struct cmsghdr *c = CMSG_FIRSTHDR(&mh); c; c = CMSG_NXTHDR(&mh, c)) {
        if (c->cmsg_level == SOL_SOCKET && c->cmsg_type == SCM_RIGHTS) {
            int fd;
            memcpy(&fd, CMSG_DATA(c), sizeof(fd));
            return fd;
        }
    }
    errno = EBADMSG;
    return -1;
}

int berth_tty_raw(int fd, void *saved, size_t saved_len)
{
    struct termios t;
    if (saved_len < sizeof(t)) {
        errno = EINVAL;
        return -1;
    }
    if (tcgetattr(fd, &t) < 0)
        return -1;
    memcpy(saved, &t, sizeof(t));
    cfmakeraw(&t);
    return tcsetattr(fd, TCSANOW, &t);
}

int berth_tty_restore(int fd, const void *saved, size_t saved_len)
{
    struct termios t;
    if (saved_len < sizeof(t)) {
        errno = EINVAL;
        return -1;
    }
    memcpy(&t, saved, sizeof(t));
    return tcsetattr(fd, TCSANOW, &t);
}

int berth_tty_copy_size(int from, int to)
{
    struct winsize ws;
    if (ioctl(from, TIOCGWINSZ, &ws) < 0)
        return -1;
    return ioctl(to, TIOCSWINSZ, &ws);
}

int berth_tty_set_size(int fd, unsigned short rows, unsigned short cols)
{
    struct winsize ws = {.ws_row = rows, .ws_col = cols};
    return ioctl(fd, TIOCSWINSZ, &ws);
}
