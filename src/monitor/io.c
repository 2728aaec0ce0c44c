/* Container output and input: streams, attach clients (stdcopy frames), stdin, sockets. */
#include "monitor.h"

static char line_out[LINE_MAX_LEN], line_err[LINE_MAX_LEN];
struct stream s_out = { { T_STREAM, -1 }, 1, "stdout", 0, line_out };
struct stream s_err = { { T_STREAM, -1 }, 2, "stderr", 0, line_err };
struct tag t_stdin = { T_STDIN, -1 };
int stdin_is_pty;
static int stdin_close_pending, stdin_armed;
static char stdin_buf[STDIN_BUF_SIZE];
static size_t stdin_off, stdin_len;
int master_fd = -1;
struct client *clients;
static struct client *dead_clients;

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

void client_drop(struct client *c)
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

void free_dead_clients(void)
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

void client_flush(struct client *c)
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

void stdin_flush(void)
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

void client_read(struct client *c, unsigned events)
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

void stream_close(struct stream *s)
{
	if (s->t.fd < 0) return;
	epoll_ctl(epfd, EPOLL_CTL_DEL, s->t.fd, NULL);
	close(s->t.fd);
	s->t.fd = -1;
	if (s->len) { log_entry(s, s->line, s->len); s->len = 0; }
	log_flush();
	if (opt.terminal) { master_fd = -1; stdin_close(); }
}

void stream_read(struct stream *s)
{
	ssize_t r = read(s->t.fd, rbuf, sizeof rbuf);
	if (r > 0) { stream_data(s, (const char *)rbuf, (size_t)r); return; }
	if (r < 0 && (errno == EAGAIN || errno == EINTR)) return;
	stream_close(s); /* EOF, or EIO on a pty whose slave side is gone */
}


/* ---------- sockets ---------- */

int listen_unix(const char *dir, const char *name, int backlog)
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

void ep_add(struct tag *t, unsigned ev)
{
	struct epoll_event e = { .events = ev, .data.ptr = t };
	epoll_ctl(epfd, EPOLL_CTL_ADD, t->fd, &e);
}

