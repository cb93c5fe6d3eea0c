/*
 * A whole file through the line engine: read (plain or gzip: source.c),
 * lines masked by the transform, written (plain or gzip: sink.c) into a
 * temp file in the same directory that then replaces the original, by
 * fsio_commit's act: checked at the moment of the act to replace the
 * file read, with no byte more than was read.  Memory is bounded: the
 * engine's head and windows, a few fixed buffers.
 */
#include <sys/types.h>
#include <sys/stat.h>

#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "lethe.h"

/* Messages with an errno text, valid until the next one in this thread. */
static _Thread_local char rw_errbuf[160];

static const char *
rw_syserr(const char *what)
{
	int saved = errno;

	(void)snprintf(rw_errbuf, sizeof(rw_errbuf), "%s: %s", what,
	    strerror(saved));
	errno = saved;
	return rw_errbuf;
}

/* Where a pass writes: nowhere (-1), or fd, plain, gzip or as read. */
struct out {
	int		 fd;
	int		 gzip;		/* 1, 0, or -1: as the input */
	int		 line_flush;
};

/*
 * One pass: src through the engine (xf NULL: nothing rewritten).
 * Returns 0, or -1 with *errstr; the stats say what was read either way.
 */
static int
pass(struct source *src, const struct rewrite_opts *opts,
    const struct xform *xf, const struct out *out, struct rewrite_stats *rs,
    const char **errstr)
{
	struct line_opts lo;
	struct line_engine *e;
	struct sink *sink = NULL;
	const char *buf;
	ssize_t n;
	int rc = -1;

	memset(&lo, 0, sizeof(lo));
	lo.format = opts->format;
	lo.fstate = format_state_new(opts->format);
	lo.xform = xf;
	lo.now = opts->now;
	lo.start_time = opts->start_time;
	lo.audit_before = opts->audit_before;
	lo.ref = opts->now != TIME_NONE ? opts->now : 0;
	lo.cancel = opts->cancel;
	lo.holds = opts->holds;
	line_stats_init(&rs->l);
	e = NULL;
	/* With cores to spare, inflate on one while the others mask. */
	if (opts->threads > 1)
		source_set_ahead(src, 1);
	/* The first bytes say whether the input is gzip, so the output. */
	n = source_next(src, &buf);
	if (out->fd != -1) {
		lo.sink = sink = sink_fd_new(out->fd, out->gzip == -1 ?
		    source_gzip(src) : out->gzip, out->line_flush);
		if (opts->threads > 1)
			sink_set_threads(sink, opts->threads);
	}
	e = line_new(&lo, &rs->l);
	for (; n > 0; n = source_next(src, &buf))
		if (line_feed(e, buf, (size_t)n) == -1) {
			*errstr = line_error(e);
			goto out;
		}
	if (n == -1) {
		*errstr = source_error(src);
		(void)line_finish(e);	/* the facts of what could be read */
		goto out;
	}
	if (line_finish(e) == -1) {
		*errstr = line_error(e);
		goto out;
	}
	if (sink != NULL && sink_finish(sink) == -1) {
		*errstr = sink_error(sink);
		goto out;
	}
	rc = 0;
out:
	/*
	 * The words may be the sink's, the engine's or the source's, and
	 * those go now: the caller gets a copy (per thread: the daemon's
	 * worker rewrites too).
	 */
	if (rc == -1 && *errstr != NULL) {
		static _Thread_local char kept[256];

		if (*errstr != kept)
			(void)strlcpy(kept, *errstr, sizeof(kept));
		*errstr = kept;
	}
	source_stop(src);
	rs->gzip_in = source_gzip(src);
	rs->bytes_raw = source_raw(src);
	line_free(e);
	sink_free(sink);
	format_state_free(opts->format, lo.fstate);
	return rc;
}

int
rewrite_scan(int fd, const struct rewrite_opts *opts,
    struct rewrite_stats *rs, const char **errstr)
{
	struct source *src = source_new(fd, 1);
	struct out out = { -1, 0, 0 };
	int rc;

	memset(rs, 0, sizeof(*rs));
	if (opts->tap != NULL)
		source_tap(src, opts->tap, opts->tap_arg);
	rc = pass(src, opts, opts->xform, &out, rs, errstr);
	source_free(src);
	return rc;
}

int
rewrite_stream_opts(int infd, int outfd, const struct rewrite_opts *opts,
    int line_flush, struct line_stats *st, const char **errstr)
{
	struct xform_truncate xt = { INT64_MAX, NULL, 0 };
	struct xform xf = { &xform_truncate_ops, &xt };
	struct rewrite_stats rs;
	struct source *src = source_new(infd, 0);	/* bytes, gzip or not */
	struct out out = { outfd, 0, line_flush };
	int rc;

	memset(&rs, 0, sizeof(rs));
	if (opts->tap != NULL)
		source_tap(src, opts->tap, opts->tap_arg);
	rc = pass(src, opts, opts->xform != NULL ? opts->xform : &xf, &out,
	    &rs, errstr);
	*st = rs.l;
	source_free(src);
	return rc;
}

int
rewrite_stream(int infd, int outfd, struct format *format, int line_flush,
    struct line_stats *st, const char **errstr)
{
	struct rewrite_opts opts;

	memset(&opts, 0, sizeof(opts));
	opts.format = format;
	opts.mask_before = INT64_MAX;
	opts.start_time = TIME_NONE;
	opts.audit_before = TIME_NONE;
	opts.now = TIME_NONE;
	return rewrite_stream_opts(infd, outfd, &opts, line_flush, st, errstr);
}

static int
rw_open(int dfd, const char *name, const struct stat *expect,
    struct stat *st, const char **errstr)
{
	const char *why;
	int fd;

	if ((fd = fsio_openat_file(dfd, name, st, &why)) == -1) {
		*errstr = strncmp(why, "cannot ", 7) == 0 ? rw_syserr(why) : why;
		return -1;
	}
	if (expect != NULL && (expect->st_dev != st->st_dev ||
	    expect->st_ino != st->st_ino)) {
		*errstr = "file changed";
		(void)fsio_close(fd);
		errno = ESTALE;
		return -1;
	}
	return fd;
}

/* Read fd into the temp file tmpfd (gzip when compressing or read so). */
static int
rw_copy(int fd, int tmpfd, const struct rewrite_opts *opts,
    struct rewrite_stats *rs, const char **errstr)
{
	struct xform_truncate xt = { opts->mask_before, opts->holds, 0 };
	struct xform xf = { &xform_truncate_ops, &xt };
	struct source *src = source_new(fd, 1);
	struct out out = { tmpfd, opts->compress ? 1 : -1, 0 };
	int rc;

	memset(rs, 0, sizeof(*rs));
	if (opts->tap != NULL)
		source_tap(src, opts->tap, opts->tap_arg);
	rc = pass(src, opts, opts->xform != NULL ? opts->xform :
	    opts->mask_before != TIME_NONE ? &xf : NULL, &out, rs, errstr);
	source_free(src);
	return rc;
}

int
rewrite_file(int dfd, const char *name, const char *newname,
    const struct stat *expect, const struct rewrite_opts *opts,
    struct rewrite_stats *stats, const char **errstr)
{
	char tmp[NAME_MAX + 1];
	const char *target;
	struct stat st;
	int fd, tmpfd, saved;

	if (newname != NULL && strcmp(newname, name) == 0)
		newname = NULL;
	target = newname != NULL ? newname : name;
	if ((fd = rw_open(dfd, name, expect, &st, errstr)) == -1)
		return -1;
	if ((tmpfd = fsio_tmp_create(dfd, target, tmp, sizeof(tmp))) == -1) {
		*errstr = rw_syserr("create temp file");
		goto fail_close_fd;
	}
	if (rw_copy(fd, tmpfd, opts, stats, errstr) == -1)
		goto fail_unlink_tmp;
	if (fsio_tmp_finish(tmpfd, &st) == -1) {
		*errstr = rw_syserr("finish temp file");
		tmpfd = -1;
		goto fail_unlink_tmp;
	}
	tmpfd = -1;
	/*
	 * The act: name is claimed and checked to be the file we read,
	 * with no byte more than we read (its size right before the
	 * rename), then the temp file takes target.
	 */
	if (fsio_commit(dfd, name, &st, (int64_t)stats->bytes_raw, tmp,
	    target, errstr) == -1) {
		*errstr = rw_syserr(*errstr);
		goto fail_close_fd;
	}
	/* Read only, and the new file is in place: nothing to report. */
	(void)fsio_close(fd);
	return 0;

fail_unlink_tmp:
	saved = errno;
	if (tmpfd != -1)
		(void)fsio_close(tmpfd);
	(void)fsio_unlinkat(dfd, tmp);
	errno = saved;
fail_close_fd:
	saved = errno;
	(void)fsio_close(fd);
	errno = saved;
	return -1;
}
