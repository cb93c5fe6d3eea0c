/*
 * lethe mask: filter standard input to standard output (or append to
 * --output FILE), masking every address at once: ad hoc use, and
 * Apache's piped logs, so that no full address ever reaches the disk.
 */
#include <sys/stat.h>

#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "lethe.h"

/*
 * Where mask writes: standard output, or --output FILE, appended to (the
 * Apache piped-log set-up, where the logger's own stdout goes nowhere).
 */
static int
mask_output(const char *path)
{
	int fd;

	if (path == NULL)
		return STDOUT_FILENO;
	fd = fsio_openat(AT_FDCWD, path, O_WRONLY | O_APPEND | O_CREAT |
	    O_NOFOLLOW, 0640);
	if (fd == -1)
		fatal("open \"%s\"", log_esc(path));
	return fd;
}

int
cmd_mask(const struct cmd_opts *o)
{
	struct addr_prefix prefix;
	struct format *fmt;
	enum format_kind kind;
	char *fields[64], *list = NULL, *tok, *save;
	size_t nfields = 0;
	const char *errstr;
	struct stat st;
	int rc, flush, out;

	if (format_kind_parse(o->format, &kind) == -1)
		fatalx("unknown format \"%s\"", log_esc(o->format));
	if (o->addresses != NULL) {
		list = xstrdup(o->addresses);
		for (tok = strtok_r(list, ", ", &save); tok != NULL &&
		    nfields < 64; tok = strtok_r(NULL, ", ", &save))
			fields[nfields++] = tok;
	}
	if ((fmt = format_new(kind, o->regex, fields, nfields,
	    &errstr)) == NULL)
		fatalx("format %s: %s", o->format, errstr);
	prefix.v4 = o->v4_prefix;
	prefix.v6 = o->v6_prefix;
	out = mask_output(o->output);
	/*
	 * Fed by a pipe (a web server's piped log), every line goes out as
	 * soon as it is complete, and TERM and HUP do not stop us: Apache
	 * sends TERM to its loggers at every restart while its old children
	 * still write, so we read on to the end of the pipe.
	 */
	flush = o->output != NULL ||
	    fsio_fstat(STDIN_FILENO, &st) == -1 || !S_ISREG(st.st_mode) ||
	    fsio_fstat(out, &st) == -1 || !S_ISREG(st.st_mode);
	if (fsio_fstat(STDIN_FILENO, &st) == 0 && (S_ISFIFO(st.st_mode) ||
	    S_ISSOCK(st.st_mode))) {
		signal(SIGTERM, SIG_IGN);
		signal(SIGHUP, SIG_IGN);
	}
	rc = rewrite_stream(STDIN_FILENO, out, fmt, &prefix, flush, &errstr);
	if (rc == -1)
		log_warnx("mask: %s", errstr);
	if (out != STDOUT_FILENO && fsio_close(out) == -1 && rc == 0) {
		log_warn("close \"%s\"", log_esc(o->output));
		rc = -1;
	}
	format_free(fmt);
	free(list);
	return rc == -1 ? 1 : 0;
}

