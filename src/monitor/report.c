/* The result line (README "Result") and reading the runtime's error. */
#include "monitor.h"

/* ---------- reporting ---------- */

void report(const char *line)
{
	/* straight to the caller's stdout first: the caller reads it without waiting for the
	 * launcher to be scheduled; then to the launcher, which exits with the matching code */
	if (report_out >= 0) {
		write_all(report_out, line, strlen(line));
		close(report_out);
		report_out = -1;
	}
	if (report_fd < 0) return;
	write_all(report_fd, line, strlen(line));
	close(report_fd);
	report_fd = -1;
}


void report_error(const char *msg, size_t n, int code, const struct detail *d)
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
size_t runtime_msg(const char *in, size_t n, char *out, size_t cap, struct detail *d)
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

