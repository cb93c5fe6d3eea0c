/*
 * Fuzz the gzip reader (source.c): the input is a file.  The reader
 * runs over a pipe-like memfd and its result is compared with zlib's
 * inflate over the whole buffer at once, as zcat reads a file: members
 * one after another, then only NUL padding.  Both must agree on whether
 * the file is good, a good file must give the same bytes, a bad one at
 * least the same bytes up to where either stopped; a file without the
 * gzip magic comes out as it went in.
 */
#include <sys/mman.h>

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <zlib.h>

#include "lethe.h"

int	LLVMFuzzerTestOneInput(const uint8_t *, size_t);

#define OUT_MAX	(64u << 20)	/* a bomb is cut here, and not compared */

static void
fail(int line, const char *what)
{
	fprintf(stderr, "%s:%d: check failed: %s\n", __FILE__, line, what);
	abort();
}

#define check(c)	((c) ? (void)0 : fail(__LINE__, #c))

struct buf {
	unsigned char	*p;
	size_t		 len;
	size_t		 cap;
};

static void
put(struct buf *b, const void *p, size_t n)
{
	if (n == 0)
		return;
	if (b->len + n > b->cap) {
		b->cap = (b->len + n) * 2;
		b->p = realloc(b->p, b->cap);
		check(b->p != NULL);
	}
	memcpy(b->p + b->len, p, n);
	b->len += n;
}

/* zlib over the whole buffer: 1 good, 0 bad, -1 too big to compare. */
static int
oracle(const uint8_t *in, size_t n, struct buf *out)
{
	unsigned char chunk[65536];
	z_stream z;
	size_t at = 0;
	int r, good = 0;

	memset(&z, 0, sizeof(z));
	check(inflateInit2(&z, 16 + MAX_WBITS) == Z_OK);
	z.next_in = (unsigned char *)(uintptr_t)in;
	z.avail_in = (uInt)n;
	for (;;) {
		z.next_out = chunk;
		z.avail_out = sizeof(chunk);
		r = inflate(&z, Z_NO_FLUSH);
		put(out, chunk, sizeof(chunk) - z.avail_out);
		if (out->len > OUT_MAX) {
			good = -1;
			break;
		}
		if (r == Z_OK)
			continue;
		if (r != Z_STREAM_END)
			break;		/* corrupt, or cut short */
		at = n - z.avail_in;
		while (at < n && in[at] == 0)
			at++;
		if (at == n) {
			good = 1;
			break;
		}
		if (at != n - z.avail_in)
			break;		/* data after the padding */
		check(inflateReset(&z) == Z_OK);
	}
	inflateEnd(&z);
	return good;
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct buf want = { NULL, 0, 0 }, got = { NULL, 0, 0 };
	struct source *s;
	const char *p;
	ssize_t n;
	size_t m;
	int fd, good, ok = 0, gz;

	fd = memfd_create("fuzz_gzip", 0);
	check(fd != -1);
	check(write(fd, data, size) == (ssize_t)size);
	check(lseek(fd, 0, SEEK_SET) == 0);
	s = source_new(fd, 1);
	for (;;) {
		if ((n = source_next(s, &p)) <= 0) {
			ok = n == 0;
			break;
		}
		put(&got, p, (size_t)n);
		if (got.len > OUT_MAX)
			break;
	}
	gz = source_gzip(s);
	check(source_raw(s) <= size);
	source_free(s);
	close(fd);
	check(gz == (size >= 2 && data[0] == 0x1f && data[1] == 0x8b));
	if (!gz) {
		check(ok && got.len == size &&
		    (size == 0 || memcmp(got.p, data, size) == 0));
	} else if ((good = oracle(data, size, &want)) != -1 &&
	    got.len <= OUT_MAX) {
		check(ok == good);
		if (good)
			check(got.len == want.len &&
			    memcmp(got.p, want.p, got.len) == 0);
		m = got.len < want.len ? got.len : want.len;
		check(m == 0 || memcmp(got.p, want.p, m) == 0);
	}
	free(want.p);
	free(got.p);
	return 0;
}
