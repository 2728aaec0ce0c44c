/* Sockets made inside another network namespace (the embedded DNS's 127.0.0.11:53 in a container's sandbox).
 *
 * A socket belongs to the network namespace of the thread that created it, for its whole life.  The work
 * runs on a short-lived pthread of its own: it setns()es into the namespace (which changes that thread only),
 * makes and binds the sockets and ends.  No managed code ever runs on it and nothing is forked from it, so no
 * thread of the runtime can inherit the container's namespace.  The caller then serves the sockets from any
 * thread of the daemon's namespace. */
#include "berth.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <pthread.h>
#include <sched.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

struct netns_job {
    const char *ns_path;
    struct in_addr addr;
    int port;
    int udp, tcp;
    int err;
    const char *what;
};

static int bound(int type, const struct netns_job *j)
{
    int fd = socket(AF_INET, type | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
    if (fd < 0)
        return -1;
    int one = 1;
    if (type == SOCK_STREAM)
        setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
    struct sockaddr_in sa = {.sin_family = AF_INET, .sin_port = htons((uint16_t)j->port), .sin_addr = j->addr};
    if (bind(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0 || (type == SOCK_STREAM && listen(fd, 128) < 0)) {
        int e = errno;
        close(fd);
        errno = e;
        return -1;
    }
    return fd;
}

static void *netns_thread(void *arg)
{
    struct netns_job *j = arg;
    int ns = open(j->ns_path, O_RDONLY | O_CLOEXEC);
    if (ns < 0) {
        j->err = errno, j->what = "open";
        return NULL;
    }
    if (setns(ns, CLONE_NEWNET) < 0) {
        j->err = errno, j->what = "setns";
        close(ns);
        return NULL;
    }
    close(ns);
    j->udp = bound(SOCK_DGRAM, j);
    if (j->udp < 0) {
        j->err = errno, j->what = "bind udp";
        return NULL;
    }
    j->tcp = bound(SOCK_STREAM, j);
    if (j->tcp < 0) {
        j->err = errno, j->what = "bind tcp";
        close(j->udp);
        j->udp = -1;
    }
    /* The thread ends here, in the container's namespace: nothing else ever runs on it. */
    return NULL;
}

int berth_netns_listen(const char *ns_path, const char *ip, int port, int *udp_fd, int *tcp_fd, char *err, size_t errlen)
{
    struct netns_job j = {.ns_path = ns_path, .port = port, .udp = -1, .tcp = -1};
    if (err && errlen)
        err[0] = 0;
    if (inet_pton(AF_INET, ip, &j.addr) != 1 || port <= 0 || port > 65535) {
        errno = EINVAL;
        if (err)
            snprintf(err, errlen, "bad address %s:%d", ip, port);
        return -1;
    }
    pthread_t t;
    int rc = pthread_create(&t, NULL, netns_thread, &j);
    if (rc != 0) {
        errno = rc;
        if (err)
            snprintf(err, errlen, "pthread_create");
        return -1;
    }
    pthread_join(t, NULL);
    if (j.udp < 0) {
        errno = j.err;
        if (err)
            snprintf(err, errlen, "%s %s:%d in %s", j.what, ip, port, ns_path);
        return -1;
    }
    *udp_fd = j.udp;
    *tcp_fd = j.tcp;
    return 0;
}
