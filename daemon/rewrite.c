/*
 * The streaming engine: read a plain or gzip file, split it into lines,
 * mask the address spans that format_scan finds on lines older than the
 * cut-off, and write plain or gzip output into a temp file that then
 * replaces the original (fsio_replace).
 *
 * Memory is bounded: a few fixed buffers allocated once per call, a head
 * buffer for lines that straddle two reads, grown as long lines need up to
 * LINE_HEAD_MAX (16 MiB, so that fields at the end of a long line, such as
 * nginx's X-Forwarded-For, are still found), and spans reused from line to
 * line.  A line longer than LINE_HEAD_MAX has its head scanned and masked
 * and the rest copied through unchanged.
 */
#define ZLIB_CONST

#include <sys/types.h>
#include <sys/stat.h>

#include <errno.h>
#include <limits.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <zlib.h>

#include "lethe.h"

#define IN_BUF_SIZE	(256 * 1024)	/* raw input */
#define DEC_BUF_SIZE	(256 * 1024)	/* inflated input */
#define OUT_BUF_SIZE	(256 * 1024)	/* output before the sink */
#define ZOUT_BUF_SIZE	(256 * 1024)	/* deflated output */
#define LINE_HEAD_MIN	(64 * 1024)	/* the head buffer at first */
#define LINE_HEAD_MAX	(16 * 1024 * 1024) /* bytes of a line that are scanned */
#define GZIP_LEVEL	6
#define GZIP_OS_UNIX	3

/* The gzip header comment that marks files lethe wrote. */
static char gzip_comment[] = "lethe";

/* Messages with an errno text, valid until the next one in this thread. */
static _Thread_local char rw_errbuf[160];

/* The state of one pass over one input. */
struct rw {
	const struct rewrite_opts *opts;
	struct rewrite_stats *st;
	struct spans	 spans;
	int64_t		 prev_time;	/* time of the line before */
	int		 need_time;	/* 0: every line is masked, and the
					   stats are not wanted (mask) */
	const char	*errstr;

	/* input */
	int		 infd;
	int		 detect;	/* look for the gzip magic first */
	int		 in_eof;
	unsigned char	*in;
	size_t		 inlen;		/* plain: bytes of the first read */
	z_stream	 inz;
	int		 inz_live;
	int		 member_end;	/* inflate finished a gzip member */
	int		 zero_pad;	/* NUL bytes after the last member */
	unsigned char	*dec;

	/* line assembly */
	char		*head;		/* hcap + 1 for the '\n' */
	size_t		 hcap;		/* LINE_HEAD_MIN .. LINE_HEAD_MAX */
	size_t		 hlen;		/* bytes of a partial line in head */
	int		 overflow;	/* copying the rest of a long line */

	/* output; out == NULL: count only (rewrite_scan) */
	int		 outfd;
	int		 gzip_out;
	int		 line_flush;
	char		*out;
	size_t		 olen;
	z_stream	 outz;
	int		 outz_live;
	gz_header	 gzh;
	unsigned char	*zout;
};

static const char *
rw_syserr(const char *what)
{
	int saved = errno;

	(void)snprintf(rw_errbuf, sizeof(rw_errbuf), "%s: %s", what,
	    strerror(saved));
	errno = saved;
	return rw_errbuf;
}

/* Starts a pass: stats reset, buffers allocated (outfd -1: scan only). */
static void
rw_init(struct rw *rw, const struct rewrite_opts *opts,
    struct rewrite_stats *st, int infd, int outfd)
{
	memset(rw, 0, sizeof(*rw));
	memset(st, 0, sizeof(*st));
	st->first_time = st->last_time = st->oldest_full = TIME_NONE;
	rw->opts = opts;
	rw->st = st;
	rw->prev_time = opts->start_time;
	rw->need_time = 1;
	rw->infd = infd;
	rw->outfd = outfd;
	rw->detect = 1;
	rw->in = xmalloc(IN_BUF_SIZE);
	rw->hcap = LINE_HEAD_MIN;
	rw->head = xmalloc(rw->hcap + 1);
	if (outfd != -1)
		rw->out = xmalloc(OUT_BUF_SIZE);
}

/* Frees what rw_init and the pass allocated; keeps errno. */
static void
rw_release(struct rw *rw)
{
	int saved = errno;

	if (rw->inz_live)
		(void)inflateEnd(&rw->inz);
	if (rw->outz_live)
		(void)deflateEnd(&rw->outz);
	free(rw->in);
	free(rw->dec);
	free(rw->head);
	free(rw->out);
	free(rw->zout);
	spans_release(&rw->spans);
	errno = saved;
}

/* read(), waiting when infd is non-blocking and empty. */
static ssize_t
rw_read(struct rw *rw, void *buf, size_t len)
{
	struct pollfd pfd;
	ssize_t n;

	for (;;) {
		if ((n = fsio_read(rw->infd, buf, len)) != -1) {
			rw->st->bytes_raw += (uint64_t)n;
			return n;
		}
		if (errno != EAGAIN)
			break;
		pfd.fd = rw->infd;
		pfd.events = POLLIN;
		if (poll(&pfd, 1, -1) == -1 && errno != EINTR)
			break;
	}
	rw->errstr = rw_syserr("read");
	return -1;
}

static int
rw_gzip_in_start(struct rw *rw)
{
	if (inflateInit2(&rw->inz, 16 + MAX_WBITS) != Z_OK) {
		rw->errstr = "inflate: cannot initialise";
		errno = ENOMEM;
		return -1;
	}
	rw->inz_live = 1;
	rw->inz.next_in = rw->in;
	rw->inz.avail_in = (uInt)rw->inlen;
	rw->inlen = 0;
	rw->dec = xmalloc(DEC_BUF_SIZE);
	rw->st->gzip_in = 1;
	return 0;
}

/* First read: enough bytes to see the gzip magic, then pick a decoder. */
static int
rw_detect(struct rw *rw)
{
	ssize_t n;

	rw->detect = 0;
	while (rw->inlen < 2) {
		n = rw_read(rw, rw->in + rw->inlen, IN_BUF_SIZE - rw->inlen);
		if (n == -1)
			return -1;
		if (n == 0) {
			rw->in_eof = 1;
			break;
		}
		rw->inlen += (size_t)n;
	}
	if (rw->inlen >= 2 && rw->in[0] == 0x1f && rw->in[1] == 0x8b)
		return rw_gzip_in_start(rw);
	return 0;
}

static int
rw_inflate_err(struct rw *rw, int r)
{
	if (r == Z_MEM_ERROR) {
		rw->errstr = "inflate: out of memory";
		errno = ENOMEM;
	} else {
		rw->errstr = "corrupt gzip";
		errno = EINVAL;
	}
	return -1;
}

/*
 * Next inflated bytes into *buf: returns their number, 0 at the end of
 * the last member, -1 on error.  Members follow each other as `cat a.gz
 * b.gz` leaves them; anything else after a member is corrupt.
 */
static ssize_t
rw_inflate(struct rw *rw, const char **buf)
{
	ssize_t n;
	size_t got;
	int r;

	*buf = (const char *)rw->dec;
	for (;;) {
		if (rw->inz.avail_in == 0 && !rw->in_eof) {
			if ((n = rw_read(rw, rw->in, IN_BUF_SIZE)) == -1)
				return -1;
			rw->in_eof = n == 0;
			rw->inz.next_in = rw->in;
			rw->inz.avail_in = (uInt)n;
		}
		if (rw->member_end) {
			/* NUL padding after the last member: zcat takes it. */
			while (rw->inz.avail_in > 0 && *rw->inz.next_in == 0) {
				rw->inz.next_in++;
				rw->inz.avail_in--;
				rw->zero_pad = 1;
			}
			if (rw->inz.avail_in == 0) {
				if (rw->in_eof)
					return 0;
				continue;
			}
			if (rw->zero_pad)
				return rw_inflate_err(rw, Z_DATA_ERROR);
			if (inflateReset(&rw->inz) != Z_OK)
				return rw_inflate_err(rw, Z_STREAM_ERROR);
			rw->member_end = 0;
		}
		rw->inz.next_out = rw->dec;
		rw->inz.avail_out = DEC_BUF_SIZE;
		r = inflate(&rw->inz, Z_NO_FLUSH);
		if (r == Z_STREAM_END)
			rw->member_end = 1;
		else if (r != Z_OK && (r != Z_BUF_ERROR ||
		    rw->inz.avail_in > 0))	/* no progress: never loop */
			return rw_inflate_err(rw, r);
		got = DEC_BUF_SIZE - rw->inz.avail_out;
		if (got > 0)
			return (ssize_t)got;
		if (!rw->member_end && rw->inz.avail_in == 0 && rw->in_eof) {
			rw->errstr = "truncated gzip";
			errno = EINVAL;
			return -1;
		}
	}
}

/* Next input bytes (inflated when gzip): count, 0 at the end, or -1. */
static ssize_t
rw_next(struct rw *rw, const char **buf)
{
	size_t n;

	if (rw->st->gzip_in)
		return rw_inflate(rw, buf);
	*buf = (const char *)rw->in;
	if (rw->inlen > 0) {
		n = rw->inlen;
		rw->inlen = 0;
		return (ssize_t)n;
	}
	if (rw->in_eof)
		return 0;
	return rw_read(rw, rw->in, IN_BUF_SIZE);
}

static int
rw_gzip_out_start(struct rw *rw)
{
	if (deflateInit2(&rw->outz, GZIP_LEVEL, Z_DEFLATED, 15 + 16, 8,
	    Z_DEFAULT_STRATEGY) != Z_OK) {
		rw->errstr = "deflate: cannot initialise";
		errno = ENOMEM;
		return -1;
	}
	rw->outz_live = 1;
	rw->gzh.comment = (Bytef *)gzip_comment;
	rw->gzh.time = 0;
	rw->gzh.os = GZIP_OS_UNIX;
	if (deflateSetHeader(&rw->outz, &rw->gzh) != Z_OK) {
		rw->errstr = "deflate: cannot set the header";
		errno = EINVAL;
		return -1;
	}
	rw->zout = xmalloc(ZOUT_BUF_SIZE);
	rw->gzip_out = 1;
	return 0;
}

/* Run deflate over what outz holds with flush, writing what comes out. */
static int
rw_deflate(struct rw *rw, int flush)
{
	size_t have;
	int r;

	do {
		rw->outz.next_out = rw->zout;
		rw->outz.avail_out = ZOUT_BUF_SIZE;
		r = deflate(&rw->outz, flush);
		if (r == Z_STREAM_ERROR) {
			rw->errstr = "deflate failed";
			errno = EINVAL;
			return -1;
		}
		have = ZOUT_BUF_SIZE - rw->outz.avail_out;
		if (have > 0 && fsio_write_all(rw->outfd, rw->zout, have) == -1) {
			rw->errstr = rw_syserr("write");
			return -1;
		}
	} while (rw->outz.avail_out == 0 ||
	    (flush == Z_FINISH && r != Z_STREAM_END));
	return 0;
}

/* Hand p[0..n) to the output: the file, or deflate. */
static int
rw_sink(struct rw *rw, const char *p, size_t n)
{
	if (!rw->gzip_out) {
		if (fsio_write_all(rw->outfd, p, n) == -1) {
			rw->errstr = rw_syserr("write");
			return -1;
		}
		return 0;
	}
	rw->outz.next_in = (const Bytef *)p;
	rw->outz.avail_in = (uInt)n;
	return rw_deflate(rw, Z_NO_FLUSH);
}

static int
rw_flush(struct rw *rw)
{
	size_t n = rw->olen;

	rw->olen = 0;
	if (n == 0)
		return 0;
	return rw_sink(rw, rw->out, n);
}

static int
rw_emit_big(struct rw *rw, const char *p, size_t n)
{
	if (rw_flush(rw) == -1)
		return -1;
	if (n >= OUT_BUF_SIZE)
		return rw_sink(rw, p, n);
	memcpy(rw->out, p, n);
	rw->olen = n;
	return 0;
}

/* Output p[0..n): into the output buffer, flushed in big writes. */
static inline int
rw_emit(struct rw *rw, const char *p, size_t n)
{
	rw->st->bytes_out += n;
	if (rw->out == NULL)
		return 0;
	if (n <= OUT_BUF_SIZE - rw->olen) {
		memcpy(rw->out + rw->olen, p, n);
		rw->olen += n;
		return 0;
	}
	return rw_emit_big(rw, p, n);
}

/*
 * A masked address m[0..n) (m holds ADDR_OUT_MAX bytes): most are short,
 * and copied as a fixed 16 bytes, which needs no call.
 */
static inline int
rw_emit_addr(struct rw *rw, const char *m, size_t n)
{
	if (n <= 16 && rw->out != NULL && OUT_BUF_SIZE - rw->olen >= 16) {
		rw->st->bytes_out += n;
		memcpy(rw->out + rw->olen, m, 16);
		rw->olen += n;
		return 0;
	}
	return rw_emit(rw, m, n);
}

static void
rw_time(struct rw *rw, int64_t t)
{
	struct rewrite_stats *st = rw->st;

	rw->prev_time = t;
	if (st->first_time == TIME_NONE || t < st->first_time)
		st->first_time = t;
	if (st->last_time == TIME_NONE || t > st->last_time)
		st->last_time = t;
}

/*
 * A full address stays on the current line.  A line of unknown time
 * (no time yet and start_time TIME_NONE) counts as the oldest there is,
 * since TIME_NONE in oldest_full would mean "none".
 */
static void
rw_full(struct rw *rw)
{
	struct rewrite_stats *st = rw->st;
	int64_t t = rw->prev_time;

	if (t == TIME_NONE)
		t = TIME_NONE + 1;
	if (st->oldest_full == TIME_NONE || t < st->oldest_full)
		st->oldest_full = t;
	if (t < rw->opts->audit_before) {
		if (st->full_past == 0)
			st->full_past_line = st->lines;
		st->full_past++;
	}
}

/*
 * One line: scan its head line[0..len) and write line[0..total), total
 * counting the newline when there is one, with the addresses masked when
 * the line is older than mask_before.  cut: the line goes on past len, so
 * a span that reaches the end of the head may be part of a longer token
 * and is left alone.
 */
static int
rw_line(struct rw *rw, const char *line, size_t len, size_t total, int cut)
{
	const struct rewrite_opts *o = rw->opts;
	const struct span *sp;
	char m[ADDR_OUT_MAX];
	size_t i, pos = 0, mlen;
	int64_t t;
	int full, mask;

	rw->st->lines++;
	if (rw->need_time) {
		format_scan(o->format, line, len, &rw->spans, &t);
		if (t != TIME_NONE)
			rw_time(rw, t);
	} else
		format_scan(o->format, line, len, &rw->spans, NULL);
	mask = o->mask_before == INT64_MAX || rw->prev_time < o->mask_before;
	for (i = 0; i < rw->spans.n; i++) {
		sp = &rw->spans.v[i];
		if (sp->off < pos || sp->off > len || sp->len == 0 ||
		    sp->len > len - sp->off || (cut && sp->off + sp->len == len))
			continue;
		if (addr_mask(line + sp->off, sp->len, &o->prefix, m, sizeof(m),
		    &mlen, &full) == -1)
			continue;
		if (!mask) {
			if (full)
				rw_full(rw);
			continue;
		}
		if (full)
			rw->st->addrs_masked++;
		if (sp->off > pos &&
		    rw_emit(rw, line + pos, sp->off - pos) == -1)
			return -1;
		if (rw_emit_addr(rw, m, mlen) == -1)
			return -1;
		pos = sp->off + sp->len;
	}
	return rw_emit(rw, line + pos, total - pos);
}

/* Past the head of a long line: copy up to and with its newline. */
static int
rw_overflow(struct rw *rw, const char **pp, const char *end)
{
	const char *p = *pp, *q;
	size_t n;

	q = memchr(p, '\n', (size_t)(end - p));
	n = q != NULL ? (size_t)(q + 1 - p) : (size_t)(end - p);
	if (q != NULL)
		rw->overflow = 0;
	*pp = p + n;
	return rw_emit(rw, p, n);
}

/* Add to a line that began in an earlier chunk (or is longer than one). */
static int
rw_gather(struct rw *rw, const char **pp, const char *end, const char *q)
{
	const char *p = *pp;
	size_t take = (size_t)((q != NULL ? q : end) - p), cap;

	if (take > rw->hcap - rw->hlen && rw->hcap < LINE_HEAD_MAX) {
		for (cap = rw->hcap; cap - rw->hlen < take &&
		    cap < LINE_HEAD_MAX; cap *= 2)
			;
		rw->hcap = cap < LINE_HEAD_MAX ? cap : LINE_HEAD_MAX;
		rw->head = xreallocarray(rw->head, rw->hcap + 1, 1);
	}
	if (take > rw->hcap - rw->hlen) {
		/* Head full: scan it, the rest streams through. */
		take = rw->hcap - rw->hlen;
		memcpy(rw->head + rw->hlen, p, take);
		*pp = p + take;
		rw->hlen = 0;
		rw->overflow = 1;
		return rw_line(rw, rw->head, rw->hcap, rw->hcap, 1);
	}
	memcpy(rw->head + rw->hlen, p, take);
	rw->hlen += take;
	*pp = p + take;
	if (q == NULL)
		return 0;
	rw->head[rw->hlen] = '\n';
	take = rw->hlen;
	rw->hlen = 0;
	*pp = q + 1;
	return rw_line(rw, rw->head, take, take + 1, 0);
}

/* Split a chunk of input into lines. */
static int
rw_chunk(struct rw *rw, const char *p, size_t n)
{
	const char *end = p + n, *q;
	int r;

	while (p < end) {
		if (rw->overflow) {
			r = rw_overflow(rw, &p, end);
		} else {
			q = memchr(p, '\n', (size_t)(end - p));
			if (rw->hlen == 0 && q != NULL && q - p <= LINE_HEAD_MAX) {
				r = rw_line(rw, p, (size_t)(q - p),
				    (size_t)(q + 1 - p), 0);
				p = q + 1;
			} else
				r = rw_gather(rw, &p, end, q);
		}
		if (r == -1)
			return -1;
	}
	return 0;
}

/* Flush everything and end the gzip stream. */
static int
rw_finish(struct rw *rw)
{
	if (rw->out == NULL)
		return 0;
	if (rw_flush(rw) == -1)
		return -1;
	if (rw->gzip_out) {
		rw->outz.next_in = NULL;
		rw->outz.avail_in = 0;
		return rw_deflate(rw, Z_FINISH);
	}
	return 0;
}

/* The whole pass: detect, stream every chunk, the last partial line. */
static int
rw_run(struct rw *rw)
{
	const char *buf;
	ssize_t n;

	if (rw->detect && rw_detect(rw) == -1)
		return -1;
	if (rw->out != NULL && (rw->opts->compress || rw->st->gzip_in) &&
	    rw_gzip_out_start(rw) == -1)
		return -1;
	while ((n = rw_next(rw, &buf)) > 0) {
		if (rw->opts->cancel != NULL && *rw->opts->cancel) {
			rw->errstr = "abandoned: lethe is stopping";
			return -1;
		}
		rw->st->bytes_in += (uint64_t)n;
		if (rw_chunk(rw, buf, (size_t)n) == -1)
			return -1;
		if (rw->line_flush && rw_flush(rw) == -1)
			return -1;
	}
	if (n == -1)
		return -1;
	if (rw->hlen > 0 &&
	    rw_line(rw, rw->head, rw->hlen, rw->hlen, 0) == -1)
		return -1;
	rw->hlen = 0;
	return rw_finish(rw);
}

int
rewrite_scan(int fd, const struct rewrite_opts *opts,
    struct rewrite_stats *stats, const char **errstr)
{
	struct rw rw;
	int rv;

	rw_init(&rw, opts, stats, fd, -1);
	if ((rv = rw_run(&rw)) == -1)
		*errstr = rw.errstr;
	rw_release(&rw);
	return rv;
}

int
rewrite_stream(int infd, int outfd, struct format *format,
    const struct addr_prefix *prefix, int line_flush, const char **errstr)
{
	struct rewrite_opts opts;
	struct rewrite_stats stats;
	struct rw rw;
	int rv;

	memset(&opts, 0, sizeof(opts));
	opts.format = format;
	opts.prefix = *prefix;
	opts.mask_before = INT64_MAX;
	opts.start_time = TIME_NONE;
	opts.audit_before = TIME_NONE;
	rw_init(&rw, &opts, &stats, infd, outfd);
	rw.detect = 0;		/* gzip or not, it is bytes */
	rw.line_flush = line_flush;
	rw.need_time = 0;	/* every line is masked; stats unused */
	if ((rv = rw_run(&rw)) == -1)
		*errstr = rw.errstr;
	rw_release(&rw);
	return rv;
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

int
rewrite_file(int dfd, const char *name, const char *newname,
    const struct stat *expect, const struct rewrite_opts *opts,
    struct rewrite_stats *stats, const char **errstr)
{
	char tmp[NAME_MAX + 1];
	const char *target;
	struct stat st;
	struct rw rw;
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
	rw_init(&rw, opts, stats, fd, tmpfd);
	if (rw_run(&rw) == -1) {
		*errstr = rw.errstr;
		rw_release(&rw);
		goto fail_unlink_tmp;
	}
	rw_release(&rw);
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
