/*
 * lethe mask: filter standard input to standard output (or append to
 * --output FILE), masking every address at once: ad hoc use, and
 * Apache's piped logs, so that no full address ever reaches the disk.
 *
 * mask --pseudonym: the same with a set's format (-c FILE, --set NAME)
 * and its pseudonyms (transform = pseudonym, pseudonym_prefix) instead
 * of truncation, under the day keys in state_dir/keys, made as needed:
 * what the mirror and the stream carry, for a pipe of one's own.
 */
#include <sys/stat.h>

#include <fcntl.h>
#include <stdint.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
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
	const char *errstr, *zname;
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
	zname = o->timezone != NULL ? o->timezone :
	    format_zone_default(spec.kind);
	if ((*zone = tz_load(zname, &errstr)) == NULL)
		fatalx("timezone \"%s\": %s", log_esc(zname), errstr);
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

/* The real clock, read as bytes come in (no --now): a day's key is
   the one of the day the line arrives in, and dies with it. */
struct mask_clock {
	struct xform	*x;
	struct keyring	*kr;
};

static void
mask_clock_tap(void *arg, const void *p UNUSED, size_t n UNUSED)
{
	struct mask_clock *c = arg;
	int64_t now = (int64_t)time(NULL);

	xform_pseudonym_set_now(c->x, now);
	keyring_forget(c->kr, now);
}

/* Options of the truncating mask that the set's format replaces. */
static int
mask_opts_given(const struct cmd_opts *o)
{
	return o->log_format != NULL || o->regex != NULL ||
	    o->addresses != NULL || o->time_key != NULL ||
	    o->time_format != NULL || o->timezone != NULL ||
	    o->mask_hostnames || strcmp(o->format, "combined") != 0 ||
	    o->v4_prefix != 16 || o->v6_prefix != 32;
}

/* stdin to out with the set's pseudonyms; 0, or 1 (said). */
static int
mask_pseudonym(const struct cmd_opts *o, int out, int flush,
    struct line_stats *ls)
{
	const struct logset *set;
	struct rewrite_opts ro;
	struct mask_clock clk;
	struct config *conf;
	struct keyring *kr;
	struct xform *x;
	const char *errstr, *why;
	uint64_t failed;
	int sdfd, rc;

	if (mask_opts_given(o)) {
		log_warnx("mask --pseudonym reads lines as the set says: "
		    "--format and the other mask options do not apply");
		return 1;
	}
	if ((conf = load_config(o->conf, 1)) == NULL)
		return 1;
	if ((set = keys_pick_set(conf, o->set)) == NULL ||
	    set->transform != TRANSFORM_PSEUDONYM) {
		if (set != NULL)
			log_warnx("[%s] has transform = truncate: it makes no "
			    "pseudonyms", log_esc(set->name));
		config_free(conf);
		return 1;
	}
	if ((sdfd = store_open(conf, &why)) == -1) {
		log_warnx("state_dir \"%s\": %s", log_esc(conf->state_dir), why);
		config_free(conf);
		return 1;
	}
	kr = keyring_new(sdfd, set);
	x = keyring_xform(kr, set->pseudonym_prefix, o->now);
	memset(&ro, 0, sizeof(ro));
	ro.format = set->format;
	ro.xform = x;
	ro.start_time = ro.audit_before = TIME_NONE;
	ro.now = TIME_NONE;	/* a stream: no day is "the future" */
	if (!o->have_now) {
		clk.x = x;
		clk.kr = kr;
		ro.tap = mask_clock_tap;
		ro.tap_arg = &clk;
	}
	rc = rewrite_stream_opts(STDIN_FILENO, out, &ro, flush, ls, &errstr);
	if (rc == -1)
		log_warnx("mask: %s", errstr);
	if ((failed = xform_pseudonym_failed(x)) > 0)
		log_warnx("mask: %llu addresses truncated instead: no pseudonym "
		    "key (%s)", (unsigned long long)failed, keyring_error(kr));
	xform_pseudonym_free(x);
	keyring_free(kr);
	fsio_close(sdfd);
	config_free(conf);
	return rc == -1 ? 1 : 0;
}

/*
 * How many threads mask on: --threads, else the cores, but one where
 * lines must go out as they come (a pipe in, --output: a piped log),
 * for pseudonyms (a line without a time takes the line before's, for
 * its day's key) and for formats whose lines change how later ones read
 * when their state cannot be carried to where a chunk starts.
 */
static int
mask_threads(const struct cmd_opts *o, const struct format *fmt)
{
	struct stat st;

	if (o->output != NULL || fsio_fstat(STDIN_FILENO, &st) == -1 ||
	    !S_ISREG(st.st_mode) || fmt == NULL || (format_has_state(fmt) &&
	    !format_state_copyable(fmt)))
		return 1;
	return o->threads > 0 ? o->threads : threads_default();
}

/* fmt, and n - 1 more equal formats, a worker's each. */
static int
mask_threaded(const struct cmd_opts *o, struct format *fmt, int n, int out,
    struct line_stats *ls, const char **errstr)
{
	struct format *fmts[THREADS_MAX + 1];
	struct tz *zones[THREADS_MAX + 1];
	int i, rc;

	fmts[0] = fmt;
	for (i = 1; i <= n; i++)
		fmts[i] = mask_format(o, &zones[i]);
	rc = rewrite_stream_threads(STDIN_FILENO, out, fmts, n, ls, errstr);
	for (i = 1; i <= n; i++) {
		format_free(fmts[i]);
		tz_free(zones[i]);
	}
	return rc;
}

int
cmd_mask(const struct cmd_opts *o)
{
	struct line_stats ls;
	struct format *fmt;
	struct tz *zone = NULL;
	const char *errstr;
	struct stat st;
	int rc, flush, out, nthreads;

	line_stats_init(&ls);
	if (o->set != NULL && !o->pseudonym)
		fatalx("--set applies to mask --pseudonym only");
	fmt = o->pseudonym ? NULL : mask_format(o, &zone);
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
	nthreads = mask_threads(o, fmt);
	if (o->pseudonym)
		rc = mask_pseudonym(o, out, flush, &ls) ? -1 : 0;
	else if ((rc = nthreads > 1 ? mask_threaded(o, fmt, nthreads, out, &ls,
	    &errstr) : rewrite_stream(STDIN_FILENO, out, fmt, flush, &ls,
	    &errstr)) == -1)
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
	if (fmt != NULL) {
		format_free(fmt);
		tz_free(zone);
	}
	return rc == -1 ? 1 : 0;
}
