/* Creating the container: `RUNTIME create`, or a spawn file through libberth (--spawn). */
#include "monitor.h"

static void child_stdio(int in, int out, int err)
{
	sigset_t s;
	sigemptyset(&s);
	sigprocmask(SIG_SETMASK, &s, NULL);
	signal(SIGPIPE, SIG_DFL); signal(SIGTERM, SIG_DFL);
	signal(SIGHUP, SIG_DFL); signal(SIGINT, SIG_DFL);
	if (dup2(in, 0) < 0 || dup2(out, 1) < 0 || dup2(err, 2) < 0) _exit(127);
}

pid_t spawn(char *const argv[], int in, int out, int err)
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
 * stderr and exit 1 (no process left). The file's format and decoder are libberth's
 * (berth_spawn_file_decode, src/native/berth.h); the fifo and the console socket are
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
unsigned char *spawn_buf;
size_t spawn_len;

/* reads fd to EOF into a malloc'd buffer; returns -1 with errno on a read error */
int read_all(int fd, unsigned char **out, size_t *len)
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
	struct berth_spawn_file sf;
	char derr[128];
	if (berth_spawn_file_decode(buf, got, &sf, derr, sizeof derr) < 0) SPAWN_FAIL("spawn file %s: %s", opt.spawnfile, derr);
	int fifo_fd = sf.fifo_fd, console_fd = sf.console_fd;
	const char *fifo = sf.fifo, *cgroup = sf.cgroup;
	uint32_t njoins = sf.njoins;
	struct berth_ns_join joins[BERTH_SPAWN_MAX_JOINS];
	for (uint32_t k = 0; k < njoins; k++) joins[k].nstype = sf.join_type[k];

	/* fds 0-2 are the container's stdio and nothing else is open: fds appear at the lowest numbers */
	if (fifo_fd >= 0) place_fd(open(fifo, O_PATH | O_CLOEXEC), fifo_fd, fifo);
	if (console_fd >= 0) place_fd(connect_console(), console_fd, "console socket");
	int cgfd = -1;
	if (cgroup[0]) {
		cgfd = open(cgroup, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
		if (cgfd < 0) SPAWN_FAIL("open cgroup %s: %s", cgroup, strerror(errno));
	}
	for (uint32_t k = 0; k < njoins; k++) {
		joins[k].fd = open(sf.join_path[k], O_RDONLY | O_CLOEXEC);
		if (joins[k].fd < 0) SPAWN_FAIL("open namespace %s: %s", sf.join_path[k], strerror(errno));
	}

	struct berth_spawn_args a = {
		.clone_flags = sf.clone_flags, .plan = sf.plan, .plan_len = sf.plan_len,
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

/* --cgroup-join (an exec): this single-threaded child writes "0" into each cgroup v1 "tasks" file, so that
 * the process it spawns (through the first stage) starts in the container's cgroups; moving oneself as one
 * thread skips the kernel's threadgroup lock (a move by pid waits for an RCU grace period). The cgroup v2
 * directory, if any, is the spawn file's: the final clone goes straight into it (CLONE_INTO_CGROUP). */
static void join_cgroups(void)
{
	for (int k = 0; k < opt.ncgjoin; k++) {
		int fd = open(opt.cgjoin[k], O_WRONLY | O_CLOEXEC);
		if (fd < 0 || write(fd, "0", 1) != 1) SPAWN_FAIL("join cgroup %s: %s", opt.cgjoin[k], strerror(errno));
		close(fd);
	}
}

/* the forked child that creates the container: `RUNTIME create ...`, or the spawn file */
pid_t spawn_create(char *const argv[], int in, int out, int err)
{
	if (!opt.spawnfile) return spawn(argv, in, out, err);
	pid_t p = fork();
	if (p != 0) return p;
	child_stdio(in, out, err);
	syscall(SYS_close_range, 3U, ~0U, 0U);
	join_cgroups();
	spawn_from_file();
	_exit(1);
}

