/* berth-monitor's modules (see monitor.c for the overview and README.md for the contract):
 *   monitor.c  main, setup, event loop     args.c    command line
 *   spawn.c    RUNTIME create / --spawn    report.c  the result line
 *   io.c       streams, attach, stdin      ctl.c     control socket
 *   jsonlog.c  json-file log               exit.c    children, OOM, exit.json
 *   util.c     small helpers
 */
#ifndef BERTH_MONITOR_H
#define BERTH_MONITOR_H

#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/ioctl.h>
#include <sys/prctl.h>
#include <sys/signalfd.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/uio.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <termios.h>
#include <time.h>
#include <unistd.h>

#include "../native/berth.h"

#define RBUF_SIZE      32768
#define LINE_MAX_LEN   16384
#define STDIN_BUF_SIZE 65536
#define CLIENT_MAX_PENDING (1u << 20)
#define CAPTURE_MAX    8192
#define DRAIN_MS       2000
#define EXIT_INTERNAL  125

enum { T_SIG = 1, T_STREAM, T_ATTACH_L, T_CTL_L, T_CLIENT, T_CTLCONN, T_STDIN, T_PIDFD };

struct tag { int type; int fd; };

struct stream {
	struct tag t;
	int num;              /* 1 stdout, 2 stderr */
	const char *name;
	size_t len;
	char *line;           /* LINE_MAX_LEN bytes, in .bss: touched only when used */
};

struct client {
	struct tag t;
	struct client *next;
	char *pend;
	size_t poff, plen, pcap;
	unsigned events;
	int dead, rd_closed, paused;
};

struct ctlconn {
	struct tag t;
	struct ctlconn *next;
	size_t len;
	char buf[128];
};

/* output sink: buffered to an fd, or into a fixed buffer (truncating), or counting */
struct sink { char *b; size_t cap, len, total; int fd; };

/* What failed, as far as it is known: reported with the error (see README "Result"). */
struct detail {
	int errnum;          /* 0: unknown */
	char syscall[32];
	char path[1024];
};

#define MAX_CGROUP_JOIN 16

struct options {
	const char *id, *bundle, *runtime, *rroot, *sdir, *logpath, *spawnfile;
	const char *cgjoin[MAX_CGROUP_JOIN]; /* --cgroup-join: cgroup v1 "tasks" files the spawning child joins */
	int ncgjoin;
	int terminal, stdin_;
	long long logmax;
	int logfiles;         /* --log-max-file: files kept, the current one included (0: 2, the old behaviour) */
	const char *logattrs; /* --log-attrs: a JSON object written as "attrs" in every entry */
};

struct reaped { pid_t pid; int status; };

/* ---- shared state ---- */
extern struct options opt;                                  /* args.c */
/* paths are heap strings of their own length: PATH_MAX arrays would each dirty a page */
extern char *p_initpid, *p_monpid, *p_console, *p_exit, *p_logrot; /* monitor.c */
extern int epfd, sigfd, pidfd;                              /* monitor.c */
extern pid_t init_pid;                                      /* monitor.c */
extern int init_done, init_status, init_status_known;
extern struct timespec init_exit_time;
extern int report_fd;                                       /* monitor.c */
extern int report_out;                                      /* monitor.c: the caller's stdout */
extern unsigned char rbuf[RBUF_SIZE];                       /* monitor.c: the one read buffer */
extern struct stream s_out, s_err;                          /* io.c */
extern struct tag t_stdin;
extern int stdin_is_pty, master_fd;
extern struct client *clients;
extern struct ctlconn *ctlconns;                            /* ctl.c */
extern int log_fd;                                          /* jsonlog.c */
extern struct reaped reaped[16];                            /* exit.c */
extern int n_reaped;
extern unsigned char *spawn_buf;                            /* spawn.c: `--spawn -` read by main */
extern size_t spawn_len;

/* util.c: helpers */
int write_all(int fd, const void *p, size_t n);
void set_nonblock(int fd);
void fmt_time(char *buf, size_t sz, const struct timespec *ts);
char *cat2(const char *a, const char *b);
int write_file_atomic(const char *path, const char *data, size_t n);
/* args.c: command line */
void parse_args(int argc, char **argv);
/* jsonlog.c: JSON escaping, json-file log */
void json_esc(struct sink *s, const unsigned char *p, size_t n);
void log_open(void);
void log_flush(void);
void log_entry(struct stream *st, const char *p, size_t n);
/* io.c: output streams, attach clients, stdin, sockets */
void client_drop(struct client *c);
void free_dead_clients(void);
void client_flush(struct client *c);
void stdin_flush(void);
void client_read(struct client *c, unsigned events);
void stream_close(struct stream *s);
void stream_read(struct stream *s);
int listen_unix(const char *dir, const char *name, int backlog);
void ep_add(struct tag *t, unsigned ev);
/* ctl.c: control socket */
void ctl_close(struct ctlconn *cc);
void ctl_read(struct ctlconn *cc);
/* exit.c: children, OOM, exit.json */
void note_exit(pid_t p, int st);
int reap_all(pid_t want, int *wst);
void drain_sigfd(void);
int status_code(int st);
void oom_locate(void);
void finish(void);
/* report.c: the result line */
void report(const char *line);
void report_error(const char *msg, size_t n, int code, const struct detail *d);
size_t runtime_msg(const char *in, size_t n, char *out, size_t cap, struct detail *d);
/* spawn.c: creating the container */
pid_t spawn(char *const argv[], int in, int out, int err);
int read_all(int fd, unsigned char **out, size_t *len);
pid_t spawn_create(char *const argv[], int in, int out, int err);

#endif
