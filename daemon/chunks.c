/*
 * lethe mask on several threads: a regular file's bytes are cut into
 * chunks at line boundaries, each chunk goes through a line engine of
 * its own on a worker (its own format: a regex's match data is not
 * shared), and the chunks' output is written in input order.  Every
 * address is masked whatever its time, so a line's output depends on
 * that line alone and the bytes are those of one engine over the whole
 * input; the stats add up as one pass's would.
 *
 * A line longer than a chunk is not cut: the workers are drained and
 * that line goes through an engine on this thread, a read at a time,
 * in the engine's bounded memory, as the one-threaded path would.
 *
 * A format whose lines change how later ones read (w3c's #Fields:) is
 * followed on this thread too: the lines that start with its mark go
 * through an engine of ours, over the state as it stands, and each chunk
 * starts from a copy of that state as it was at the chunk's first byte.
 */
#include <errno.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "lethe.h"

#define CHUNK		(4 * 1024 * 1024)	/* bytes of input a job */
#define READ_SIZE	(256 * 1024)		/* the long line's reads */

enum { C_FREE, C_READY, C_DONE };

struct chunk {
	char		*in;
	size_t		 len;
	struct sink	*out;		/* in memory, nothing cut */
	struct line_stats ls;
	void		*fstate;	/* the format's state at in[0], or
					   NULL: the worker's */
	int		 state;
	int		 rc;
	char		 err[160];
};

struct chunks {
	pthread_mutex_t	 mu;
	pthread_cond_t	 work;		/* a chunk is ready, or stop */
	pthread_cond_t	 done;		/* a chunk is done */
	struct chunk	*c;
	size_t		 nc;
	uint64_t	 filled;	/* chunks handed to the workers */
	uint64_t	 taken;		/* ... taken by one */
	uint64_t	 written;	/* ... written out */
	int		 stop;
	struct format	**fmts;		/* one per worker, and ours */
	int		 nthreads;
	void		*rstate;	/* the state where we read, or NULL */
	struct line_engine *re;		/* the mark's lines, over rstate */
	struct line_stats rls;
};

/* A worker's own: the truncation keeps the line's time as it goes. */
struct worker {
	struct chunks	*cs;
	struct format	*fmt;
	void		*fstate;
	struct xform_truncate xt;
	struct xform	 xf;
};

static void
mask_all(struct xform_truncate *xt, struct xform *xf)
{
	memset(xt, 0, sizeof(*xt));
	xt->before = INT64_MAX;
	xf->ops = &xform_truncate_ops;
	xf->arg = xt;
}

/* One chunk through an engine of its own; 0 or -1 (c->err). */
static int
run_chunk(struct worker *w, struct chunk *c)
{
	struct line_opts lo;
	struct line_engine *e;
	int rc = 0;

	memset(&lo, 0, sizeof(lo));
	lo.format = w->fmt;
	lo.fstate = c->fstate != NULL ? c->fstate : w->fstate;
	lo.xform = &w->xf;
	lo.sink = c->out;
	lo.now = lo.start_time = lo.audit_before = TIME_NONE;
	line_stats_init(&c->ls);
	sink_mem_reset(c->out);
	e = line_new(&lo, &c->ls);
	if (line_feed(e, c->in, c->len) == -1 || line_finish(e) == -1) {
		(void)strlcpy(c->err, line_error(e), sizeof(c->err));
		rc = -1;
	}
	line_free(e);
	return rc;
}

static void *
worker_main(void *arg)
{
	struct worker *w = arg;
	struct chunks *cs = w->cs;
	struct chunk *c;
	int rc;

	pthread_mutex_lock(&cs->mu);
	for (;;) {
		while (!cs->stop && cs->taken == cs->filled)
			pthread_cond_wait(&cs->work, &cs->mu);
		if (cs->taken == cs->filled)
			break;		/* stopping, nothing left */
		c = &cs->c[cs->taken++ % cs->nc];
		pthread_mutex_unlock(&cs->mu);
		rc = run_chunk(w, c);
		pthread_mutex_lock(&cs->mu);
		c->rc = rc;
		c->state = C_DONE;
		pthread_cond_broadcast(&cs->done);
	}
	pthread_mutex_unlock(&cs->mu);
	return NULL;
}

/* Write out the oldest chunk once it is done: 0, or -1 (*errstr). */
static int
write_oldest(struct chunks *cs, int outfd, struct line_stats *st,
    const char **errstr)
{
	static _Thread_local char err[200];
	struct chunk *c = &cs->c[cs->written % cs->nc];
	const char *p;
	size_t n;

	pthread_mutex_lock(&cs->mu);
	while (c->state != C_DONE)
		pthread_cond_wait(&cs->done, &cs->mu);
	pthread_mutex_unlock(&cs->mu);
	cs->written++;
	c->state = C_FREE;
	line_stats_add(st, &c->ls);
	if (outfd == -1)
		return 0;	/* after a failure: waited for, not written */
	if (c->rc == -1) {
		(void)strlcpy(err, c->err, sizeof(err));
		*errstr = err;
		return -1;
	}
	sink_mem_take(c->out, 1, &p, &n);
	if (n > 0 && fsio_write_all(outfd, p, n) == -1) {
		(void)snprintf(err, sizeof(err), "write: %s", strerror(errno));
		*errstr = err;
		return -1;
	}
	return 0;
}

/* Every chunk handed out is written: 0, or -1. */
static int
drain(struct chunks *cs, int outfd, struct line_stats *st,
    const char **errstr)
{
	int rc = 0;

	while (cs->written < cs->filled)
		if (write_oldest(cs, outfd, st, errstr) == -1)
			rc = -1;	/* the rest still waited for */
	return rc;
}

/* Read into c->in after its first c->len bytes up to CHUNK: bytes read,
   0 at the end, -1. */
static ssize_t
fill(int fd, struct chunk *c)
{
	ssize_t n, total = 0;

	while (c->len < CHUNK) {
		if ((n = fsio_read(fd, c->in + c->len, CHUNK - c->len)) == -1)
			return -1;
		if (n == 0)
			break;
		c->len += (size_t)n;
		total += n;
	}
	return total;
}

/*
 * The line in c->in[0..len), longer than a chunk and not ended yet,
 * through an engine of our own with what follows it up to its newline;
 * what is read past that newline is left in c (len). 0, or -1.
 */
static int
long_line(struct chunks *cs, int infd, int outfd, struct chunk *c,
    struct line_stats *st, const char **errstr)
{
	static _Thread_local char err[200];
	struct xform_truncate xt;
	struct xform xf;
	struct line_stats ls;
	struct line_opts lo;
	struct line_engine *e;
	struct sink *sink;
	const char *nl;
	size_t take;
	ssize_t n;
	int rc = -1, eof = 0;

	mask_all(&xt, &xf);
	memset(&lo, 0, sizeof(lo));
	lo.format = cs->fmts[cs->nthreads];
	lo.fstate = cs->rstate != NULL ? cs->rstate :
	    format_state_new(lo.format);
	lo.xform = &xf;
	lo.sink = sink = sink_fd_new(outfd, 0, 0);
	lo.now = lo.start_time = lo.audit_before = TIME_NONE;
	line_stats_init(&ls);
	e = line_new(&lo, &ls);
	for (;;) {
		nl = memchr(c->in, '\n', c->len);
		take = nl != NULL ? (size_t)(nl - c->in) + 1 : c->len;
		if (line_feed(e, c->in, take) == -1)
			goto fail;
		memmove(c->in, c->in + take, c->len - take);
		c->len -= take;
		if (nl != NULL || eof)
			break;
		if ((n = fsio_read(infd, c->in, READ_SIZE)) == -1) {
			(void)snprintf(err, sizeof(err), "read: %s",
			    strerror(errno));
			*errstr = err;
			goto out;
		}
		c->len = (size_t)n;
		eof = n == 0;
	}
	if (line_finish(e) == -1)
		goto fail;
	if (sink_finish(sink) == -1) {
		(void)strlcpy(err, sink_error(sink), sizeof(err));
		*errstr = err;
		goto out;
	}
	rc = 0;
	goto out;
fail:
	(void)strlcpy(err, line_error(e), sizeof(err));
	*errstr = err;
out:
	line_stats_add(st, &ls);
	line_free(e);
	sink_free(sink);
	if (cs->rstate == NULL)
		format_state_free(lo.format, lo.fstate);
	return rc;
}

/*
 * c starts from the state as it stands; the lines of c that start with
 * the mark then move it on.  0, or -1 (*errstr).
 */
static int
follow_state(struct chunks *cs, struct chunk *c, const char **errstr)
{
	static _Thread_local char err[200];
	const char mark = format_state_mark(cs->fmts[cs->nthreads]);
	const char *p = c->in, *end = c->in + c->len, *q, *nl;

	if (cs->rstate == NULL)
		return 0;
	format_state_copy(cs->fmts[cs->nthreads], c->fstate, cs->rstate);
	while (p < end && (q = *p == mark ? p : memchr(p, mark,
	    (size_t)(end - p))) != NULL) {
		if (q > c->in && q[-1] != '\n') {
			p = q + 1;	/* not a line's first byte */
			continue;
		}
		nl = memchr(q, '\n', (size_t)(end - q));
		p = nl != NULL ? nl + 1 : end;
		if (line_feed(cs->re, q, (size_t)(p - q)) == -1 ||
		    (nl == NULL && line_finish(cs->re) == -1)) {
			(void)strlcpy(err, line_error(cs->re), sizeof(err));
			*errstr = err;
			return -1;
		}
	}
	return 0;
}

/*
 * Hand out chunks until the end: each ends at its last newline, the
 * bytes after it start the next one.  0, or -1 (*errstr).
 */
static int
feed(struct chunks *cs, int infd, int outfd, struct line_stats *st,
    const char **errstr)
{
	static _Thread_local char err[200];
	struct chunk *c, *next;
	const char *nl;
	size_t keep;
	ssize_t n;
	int eof = 0;

	c = &cs->c[0];
	c->len = 0;
	while (!eof || c->len > 0) {
		if ((n = fill(infd, c)) == -1) {
			(void)snprintf(err, sizeof(err), "read: %s",
			    strerror(errno));
			*errstr = err;
			return -1;
		}
		eof = c->len < CHUNK;
		if (c->len == 0)
			break;
		nl = eof ? c->in + c->len - 1 : memrchr(c->in, '\n', c->len);
		if (nl == NULL) {
			/* one line fills the chunk: on this thread */
			if (drain(cs, outfd, st, errstr) == -1 ||
			    long_line(cs, infd, outfd, c, st, errstr) == -1)
				return -1;
			eof = 0;	/* fill again: the end said so */
			continue;
		}
		keep = c->len - (size_t)(nl + 1 - c->in);
		/* the next slot must be free: the oldest written first */
		if (cs->filled + 1 - cs->written >= cs->nc &&
		    write_oldest(cs, outfd, st, errstr) == -1)
			return -1;
		next = &cs->c[(cs->filled + 1) % cs->nc];
		memcpy(next->in, nl + 1, keep);
		next->len = keep;
		c->len -= keep;
		if (follow_state(cs, c, errstr) == -1)
			return -1;
		pthread_mutex_lock(&cs->mu);
		c->state = C_READY;
		cs->filled++;
		pthread_cond_signal(&cs->work);
		pthread_mutex_unlock(&cs->mu);
		c = next;
	}
	return drain(cs, outfd, st, errstr);
}

int
threads_default(void)
{
	long n = sysconf(_SC_NPROCESSORS_ONLN);

	return n < 1 ? 1 : n > THREADS_MAX ? THREADS_MAX : (int)n;
}

int
threads_of(int conf_threads)
{
	return conf_threads > 0 ? conf_threads : threads_default();
}

int
rewrite_stream_threads(int infd, int outfd, struct format **fmts,
    int nthreads, struct line_stats *st, const char **errstr)
{
	struct chunks cs;
	struct line_opts lo;
	struct worker *w;
	pthread_t *tid;
	size_t i;
	int rc, started = 0;

	memset(&cs, 0, sizeof(cs));
	pthread_mutex_init(&cs.mu, NULL);
	pthread_cond_init(&cs.work, NULL);
	pthread_cond_init(&cs.done, NULL);
	cs.fmts = fmts;
	cs.nthreads = nthreads;
	/* every worker busy, one more of each ready, and one filling */
	cs.nc = (size_t)nthreads * 2 + 2;
	cs.c = xcalloc(cs.nc, sizeof(*cs.c));
	for (i = 0; i < cs.nc; i++) {
		cs.c[i].in = xmalloc(CHUNK);
		cs.c[i].out = sink_mem_new(SIZE_MAX);
	}
	if (format_state_copyable(fmts[nthreads])) {
		cs.rstate = format_state_new(fmts[nthreads]);
		for (i = 0; i < cs.nc; i++)
			cs.c[i].fstate = format_state_new(fmts[nthreads]);
		memset(&lo, 0, sizeof(lo));
		lo.format = fmts[nthreads];
		lo.fstate = cs.rstate;
		lo.now = lo.start_time = lo.audit_before = TIME_NONE;
		line_stats_init(&cs.rls);
		cs.re = line_new(&lo, &cs.rls);
	}
	w = xcalloc((size_t)nthreads, sizeof(*w));
	tid = xcalloc((size_t)nthreads, sizeof(*tid));
	for (started = 0; started < nthreads; started++) {
		w[started].cs = &cs;
		w[started].fmt = fmts[started];
		w[started].fstate = format_state_new(fmts[started]);
		mask_all(&w[started].xt, &w[started].xf);
		if ((errno = pthread_create(&tid[started], NULL, worker_main,
		    &w[started])) != 0)
			fatal("pthread_create");
	}
	line_stats_init(st);
	rc = feed(&cs, infd, outfd, st, errstr);
	if (rc == -1)		/* let them finish; the first error stands */
		(void)drain(&cs, -1, st, errstr);
	pthread_mutex_lock(&cs.mu);
	cs.stop = 1;
	pthread_cond_broadcast(&cs.work);
	pthread_mutex_unlock(&cs.mu);
	for (i = 0; i < (size_t)started; i++) {
		pthread_join(tid[i], NULL);
		format_state_free(fmts[i], w[i].fstate);
	}
	for (i = 0; i < cs.nc; i++) {
		free(cs.c[i].in);
		sink_free(cs.c[i].out);
		format_state_free(fmts[nthreads], cs.c[i].fstate);
	}
	line_free(cs.re);
	format_state_free(fmts[nthreads], cs.rstate);
	free(cs.c);
	free(w);
	free(tid);
	pthread_cond_destroy(&cs.work);
	pthread_cond_destroy(&cs.done);
	pthread_mutex_destroy(&cs.mu);
	return rc;
}
