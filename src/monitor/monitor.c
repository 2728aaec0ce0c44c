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
 *                 [--terminal] [--stdin] [--log-max-size BYTES [--log-max-file N]] [--log-attrs JSON]
 *
 *   --spawn FILE: berthd did the C# half of berth-runtime's create itself (state dir,
 *   exec.fifo, cgroup, plan) and wrote FILE (`-`: stdin, read to EOF by the first process;
 *   berthd uses that: no file per start); the monitor's child clones the init from it
 *   through the native piece (src/native, linked in) instead of exec'ing `RUNTIME create`
 *   (no runtime process per start). Same stdio, results and init.pid; see spawn_from_file (spawn.c).
 *   A failure after it kills the init; berthd removes the rest (it records the state).
 *
 * RESULT (one line on stdout, then the first process exits):
 *   {"pid":<container init pid>}                 exit status 0
 *   {"error":"<message>","exitCode":N,"errno":E,"syscall":"..","path":"..","kind":K}  exit status 1
 *   (errno/syscall/path: what failed when known, else 0/""/""; kind: "not-found",
 *   "permission" or "other"; see report.c and README "Result")
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
 *   at EOF. Invalid UTF-8 is replaced by U+FFFD. With --log-max-size the files shift
 *   (LOG_PATH -> LOG_PATH.1 -> ... up to --log-max-file files, default 2; 1: truncated)
 *   before an entry would make it exceed the limit. --log-attrs JSON: written as "attrs".
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
#include "monitor.h"

/* state shared by the modules (monitor.h) */
char *p_initpid, *p_monpid, *p_console, *p_exit, *p_logrot;

int epfd = -1, sigfd = -1, pidfd = -1;
static struct tag t_sig = { T_SIG, -1 }, t_attach = { T_ATTACH_L, -1 }, t_ctl = { T_CTL_L, -1 };
static struct tag t_pidfd = { T_PIDFD, -1 };

pid_t init_pid = -1;
int init_done, init_status, init_status_known;
struct timespec init_exit_time;

int report_fd = -1;
int report_out = -1;
static int runtime_created; /* the runtime's create succeeded: a failure after it must delete */

unsigned char rbuf[RBUF_SIZE];

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
	if (opt.logpath && log_fd >= 0 && fstat(log_fd, &st) == 0 && st.st_size == 0) unlink(opt.logpath); /* we made it */
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
	p_logrot = opt.logpath ? cat2(opt.logpath, ".1") : NULL;

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
	if (opt.logpath) { /* without one (an exec's monitor) nothing is logged, as Docker's exec */
		log_open();
		if (log_fd < 0) die_internal(devnull, "open log");
	}

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
				master_fd = berth_recv_fd(c);
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
	/* One fork: the child, in a session of its own, is the monitor (it never opens a terminal: a
	 * pty master comes over the console socket), reparented when this process exits after the
	 * report. A second fork (the classic daemon's) would cost a process hop before every start. */
	pid_t p = fork();
	if (p < 0) { perror("berth-monitor: fork"); return 1; }
	if (p == 0) {
		close(rp[0]);
		if (setsid() < 0) _exit(1);
		report_fd = rp[1];
		report_out = fcntl(1, F_DUPFD_CLOEXEC, 3);
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
	if (n == 0) { /* the monitor died before reporting: reap it */
		int st;
		while (waitpid(p, &st, 0) < 0 && errno == EINTR) {}
		const char *e = "{\"error\":\"berth-monitor: monitor died before reporting\",\"exitCode\":125,\"errno\":0,\"syscall\":\"\",\"path\":\"\",\"kind\":\"other\"}\n";
		write_all(1, e, strlen(e));
		return 1;
	}
	/* the monitor wrote the line to our stdout itself (report()) */
	return strncmp(buf, "{\"pid\":", 7) == 0 ? 0 : 1;
}

