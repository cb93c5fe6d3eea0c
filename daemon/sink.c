/*
 * Sinks: where the engine's output goes.  Writes are gathered in a
 * buffer and handed on in big writes, plain or through deflate (gzip,
 * level 6, the header comment "lethe" that marks files lethe wrote); a
 * sink for a pipe (lethe mask as Apache's piped log) writes each line
 * out as soon as it is complete.  With threads (sink_set_threads), gzip
 * is deflated on several cores by pgzip.c instead.
 */
#define ZLIB_CONST

#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <zlib.h>

#include "lethe.h"

#define OUT_BUF_SIZE	(256 * 1024)	/* output before the file */
#define ZOUT_BUF_SIZE	(256 * 1024)	/* deflated output */
#define GZIP_LEVEL	6
#define GZIP_OS_UNIX	3

struct sink {
	int		 fd;
	int		 gzip;
	int		 line_flush;
	char		*out;
	size_t		 olen;
	z_stream	 z;
	int		 z_live;
	gz_header	 gzh;
	unsigned char	*zout;
	struct pgzip	*pz;		/* gzip on threads, instead of z */
	const char	*err;
	char		 errbuf[160];
	/* sink_mem: the lines, each cut at line_max bytes */
	int		 mem;
	char		*m;
	size_t		 mlen;
	size_t		 mcap;
	size_t		 mtaken;	/* handed out by sink_mem_take */
	size_t		 line_len;	/* of the line being written */
	size_t		 line_max;
};

static int	flush_buf(struct sink *);

/* The gzip header comment that marks files lethe wrote. */
static char gzip_comment[] = "lethe";

static const char *
syserr(struct sink *k, const char *what)
{
	int saved = errno;

	(void)snprintf(k->errbuf, sizeof(k->errbuf), "%s: %s", what,
	    strerror(saved));
	errno = saved;
	return k->errbuf;
}

struct sink *
sink_fd_new(int fd, int gzip, int line_flush)
{
	struct sink *k = xcalloc(1, sizeof(*k));

	k->fd = fd;
	k->line_flush = line_flush;
	k->out = xmalloc(OUT_BUF_SIZE);
	if (!gzip)
		return k;
	if (deflateInit2(&k->z, GZIP_LEVEL, Z_DEFLATED, 15 + 16, 8,
	    Z_DEFAULT_STRATEGY) != Z_OK)
		fatalx("deflate: cannot initialise");
	k->z_live = 1;
	k->gzh.comment = (Bytef *)gzip_comment;
	k->gzh.time = 0;
	k->gzh.os = GZIP_OS_UNIX;
	if (deflateSetHeader(&k->z, &k->gzh) != Z_OK)
		fatalx("deflate: cannot set the header");
	k->zout = xmalloc(ZOUT_BUF_SIZE);
	k->gzip = 1;
	return k;
}

/*
 * Gzip on n threads: another deflate stream (blocks, sync flushes) of
 * the same bytes, with buffers of its own; the single stream and the
 * staging buffer go.
 */
void
sink_set_threads(struct sink *k, int n)
{
	/* after a write it is too late: the single stream goes on */
	if (n <= 1 || !k->gzip || k->pz != NULL || k->olen > 0 ||
	    k->z.total_in > 0)
		return;
	k->pz = pgzip_new(k->fd, n, gzip_comment);
	(void)deflateEnd(&k->z);
	k->z_live = 0;
	free(k->zout);
	k->zout = NULL;
	free(k->out);
	k->out = NULL;
}

struct sink *
sink_mem_new(size_t line_max)
{
	struct sink *k = xcalloc(1, sizeof(*k));

	k->fd = -1;
	k->mem = 1;
	k->line_max = line_max;
	k->out = xmalloc(OUT_BUF_SIZE);
	return k;
}

void
sink_mem_take(struct sink *k, int all, const char **p, size_t *len)
{
	size_t n;

	(void)flush_buf(k);
	if (k->mtaken > 0) {
		memmove(k->m, k->m + k->mtaken, k->mlen - k->mtaken);
		k->mlen -= k->mtaken;
		k->mtaken = 0;
	}
	n = k->mlen;
	if (!all)
		while (n > 0 && k->m[n - 1] != '\n')
			n--;
	*p = k->m != NULL ? k->m : "";
	*len = n;
	k->mtaken = n;
}

void
sink_mem_reset(struct sink *k)
{
	k->olen = 0;
	k->mlen = k->mtaken = 0;
	k->line_len = 0;
}

void
sink_free(struct sink *k)
{
	int saved = errno;

	if (k == NULL)
		return;
	if (k->z_live)
		(void)deflateEnd(&k->z);
	pgzip_free(k->pz);
	free(k->out);
	free(k->zout);
	free(k->m);
	free(k);
	errno = saved;
}

const char *
sink_error(const struct sink *k)
{
	return k->err != NULL ? k->err : "write failed";
}

/* Run deflate over what z holds with flush, writing what comes out. */
static int
deflate_out(struct sink *k, int flush)
{
	size_t have;
	int r;

	do {
		k->z.next_out = k->zout;
		k->z.avail_out = ZOUT_BUF_SIZE;
		r = deflate(&k->z, flush);
		if (r == Z_STREAM_ERROR) {
			k->err = "deflate failed";
			errno = EINVAL;
			return -1;
		}
		have = ZOUT_BUF_SIZE - k->z.avail_out;
		if (have > 0 && fsio_write_all(k->fd, k->zout, have) == -1) {
			k->err = syserr(k, "write");
			return -1;
		}
	} while (k->z.avail_out == 0 || (flush == Z_FINISH && r != Z_STREAM_END));
	return 0;
}

/* Into memory: a line's bytes past line_max are left out. */
static void
mem_add(struct sink *k, const char *p, size_t n)
{
	const char *nl;
	size_t take, seg;

	if (k->mtaken > 0) {
		memmove(k->m, k->m + k->mtaken, k->mlen - k->mtaken);
		k->mlen -= k->mtaken;
		k->mtaken = 0;
	}
	while (n > 0) {
		nl = memchr(p, '\n', n);
		seg = nl != NULL ? (size_t)(nl - p) + 1 : n;
		take = seg;
		if (k->line_len + (nl != NULL ? seg - 1 : seg) > k->line_max)
			take = k->line_len >= k->line_max ? 0 :
			    k->line_max - k->line_len;
		if (k->mlen + take + 1 > k->mcap) {
			while (k->mlen + take + 1 > k->mcap)
				k->mcap = k->mcap ? k->mcap * 2 : 64 * 1024;
			k->m = xreallocarray(k->m, 1, k->mcap);
		}
		memcpy(k->m + k->mlen, p, take);
		k->mlen += take;
		if (nl != NULL) {
			if (take < seg)
				k->m[k->mlen++] = '\n';
			k->line_len = 0;
		} else
			k->line_len += take;
		p += seg;
		n -= seg;
	}
}

/* Hand p[0..n) on: the file, or deflate. */
static int
pass(struct sink *k, const char *p, size_t n)
{
	if (k->mem) {
		mem_add(k, p, n);
		return 0;
	}
	if (!k->gzip) {
		if (fsio_write_all(k->fd, p, n) == -1) {
			k->err = syserr(k, "write");
			return -1;
		}
		return 0;
	}
	k->z.next_in = (const Bytef *)p;
	k->z.avail_in = (uInt)n;
	return deflate_out(k, Z_NO_FLUSH);
}

static int
flush_buf(struct sink *k)
{
	size_t n = k->olen;

	k->olen = 0;
	return n == 0 ? 0 : pass(k, k->out, n);
}

/* pgzip's result, its words as the sink's. */
static int
pz_status(struct sink *k, int rc)
{
	if (rc == -1)
		k->err = pgzip_error(k->pz);
	return rc;
}

int
sink_write(struct sink *k, const char *p, size_t n)
{
	if (k->mem && k->line_max == SIZE_MAX) {
		/* nothing is cut: straight into memory, no staging copy */
		if (k->mlen + n > k->mcap) {
			while (k->mlen + n > k->mcap)
				k->mcap = k->mcap ? k->mcap * 2 : 64 * 1024;
			k->m = xreallocarray(k->m, 1, k->mcap);
		}
		memcpy(k->m + k->mlen, p, n);
		k->mlen += n;
		return 0;
	}
	if (k->pz != NULL)
		return pz_status(k, pgzip_write(k->pz, p, n));
	if (n <= OUT_BUF_SIZE - k->olen) {
		memcpy(k->out + k->olen, p, n);
		k->olen += n;
		return 0;
	}
	if (flush_buf(k) == -1)
		return -1;
	if (n >= OUT_BUF_SIZE)
		return pass(k, p, n);
	memcpy(k->out, p, n);
	k->olen = n;
	return 0;
}

int
sink_line_end(struct sink *k)
{
	return k->line_flush ? flush_buf(k) : 0;
}

int
sink_finish(struct sink *k)
{
	if (k->pz != NULL)
		return pz_status(k, pgzip_finish(k->pz));
	if (flush_buf(k) == -1)
		return -1;
	if (!k->gzip)
		return 0;
	k->z.next_in = NULL;
	k->z.avail_in = 0;
	return deflate_out(k, Z_FINISH);
}
