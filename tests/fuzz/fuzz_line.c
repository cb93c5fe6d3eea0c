/*
 * Fuzz the line engine (the line splitter and all it drives): byte 0
 * picks the format (formats.h), byte 1 seeds the chunk sizes, the rest
 * is a file.  Checks:
 *  - without a transform every byte comes out as it went in;
 *  - masking every line gives the same bytes and the same counts whether
 *    the file is fed whole or in chunks of any size;
 *  - masking keeps every newline, and masking its own output again
 *    changes nothing and finds no full address;
 *  - the line count is the number of newlines, plus one for a last line
 *    without one.
 */
#include <sys/mman.h>

#include <unistd.h>

#include "formats.h"

int	LLVMFuzzerTestOneInput(const uint8_t *, size_t);

#define NOW	1795924800	/* 2026-11-29T00:00:00Z */
#define DAY	86400

static void
fail(int line, const char *what)
{
	fprintf(stderr, "%s:%d: check failed: %s\n", __FILE__, line, what);
	abort();
}

#define check(c)	((c) ? (void)0 : fail(__LINE__, #c))

struct out {
	char	*p;
	size_t	 len;
};

/*
 * Run p[0..n) through the engine into o; chunks: 0 whole, else the seed
 * of chunk sizes 1..64.  mask: truncate every line.
 */
static void
run(struct format *f, const char *p, size_t n, unsigned chunks, int mask,
    struct out *o, struct line_stats *st)
{
	struct xform_truncate xt = { INT64_MAX, NULL, 0 };
	struct xform x = { &xform_truncate_ops, &xt };
	struct line_opts lo;
	struct line_engine *e;
	struct sink *k;
	size_t at = 0, c;
	unsigned r = chunks * 2654435761u + 1;
	off_t end;
	int fd;

	fd = memfd_create("fuzz_line", 0);
	check(fd != -1);
	k = sink_fd_new(fd, 0, 0);
	memset(&lo, 0, sizeof(lo));
	lo.format = f;
	lo.fstate = format_state_new(f);
	lo.xform = mask ? &x : NULL;
	lo.sink = k;
	lo.now = NOW;
	lo.start_time = NOW - 10 * DAY;
	lo.audit_before = NOW - 7 * DAY;
	lo.ref = NOW;
	line_stats_init(st);
	e = line_new(&lo, st);
	while (at < n) {
		if (chunks == 0)
			c = n;
		else {
			r = r * 1103515245u + 12345u;
			c = 1 + (r >> 16) % 64;
		}
		if (c > n - at)
			c = n - at;
		check(line_feed(e, p + at, c) == 0);
		at += c;
	}
	check(line_finish(e) == 0);
	check(sink_finish(k) == 0);
	line_free(e);
	sink_free(k);
	format_state_free(f, lo.fstate);
	end = lseek(fd, 0, SEEK_END);
	check(end >= 0);
	o->len = (size_t)end;
	o->p = malloc(o->len + 1);
	check(o->p != NULL);
	check(pread(fd, o->p, o->len, 0) == (ssize_t)o->len);
	close(fd);
}

/* The masked output and the output masked again, as DIR.1 and DIR.2. */
static void
dump(const char *prefix, const struct out *a, const struct out *b)
{
	char path[4096];
	FILE *f;

	(void)snprintf(path, sizeof(path), "%s.1", prefix);
	if ((f = fopen(path, "wb")) != NULL) {
		(void)fwrite(a->p, 1, a->len, f);
		fclose(f);
	}
	(void)snprintf(path, sizeof(path), "%s.2", prefix);
	if ((f = fopen(path, "wb")) != NULL) {
		(void)fwrite(b->p, 1, b->len, f);
		fclose(f);
	}
}

static size_t
newlines(const char *p, size_t n)
{
	size_t i, c = 0;

	for (i = 0; i < n; i++)
		c += p[i] == '\n';
	return c;
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct line_stats a, b, c, d;
	struct out oa, ob, oc, od;
	struct format *f;
	const char *p = (const char *)data + 2;
	size_t n;

	if (size < 2)
		return 0;
	f = fz_format(data[0] % fz_nformats());
	n = size - 2;
	run(f, p, n, 0, 0, &oa, &a);
	check(oa.len == n && memcmp(oa.p, p, n) == 0);
	check(a.lines == newlines(p, n) + (n > 0 && p[n - 1] != '\n'));
	run(f, p, n, 0, 1, &ob, &b);
	run(f, p, n, 1u + data[1], 1, &oc, &c);
	check(ob.len == oc.len && memcmp(ob.p, oc.p, ob.len) == 0);
	check(b.lines == c.lines && b.bad == c.bad &&
	    b.addrs_masked == c.addrs_masked && b.timed == c.timed);
	check(b.lines == a.lines && b.bad == a.bad);
	check(newlines(ob.p, ob.len) == newlines(p, n));
	run(f, ob.p, ob.len, 0, 1, &od, &d);
	if (getenv("FUZZ_LINE_DUMP") != NULL)	/* to see a failure */
		dump(getenv("FUZZ_LINE_DUMP"), &ob, &od);
	check(od.len == ob.len && memcmp(od.p, ob.p, ob.len) == 0);
	check(d.addrs_masked == 0);
	free(oa.p);
	free(ob.p);
	free(oc.p);
	free(od.p);
	return 0;
}
