/* Children, OOM detection and the exit record (README "Exit"). */
#include "monitor.h"

struct reaped reaped[16];
int n_reaped;
static char *p_oom = "";

/* ---------- children ---------- */

void note_exit(pid_t p, int st)
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
int reap_all(pid_t want, int *wst)
{
	int got = 0, st;
	pid_t p;
	while ((p = waitpid(-1, &st, WNOHANG)) > 0) {
		if (p == want) { got = 1; *wst = st; continue; }
		note_exit(p, st);
	}
	return got;
}

void drain_sigfd(void)
{
	struct signalfd_siginfo si[8];
	while (read(sigfd, si, sizeof si) > 0) {}
}

/* in a forked child: default signal handling, nothing blocked, in/out/err as 0/1/2 */

int status_code(int st)
{
	if (WIFEXITED(st)) return WEXITSTATUS(st);
	if (WIFSIGNALED(st)) return 128 + WTERMSIG(st);
	return 255;
}


/* ---------- oom ---------- */

void oom_locate(void)
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

void finish(void)
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

