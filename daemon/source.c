/*
 * Sources: the bytes of a file, plain or gzip (by its magic bytes),
 * inflated a buffer at a time in constant memory.  Members follow each
 * other as `cat a.gz b.gz` leaves them; NUL bytes after the last member
 * are padding (tape and some tools write it; zcat takes it); anything
 * else after a member, or a member cut short, is an error that says so.
 *
 * Ahead (source_set_ahead): a gzip file is inflated on a thread of its
 * own into a ring of buffers while the caller masks the buffer before,
 * so a rewrite's inflate, mask and deflate run at once.  The caller sees
 * the same buffers, the same end and the same error, only sooner.
 */
#define ZLIB_CONST

#include <errno.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <zlib.h>

#include "lethe.h"

#define IN_BUF_SIZE	(256 * 1024)	/* raw input */
#define DEC_BUF_SIZE	(256 * 1024)	/* inflated input */
#define AHEAD_SLOTS	4		/* inflated buffers on the way */

/* The inflating thread's ring: it fills slots, the caller empties them. */
struct ahead {
	pthread_t	 th;
	pthread_mutex_t	 mu;
	pthread_cond_t	 cv;		/* a slot filled or emptied, or stop */
	unsigned char	*buf[AHEAD_SLOTS];
	size_t		 len[AHEAD_SLOTS];
	int		 head;		/* next slot to fill */
	int		 count;		/* slots filled, the caller's included */
	int		 held;		/* the caller holds the slot at tail */
	int		 tail;
	int		 done;		/* the thread has its last result */
	int		 stop;		/* the caller wants no more */
	ssize_t		 last;		/* 0 at the end, -1 on an error */
	int		 last_errno;
	unsigned char	*own_dec;	/* the source's buffer, given back */
};

static void
ahead_free(struct ahead *a)
{
	int i;

	for (i = 0; i < AHEAD_SLOTS; i++)
		free(a->buf[i]);
	pthread_mutex_destroy(&a->mu);
	pthread_cond_destroy(&a->cv);
	free(a);
}

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
	int		 want_ahead;
	struct ahead	*ahead;		/* running, when not NULL */
	int		 stopped;	/* source_stop: no more bytes */
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
	source_stop(s);
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

void
source_set_ahead(struct source *s, int on)
{
	struct stat sb;

	/* A regular file only: a pipe's read may block past source_stop. */
	s->want_ahead = on && fstat(s->fd, &sb) == 0 && S_ISREG(sb.st_mode);
}

static void *
ahead_main(void *arg)
{
	struct source *s = arg;
	struct ahead *a = s->ahead;
	const char *p;
	ssize_t n;
	int slot;

	for (;;) {
		pthread_mutex_lock(&a->mu);
		while (a->count == AHEAD_SLOTS && !a->stop)
			pthread_cond_wait(&a->cv, &a->mu);
		if (a->stop) {
			pthread_mutex_unlock(&a->mu);
			break;
		}
		slot = a->head;
		pthread_mutex_unlock(&a->mu);
		s->dec = a->buf[slot];		/* not the caller's: count */
		n = inflated(s, &p);
		pthread_mutex_lock(&a->mu);
		if (n <= 0) {
			a->done = 1;
			a->last = n;
			a->last_errno = errno;
		} else {
			a->len[slot] = (size_t)n;
			a->head = (slot + 1) % AHEAD_SLOTS;
			a->count++;
		}
		pthread_cond_broadcast(&a->cv);
		pthread_mutex_unlock(&a->mu);
		if (n <= 0)
			break;
	}
	return NULL;
}

/* The ring and its thread; on any failure the caller inflates itself. */
static void
ahead_start(struct source *s)
{
	struct ahead *a = xcalloc(1, sizeof(*a));
	sigset_t all, old;
	int i, r;

	s->want_ahead = 0;
	for (i = 0; i < AHEAD_SLOTS; i++)
		a->buf[i] = xmalloc(DEC_BUF_SIZE);
	a->own_dec = s->dec;
	pthread_mutex_init(&a->mu, NULL);
	pthread_cond_init(&a->cv, NULL);
	s->ahead = a;
	/* signals are the main thread's business, as for pgzip's workers */
	sigfillset(&all);
	pthread_sigmask(SIG_BLOCK, &all, &old);
	r = pthread_create(&a->th, NULL, ahead_main, s);
	pthread_sigmask(SIG_SETMASK, &old, NULL);
	if (r != 0) {
		s->ahead = NULL;
		ahead_free(a);
	}
}

static ssize_t
ahead_next(struct source *s, const char **buf)
{
	struct ahead *a = s->ahead;
	ssize_t n;

	pthread_mutex_lock(&a->mu);
	if (a->held) {
		a->held = 0;
		a->tail = (a->tail + 1) % AHEAD_SLOTS;
		a->count--;
		pthread_cond_broadcast(&a->cv);
	}
	while (a->count == 0 && !a->done)
		pthread_cond_wait(&a->cv, &a->mu);
	if (a->count > 0) {
		a->held = 1;
		*buf = (const char *)a->buf[a->tail];
		n = (ssize_t)a->len[a->tail];
	} else {
		n = a->last;
		errno = a->last_errno;
	}
	pthread_mutex_unlock(&a->mu);
	return n;
}

void
source_stop(struct source *s)
{
	struct ahead *a = s->ahead;

	s->want_ahead = 0;
	if (a == NULL)
		return;
	pthread_mutex_lock(&a->mu);
	a->stop = 1;
	pthread_cond_broadcast(&a->cv);
	pthread_mutex_unlock(&a->mu);
	(void)pthread_join(a->th, NULL);
	s->dec = a->own_dec;
	s->ahead = NULL;
	s->stopped = 1;
	ahead_free(a);
}

ssize_t
source_next(struct source *s, const char **buf)
{
	size_t n;

	if (s->stopped)
		return 0;
	if (s->detect && detect(s) == -1)
		return -1;
	if (s->want_ahead && s->gzip && s->tap == NULL)
		ahead_start(s);
	if (s->ahead != NULL)
		return ahead_next(s, buf);
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
