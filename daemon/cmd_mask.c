/*
 * lethe mask: filter standard input to standard output (or append to
 * --output FILE), masking every address at once: ad hoc use, and
 * Apache's piped logs, so that no full address ever reaches the disk.
 */
#include <sys/stat.h>

#include <fcntl.h>
#include <stdint.h>
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

/* The format the options describe; fatal on a mistake. */
static struct format *
mask_format(const struct cmd_opts *o, struct tz **zone)
{
	struct format_spec spec;
	struct format *fmt;
	char *fields[FIELDS_MAX], *list = NULL, *tok, *save;
	const char *errstr, *tzname;
	int col;

	memset(&spec, 0, sizeof(spec));
	spec.kind = o->log_format != NULL ? NULL : (char *)(uintptr_t)o->format;
	spec.log_format = (char *)(uintptr_t)o->log_format;
	spec.regex = (char *)(uintptr_t)o->regex;
	spec.time_key = (char *)(uintptr_t)o->time_key;
	spec.time_format = (char *)(uintptr_t)o->time_format;
	spec.prefix.v4 = o->v4_prefix;
	spec.prefix.v6 = o->v6_prefix;
	spec.mask_hostnames = o->mask_hostnames;
	if (spec.kind != NULL && !format_known(spec.kind))
		fatalx("unknown format \"%s\": expected %s",
		    log_esc(spec.kind), format_names());
	tzname = o->timezone != NULL ? o->timezone :
	    format_zone_default(spec.kind);
	if ((*zone = tz_load(tzname, &errstr)) == NULL)
		fatalx("timezone \"%s\": %s", log_esc(tzname), errstr);
	spec.zone = *zone;
	if (o->addresses != NULL) {
		list = xstrdup(o->addresses);
		for (tok = strtok_r(list, ", ", &save); tok != NULL &&
		    spec.nfields < FIELDS_MAX; tok = strtok_r(NULL, ", ", &save))
			fields[spec.nfields++] = tok;
		spec.fields = fields;
	}
	if ((fmt = format_new(&spec, &errstr, &col)) == NULL) {
		if (col > 0)
			fatalx("%s, column %d: %s", o->log_format != NULL ?
			    "--log-format" : "--regex", col, errstr);
		fatalx("format %s: %s", spec.kind != NULL ? spec.kind :
		    "log_format", errstr);
	}
	free(list);
	return fmt;
}

int
cmd_mask(const struct cmd_opts *o)
{
	struct line_stats ls;
	struct format *fmt;
	struct tz *zone;
	const char *errstr;
	struct stat st;
	int rc, flush, out;

	fmt = mask_format(o, &zone);
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
	rc = rewrite_stream(STDIN_FILENO, out, fmt, flush, &ls, &errstr);
	if (rc == -1)
		log_warnx("mask: %s", errstr);
	if (ls.bad > 0)
		log_warnx("mask: %llu of %llu lines not understood (first at "
		    "line %llu)", (unsigned long long)ls.bad,
		    (unsigned long long)ls.lines,
		    (unsigned long long)ls.bad_first);
	if (out != STDOUT_FILENO && fsio_close(out) == -1 && rc == 0) {
		log_warn("close \"%s\"", log_esc(o->output));
		rc = -1;
	}
	format_free(fmt);
	tz_free(zone);
	return rc == -1 ? 1 : 0;
}
