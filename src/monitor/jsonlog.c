/* JSON escaping and the json-file log (README "Log"). */
#include "monitor.h"

int log_fd = -1;
static long long log_size;

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
void json_esc(struct sink *s, const unsigned char *p, size_t n)
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

/* ---------- log ---------- */

/* Entries of one read() are batched in lbuf and written with one write() at the end of
 * the chunk (or when lbuf fills up), so the file only ever holds whole lines except
 * while one entry larger than lbuf is being written. */
static char lbuf[16384];
static struct sink lsink = { lbuf, sizeof lbuf, 0, 0, -1 };

void log_open(void)
{
	log_fd = open(opt.logpath, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0640);
	struct stat st;
	log_size = (log_fd >= 0 && fstat(log_fd, &st) == 0) ? st.st_size : 0;
	lsink.fd = log_fd;
}

void log_flush(void)
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

/* Docker's json-file rotation: LOG.(N-2) -> LOG.(N-1), ..., LOG -> LOG.1, keeping N files in all
 * (--log-max-file N); with N = 1 the file is only truncated (by the caller's O_TRUNC). */
static void log_rotate(void)
{
	int files = opt.logfiles > 0 ? opt.logfiles : 2;
	if (files < 2) return;
	size_t len = strlen(opt.logpath) + 24;
	char *from = malloc(len), *to = malloc(len);
	if (!from || !to) { free(from); free(to); rename(opt.logpath, p_logrot); return; }
	for (int i = files - 1; i > 1; i--) {
		snprintf(to, len, "%s.%d", opt.logpath, i);
		snprintf(from, len, "%s.%d", opt.logpath, i - 1);
		rename(from, to); /* ENOENT: not that many yet */
	}
	free(from);
	free(to);
	rename(opt.logpath, p_logrot);
}

void log_entry(struct stream *st, const char *p, size_t n)
{
	if (log_fd < 0 || n == 0) return;
	const char *stream = opt.terminal ? "stdout" : st->name;
	char ts[32];
	log_time(ts);
	if (opt.logmax > 0) {
		struct sink c = { NULL, 0, 0, 0, -1 };
		json_esc(&c, (const unsigned char *)p, n);
		long long need = (long long)c.total + 33 + (long long)strlen(stream) + (long long)strlen(ts)
			+ (opt.logattrs ? (long long)strlen(opt.logattrs) + 9 : 0);
		if (log_size > 0 && log_size + need > opt.logmax) {
			log_flush();
			close(log_fd);
			log_rotate();
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
	if (opt.logattrs) {
		sputs(&lsink, "\",\"attrs\":");
		sputs(&lsink, opt.logattrs);
		sputs(&lsink, ",\"time\":\"");
	} else
		sputs(&lsink, "\",\"time\":\"");
	sputs(&lsink, ts);
	sputs(&lsink, "\"}\n");
	log_size += (long long)(lsink.total - before);
}

