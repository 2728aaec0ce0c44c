/*
 * berth-monitor: the per-container monitor of Berth (the role conmon plays for Podman).
 *
 * One small process per container. It creates the container through the OCI runtime,
 * owns the container's stdio, writes the json-file log, serves attach/control sockets,
 * reaps the container init and records its exit status, so that berthd can stop and
 * restart without touching running containers.
 *
 * INVOCATION (by berthd, which reads one line from our stdout and waits for our first
 * process only):
 *
 *   berth-monitor --id ID --bundle DIR (--runtime PATH | --spawn FILE) --runtime-root DIR
 *                 --state-dir DIR --log-path FILE
 *                 [--terminal] [--stdin] [--log-max-size BYTES]
 *
 *   --spawn FILE: berthd did the C# half of berth-runtime's create itself (state dir,
 *   exec.fifo, cgroup, plan) and wrote FILE (`-`: stdin, read to EOF by the first process;
 *   berthd uses that: no file per start); the monitor's child clones the init from it
 *   through the native piece (src/native, linked in) instead of exec'ing `RUNTIME create`
 *   (no runtime process per start). Same stdio, results and init.pid; see spawn_from_file.
 *   A failure after it kills the init; berthd removes the rest (it records the state).
 *
 * RESULT (one line on stdout, then the first process exits):
 *   {"pid":<container init pid>}                 exit status 0
 *   {"error":"<message>","exitCode":N}            exit status 1
 *   message is the runtime's stderr (logrus `time=.. level=error msg="..."` reduced to
 *   the msg) and N the runtime's exit status (128+sig if it was killed). Failures of the
 *   monitor itself before/around the runtime report exitCode 125 and a
 *   "berth-monitor: ..." message (also when a live monitor owns STATE_DIR). On failure the monitor removes its sockets and pid
 *   files and exits; if the runtime's create had succeeded (a later step failed) it
 *   first runs `RUNTIME --root R delete --force ID`. A failed create is left to the
 *   runtime's own cleanup (it must not delete a container whose ID already existed).
 *
 * LIFECYCLE
 *   first process -> fork -> setsid -> fork -> the monitor (chdir /, stdio /dev/null,
 *   PR_SET_CHILD_SUBREAPER). The monitor writes STATE_DIR/monitor.pid (atomically),
 *   listens on STATE_DIR/attach.sock and STATE_DIR/ctl.sock (0600), runs
 *     RUNTIME --root R create --bundle DIR --pid-file STATE_DIR/init.pid
 *             [--console-socket STATE_DIR/console.sock] ID
 *   and reports through a pipe to the first process. It never runs `start`: berthd runs
 *   `RUNTIME start ID` itself (after attaching if it wants to), and `delete` after exit.
 *   SIGTERM/SIGHUP/SIGINT are ignored.
 *
 * STDIO
 *   without --terminal: stdout and stderr are two pipes (stdin a pipe with --stdin,
 *   /dev/null otherwise) given to the runtime as 0/1/2; the runtime hands them to the
 *   init. Anything the runtime itself writes to them during `create` is used as the
 *   error message on failure and discarded on success.
 *   with --terminal: the runtime connects to console.sock and sends the pty master
 *   (SCM_RIGHTS, runc protocol); it is used for output (stream "stdout") and input.
 *
 * LOG (LOG_PATH, Docker json-file): one object per line
 *   {"log":"<text>","stream":"stdout"|"stderr","time":"<RFC3339Nano UTC, 9 digits>"}
 *   split at '\n'; a partial line is written when 16 KiB accumulate without '\n' and
 *   at EOF. Invalid UTF-8 is replaced by U+FFFD. With --log-max-size the file is
 *   renamed to LOG_PATH.1 (one kept) before an entry would make it exceed the limit.
 *
 * ATTACH (STATE_DIR/attach.sock, unix stream): any number of clients; each receives
 *   every output chunk produced after it connected, framed as Docker's stdcopy:
 *   [1=stdout|2=stderr][0 0 0][u32 BE length][payload] (always 1 with a terminal).
 *   Bytes received are written to the container's stdin (pipe, or the pty master).
 *   A half-close by a client (shutdown(SHUT_WR): EOF while the socket can still
 *   receive) closes the container's stdin pipe when --stdin was given (never the pty).
 *   A full close just detaches. A client whose unsent data exceeds 1 MiB is dropped.
 *   When the container exits the clients get the remaining output, then EOF.
 *
 * CONTROL (STATE_DIR/ctl.sock, unix stream): newline-terminated commands, one reply
 *   line each: `resize ROWS COLS` -> TIOCSWINSZ on the pty -> "ok\n" | "error ...\n".
 *
 * EXIT: when the init exits (SIGCHLD via signalfd + waitpid(-1); a pidfd as fallback)
 *   the remaining output is drained (until EOF/EIO, at most 2 s), then
 *   STATE_DIR/exit.json is written atomically:
 *   {"exitCode":N,"signal":S,"oomKilled":B,"finishedAt":"<RFC3339Nano>"}
 *   (exitCode = status, or 128+S when killed by signal S; oomKilled from the memory
 *   cgroup's oom_kill counter), attach clients are closed, attach.sock and ctl.sock
 *   are removed and the monitor exits 0. monitor.pid is left in place.
 */
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

static struct {
	const char *id, *bundle, *runtime, *rroot, *sdir, *logpath, *spawnfile;
	int terminal, stdin_;
	long long logmax;
} opt;

/* paths are heap strings of their own length: PATH_MAX arrays would each dirty a page */
static char *p_initpid, *p_monpid, *p_console, *p_exit, *p_logrot;
static char *p_oom = "";

static int epfd = -1, sigfd = -1, pidfd = -1;
static struct tag t_sig = { T_SIG, -1 }, t_attach = { T_ATTACH_L, -1 }, t_ctl = { T_CTL_L, -1 };
static struct tag t_stdin = { T_STDIN, -1 }, t_pidfd = { T_PIDFD, -1 };
static char line_out[LINE_MAX_LEN], line_err[LINE_MAX_LEN];
static struct stream s_out = { { T_STREAM, -1 }, 1, "stdout", 0, line_out };
static struct stream s_err = { { T_STREAM, -1 }, 2, "stderr", 0, line_err };
static int stdin_is_pty, stdin_close_pending, stdin_armed;
static char stdin_buf[STDIN_BUF_SIZE];
static size_t stdin_off, stdin_len;
static int master_fd = -1;

static struct client *clients, *dead_clients;
static struct ctlconn *ctlconns;

static pid_t init_pid = -1;
static int init_done, init_status, init_status_known;
static struct timespec init_exit_time;

static int log_fd = -1;
static long long log_size;

static int report_fd = -1;
static int runtime_created; /* the runtime's create succeeded: a failure after it must delete */

static struct { pid_t pid; int status; } reaped[16];
static int n_reaped;

static unsigned char rbuf[RBUF_SIZE];

/* ---------- small helpers ---------- */

static int write_all(int fd, const void *p, size_t n)
{
	const char *c = p;
	while (n) {
		ssize_t w = write(fd, c, n);
		if (w < 0) {
			if (errno == EINTR) continue;
			return -1;
		}
		c += w;
		n -= (size_t)w;
	}
	return 0;
}

static void set_nonblock(int fd)
{
	int fl = fcntl(fd, F_GETFL);
	if (fl >= 0) fcntl(fd, F_SETFL, fl | O_NONBLOCK);
}

static void fmt_time(char *buf, size_t sz, const struct timespec *ts)
{
	struct tm tm;
	gmtime_r(&ts->tv_sec, &tm);
	snprintf(buf, sz, "%04d-%02d-%02dT%02d:%02d:%02d.%09ldZ", tm.tm_year + 1900, tm.tm_mon + 1,
		 tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec, (long)ts->tv_nsec);
}

static char *cat2(const char *a, const char *b)
{
	size_t la = strlen(a), lb = strlen(b);
	char *r = malloc(la + lb + 1);
	if (!r) _exit(1);
	memcpy(r, a, la);
	memcpy(r + la, b, lb + 1);
	return r;
}

static char *abspath(const char *p)
{
	if (!p || p[0] == '/') return (char *)p;
	char *cwd = getcwd(NULL, 0); /* heap, not a PATH_MAX stack buffer (idle RSS) */
	if (!cwd) return (char *)p;
	char *d = cat2(cwd, "/"), *r = cat2(d, p);
	free(cwd);
	free(d);
	return r;
}

/* output sink: buffered to an fd, or into a fixed buffer (truncating), or counting */
struct sink { char *b; size_t cap, len, total; int fd; };

static void sput(struct sink *s, const char *p, size_t n)
{
	s->total += n;
	if (!s->b) return;
	while (n) {
		if (s->len == s->cap) {
			if (s->fd < 0) return;
			write_all(s->fd, s->b, s->len);
			s->len = 0;
		}
		size_t k = s->cap - s->len;
		if (k > n) k = n;
		memcpy(s->b + s->len, p, k);
		s->len += k; p += k; n -= k;
	}
}

static void sputs(struct sink *s, const char *p) { sput(s, p, strlen(p)); }

static int utf8_seq(const unsigned char *p, size_t n)
{
	unsigned c = p[0];
	int len;
	if (c < 0x80) return 1;
	if (c >= 0xc2 && c <= 0xdf) len = 2;
	else if (c >= 0xe0 && c <= 0xef) len = 3;
	else if (c >= 0xf0 && c <= 0xf4) len = 4;
	else return 0;
	if ((size_t)len > n) return 0;
	for (int i = 1; i < len; i++)
		if ((p[i] & 0xc0) != 0x80) return 0;
	if (c == 0xe0 && p[1] < 0xa0) return 0;
	if (c == 0xed && p[1] >= 0xa0) return 0;
	if (c == 0xf0 && p[1] < 0x90) return 0;
	if (c == 0xf4 && p[1] >= 0x90) return 0;
	return len;
}

/* JSON string body escaping (no quotes); invalid UTF-8 -> \ufffd like Go */
static void json_esc(struct sink *s, const unsigned char *p, size_t n)
{
	static const char hex[] = "0123456789abcdef";
	size_t run = 0, i = 0;
	while (i < n) {
		unsigned char c = p[i];
		if (c >= 0x20 && c != '"' && c != '\\' && c < 0x80) { i++; continue; }
		if (c >= 0x80) {
			int l = utf8_seq(p + i, n - i);
			if (l > 0) { i += (size_t)l; continue; }
		}
		sput(s, (const char *)p + run, i - run);
		char e[8];
		switch (c) {
		case '"': sput(s, "\\\"", 2); break;
		case '\\': sput(s, "\\\\", 2); break;
		case '\n': sput(s, "\\n", 2); break;
		case '\r': sput(s, "\\r", 2); break;
		case '\t': sput(s, "\\t", 2); break;
		default:
			if (c >= 0x80) { sput(s, "\\ufffd", 6); break; }
			memcpy(e, "\\u00", 4);
			e[4] = hex[c >> 4]; e[5] = hex[c & 15];
			sput(s, e, 6);
		}
		i++;
		run = i;
	}
	sput(s, (const char *)p + run, n - run);
}

/* Temp file + rename: readers never see half a file. No fsync: the state dir is run-time
 * state (a reboot ends the container anyway). */
static int write_file_atomic(const char *path, const char *data, size_t n)
{
	char *tmp = cat2(path, ".tmp");
	int r = -1;
	int fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
	if (fd >= 0) {
		if (write_all(fd, data, n) == 0) r = 0;
		close(fd);
		if (r == 0 && rename(tmp, path) < 0) r = -1;
		if (r < 0) unlink(tmp);
	}
	free(tmp);
	return r;
}

/* ---------- log ---------- */

/* Entries of one read() are batched in lbuf and written with one write() at the end of
 * the chunk (or when lbuf fills up), so the file only ever holds whole lines except
 * while one entry larger than lbuf is being written. */
static char lbuf[16384];
static struct sink lsink = { lbuf, sizeof lbuf, 0, 0, -1 };

static void log_open(void)
{
	log_fd = open(opt.logpath, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0640);
	struct stat st;
	log_size = (log_fd >= 0 && fstat(log_fd, &st) == 0) ? st.st_size : 0;
	lsink.fd = log_fd;
}

static void log_flush(void)
{
	if (lsink.len && log_fd >= 0) write_all(log_fd, lsink.b, lsink.len);
	lsink.len = 0;
}

/* RFC3339Nano with 9 digits; the part up to the seconds is formatted once per second */
static void log_time(char *out /* >= 31 bytes */)
{
	static time_t cached_sec = -1;
	static char prefix[24];
	struct timespec now;
	clock_gettime(CLOCK_REALTIME, &now);
	if (now.tv_sec != cached_sec) {
		struct timespec whole = { now.tv_sec, 0 };
		char full[48];
		fmt_time(full, sizeof full, &whole);
		memcpy(prefix, full, 20); /* "YYYY-MM-DDTHH:MM:SS." */
		cached_sec = now.tv_sec;
	}
	memcpy(out, prefix, 20);
	long ns = now.tv_nsec;
	for (int i = 28; i >= 20; i--) { out[i] = (char)('0' + ns % 10); ns /= 10; }
	out[29] = 'Z';
	out[30] = '\0';
}

static void log_entry(struct stream *st, const char *p, size_t n)
{
	if (log_fd < 0 || n == 0) return;
	const char *stream = opt.terminal ? "stdout" : st->name;
	char ts[32];
	log_time(ts);
	if (opt.logmax > 0) {
		struct sink c = { NULL, 0, 0, 0, -1 };
		json_esc(&c, (const unsigned char *)p, n);
		long long need = (long long)c.total + 33 + (long long)strlen(stream) + (long long)strlen(ts);
		if (log_size > 0 && log_size + need > opt.logmax) {
			log_flush();
			close(log_fd);
			rename(opt.logpath, p_logrot);
			log_fd = open(opt.logpath, O_WRONLY | O_APPEND | O_CREAT | O_TRUNC | O_CLOEXEC, 0640);
			lsink.fd = log_fd;
			log_size = 0;
			if (log_fd < 0) return;
		}
	}
	size_t before = lsink.total;
	sputs(&lsink, "{\"log\":\"");
	json_esc(&lsink, (const unsigned char *)p, n);
	sputs(&lsink, "\",\"stream\":\"");
	sputs(&lsink, stream);
	sputs(&lsink, "\",\"time\":\"");
	sputs(&lsink, ts);
	sputs(&lsink, "\"}\n");
	log_size += (long long)(lsink.total - before);
}

/* ---------- attach clients ---------- */

static void client_update(struct client *c)
{
	unsigned ev = 0;
	if (!c->rd_closed && !c->paused) ev |= EPOLLIN;
	if (c->plen > c->poff) ev |= EPOLLOUT;
	if (ev == c->events) return;
	struct epoll_event e = { .events = ev, .data.ptr = &c->t };
	epoll_ctl(epfd, EPOLL_CTL_MOD, c->t.fd, &e);
	c->events = ev;
}

static void client_drop(struct client *c)
{
	if (c->dead) return;
	c->dead = 1;
	epoll_ctl(epfd, EPOLL_CTL_DEL, c->t.fd, NULL);
	close(c->t.fd);
	c->t.fd = -1;
	for (struct client **pp = &clients; *pp; pp = &(*pp)->next)
		if (*pp == c) { *pp = c->next; break; }
	free(c->pend);
	c->pend = NULL;
	c->next = dead_clients;
	dead_clients = c;
}

static void free_dead_clients(void)
{
	while (dead_clients) {
		struct client *n = dead_clients->next;
		free(dead_clients);
		dead_clients = n;
	}
}

static int client_append(struct client *c, const char *p, size_t n)
{
	if (c->poff && c->poff == c->plen) c->poff = c->plen = 0;
	if ((c->plen - c->poff) + n > CLIENT_MAX_PENDING) return -1;
	if (c->plen + n > c->pcap) {
		if (c->poff) {
			memmove(c->pend, c->pend + c->poff, c->plen - c->poff);
			c->plen -= c->poff;
			c->poff = 0;
		}
		if (c->plen + n > c->pcap) {
			size_t nc = c->pcap ? c->pcap : 16384;
			while (nc < c->plen + n) nc *= 2;
			char *np = realloc(c->pend, nc);
			if (!np) return -1;
			c->pend = np;
			c->pcap = nc;
		}
	}
	memcpy(c->pend + c->plen, p, n);
	c->plen += n;
	return 0;
}

static void client_send(struct client *c, const unsigned char *hdr, const char *p, size_t n)
{
	size_t total = 8 + n, off = 0;
	if (c->plen == c->poff) {
		struct iovec iov[2] = { { (void *)hdr, 8 }, { (void *)p, n } };
		ssize_t w = writev(c->t.fd, iov, 2);
		if (w < 0) {
			if (errno != EAGAIN && errno != EINTR) { client_drop(c); return; }
			w = 0;
		}
		off = (size_t)w;
		if (off == total) return;
	}
	int r = 0;
	if (off < 8) r = client_append(c, (const char *)hdr + off, 8 - off);
	if (r == 0) r = client_append(c, p + (off > 8 ? off - 8 : 0), n - (off > 8 ? off - 8 : 0));
	if (r < 0) { client_drop(c); return; }
	client_update(c);
}

static void client_flush(struct client *c)
{
	while (c->plen > c->poff) {
		ssize_t w = write(c->t.fd, c->pend + c->poff, c->plen - c->poff);
		if (w < 0) {
			if (errno == EINTR) continue;
			if (errno == EAGAIN) break;
			client_drop(c);
			return;
		}
		c->poff += (size_t)w;
	}
	if (c->plen == c->poff) {
		c->poff = c->plen = 0;
		if (c->pcap > 65536) { free(c->pend); c->pend = NULL; c->pcap = 0; }
	}
	client_update(c);
}

static void broadcast(int stream, const char *p, size_t n)
{
	unsigned char hdr[8] = { (unsigned char)stream, 0, 0, 0, (unsigned char)(n >> 24),
				 (unsigned char)(n >> 16), (unsigned char)(n >> 8), (unsigned char)n };
	struct client *next;
	for (struct client *c = clients; c; c = next) {
		next = c->next;
		client_send(c, hdr, p, n);
	}
}

/* ---------- container stdin ---------- */

static void stdin_close(void)
{
	if (t_stdin.fd < 0) return;
	if (stdin_armed) epoll_ctl(epfd, EPOLL_CTL_DEL, t_stdin.fd, NULL);
	stdin_armed = 0;
	close(t_stdin.fd);
	t_stdin.fd = -1;
	stdin_len = stdin_off = 0;
}

static void clients_resume(void)
{
	for (struct client *c = clients; c; c = c->next)
		if (c->paused) { c->paused = 0; client_update(c); }
}

static void stdin_flush(void)
{
	while (t_stdin.fd >= 0 && stdin_len > stdin_off) {
		ssize_t w = write(t_stdin.fd, stdin_buf + stdin_off, stdin_len - stdin_off);
		if (w < 0) {
			if (errno == EINTR) continue;
			if (errno == EAGAIN) {
				if (!stdin_armed) {
					struct epoll_event e = { .events = EPOLLOUT, .data.ptr = &t_stdin };
					epoll_ctl(epfd, EPOLL_CTL_ADD, t_stdin.fd, &e);
					stdin_armed = 1;
				}
				return;
			}
			stdin_close(); /* reader gone */
			break;
		}
		stdin_off += (size_t)w;
	}
	stdin_off = stdin_len = 0;
	if (stdin_armed) {
		epoll_ctl(epfd, EPOLL_CTL_DEL, t_stdin.fd, NULL);
		stdin_armed = 0;
	}
	if (stdin_close_pending && !stdin_is_pty) stdin_close();
	clients_resume();
}

static void client_read(struct client *c, unsigned events)
{
	if (stdin_len == sizeof stdin_buf) { c->paused = 1; client_update(c); return; }
	ssize_t r = read(c->t.fd, stdin_buf + stdin_len, sizeof stdin_buf - stdin_len);
	if (r > 0) {
		if (t_stdin.fd < 0) return; /* no stdin: discard */
		stdin_len += (size_t)r;
		stdin_flush();
		return;
	}
	if (r < 0 && (errno == EAGAIN || errno == EINTR)) return;
	if (r < 0 || (events & EPOLLHUP)) { client_drop(c); return; }
	/* half-close */
	c->rd_closed = 1;
	client_update(c);
	if (opt.stdin_ && !stdin_is_pty && t_stdin.fd >= 0) {
		stdin_close_pending = 1;
		if (stdin_len == stdin_off) stdin_close();
	}
}

/* ---------- control ---------- */

static const char *ctl_cmd(char *line)
{
	unsigned rows, cols;
	char extra;
	if (strncmp(line, "resize", 6) == 0 && (line[6] == ' ' || line[6] == '\0')) {
		if (sscanf(line + 6, "%u %u %c", &rows, &cols, &extra) != 2 || rows > 65535 || cols > 65535)
			return "error usage: resize ROWS COLS\n";
		if (master_fd < 0) return "error no terminal\n";
		struct winsize ws = { .ws_row = (unsigned short)rows, .ws_col = (unsigned short)cols };
		if (ioctl(master_fd, TIOCSWINSZ, &ws) < 0) return "error TIOCSWINSZ failed\n";
		return "ok\n";
	}
	return "error unknown command\n";
}

static void ctl_close(struct ctlconn *cc)
{
	epoll_ctl(epfd, EPOLL_CTL_DEL, cc->t.fd, NULL);
	close(cc->t.fd);
	for (struct ctlconn **pp = &ctlconns; *pp; pp = &(*pp)->next)
		if (*pp == cc) { *pp = cc->next; break; }
	free(cc);
}

static void ctl_read(struct ctlconn *cc)
{
	ssize_t r = read(cc->t.fd, cc->buf + cc->len, sizeof cc->buf - 1 - cc->len);
	if (r < 0 && (errno == EAGAIN || errno == EINTR)) return;
	if (r <= 0) { ctl_close(cc); return; }
	cc->len += (size_t)r;
	char *nl;
	while ((nl = memchr(cc->buf, '\n', cc->len))) {
		*nl = '\0';
		if (nl > cc->buf && nl[-1] == '\r') nl[-1] = '\0';
		const char *rep = ctl_cmd(cc->buf);
		send(cc->t.fd, rep, strlen(rep), MSG_NOSIGNAL | MSG_DONTWAIT);
		size_t used = (size_t)(nl - cc->buf) + 1;
		memmove(cc->buf, nl + 1, cc->len - used);
		cc->len -= used;
	}
	if (cc->len == sizeof cc->buf - 1) {
		const char *rep = "error line too long\n";
		send(cc->t.fd, rep, strlen(rep), MSG_NOSIGNAL | MSG_DONTWAIT);
		ctl_close(cc);
	}
}

/* ---------- streams ---------- */

static void stream_data(struct stream *s, const char *p, size_t n)
{
	broadcast(opt.terminal ? 1 : s->num, p, n);
	while (n) {
		size_t k = LINE_MAX_LEN - s->len;
		if (k > n) k = n;
		memcpy(s->line + s->len, p, k);
		s->len += k; p += k; n -= k;
		size_t start = 0;
		char *nl;
		while ((nl = memchr(s->line + start, '\n', s->len - start))) {
			size_t e = (size_t)(nl - s->line) + 1;
			log_entry(s, s->line + start, e - start);
			start = e;
		}
		if (start) {
			memmove(s->line, s->line + start, s->len - start);
			s->len -= start;
		}
		if (s->len == LINE_MAX_LEN) {
			log_entry(s, s->line, s->len);
			s->len = 0;
		}
	}
	log_flush();
}

static void stream_close(struct stream *s)
{
	if (s->t.fd < 0) return;
	epoll_ctl(epfd, EPOLL_CTL_DEL, s->t.fd, NULL);
	close(s->t.fd);
	s->t.fd = -1;
	if (s->len) { log_entry(s, s->line, s->len); s->len = 0; }
	log_flush();
	if (opt.terminal) { master_fd = -1; stdin_close(); }
}

static void stream_read(struct stream *s)
{
	ssize_t r = read(s->t.fd, rbuf, sizeof rbuf);
	if (r > 0) { stream_data(s, (const char *)rbuf, (size_t)r); return; }
	if (r < 0 && (errno == EAGAIN || errno == EINTR)) return;
	stream_close(s); /* EOF, or EIO on a pty whose slave side is gone */
}

/* ---------- children ---------- */

static void note_exit(pid_t p, int st)
{
	if (p == init_pid && init_pid > 0) {
		if (!init_done) {
			init_done = 1;
			init_status = st;
			init_status_known = 1;
			clock_gettime(CLOCK_MONOTONIC, &init_exit_time);
		}
		return;
	}
	if (n_reaped < (int)(sizeof reaped / sizeof reaped[0])) {
		reaped[n_reaped].pid = p;
		reaped[n_reaped].status = st;
		n_reaped++;
	}
}

/* reap everything; returns the status of `want` via *wst if it was reaped (1) */
static int reap_all(pid_t want, int *wst)
{
	int got = 0, st;
	pid_t p;
	while ((p = waitpid(-1, &st, WNOHANG)) > 0) {
		if (p == want) { got = 1; *wst = st; continue; }
		note_exit(p, st);
	}
	return got;
}

static void drain_sigfd(void)
{
	struct signalfd_siginfo si[8];
	while (read(sigfd, si, sizeof si) > 0) {}
}

/* in a forked child: default signal handling, nothing blocked, in/out/err as 0/1/2 */
static void child_stdio(int in, int out, int err)
{
	sigset_t s;
	sigemptyset(&s);
	sigprocmask(SIG_SETMASK, &s, NULL);
	signal(SIGPIPE, SIG_DFL); signal(SIGTERM, SIG_DFL);
	signal(SIGHUP, SIG_DFL); signal(SIGINT, SIG_DFL);
	if (dup2(in, 0) < 0 || dup2(out, 1) < 0 || dup2(err, 2) < 0) _exit(127);
}

static pid_t spawn(char *const argv[], int in, int out, int err)
{
	pid_t p = fork();
	if (p != 0) return p;
	child_stdio(in, out, err);
	execvp(argv[0], argv);
	_exit(127);
}

/* ---------- create from a spawn file (--spawn: berthd prepared the create) ----------
 * Runs in the forked child instead of `RUNTIME create`, with the same stdio and the same
 * results: the init's pid in STATE_DIR/init.pid and exit 0, or a logrus error line on
 * stderr and exit 1 (no process left). The file (PendingCreate.EncodeSpawnFile in
 * Berth.Runtime), little endian: u32 magic "BSPN", u32 version 1, u64 clone flags,
 * i32 exec fifo fd (-1 none), u32 len + exec fifo path, i32 console fd (-1 none),
 * u32 len + cgroup v2 dir to clone into (empty: none), u32 njoins, njoins x
 * (i32 CLONE_NEW* type, u32 len + namespace path), u32 len + plan (berth.h).
 * The plan refers to the fifo and the console socket by those fd numbers: they are
 * opened (the console socket connected to STATE_DIR/console.sock) at exactly them. */

/* logrus-style quoted value: "..." with \" \\ \n escaped */
static size_t logrus_quote(char *out, size_t o, size_t cap, const char *v)
{
	out[o++] = '"';
	for (const char *q = v; *q && o + 4 < cap; q++) {
		if (*q == '"' || *q == '\\') out[o++] = '\\';
		if (*q == '\n') { out[o++] = '\\'; out[o++] = 'n'; continue; }
		out[o++] = *q;
	}
	out[o++] = '"';
	return o;
}

/* `level=L msg="..."` on stderr; an error with a detail (errnum > 0) gets the fields
 * `errno=N syscall="..." path="..."`, which the monitor reads back (runtime_msg) */
static void logrus_detail(const char *level, int errnum, const char *syscall, const char *path, const char *fmt, ...)
	__attribute__((format(printf, 5, 6)));
static void logrus_detail(const char *level, int errnum, const char *syscall, const char *path, const char *fmt, ...)
{
	char m[BERTH_MSG_MAX + 256], out[4 * sizeof m + 96];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(m, sizeof m, fmt, ap);
	va_end(ap);
	size_t o = (size_t)snprintf(out, sizeof out, "level=%s msg=", level);
	o = logrus_quote(out, o, 2 * sizeof m, m);
	if (errnum > 0) {
		o += (size_t)snprintf(out + o, sizeof out - o, " errno=%d syscall=", errnum);
		o = logrus_quote(out, o, o + sizeof m, syscall ? syscall : "");
		memcpy(out + o, " path=", 6);
		o = logrus_quote(out, o + 6, o + 6 + sizeof m, path ? path : "");
	}
	out[o++] = '\n';
	write_all(2, out, o);
}

#define logrus(level, ...) logrus_detail(level, 0, NULL, NULL, __VA_ARGS__)

#define SPAWN_FAIL(...) do { logrus("error", __VA_ARGS__); _exit(1); } while (0)

struct rd { const unsigned char *p, *end; };

static uint32_t rd_u32(struct rd *r)
{
	if (r->end - r->p < 4) SPAWN_FAIL("spawn file %s: truncated", opt.spawnfile);
	uint32_t v = (uint32_t)r->p[0] | (uint32_t)r->p[1] << 8 | (uint32_t)r->p[2] << 16 | (uint32_t)r->p[3] << 24;
	r->p += 4;
	return v;
}

/* a NUL-terminated copy of a length-prefixed field (the child never allocates: this is the parent) */
static char *rd_str(struct rd *r, uint32_t *len)
{
	uint32_t n = rd_u32(r);
	if ((size_t)(r->end - r->p) < n) SPAWN_FAIL("spawn file %s: truncated", opt.spawnfile);
	char *s = malloc((size_t)n + 1);
	if (!s) SPAWN_FAIL("spawn file: out of memory");
	memcpy(s, r->p, n);
	s[n] = '\0';
	r->p += n;
	if (len) *len = n;
	return s;
}

static void place_fd(int fd, int want, const char *what)
{
	if (fd < 0) SPAWN_FAIL("open %s: %s", what, strerror(errno));
	if (fd == want) return;
	if (dup3(fd, want, O_CLOEXEC) < 0) SPAWN_FAIL("dup3 %s: %s", what, strerror(errno));
	close(fd);
}

static int connect_console(void)
{
	struct sockaddr_un a = { .sun_family = AF_UNIX };
	strcpy(a.sun_path, "console.sock");
	int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0) return -1;
	/* relative to the state dir, as it was bound: no sun_path limit on STATE_DIR */
	if (chdir(opt.sdir) < 0 || connect(fd, (struct sockaddr *)&a, sizeof a) < 0) {
		int e = errno;
		close(fd);
		errno = e;
		fd = -1;
	}
	if (chdir("/") < 0) {}
	return fd;
}

static void reap_child(pid_t pid)
{
	kill(pid, SIGKILL);
	while (waitpid(pid, NULL, 0) < 0 && errno == EINTR) {}
}

/* `--spawn -`: read from stdin by the first process, before anything else (no file per start) */
static unsigned char *spawn_buf;
static size_t spawn_len;

/* reads fd to EOF into a malloc'd buffer; returns -1 with errno on a read error */
static int read_all(int fd, unsigned char **out, size_t *len)
{
	size_t cap = 16384, n = 0;
	unsigned char *b = malloc(cap);
	if (!b) return -1;
	for (;;) {
		if (n == cap) {
			unsigned char *nb = cap < (64u << 20) ? realloc(b, cap * 2) : NULL;
			if (!nb) { free(b); errno = EFBIG; return -1; }
			b = nb;
			cap *= 2;
		}
		ssize_t r = read(fd, b + n, cap - n);
		if (r < 0 && errno == EINTR) continue;
		if (r < 0) { int e = errno; free(b); errno = e; return -1; }
		if (r == 0) break;
		n += (size_t)r;
	}
	*out = b;
	*len = n;
	return 0;
}

static void spawn_from_file(void)
{
	unsigned char *buf = spawn_buf;
	size_t got = spawn_len;
	if (!buf) {
		int f = open(opt.spawnfile, O_RDONLY | O_CLOEXEC);
		if (f < 0 || read_all(f, &buf, &got) < 0) SPAWN_FAIL("open spawn file %s: %s", opt.spawnfile, strerror(errno));
		close(f);
	}
	struct rd r = { buf, buf + got };
	if (rd_u32(&r) != 0x4e505342u || rd_u32(&r) != 1) SPAWN_FAIL("spawn file %s: not a version 1 spawn file", opt.spawnfile);
	uint64_t clone_flags = rd_u32(&r);
	clone_flags |= (uint64_t)rd_u32(&r) << 32;
	int fifo_fd = (int)rd_u32(&r);
	char *fifo = rd_str(&r, NULL);
	int console_fd = (int)rd_u32(&r);
	uint32_t cglen;
	char *cgroup = rd_str(&r, &cglen);
	uint32_t njoins = rd_u32(&r);
	if (njoins > 16) SPAWN_FAIL("spawn file %s: %u namespaces to join", opt.spawnfile, njoins);
	struct berth_ns_join joins[16];
	char *jpath[16];
	for (uint32_t k = 0; k < njoins; k++) {
		joins[k].nstype = (int32_t)rd_u32(&r);
		jpath[k] = rd_str(&r, NULL);
	}
	uint32_t plan_len;
	char *plan = rd_str(&r, &plan_len);

	/* fds 0-2 are the container's stdio and nothing else is open: fds appear at the lowest numbers */
	if (fifo_fd >= 0) place_fd(open(fifo, O_PATH | O_CLOEXEC), fifo_fd, fifo);
	if (console_fd >= 0) place_fd(connect_console(), console_fd, "console socket");
	int cgfd = -1;
	if (cglen) {
		cgfd = open(cgroup, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
		if (cgfd < 0) SPAWN_FAIL("open cgroup %s: %s", cgroup, strerror(errno));
	}
	for (uint32_t k = 0; k < njoins; k++) {
		joins[k].fd = open(jpath[k], O_RDONLY | O_CLOEXEC);
		if (joins[k].fd < 0) SPAWN_FAIL("open namespace %s: %s", jpath[k], strerror(errno));
	}

	struct berth_spawn_args a = {
		.clone_flags = clone_flags, .plan = (const uint8_t *)plan, .plan_len = plan_len,
		.joins = joins, .njoins = (int32_t)njoins, .force_two_stage = 0,
		.into_cgroup = cgfd >= 0, .cgroup_fd = cgfd,
	};
	char err[512] = "";
	int sync = -1;
	pid_t pid = berth_spawn(&a, &sync, err, sizeof err);
	if (pid < 0) {
		int e = errno;
		logrus_detail("error", e, "", "", "%s: %s", err[0] ? err : "spawn", strerror(e));
		_exit(1);
	}
	for (uint32_t k = 0; k < njoins; k++) close(joins[k].fd);
	if (cgfd >= 0) close(cgfd);

	static char msg[BERTH_MSG_MAX + 1];
	for (;;) {
		uint32_t type = 0, errno_value = 0;
		const char *e_syscall, *e_path;
		int n = berth_sync_recv_detail(sync, &type, &errno_value, msg, sizeof msg, &e_syscall, &e_path);
		if (n < 0 && errno == EINTR) continue;
		if (n < 0 || type == 0) {
			reap_child(pid);
			SPAWN_FAIL("container process exited before it was ready");
		}
		switch (type) {
		case BERTH_MSG_READY: {
			char b[32];
			int len = snprintf(b, sizeof b, "%d", (int)pid);
			int fd = open(p_initpid, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
			if (fd < 0 || write_all(fd, b, (size_t)len) < 0) {
				reap_child(pid);
				SPAWN_FAIL("write %s: %s", p_initpid, strerror(errno));
			}
			close(fd);
			_exit(0); /* the init waits on exec.fifo; it is the monitor's (a subreaper) from here */
		}
		case BERTH_MSG_WARN:
			logrus("warning", "%s", msg);
			break;
		case BERTH_MSG_ERROR:
			reap_child(pid);
			logrus_detail("error", (int)errno_value, e_syscall, e_path,
				      "berth-runtime create failed: unable to start container process: %s", msg);
			_exit(1);
		case BERTH_MSG_SYNC:
			berth_sync_send(sync, BERTH_MSG_ABORT, 0, NULL);
			reap_child(pid);
			SPAWN_FAIL("the plan needs its parent at \"%s\": it cannot be spawned from a spawn file", msg);
		default:
			reap_child(pid);
			SPAWN_FAIL("unexpected message %u from the container process", type);
		}
	}
}

/* the forked child that creates the container: `RUNTIME create ...`, or the spawn file */
static pid_t spawn_create(char *const argv[], int in, int out, int err)
{
	if (!opt.spawnfile) return spawn(argv, in, out, err);
	pid_t p = fork();
	if (p != 0) return p;
	child_stdio(in, out, err);
	syscall(SYS_close_range, 3U, ~0U, 0U);
	spawn_from_file();
	_exit(1);
}

static int status_code(int st)
{
	if (WIFEXITED(st)) return WEXITSTATUS(st);
	if (WIFSIGNALED(st)) return 128 + WTERMSIG(st);
	return 255;
}

/* ---------- reporting ---------- */

static void report(const char *line)
{
	if (report_fd < 0) return;
	write_all(report_fd, line, strlen(line));
	close(report_fd);
	report_fd = -1;
}

/* What failed, as far as it is known: reported with the error (see README "Result"). */
struct detail {
	int errnum;          /* 0: unknown */
	char syscall[32];
	char path[1024];
};

static void report_error(const char *msg, size_t n, int code, const struct detail *d)
{
	static char out[4096 + 2048];
	static char body[4096], path[2048];
	static const struct detail none;
	if (!d) d = &none;
	struct sink s = { body, sizeof body - 1, 0, 0, -1 };
	json_esc(&s, (const unsigned char *)msg, n);
	struct sink sp = { path, sizeof path - 1, 0, 0, -1 };
	json_esc(&sp, (const unsigned char *)d->path, strlen(d->path));
	struct sink ss = { path + sp.len, sizeof path - 1 - sp.len, 0, 0, -1 };
	json_esc(&ss, (const unsigned char *)d->syscall, strlen(d->syscall));
	snprintf(out, sizeof out,
		 "{\"error\":\"%.*s\",\"exitCode\":%d,\"errno\":%d,\"syscall\":\"%.*s\",\"path\":\"%.*s\",\"kind\":\"%s\"}\n",
		 (int)s.len, body, code, d->errnum, (int)ss.len, path + sp.len, (int)sp.len, path,
		 berth_error_kind((uint32_t)d->errnum, d->syscall));
	report(out);
}

/* a logrus value at p (quoted with \" \\ \n escapes, or bare up to a space); returns its end */
static const char *logrus_value(const char *p, const char *eol, char *out, size_t cap)
{
	size_t o = 0;
	if (p < eol && *p == '"') {
		for (p++; p < eol && *p != '"'; p++) {
			char c = *p;
			if (c == '\\' && p + 1 < eol) { p++; c = *p == 'n' ? '\n' : *p == 't' ? '\t' : *p; }
			if (o + 1 < cap) out[o++] = c;
		}
		if (p < eol) p++;
	} else {
		for (; p < eol && *p != ' '; p++)
			if (o + 1 < cap) out[o++] = *p;
	}
	if (cap) out[o] = '\0';
	return p;
}

/* the fields errno= syscall= path= of a logrus line, after its msg (from spawn_from_file) */
static void logrus_fields(const char *p, const char *eol, struct detail *d)
{
	char v[16];
	while (p < eol) {
		while (p < eol && *p == ' ') p++;
		const char *eq = memchr(p, '=', (size_t)(eol - p));
		if (!eq) break;
		size_t k = (size_t)(eq - p);
		if (k == 5 && !memcmp(p, "errno", 5)) { p = logrus_value(eq + 1, eol, v, sizeof v); d->errnum = atoi(v); }
		else if (k == 7 && !memcmp(p, "syscall", 7)) p = logrus_value(eq + 1, eol, d->syscall, sizeof d->syscall);
		else if (k == 4 && !memcmp(p, "path", 4)) p = logrus_value(eq + 1, eol, d->path, sizeof d->path);
		else { char skip[8]; p = logrus_value(eq + 1, eol, skip, sizeof skip); }
	}
}

/* errno of an strerror text in any case ("no such file or directory": runc's Go wording) */
static int errno_of_text(const char *t, size_t n)
{
	static const int cands[] = { ENOENT, ENOTDIR, EACCES, EPERM, ENOEXEC, EISDIR };
	for (size_t i = 0; i < sizeof cands / sizeof cands[0]; i++) {
		const char *d = strerrordesc_np(cands[i]);
		if (d && strlen(d) == n && strncasecmp(t, d, n) == 0) return cands[i];
	}
	return 0;
}

/* A runtime without the fields (runc, the berth-runtime binary): the exec failures have
 * known wordings. `exec: "NAME": executable file not found in $PATH`,
 * `exec: "NAME": stat PATH: no such file or directory`, `exec: "NAME": permission denied`
 * (the create-time lookup), `exec PATH: <strerror>` (the exec itself). */
static void detail_from_text(const char *m, size_t n, struct detail *d)
{
	char buf[4096];
	if (n >= sizeof buf) n = sizeof buf - 1;
	memcpy(buf, m, n);
	buf[n] = '\0';
	const char *end = buf + n, *last = NULL;
	for (const char *q = buf; (q = strstr(q, ": ")); q += 2) last = q + 2; /* the final reason */
	char *e = strstr(buf, "exec: \"");
	if (e) {
		char *name = e + 7, *close = strstr(name, "\": ");
		if (!close) return;
		const char *why = close + 3;
		int en = strstr(why, "executable file not found") ? ENOENT : last ? errno_of_text(last, (size_t)(end - last)) : 0;
		if (!en) return;
		d->errnum = en;
		snprintf(d->syscall, sizeof d->syscall, "execve");
		snprintf(d->path, sizeof d->path, "%.*s", (int)(close - name), name);
		return;
	}
	for (e = buf; (e = strstr(e, "exec /")); e++) {
		if (e != buf && !(e >= buf + 2 && e[-2] == ':' && e[-1] == ' ')) continue;
		char *path = e + 5, *colon = strstr(path, ": ");
		if (!colon || !last) return;
		int en = errno_of_text(last, (size_t)(end - last));
		if (!en) return;
		d->errnum = en;
		snprintf(d->syscall, sizeof d->syscall, "execve");
		snprintf(d->path, sizeof d->path, "%.*s", (int)(colon - path), path);
		return;
	}
}

/* reduce runtime stderr: last logrus line's msg="..." (error/fatal preferred), and what
 * failed (its fields, else what the message says) into d */
static size_t runtime_msg(const char *in, size_t n, char *out, size_t cap, struct detail *d)
{
	size_t best = 0;
	int best_rank = -1;
	const char *best_rest = NULL, *best_eol = NULL;
	const char *p = in, *end = in + n;
	while (p < end) {
		const char *eol = memchr(p, '\n', (size_t)(end - p));
		if (!eol) eol = end;
		const char *m = memmem(p, (size_t)(eol - p), "msg=\"", 5);
		if (m) {
			int rank = (memmem(p, (size_t)(eol - p), "level=error", 11) ||
				    memmem(p, (size_t)(eol - p), "level=fatal", 11)) ? 2 : 1;
			if (rank >= best_rank) {
				size_t o = 0;
				const char *q;
				for (q = m + 5; q < eol && *q != '"'; q++) {
					if (*q == '\\' && q + 1 < eol) {
						q++;
						if (o + 1 < cap) out[o++] = *q == 'n' ? '\n' : *q == 't' ? '\t' : *q;
					} else if (o + 1 < cap)
						out[o++] = *q;
				}
				best = o;
				best_rank = rank;
				best_rest = q < eol ? q + 1 : eol;
				best_eol = eol;
			}
		}
		p = eol + 1;
	}
	if (best_rank >= 0) {
		logrus_fields(best_rest, best_eol, d);
		if (!d->errnum) detail_from_text(out, best, d);
		return best;
	}
	/* plain text: trim surrounding whitespace */
	while (n && (in[n - 1] == '\n' || in[n - 1] == ' ' || in[n - 1] == '\r')) n--;
	while (n && (*in == '\n' || *in == ' ')) { in++; n--; }
	if (n >= cap) n = cap - 1;
	memcpy(out, in, n);
	detail_from_text(out, n, d);
	return n;
}

/* ---------- sockets ---------- */

static int listen_unix(const char *dir, const char *name, int backlog)
{
	struct sockaddr_un a = { .sun_family = AF_UNIX };
	if (strlen(name) >= sizeof a.sun_path) return -1;
	strcpy(a.sun_path, name);
	int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
	if (fd < 0) return -1;
	/* bind relative to the state dir: no sun_path length limit on STATE_DIR */
	if (chdir(dir) < 0) { close(fd); return -1; }
	unlink(name);
	mode_t old = umask(0177);
	int r = bind(fd, (struct sockaddr *)&a, sizeof a);
	umask(old);
	if (r == 0) r = chmod(name, 0600);
	if (r == 0) r = listen(fd, backlog);
	if (chdir("/") < 0) {}
	if (r < 0) { close(fd); return -1; }
	return fd;
}

static void ep_add(struct tag *t, unsigned ev)
{
	struct epoll_event e = { .events = ev, .data.ptr = t };
	epoll_ctl(epfd, EPOLL_CTL_ADD, t->fd, &e);
}

static int recv_fd(int conn)
{
	char data[256];
	char cbuf[CMSG_SPACE(sizeof(int) * 4)];
	struct iovec iov = { data, sizeof data };
	struct msghdr m = { .msg_iov = &iov, .msg_iovlen = 1, .msg_control = cbuf, .msg_controllen = sizeof cbuf };
	ssize_t r;
	do r = recvmsg(conn, &m, MSG_CMSG_CLOEXEC); while (r < 0 && errno == EINTR);
	if (r < 0) return -1;
	int fd = -1;
	for (struct cmsghdr *c = CMSG_FIRSTHDR(&m); c; c = CMSG_NXTHDR(&m, c)) {
		if (c->cmsg_level == SOL_SOCKET && c->cmsg_type == SCM_RIGHTS) {
			int n = (int)((c->cmsg_len - CMSG_LEN(0)) / sizeof(int));
			int *fds = (int *)CMSG_DATA(c);
			for (int i = 0; i < n; i++) {
				if (fd < 0) fd = fds[i];
				else close(fds[i]);
			}
		}
	}
	return fd;
}

/* ---------- oom ---------- */

static void oom_locate(void)
{
	char path[64];
	snprintf(path, sizeof path, "/proc/%d/cgroup", (int)init_pid);
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0) return;
	/* read into the (already touched) read buffer: no stdio buffers on the heap */
	ssize_t n = read(fd, rbuf, sizeof rbuf - 1);
	close(fd);
	if (n <= 0) return;
	rbuf[n] = '\0';
	char v2[1024] = "", path_buf[1200] = "";
	char *line, *lsave = NULL;
	for (line = strtok_r((char *)rbuf, "\n", &lsave); line; line = strtok_r(NULL, "\n", &lsave)) {
		char *c1 = strchr(line, ':');
		char *c2 = c1 ? strchr(c1 + 1, ':') : NULL;
		if (!c2) continue;
		*c2 = '\0';
		const char *ctrls = c1 + 1, *cg = c2 + 1;
		if (*ctrls == '\0') { snprintf(v2, sizeof v2, "%s", cg); continue; }
		/* controllers list, e.g. "memory" */
		char *tok, *save = NULL, tmp[256];
		snprintf(tmp, sizeof tmp, "%s", ctrls);
		for (tok = strtok_r(tmp, ",", &save); tok; tok = strtok_r(NULL, ",", &save))
			if (strcmp(tok, "memory") == 0) {
				snprintf(path_buf, sizeof path_buf, "/sys/fs/cgroup/memory%s/memory.oom_control", cg);
			}
	}
	if (!path_buf[0] && v2[0]) {
		snprintf(path_buf, sizeof path_buf, "/sys/fs/cgroup%s/memory.events", v2);
		if (access(path_buf, R_OK) < 0)
			snprintf(path_buf, sizeof path_buf, "/sys/fs/cgroup/unified%s/memory.events", v2);
	}
	if (path_buf[0] && access(path_buf, R_OK) == 0) p_oom = cat2(path_buf, "");
}

static int oom_killed(void)
{
	if (!p_oom[0]) return 0;
	FILE *f = fopen(p_oom, "re");
	if (!f) return 0;
	char line[256];
	long long v = 0;
	while (fgets(line, sizeof line, f))
		if (sscanf(line, "oom_kill %lld", &v) == 1) break;
	fclose(f);
	return v > 0;
}

/* ---------- exit ---------- */

static void finish(void)
{
	stream_close(&s_out);
	stream_close(&s_err);
	int code = 255, sig = 0;
	if (init_status_known) {
		code = status_code(init_status);
		if (WIFSIGNALED(init_status)) sig = WTERMSIG(init_status);
	}
	struct timespec now;
	clock_gettime(CLOCK_REALTIME, &now);
	char ts[48], js[256];
	fmt_time(ts, sizeof ts, &now);
	int n = snprintf(js, sizeof js, "{\"exitCode\":%d,\"signal\":%d,\"oomKilled\":%s,\"finishedAt\":\"%s\"}\n",
			 code, sig, oom_killed() ? "true" : "false", ts);
	write_file_atomic(p_exit, js, (size_t)n);
	if (log_fd >= 0) close(log_fd);

	/* give attach clients what they are owed, then EOF */
	while (clients) {
		struct client *c = clients;
		if (c->plen > c->poff) {
			int fl = fcntl(c->t.fd, F_GETFL);
			fcntl(c->t.fd, F_SETFL, fl & ~O_NONBLOCK);
			struct timeval tv = { 2, 0 };
			setsockopt(c->t.fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof tv);
			client_flush(c);
		}
		if (!c->dead) client_drop(c);
	}
	free_dead_clients();
	while (ctlconns) ctl_close(ctlconns);
	if (chdir(opt.sdir) == 0) {
		unlink("attach.sock");
		unlink("ctl.sock");
	}
	_exit(0);
}

static long ms_since(const struct timespec *t)
{
	struct timespec now;
	clock_gettime(CLOCK_MONOTONIC, &now);
	return (now.tv_sec - t->tv_sec) * 1000 + (now.tv_nsec - t->tv_nsec) / 1000000;
}

static void event_loop(void)
{
	struct epoll_event evs[32];
	for (;;) {
		if (init_done && s_out.t.fd < 0 && s_err.t.fd < 0) break;
		int timeout = -1;
		if (init_done) {
			long left = DRAIN_MS - ms_since(&init_exit_time);
			if (left <= 0) break;
			timeout = (int)left;
		}
		int n = epoll_wait(epfd, evs, 32, timeout);
		if (n < 0) {
			if (errno == EINTR) continue;
			break;
		}
		for (int i = 0; i < n; i++) {
			struct tag *t = evs[i].data.ptr;
			unsigned ev = evs[i].events;
			switch (t->type) {
			case T_SIG:
				drain_sigfd();
				{
					int dummy;
					reap_all(-1, &dummy);
				}
				break;
			case T_PIDFD:
				if (!init_done) {
					int st;
					pid_t p = waitpid(init_pid, &st, WNOHANG);
					if (p == init_pid) note_exit(p, st);
					else if (p < 0 && errno == ECHILD) {
						/* not our child: exit status unknown */
						init_done = 1;
						clock_gettime(CLOCK_MONOTONIC, &init_exit_time);
					}
				}
				epoll_ctl(epfd, EPOLL_CTL_DEL, t->fd, NULL);
				break;
			case T_STREAM:
				stream_read((struct stream *)t);
				break;
			case T_ATTACH_L:
			case T_CTL_L: {
				int fd = accept4(t->fd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
				if (fd < 0) break;
				if (t->type == T_ATTACH_L) {
					struct client *c = calloc(1, sizeof *c);
					if (!c) { close(fd); break; }
					c->t.type = T_CLIENT; c->t.fd = fd;
					c->events = EPOLLIN;
					c->next = clients; clients = c;
					ep_add(&c->t, EPOLLIN);
				} else {
					struct ctlconn *cc = calloc(1, sizeof *cc);
					if (!cc) { close(fd); break; }
					cc->t.type = T_CTLCONN; cc->t.fd = fd;
					cc->next = ctlconns; ctlconns = cc;
					ep_add(&cc->t, EPOLLIN);
				}
				break;
			}
			case T_CLIENT: {
				struct client *c = (struct client *)t;
				if (c->dead) break;
				if (ev & EPOLLERR) { client_drop(c); break; }
				if (ev & EPOLLOUT) client_flush(c);
				if (c->dead) break;
				if (ev & (EPOLLIN | EPOLLHUP)) {
					if (!c->rd_closed && !c->paused) client_read(c, ev);
					else if (ev & EPOLLHUP) client_drop(c);
				}
				break;
			}
			case T_CTLCONN:
				ctl_read((struct ctlconn *)t);
				break;
			case T_STDIN:
				stdin_flush();
				break;
			}
		}
		free_dead_clients();
	}
	/* last non-blocking drain */
	for (int k = 0; k < 64 && (s_out.t.fd >= 0 || s_err.t.fd >= 0); k++) {
		if (s_out.t.fd >= 0) stream_read(&s_out);
		if (s_err.t.fd >= 0) stream_read(&s_err);
	}
	finish();
}

/* ---------- setup ---------- */

static void usage(void)
{
	fprintf(stderr, "usage: berth-monitor --id ID --bundle DIR (--runtime PATH | --spawn FILE) --runtime-root DIR "
			"--state-dir DIR --log-path FILE [--terminal] [--stdin] [--log-max-size BYTES]\n");
	const char *e = "{\"error\":\"berth-monitor: invalid arguments\",\"exitCode\":125,\"errno\":0,\"syscall\":\"\",\"path\":\"\",\"kind\":\"other\"}\n";
	write_all(1, e, strlen(e));
	exit(1);
}

static void parse_args(int argc, char **argv)
{
	for (int i = 1; i < argc; i++) {
		const char *a = argv[i];
		const char **dst = NULL;
		if (!strcmp(a, "--terminal")) { opt.terminal = 1; continue; }
		if (!strcmp(a, "--stdin")) { opt.stdin_ = 1; continue; }
		if (i + 1 >= argc) usage();
		if (!strcmp(a, "--id")) dst = &opt.id;
		else if (!strcmp(a, "--bundle")) dst = &opt.bundle;
		else if (!strcmp(a, "--runtime")) dst = &opt.runtime;
		else if (!strcmp(a, "--runtime-root")) dst = &opt.rroot;
		else if (!strcmp(a, "--spawn")) dst = &opt.spawnfile;
		else if (!strcmp(a, "--state-dir")) dst = &opt.sdir;
		else if (!strcmp(a, "--log-path")) dst = &opt.logpath;
		else if (!strcmp(a, "--log-max-size")) {
			char *e;
			opt.logmax = strtoll(argv[++i], &e, 10);
			if (*e || opt.logmax < 0) usage();
			continue;
		} else usage();
		*dst = argv[++i];
	}
	if (!opt.id || !opt.bundle || (!opt.runtime && !opt.spawnfile) || !opt.rroot || !opt.sdir || !opt.logpath) usage();
	opt.bundle = abspath(opt.bundle);
	opt.rroot = abspath(opt.rroot);
	opt.sdir = abspath(opt.sdir);
	opt.logpath = abspath(opt.logpath);
	if (opt.runtime && strchr(opt.runtime, '/')) opt.runtime = abspath(opt.runtime);
	if (opt.spawnfile && strcmp(opt.spawnfile, "-") != 0) opt.spawnfile = abspath(opt.spawnfile);
}

/* is STATE_DIR/monitor.pid a live berth-monitor (not us)? */
static int monitor_running(void)
{
	char b[64], path[64];
	int fd = open(p_monpid, O_RDONLY | O_CLOEXEC);
	if (fd < 0) return 0;
	ssize_t n = read(fd, b, sizeof b - 1);
	close(fd);
	if (n <= 0) return 0;
	b[n] = '\0';
	int pid = atoi(b);
	if (pid <= 0 || pid == (int)getpid()) return 0;
	snprintf(path, sizeof path, "/proc/%d/comm", pid);
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0) return 0;
	n = read(fd, b, sizeof b - 1);
	close(fd);
	if (n <= 0) return 0;
	b[n] = '\0';
	if (strncmp(b, "berth-monitor", 13) != 0) return 0;
	snprintf(path, sizeof path, "/proc/%d/stat", pid);
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0) return 0;
	n = read(fd, b, sizeof b - 1);
	close(fd);
	if (n <= 0) return 0;
	b[n] = '\0';
	char *rp = strrchr(b, ')');
	if (rp && rp[1] == ' ' && (rp[2] == 'Z' || rp[2] == 'X')) return 0; /* zombie: gone */
	/* a reused pid of a monitor of another container: its arguments name another dir */
	snprintf(path, sizeof path, "/proc/%d/cmdline", pid);
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0) return 0;
	n = read(fd, rbuf, sizeof rbuf - 1);
	close(fd);
	if (n <= 0) return 0;
	rbuf[n] = '\0';
	for (const char *q = (const char *)rbuf, *e = q + n; q < e; q += strlen(q) + 1)
		if (strcmp(q, "--state-dir") == 0 && q + strlen(q) + 1 < e) {
			q += strlen(q) + 1;
			return strcmp(q, opt.sdir) == 0; /* berthd passes absolute paths */
		}
	return 0;
}

static void fail_cleanup(int devnull)
{
	/* Only delete what our own create made: a failed create cleans up after itself, and
	 * one that failed because ID already exists must not take the existing container. */
	if (runtime_created && opt.spawnfile) {
		/* no runtime state exists yet (berthd records it after our report): the init goes, berthd removes the rest */
		if (init_pid > 0) kill(init_pid, SIGKILL);
	} else if (runtime_created) {
		char *argv[] = { (char *)opt.runtime, "--root", (char *)opt.rroot, "delete", "--force", (char *)opt.id, NULL };
		pid_t p = spawn(argv, devnull, devnull, devnull);
		if (p > 0) {
			int st;
			while (waitpid(p, &st, 0) < 0 && errno == EINTR) {}
		}
	}
	unlink(p_console);
	unlink(p_initpid);
	struct stat st;
	if (log_fd >= 0 && fstat(log_fd, &st) == 0 && st.st_size == 0) unlink(opt.logpath); /* we made it */
	unlink(p_monpid);
	if (chdir(opt.sdir) == 0) {
		unlink("attach.sock");
		unlink("ctl.sock");
		if (chdir("/") < 0) {}
	}
}

static void die_internal(int devnull, const char *what)
{
	char msg[512];
	struct detail d = { .errnum = errno };
	int n = snprintf(msg, sizeof msg, "berth-monitor: %s: %s", what, strerror(errno));
	report_error(msg, (size_t)n, EXIT_INTERNAL, &d);
	fail_cleanup(devnull);
	_exit(1);
}

static void monitor_main(void)
{
	int devnull = open("/dev/null", O_RDWR | O_CLOEXEC);
	if (devnull < 0) _exit(1);
	dup2(devnull, 0); dup2(devnull, 1); dup2(devnull, 2);
	if (chdir("/") < 0) {}

	p_initpid = cat2(opt.sdir, "/init.pid");
	p_monpid = cat2(opt.sdir, "/monitor.pid");
	p_console = cat2(opt.sdir, "/console.sock");
	p_exit = cat2(opt.sdir, "/exit.json");
	p_logrot = cat2(opt.logpath, ".1");

	prctl(PR_SET_CHILD_SUBREAPER, 1);
	signal(SIGPIPE, SIG_IGN); signal(SIGTERM, SIG_IGN);
	signal(SIGHUP, SIG_IGN); signal(SIGINT, SIG_IGN);
	sigset_t ss;
	sigemptyset(&ss);
	sigaddset(&ss, SIGCHLD);
	sigprocmask(SIG_BLOCK, &ss, NULL);
	sigfd = signalfd(-1, &ss, SFD_NONBLOCK | SFD_CLOEXEC);
	epfd = epoll_create1(EPOLL_CLOEXEC);
	if (sigfd < 0 || epfd < 0) die_internal(devnull, "signalfd/epoll");

	if (mkdir(opt.sdir, 0700) < 0 && errno != EEXIST) die_internal(devnull, "mkdir state dir");
	if (monitor_running()) {
		const char *m = "berth-monitor: another monitor is running for this state dir";
		report_error(m, strlen(m), EXIT_INTERNAL, NULL);
		_exit(1); /* touch nothing of the other monitor's */
	}
	unlink(p_exit);
	unlink(p_initpid);
	{
		char b[32];
		int n = snprintf(b, sizeof b, "%d\n", (int)getpid());
		if (write_file_atomic(p_monpid, b, (size_t)n) < 0) die_internal(devnull, "write monitor.pid");
	}
	t_attach.fd = listen_unix(opt.sdir, "attach.sock", 64);
	if (t_attach.fd < 0) die_internal(devnull, "listen attach.sock");
	t_ctl.fd = listen_unix(opt.sdir, "ctl.sock", 16);
	if (t_ctl.fd < 0) die_internal(devnull, "listen ctl.sock");
	log_open();
	if (log_fd < 0) die_internal(devnull, "open log");

	/* stdio for the runtime/container */
	int out[2] = { -1, -1 }, err[2] = { -1, -1 }, in[2] = { -1, -1 };
	int console_l = -1;
	if (pipe2(err, O_CLOEXEC) < 0) die_internal(devnull, "pipe");
	if (opt.terminal) {
		console_l = listen_unix(opt.sdir, "console.sock", 1);
		if (console_l < 0) die_internal(devnull, "listen console.sock");
	} else {
		if (pipe2(out, O_CLOEXEC) < 0) die_internal(devnull, "pipe");
		if (opt.stdin_ && pipe2(in, O_CLOEXEC) < 0) die_internal(devnull, "pipe");
	}

	char *argv[16];
	int a = 0;
	argv[a++] = (char *)opt.runtime;
	argv[a++] = "--root"; argv[a++] = (char *)opt.rroot;
	argv[a++] = "create";
	argv[a++] = "--bundle"; argv[a++] = (char *)opt.bundle;
	argv[a++] = "--pid-file"; argv[a++] = p_initpid;
	if (opt.terminal) { argv[a++] = "--console-socket"; argv[a++] = p_console; }
	argv[a++] = (char *)opt.id;
	argv[a] = NULL;

	pid_t rt = spawn_create(argv, in[0] >= 0 ? in[0] : devnull, out[1] >= 0 ? out[1] : devnull, err[1]);
	if (rt < 0) die_internal(devnull, "fork");
	close(err[1]);
	if (out[1] >= 0) close(out[1]);
	if (in[0] >= 0) close(in[0]);
	set_nonblock(err[0]);
	if (out[0] >= 0) set_nonblock(out[0]);

	/* create phase: capture runtime output, take the console fd, wait for the runtime */
	static char cap_err[CAPTURE_MAX], cap_out[CAPTURE_MAX];
	size_t cap_err_n = 0, cap_out_n = 0;
	int rt_status = 0, rt_done = 0;
	int *capfds[2] = { &err[0], &out[0] };
	char *caps[2] = { cap_err, cap_out };
	size_t *capn[2] = { &cap_err_n, &cap_out_n };
	for (;;) {
		struct pollfd pf[4];
		int np = 0;
		pf[np++] = (struct pollfd){ sigfd, POLLIN, 0 };
		if (console_l >= 0 && master_fd < 0) pf[np++] = (struct pollfd){ console_l, POLLIN, 0 };
		for (int k = 0; k < 2; k++)
			if (*capfds[k] >= 0) pf[np++] = (struct pollfd){ *capfds[k], POLLIN, 0 };
		if (rt_done) {
			/* runtime gone: take whatever is already there, without blocking */
			poll(pf, (nfds_t)np, 0);
		} else if (poll(pf, (nfds_t)np, -1) < 0 && errno != EINTR) die_internal(devnull, "poll");
		drain_sigfd();
		if (!rt_done && reap_all(rt, &rt_status)) rt_done = 1;
		if (console_l >= 0 && master_fd < 0) {
			int c = accept4(console_l, NULL, NULL, SOCK_CLOEXEC);
			if (c >= 0) {
				master_fd = recv_fd(c);
				close(c);
			}
		}
		for (int k = 0; k < 2; k++) {
			if (*capfds[k] < 0) continue;
			for (;;) {
				char *tmp = (char *)rbuf;
				ssize_t r = read(*capfds[k], tmp, 4096);
				if (r > 0) {
					size_t room = CAPTURE_MAX - *capn[k];
					size_t m = (size_t)r < room ? (size_t)r : room;
					memcpy(caps[k] + *capn[k], tmp, m);
					*capn[k] += m;
					continue;
				}
				if (r == 0 || (r < 0 && errno != EAGAIN && errno != EINTR)) {
					close(*capfds[k]);
					*capfds[k] = -1;
				}
				break;
			}
		}
		if (rt_done) break;
	}
	if (console_l >= 0) { close(console_l); unlink(p_console); }
	if (opt.terminal && err[0] >= 0) { close(err[0]); err[0] = -1; }

	int ok = WIFEXITED(rt_status) && WEXITSTATUS(rt_status) == 0;
	if (!ok) {
		static char msg[4096];
		size_t n = 0;
		static struct detail d;
		if (cap_err_n) n = runtime_msg(cap_err, cap_err_n, msg, sizeof msg, &d);
		if (!n && cap_out_n) n = runtime_msg(cap_out, cap_out_n, msg, sizeof msg, &d);
		if (!n) n = (size_t)snprintf(msg, sizeof msg, "%s create failed", opt.runtime ? opt.runtime : "berth-monitor");
		report_error(msg, n, status_code(rt_status), &d);
		fail_cleanup(devnull);
		_exit(1);
	}
	runtime_created = 1;
	{
		char b[32] = "";
		int fd = open(p_initpid, O_RDONLY | O_CLOEXEC);
		ssize_t r = fd >= 0 ? read(fd, b, sizeof b - 1) : -1;
		if (fd >= 0) close(fd);
		init_pid = r > 0 ? (pid_t)atoi(b) : -1;
		if (init_pid <= 0) { errno = EINVAL; die_internal(devnull, "read init.pid"); }
	}
	if (opt.terminal && master_fd < 0) { errno = EPROTO; die_internal(devnull, "no console fd received"); }

	/* init may already be gone */
	for (int k = 0; k < n_reaped; k++)
		if (reaped[k].pid == init_pid) note_exit(init_pid, reaped[k].status);
	oom_locate();

	t_sig.fd = sigfd;
	ep_add(&t_sig, EPOLLIN);
	ep_add(&t_attach, EPOLLIN);
	ep_add(&t_ctl, EPOLLIN);
	if (opt.terminal) {
		set_nonblock(master_fd);
		s_out.t.fd = master_fd;
		ep_add(&s_out.t, EPOLLIN);
		t_stdin.fd = fcntl(master_fd, F_DUPFD_CLOEXEC, 3);
		stdin_is_pty = 1;
	} else {
		s_out.t.fd = out[0];
		s_err.t.fd = err[0];
		ep_add(&s_out.t, EPOLLIN);
		ep_add(&s_err.t, EPOLLIN);
		if (in[1] >= 0) { set_nonblock(in[1]); t_stdin.fd = in[1]; }
	}
	pidfd = (int)syscall(SYS_pidfd_open, init_pid, 0);
	if (pidfd >= 0) { t_pidfd.fd = pidfd; ep_add(&t_pidfd, EPOLLIN); }
	else if (errno == ESRCH && !init_done) {
		init_done = 1;
		clock_gettime(CLOCK_MONOTONIC, &init_exit_time);
	}

	char line[64];
	snprintf(line, sizeof line, "{\"pid\":%d}\n", (int)init_pid);
	report(line);
	close(devnull);
	event_loop();
}

int main(int argc, char **argv)
{
	parse_args(argc, argv);
	syscall(SYS_close_range, 3U, ~0U, 0U); /* do not hold the caller's descriptors */
	if (opt.spawnfile && strcmp(opt.spawnfile, "-") == 0 && read_all(0, &spawn_buf, &spawn_len) < 0) {
		char e[192];
		int n = snprintf(e, sizeof e, "{\"error\":\"berth-monitor: read the spawn data from stdin\",\"exitCode\":125,"
				 "\"errno\":%d,\"syscall\":\"read\",\"path\":\"\",\"kind\":\"other\"}\n", errno);
		write_all(1, e, (size_t)n);
		return 1;
	}
	int rp[2];
	if (pipe2(rp, O_CLOEXEC) < 0) { perror("berth-monitor: pipe"); return 1; }
	pid_t p = fork();
	if (p < 0) { perror("berth-monitor: fork"); return 1; }
	if (p == 0) {
		close(rp[0]);
		if (setsid() < 0) _exit(1);
		pid_t q = fork();
		if (q < 0) _exit(1);
		if (q > 0) _exit(0);
		report_fd = rp[1];
		monitor_main();
		_exit(0);
	}
	close(rp[1]);
	static char buf[8192];
	size_t n = 0;
	for (;;) {
		ssize_t r = read(rp[0], buf + n, sizeof buf - 1 - n);
		if (r < 0 && errno == EINTR) continue;
		if (r <= 0) break;
		n += (size_t)r;
		if (n == sizeof buf - 1) break;
	}
	int st;
	while (waitpid(p, &st, 0) < 0 && errno == EINTR) {}
	if (n == 0) {
		const char *e = "{\"error\":\"berth-monitor: monitor died before reporting\",\"exitCode\":125,\"errno\":0,\"syscall\":\"\",\"path\":\"\",\"kind\":\"other\"}\n";
		write_all(1, e, strlen(e));
		return 1;
	}
	write_all(1, buf, n);
	return strncmp(buf, "{\"pid\":", 7) == 0 ? 0 : 1;
}
