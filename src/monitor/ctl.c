/* Control socket protocol (README "Control socket"). */
#include "monitor.h"

struct ctlconn *ctlconns;

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

void ctl_close(struct ctlconn *cc)
{
	epoll_ctl(epfd, EPOLL_CTL_DEL, cc->t.fd, NULL);
	close(cc->t.fd);
	for (struct ctlconn **pp = &ctlconns; *pp; pp = &(*pp)->next)
		if (*pp == cc) { *pp = cc->next; break; }
	free(cc);
}

void ctl_read(struct ctlconn *cc)
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

