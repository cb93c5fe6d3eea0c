/*
 * Sources: the bytes of a file, plain or gzip (by its magic bytes),
 * inflated a buffer at a time in constant memory.  Members follow each
 * other as `cat a.gz b.gz` leaves them; NUL bytes after the last member
 * are padding (tape and some tools write it; zcat takes it); anything
 * else after a member, or a member cut short, is an error that says so.
 */
#define ZLIB_CONST

#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <zlib.h>

#include "lethe.h"

#define IN_BUF_SIZE	(256 * 1024)	/* raw input */
#define DEC_BUF_SIZE	(256 * 1024)	/* inflated input */

struct source {
	int		 fd;
	int		 detect;	/* look for the gzip magic first */
	int		 eof;
	int		 gzip;
	unsigned char	*in;
	size_t		 inlen;		/* plain: bytes of the first read */
	uint64_t	 raw;		/* bytes read from fd */
	void		(*tap)(void *, const void *, size_t);
	void		*tap_arg;
	z_stream	 z;
	int		 z_live;
	int		 member_end;	/* inflate finished a gzip member */
	int		 zero_pad;	/* NUL bytes after the last member */
	unsigned char	*dec;
	const char	*err;
	char		 errbuf[160];
};

static const char *
syserr(struct source *s, const char *what)
{
	int saved = errno;

	(void)snprintf(s->errbuf, sizeof(s->errbuf), "%s: %s", what,
	    strerror(saved));
	errno = saved;
	return s->errbuf;
}

struct source *
source_new(int fd, int detect)
{
	struct source *s = xcalloc(1, sizeof(*s));

	s->fd = fd;
	s->detect = detect;
	s->in = xmalloc(IN_BUF_SIZE);
	return s;
}

void
source_free(struct source *s)
{
	int saved = errno;

	if (s == NULL)
		return;
	if (s->z_live)
		(void)inflateEnd(&s->z);
	free(s->in);
	free(s->dec);
	free(s);
	errno = saved;
}

int
source_gzip(const struct source *s)
{
	return s->gzip;
}

uint64_t
source_raw(const struct source *s)
{
	return s->raw;
}

const char *
source_error(const struct source *s)
{
	return s->err != NULL ? s->err : "read failed";
}

void
source_tap(struct source *s, void (*fn)(void *, const void *, size_t),
    void *arg)
{
	s->tap = fn;
	s->tap_arg = arg;
}

/* read(), waiting when fd is non-blocking and empty. */
static ssize_t
rd(struct source *s, void *buf, size_t len)
{
	struct pollfd pfd;
	ssize_t n;

	for (;;) {
		if ((n = fsio_read(s->fd, buf, len)) != -1) {
			s->raw += (uint64_t)n;
			if (s->tap != NULL && n > 0)
				s->tap(s->tap_arg, buf, (size_t)n);
			return n;
		}
		if (errno != EAGAIN)
			break;
		pfd.fd = s->fd;
		pfd.events = POLLIN;
		if (poll(&pfd, 1, -1) == -1 && errno != EINTR)
			break;
	}
	s->err = syserr(s, "read");
	return -1;
}

static int
gzip_start(struct source *s)
{
	if (inflateInit2(&s->z, 16 + MAX_WBITS) != Z_OK) {
		s->err = "inflate: cannot initialise";
		errno = ENOMEM;
		return -1;
	}
	s->z_live = 1;
	s->z.next_in = s->in;
	s->z.avail_in = (uInt)s->inlen;
	s->inlen = 0;
	s->dec = xmalloc(DEC_BUF_SIZE);
	s->gzip = 1;
	return 0;
}

/* First read: enough bytes to see the gzip magic, then pick a decoder. */
static int
detect(struct source *s)
{
	ssize_t n;

	s->detect = 0;
	while (s->inlen < 2) {
		if ((n = rd(s, s->in + s->inlen, IN_BUF_SIZE - s->inlen)) == -1)
			return -1;
		if (n == 0) {
			s->eof = 1;
			break;
		}
		s->inlen += (size_t)n;
	}
	if (s->inlen >= 2 && s->in[0] == 0x1f && s->in[1] == 0x8b)
		return gzip_start(s);
	return 0;
}

static int
inflate_err(struct source *s, int r)
{
	if (r == Z_MEM_ERROR) {
		s->err = "inflate: out of memory";
		errno = ENOMEM;
	} else {
		s->err = s->zero_pad ? "data after the NUL padding of a gzip "
		    "file" : "corrupt gzip";
		errno = EINVAL;
	}
	return -1;
}

/* After a member: NUL padding to the end, or the next member. */
static int
member_next(struct source *s)
{
	while (s->z.avail_in > 0 && *s->z.next_in == 0) {
		s->z.next_in++;
		s->z.avail_in--;
		s->zero_pad = 1;
	}
	if (s->z.avail_in == 0)
		return s->eof ? 0 : 1;
	if (s->zero_pad)
		return inflate_err(s, Z_DATA_ERROR);
	if (inflateReset(&s->z) != Z_OK)
		return inflate_err(s, Z_STREAM_ERROR);
	s->member_end = 0;
	return 1;
}

static ssize_t
inflated(struct source *s, const char **buf)
{
	ssize_t n;
	size_t got;
	int r;

	*buf = (const char *)s->dec;
	for (;;) {
		if (s->z.avail_in == 0 && !s->eof) {
			if ((n = rd(s, s->in, IN_BUF_SIZE)) == -1)
				return -1;
			s->eof = n == 0;
			s->z.next_in = s->in;
			s->z.avail_in = (uInt)n;
		}
		if (s->member_end) {
			if ((r = member_next(s)) <= 0)
				return r;
			if (s->member_end)
				continue;	/* more input to look at */
		}
		s->z.next_out = s->dec;
		s->z.avail_out = DEC_BUF_SIZE;
		r = inflate(&s->z, Z_NO_FLUSH);
		if (r == Z_STREAM_END)
			s->member_end = 1;
		else if (r != Z_OK && (r != Z_BUF_ERROR ||
		    s->z.avail_in > 0))	/* no progress: never loop */
			return inflate_err(s, r);
		got = DEC_BUF_SIZE - s->z.avail_out;
		if (got > 0)
			return (ssize_t)got;
		if (!s->member_end && s->z.avail_in == 0 && s->eof) {
			s->err = "truncated gzip";
			errno = EINVAL;
			return -1;
		}
	}
}

ssize_t
source_next(struct source *s, const char **buf)
{
	size_t n;

	if (s->detect && detect(s) == -1)
		return -1;
	if (s->gzip)
		return inflated(s, buf);
	*buf = (const char *)s->in;
	if (s->inlen > 0) {
		n = s->inlen;
		s->inlen = 0;
		return (ssize_t)n;
	}
	if (s->eof)
		return 0;
	return rd(s, s->in, IN_BUF_SIZE);
}
