/*
 * One gzip member deflated on several threads, after pigz's method: the
 * input is cut into blocks of PGZIP_BLOCK bytes, each deflated raw by a
 * worker with the last 32 KiB of the block before it as its dictionary,
 * ended by a sync flush (the last by Z_FINISH), so the blocks' outputs
 * laid end to end are one deflate stream.  The caller's thread fills the
 * blocks and writes the outputs in order with the gzip header and
 * trailer it makes itself (the CRC-32 of the blocks, computed by the
 * workers, combined in order).
 *
 * The bytes depend on the input alone: a block is cut at the same place
 * whatever the timing, and a reset deflate stream given the same
 * dictionary and block writes the same bytes whichever worker runs it,
 * so two threads or eight give the same file.  Memory is bounded by the
 * ring of 2n + 2 blocks: the caller waits for the oldest when all are
 * taken.
 */
#define ZLIB_CONST

#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <zlib.h>

#include "lethe.h"

/*
 * PGZIP_BLOCK is 256 KiB: each block but the first also hashes its 32
 * KiB dictionary, an eighth more work at this size against a quarter at
 * pigz's 128 KiB (which measured about 10% slower on nginx logs); the
 * flushes cost 0.06% of size here, 0.08% at 128 KiB.  Larger blocks gain
 * little and hold more memory: 2n + 2 of them, with their output.
 */
#define PGZ_BLOCK	PGZIP_BLOCK
#define PGZ_DICT	(32 * 1024)	/* deflate's window */
#define PGZ_LEVEL	6
#define PGZ_MEMLEVEL	8
#define PGZ_OS_UNIX	3
#define PGZ_FCOMMENT	0x10

struct pgz_job {
	unsigned char	*in;		/* dict bytes, then the block */
	size_t		 dict;
	size_t		 len;		/* of the block */
	int		 last;		/* ends the stream */
	unsigned char	*out;
	size_t		 outcap;
	size_t		 outlen;
	uLong		 crc;		/* of the block */
	int		 done;		/* deflated: the caller's again */
	int		 failed;	/* deflate said no */
};

struct pgz_worker {
	struct pgzip	*k;
	z_stream	 z;
	pthread_t	 th;
};

struct pgzip {
	int		 fd;
	char		 header[64];
	size_t		 hlen;
	int		 header_out;
	pthread_mutex_t	 mtx;
	pthread_cond_t	 work;		/* a job queued, or stop */
	pthread_cond_t	 done;		/* a job deflated */
	struct pgz_job	*jobs;
	size_t		 njobs;		/* 2n + 2 */
	/* job i is jobs[i % njobs]; written <= next <= queued */
	uint64_t	 queued;	/* handed to the workers (job queued:
					   the one being filled) */
	uint64_t	 next;		/* next for a worker to take */
	uint64_t	 written;	/* out to fd */
	struct pgz_worker *w;
	int		 nw;		/* started */
	int		 maxw;
	int		 idle;		/* workers waiting for a job */
	int		 stop;
	int		 finished;	/* the trailer is out */
	uLong		 crc;
	uint32_t	 isize;		/* mod 2^32, as gzip keeps it */
	int		 failed;	/* sticky: every call fails */
	int		 saved_errno;
	const char	*err;
	char		 errbuf[160];
};

static const char *
syserr(struct pgzip *k, const char *what, int no)
{
	(void)snprintf(k->errbuf, sizeof(k->errbuf), "%s: %s", what,
	    strerror(no));
	return k->errbuf;
}

/* Every later call fails the same way: the stream is broken. */
static int
fail(struct pgzip *k, const char *err, int no)
{
	if (!k->failed) {
		k->failed = 1;
		k->err = err;
		k->saved_errno = no;
	}
	errno = k->saved_errno;
	return -1;
}

/* write(2) failed: its errno, kept before anything can change it. */
static int
write_fail(struct pgzip *k)
{
	int no = errno;

	return fail(k, syserr(k, "write", no), no);
}

/* The header zlib writes for level 6 with a gz_header of comment. */
static void
header_init(struct pgzip *k, const char *comment)
{
	unsigned char h[10] = { 0x1f, 0x8b, Z_DEFLATED, PGZ_FCOMMENT,
	    0, 0, 0, 0,			/* MTIME: none */
	    0,				/* XFL: neither 2 (best) nor 4 */
	    PGZ_OS_UNIX };
	size_t clen = strlen(comment) + 1;

	if (sizeof(h) + clen > sizeof(k->header))
		fatalx("pgzip: header comment too long");
	memcpy(k->header, h, sizeof(h));
	memcpy(k->header + sizeof(h), comment, clen);
	k->hlen = sizeof(h) + clen;
}

struct pgzip *
pgzip_new(int fd, int threads, const char *comment)
{
	struct pgzip *k = xcalloc(1, sizeof(*k));

	k->fd = fd;
	k->maxw = threads > 1 ? threads : 1;
	k->njobs = 2 * (size_t)k->maxw + 2;
	k->jobs = xcalloc(k->njobs, sizeof(*k->jobs));
	k->w = xcalloc((size_t)k->maxw, sizeof(*k->w));
	k->crc = crc32(0L, Z_NULL, 0);
	header_init(k, comment);
	if (pthread_mutex_init(&k->mtx, NULL) != 0 ||
	    pthread_cond_init(&k->work, NULL) != 0 ||
	    pthread_cond_init(&k->done, NULL) != 0)
		fatalx("pgzip: cannot initialise a lock");
	k->jobs[0].in = xmalloc(PGZ_DICT + PGZ_BLOCK);
	return k;
}

/* Room for more output: deflate filled what there was. */
static void
job_grow(struct pgz_job *j, z_stream *z)
{
	size_t have = j->outcap - z->avail_out;

	j->outcap *= 2;
	j->out = xreallocarray(j->out, 1, j->outcap);
	z->next_out = j->out + have;
	z->avail_out = (uInt)(j->outcap - have);
}

/*
 * Deflate one block on a reset stream primed with its dictionary: what
 * comes out depends on the dictionary and the block alone.
 */
static void
job_deflate(z_stream *z, struct pgz_job *j)
{
	int flush = j->last ? Z_FINISH : Z_SYNC_FLUSH, r;

	j->failed = 1;
	if (j->out == NULL) {
		/* a quarter: logs deflate to a sixth; more when it must */
		j->outcap = PGZ_BLOCK / 4;
		j->out = xmalloc(j->outcap);
	}
	if (deflateReset(z) != Z_OK || (j->dict > 0 &&
	    deflateSetDictionary(z, j->in, (uInt)j->dict) != Z_OK))
		return;
	z->next_in = j->in + j->dict;
	z->avail_in = (uInt)j->len;
	z->next_out = j->out;
	z->avail_out = (uInt)j->outcap;
	for (;;) {
		/* a sync flush is over when it leaves room (Z_BUF_ERROR too) */
		r = deflate(z, flush);
		if (r == Z_STREAM_END || (!j->last && r != Z_STREAM_ERROR &&
		    z->avail_out > 0))
			break;
		if (r == Z_STREAM_ERROR || z->avail_out > 0)
			return;		/* stuck though there was room */
		job_grow(j, z);
	}
	j->outlen = j->outcap - z->avail_out;
	j->crc = crc32(0L, j->in + j->dict, (uInt)j->len);
	j->failed = 0;
}

static void *
worker_main(void *arg)
{
	struct pgz_worker *w = arg;
	struct pgzip *k = w->k;
	struct pgz_job *j;

	pthread_mutex_lock(&k->mtx);
	for (;;) {
		while (!k->stop && k->next == k->queued) {
			k->idle++;
			pthread_cond_wait(&k->work, &k->mtx);
			k->idle--;
		}
		if (k->stop)
			break;
		j = &k->jobs[k->next++ % k->njobs];
		pthread_mutex_unlock(&k->mtx);
		job_deflate(&w->z, j);
		pthread_mutex_lock(&k->mtx);
		j->done = 1;
		pthread_cond_signal(&k->done);	/* only the caller waits */
	}
	pthread_mutex_unlock(&k->mtx);
	return NULL;
}

/*
 * One more worker, with every signal blocked: signals are the main
 * thread's business (the event loop's), and a worker must not take one.
 * Returns 0 or an errno.
 */
static int
worker_start(struct pgzip *k)
{
	struct pgz_worker *w = &k->w[k->nw];
	sigset_t all, old;
	int r;

	w->k = k;
	if (deflateInit2(&w->z, PGZ_LEVEL, Z_DEFLATED, -MAX_WBITS,
	    PGZ_MEMLEVEL, Z_DEFAULT_STRATEGY) != Z_OK)
		return ENOMEM;
	sigfillset(&all);
	pthread_sigmask(SIG_BLOCK, &all, &old);
	r = pthread_create(&w->th, NULL, worker_main, w);
	pthread_sigmask(SIG_SETMASK, &old, NULL);
	if (r != 0) {
		(void)deflateEnd(&w->z);
		return r;
	}
	k->nw++;
	return 0;
}

/* Job i out to fd, after the header if it is the first. */
static int
job_write(struct pgzip *k, struct pgz_job *j)
{
	if (j->failed)
		return fail(k, "deflate failed", EINVAL);
	if (!k->header_out) {
		if (fsio_write_all(k->fd, k->header, k->hlen) == -1)
			return write_fail(k);
		k->header_out = 1;
	}
	if (j->outlen > 0 && fsio_write_all(k->fd, j->out, j->outlen) == -1)
		return write_fail(k);
	k->crc = crc32_combine(k->crc, j->crc, (z_off_t)j->len);
	k->isize += (uint32_t)j->len;
	return 0;
}

/* Write the deflated jobs before upto, in order; !wait: while done. */
static int
drain(struct pgzip *k, int wait, uint64_t upto)
{
	struct pgz_job *j;
	int done;

	while (k->written < upto) {
		j = &k->jobs[k->written % k->njobs];
		pthread_mutex_lock(&k->mtx);
		while (wait && !j->done)
			pthread_cond_wait(&k->done, &k->mtx);
		done = j->done;
		pthread_mutex_unlock(&k->mtx);
		if (!done)
			break;
		if (job_write(k, j) == -1)
			return -1;
		j->done = 0;	/* no worker looks at it until it is queued */
		k->written++;
	}
	return 0;
}

/*
 * Hand the job being filled to the workers, with one more of them when
 * more jobs wait than workers do (a thread that cannot start is done
 * without while one runs), then make the next slot ready: its
 * dictionary is this block's tail.  With every slot taken, the oldest is
 * waited for.
 */
static int
submit(struct pgzip *k, int last)
{
	struct pgz_job *j = &k->jobs[k->queued % k->njobs], *n;
	int start, r;

	j->last = last;
	pthread_mutex_lock(&k->mtx);
	k->queued++;
	start = k->queued - k->next > (uint64_t)k->idle && k->nw < k->maxw;
	pthread_cond_signal(&k->work);
	pthread_mutex_unlock(&k->mtx);
	if (start && (r = worker_start(k)) != 0 && k->nw == 0)
		return fail(k, r == ENOMEM ? "deflate: cannot initialise" :
		    syserr(k, "pthread_create", r), r);
	if (last)
		return 0;
	if (drain(k, 0, k->queued) == -1)
		return -1;
	if (k->queued - k->written == k->njobs &&
	    drain(k, 1, k->written + 1) == -1)
		return -1;
	n = &k->jobs[k->queued % k->njobs];
	if (n->in == NULL)
		n->in = xmalloc(PGZ_DICT + PGZ_BLOCK);
	n->dict = PGZ_DICT;
	memcpy(n->in, j->in + j->dict + j->len - PGZ_DICT, PGZ_DICT);
	n->len = 0;
	return 0;
}

int
pgzip_write(struct pgzip *k, const char *p, size_t n)
{
	struct pgz_job *j;
	size_t take;

	if (k->failed)
		return fail(k, NULL, 0);
	if (k->finished)
		return fail(k, "write after the end", EINVAL);
	while (n > 0) {
		j = &k->jobs[k->queued % k->njobs];
		/* a full block goes when more comes: the last is empty
		   only when all is */
		if (j->len == PGZ_BLOCK) {
			if (submit(k, 0) == -1)
				return -1;
			continue;
		}
		take = PGZ_BLOCK - j->len;
		if (take > n)
			take = n;
		memcpy(j->in + j->dict + j->len, p, take);
		j->len += take;
		p += take;
		n -= take;
	}
	return 0;
}

int
pgzip_finish(struct pgzip *k)
{
	unsigned char t[8];
	int i;

	if (k->failed)
		return fail(k, NULL, 0);
	if (k->finished)
		return fail(k, "finished twice", EINVAL);
	k->finished = 1;
	if (submit(k, 1) == -1 || drain(k, 1, k->queued) == -1)
		return -1;
	for (i = 0; i < 4; i++) {
		t[i] = (unsigned char)(k->crc >> (8 * i));
		t[4 + i] = (unsigned char)(k->isize >> (8 * i));
	}
	if (fsio_write_all(k->fd, t, sizeof(t)) == -1)
		return write_fail(k);
	return 0;
}

/* Stops the workers whatever they were doing: jobs queued are dropped. */
void
pgzip_free(struct pgzip *k)
{
	int saved = errno, i;
	size_t s;

	if (k == NULL)
		return;
	pthread_mutex_lock(&k->mtx);
	k->stop = 1;
	pthread_cond_broadcast(&k->work);
	pthread_mutex_unlock(&k->mtx);
	for (i = 0; i < k->nw; i++) {
		pthread_join(k->w[i].th, NULL);
		(void)deflateEnd(&k->w[i].z);
	}
	for (s = 0; s < k->njobs; s++) {
		free(k->jobs[s].in);
		free(k->jobs[s].out);
	}
	pthread_cond_destroy(&k->done);
	pthread_cond_destroy(&k->work);
	pthread_mutex_destroy(&k->mtx);
	free(k->jobs);
	free(k->w);
	free(k);
	errno = saved;
}

const char *
pgzip_error(const struct pgzip *k)
{
	return k->err != NULL ? k->err : "write failed";
}
