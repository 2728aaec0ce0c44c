/* Command line: --id, --bundle, ... (see README "Invocation"). */
#include "monitor.h"

struct options opt;

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

static void usage(void)
{
	fprintf(stderr, "usage: berth-monitor --id ID --bundle DIR (--runtime PATH | --spawn FILE) --runtime-root DIR "
			"--state-dir DIR --log-path FILE [--terminal] [--stdin] [--log-max-size BYTES [--log-max-file N]] [--log-attrs JSON] [--cgroup-join FILE]...\n");
	const char *e = "{\"error\":\"berth-monitor: invalid arguments\",\"exitCode\":125,\"errno\":0,\"syscall\":\"\",\"path\":\"\",\"kind\":\"other\"}\n";
	write_all(1, e, strlen(e));
	exit(1);
}

void parse_args(int argc, char **argv)
{
	for (int i = 1; i < argc; i++) {
		const char *a = argv[i];
		const char **dst = NULL;
		if (!strcmp(a, "--terminal")) { opt.terminal = 1; continue; }
		if (!strcmp(a, "--stdin")) { opt.stdin_ = 1; continue; }
		if (i + 1 >= argc) usage();
		if (!strcmp(a, "--cgroup-join")) {
			if (opt.ncgjoin >= MAX_CGROUP_JOIN) usage();
			opt.cgjoin[opt.ncgjoin++] = argv[++i];
			continue;
		}
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
		} else if (!strcmp(a, "--log-max-file")) {
			char *e;
			long n = strtol(argv[++i], &e, 10);
			if (*e || n < 1 || n > 1000000) usage();
			opt.logfiles = (int)n;
			continue;
		} else if (!strcmp(a, "--log-attrs")) dst = &opt.logattrs;
		else usage();
		*dst = argv[++i];
	}
	if (!opt.id || !opt.bundle || (!opt.runtime && !opt.spawnfile) || !opt.rroot || !opt.sdir || (!opt.logpath && !opt.spawnfile)) usage();
	opt.bundle = abspath(opt.bundle);
	opt.rroot = abspath(opt.rroot);
	opt.sdir = abspath(opt.sdir);
	if (opt.logpath) opt.logpath = abspath(opt.logpath);
	if (opt.runtime && strchr(opt.runtime, '/')) opt.runtime = abspath(opt.runtime);
	if (opt.spawnfile && strcmp(opt.spawnfile, "-") != 0) opt.spawnfile = abspath(opt.spawnfile);
}

/* is STATE_DIR/monitor.pid a live berth-monitor (not us)? */
