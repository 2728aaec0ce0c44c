/* Small helpers: writes, paths, time, atomic files. */
#include "monitor.h"

int write_all(int fd, const void *p, size_t n)
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

void set_nonblock(int fd)
{
	int fl = fcntl(fd, F_GETFL);
	if (fl >= 0) fcntl(fd, F_SETFL, fl | O_NONBLOCK);
}

void fmt_time(char *buf, size_t sz, const struct timespec *ts)
{
	struct tm tm;
	gmtime_r(&ts->tv_sec, &tm);
	snprintf(buf, sz, "%04d-%02d-%02dT%02d:%02d:%02d.%09ldZ", tm.tm_year + 1900, tm.tm_mon + 1,
		 tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec, (long)ts->tv_nsec);
}

char *cat2(const char *a, const char *b)
{
	size_t la = strlen(a), lb = strlen(b);
	char *r = malloc(la + lb + 1);
	if (!r) _exit(1);
	memcpy(r, a, la);
	memcpy(r + la, b, lb + 1);
	return r;
}


int write_file_atomic(const char *path, const char *data, size_t n)
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

