/*
 * Unit tests of sink.c's gzip on threads (pgzip.c): what it writes
 * inflates back to the input, is the same file for any number of threads
 * and however the input was cut into writes, carries the header zlib
 * writes, costs little in size, and fails as the single stream does.
 * Files are memfds.
 */
#include <sys/mman.h>

#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <time.h>
#include <zlib.h>

#include "lethe.h"
#include "t.h"

#define B	PGZIP_BLOCK

struct buf {
	unsigned char	*p;
	size_t		 len;
};

static const int nthreads[] = { 1, 2, 3, 8 };
#define NTHREADS	(sizeof(nthreads) / sizeof(nthreads[0]))

static uint64_t rng = 88172645463325252ULL;

static uint64_t
rnd(void)
{
	rng ^= rng << 13;
	rng ^= rng >> 7;
	rng ^= rng << 17;
	return rng;
}

/* n bytes of nginx-like lines: a few paths and agents, many addresses. */
static void
gen_lines(unsigned char *p, size_t n)
{
	static const char *paths[] = { "/", "/index.html", "/wp-login.php",
	    "/images/a.png", "/api/v1/items?id=" };
	static const char *agents[] = { "curl/8.0", "Mozilla/5.0 (X11)",
	    "Wget/1.21.3" };
	char line[256];
	size_t off = 0, k;
	uint64_t r;
	int len;

	while (off < n) {
		r = rnd();
		len = snprintf(line, sizeof(line), "%u.%u.%u.%u - - "
		    "[01/Nov/2026:00:%02u:%02u +0000] \"GET %s%u HTTP/1.1\" "
		    "%u %u \"-\" \"%s\"\n", (unsigned)(r & 0xff),
		    (unsigned)(r >> 8 & 0xff), (unsigned)(r >> 16 & 0xff),
		    (unsigned)(r >> 24 & 0xff), (unsigned)(r >> 32) % 60,
		    (unsigned)(r >> 38) % 60, paths[(r >> 44) % 5],
		    (unsigned)(r >> 47) % 1000, r >> 57 ? 200u : 404u,
		    (unsigned)(r >> 20) % 100000, agents[(r >> 60) % 3]);
		k = n - off < (size_t)len ? n - off : (size_t)len;
		memcpy(p + off, line, k);
		off += k;
	}
}

static void
gen_random(unsigned char *p, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++)
		p[i] = (unsigned char)(rnd() >> 56);
}

/* Lines with stretches of random bytes between them. */
static struct buf
gen_mixed(size_t n)
{
	struct buf b = { malloc(n ? n : 1), n };
	size_t off = 0, k;
	int random = 0;

	while (off < n) {
		k = random ? 100 * 1024 + rnd() % 4096 : 900 * 1024 +
		    rnd() % 65536;
		if (k > n - off)
			k = n - off;
		(random ? gen_random : gen_lines)(b.p + off, k);
		off += k;
		random = !random;
	}
	return b;
}

/* One line of n bytes (a newline at the end). */
static struct buf
gen_one_line(size_t n)
{
	struct buf b = { malloc(n), n };
	size_t i;

	for (i = 0; i + 1 < n; i++)
		b.p[i] = (unsigned char)("abcdefgh"[rnd() % 8]);
	b.p[n - 1] = '\n';
	return b;
}

/* What fd holds, from the start. */
static struct buf
slurp(int fd)
{
	struct buf b;
	off_t end = lseek(fd, 0, SEEK_END);

	b.len = (size_t)end;
	b.p = malloc(b.len ? b.len : 1);
	T_ASSERT(pread(fd, b.p, b.len, 0) == (ssize_t)b.len);
	return b;
}

/*
 * data through a gzip sink on n threads; piece: the size of each write
 * (0: all at once; else 1, 7 and piece bytes in turn).
 */
static struct buf
deflate_sink(const struct buf *data, int n, size_t piece)
{
	const size_t cycle[3] = { 1, 7, piece };
	struct sink *k;
	struct buf out;
	size_t off = 0, len;
	int fd, i = 0;

	fd = memfd_create("test_sink", 0);
	T_ASSERT(fd != -1);
	k = sink_fd_new(fd, 1, 0);
	sink_set_threads(k, n);
	while (off < data->len) {
		len = piece == 0 ? data->len - off : cycle[i++ % 3];
		if (len > data->len - off)
			len = data->len - off;
		T_EQ_INT(sink_write(k, (const char *)data->p + off, len), 0);
		off += len;
	}
	T_EQ_INT(sink_finish(k), 0);
	sink_free(k);
	out = slurp(fd);
	close(fd);
	return out;
}

/* One gzip member that is all of gz, inflated: is it data? */
static int
inflates_to(const struct buf *gz, const struct buf *data)
{
	unsigned char *out = malloc(data->len + 1);
	z_stream z;
	int r, ok;

	memset(&z, 0, sizeof(z));
	if (inflateInit2(&z, 15 + 16) != Z_OK)
		abort();
	z.next_in = gz->p;
	z.avail_in = (uInt)gz->len;
	z.next_out = out;
	z.avail_out = (uInt)data->len + 1;	/* one more: none must come */
	r = inflate(&z, Z_FINISH);
	ok = r == Z_STREAM_END && z.avail_in == 0 &&
	    z.total_out == data->len &&
	    (data->len == 0 || memcmp(out, data->p, data->len) == 0);
	if (!ok)
		fprintf(stderr, "inflate: %d, %u bytes left, %lu of %zu out\n",
		    r, z.avail_in, z.total_out, data->len);
	inflateEnd(&z);
	free(out);
	return ok;
}

/* The header: FCOMMENT "lethe", no MTIME, XFL 0, OS 3, as zlib has it. */
static void
check_header(const struct buf *gz)
{
	static const unsigned char want[] = { 0x1f, 0x8b, 8, 0x10, 0, 0, 0,
	    0, 0, 3, 'l', 'e', 't', 'h', 'e', 0 };

	T_ASSERT(gz->len >= sizeof(want) + 8);
	T_ASSERT(memcmp(gz->p, want, sizeof(want)) == 0);
}

static int
same(const struct buf *a, const struct buf *b)
{
	return a->len == b->len && memcmp(a->p, b->p, a->len) == 0;
}

/*
 * data on every thread count: each inflates back with the right header,
 * every n >= 2 gives the bytes n = 2 gives; their sizes into size[].
 */
static void
check_all(const struct buf *data, size_t piece, size_t *size)
{
	struct buf gz[NTHREADS];
	size_t i;

	for (i = 0; i < NTHREADS; i++) {
		gz[i] = deflate_sink(data, nthreads[i], piece);
		T_ASSERT(inflates_to(&gz[i], data));
		check_header(&gz[i]);
		if (i > 1 && !same(&gz[i], &gz[1]))
			fprintf(stderr, "%zu bytes: n=%d differs from n=2\n",
			    data->len, nthreads[i]);
		T_ASSERT(i <= 1 || same(&gz[i], &gz[1]));
		if (size != NULL)
			size[i] = gz[i].len;
	}
	for (i = 0; i < NTHREADS; i++)
		free(gz[i].p);
}

/* 0 and 1 byte, one block and either side of it, a few blocks. */
static void
test_sizes(void)
{
	const size_t sizes[] = { 0, 1, B - 1, B, B + 1, 2 * B, 2 * B + 1,
	    5 * B - 3 };
	struct buf data;
	size_t i;

	for (i = 0; i < sizeof(sizes) / sizeof(sizes[0]); i++) {
		data = gen_mixed(sizes[i]);
		check_all(&data, 0, NULL);
		free(data.p);
	}
}

/* Writes of 1, 7 and 300 KiB bytes across the cuts: the same file. */
static void
test_pieces(void)
{
	struct buf data = gen_mixed(3 * B + 12345), whole, cut;
	int n;

	whole = deflate_sink(&data, 2, 0);
	for (n = 2; n <= 8; n += 6) {
		cut = deflate_sink(&data, n, 300 * 1024);
		T_ASSERT(inflates_to(&cut, &data));
		T_ASSERT(same(&cut, &whole));
		free(cut.p);
	}
	cut = deflate_sink(&data, 1, 300 * 1024);
	T_ASSERT(inflates_to(&cut, &data));
	free(cut.p);
	free(whole.p);
	free(data.p);
}

/* Several MB of lines and random stretches: the size next to n = 1. */
static void
test_big(void)
{
	struct buf data = gen_mixed(9 * 1024 * 1024 + 333);
	size_t size[NTHREADS];
	double over;

	check_all(&data, 0, size);
	over = 100.0 * ((double)size[1] - (double)size[0]) / (double)size[0];
	printf("big: %zu bytes in, %zu out on 1 thread, %zu on 2: %+.3f%%\n",
	    data.len, size[0], size[1], over);
	T_ASSERT(over < 2.0);
	free(data.p);
}

/* One line of 3 MB. */
static void
test_long_line(void)
{
	struct buf data = gen_one_line(3 * 1024 * 1024);

	check_all(&data, 0, NULL);
	check_all(&data, 300 * 1024, NULL);
	free(data.p);
}

/* A disk that is full: -1, ENOSPC, words that say write, no leak. */
static void
full_case(size_t len, int n)
{
	struct buf data = gen_mixed(len);
	struct sink *k;
	size_t off;
	int fd, rc = 0;

	if ((fd = open("/dev/full", O_WRONLY)) == -1) {
		fprintf(stderr, "/dev/full: %s (not tested)\n",
		    strerror(errno));
		free(data.p);
		return;
	}
	k = sink_fd_new(fd, 1, 0);
	sink_set_threads(k, n);
	for (off = 0; off < data.len && rc == 0; off += 64 * 1024)
		rc = sink_write(k, (const char *)data.p + off,
		    data.len - off < 64 * 1024 ? data.len - off : 64 * 1024);
	if (rc == 0)
		rc = sink_finish(k);
	T_EQ_INT(rc, -1);
	T_EQ_INT(errno, ENOSPC);
	T_ASSERT(strncmp(sink_error(k), "write: ", 7) == 0);
	/* and again: the stream is broken for good */
	T_EQ_INT(sink_write(k, "x", 1) == -1 || sink_finish(k) == -1, 1);
	sink_free(k);
	close(fd);
	free(data.p);
}

static void
test_full(void)
{
	full_case(0, 1);
	full_case(0, 2);
	full_case(5 * 1024 * 1024, 1);
	full_case(5 * 1024 * 1024, 2);
	full_case(5 * 1024 * 1024, 8);
}

/* Given up half way: the threads go, with the buffers. */
static void
test_abandon(void)
{
	struct buf data = gen_mixed(4 * 1024 * 1024);
	struct sink *k;
	int fd, base = t_threads();	/* a sanitizer may have its own */

	fd = memfd_create("test_sink", 0);
	k = sink_fd_new(fd, 1, 0);
	sink_set_threads(k, 8);
	T_EQ_INT(t_threads(), base);	/* each started when a block waits */
	T_EQ_INT(sink_write(k, (const char *)data.p, data.len), 0);
	T_ASSERT(t_threads() > base && t_threads() <= base + 8);
	sink_free(k);
	T_EQ_INT(t_threads(), base);
	k = sink_fd_new(fd, 1, 0);
	sink_set_threads(k, 2);
	sink_free(k);		/* never written */
	close(fd);
	free(data.p);
}

/* A plain sink with threads is the plain sink. */
static void
test_plain(void)
{
	struct buf data = gen_mixed(B + 5), got;
	struct sink *k;
	int fd;

	fd = memfd_create("test_sink", 0);
	k = sink_fd_new(fd, 0, 0);
	sink_set_threads(k, 4);
	T_EQ_INT(sink_write(k, (const char *)data.p, data.len), 0);
	T_EQ_INT(sink_finish(k), 0);
	sink_free(k);
	got = slurp(fd);
	T_ASSERT(same(&got, &data));
	close(fd);
	free(got.p);
	free(data.p);
}

static double
now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/*
 * Not a case: "test_sink speed FILE [N]" deflates FILE on 1 and on N
 * threads (2 by default) into a memfd and prints MB/s and sizes.
 */
static int
speed(const char *path, int n)
{
	struct buf data, gz;
	double t0, t1, t2;
	size_t s1;
	FILE *f;
	long len;

	if ((f = fopen(path, "rb")) == NULL || fseek(f, 0, SEEK_END) != 0 ||
	    (len = ftell(f)) < 0 || fseek(f, 0, SEEK_SET) != 0)
		return 1;
	data.len = (size_t)len;
	data.p = malloc(data.len ? data.len : 1);
	if (fread(data.p, 1, data.len, f) != data.len)
		return 1;
	fclose(f);
	t0 = now_s();
	gz = deflate_sink(&data, 1, 0);
	s1 = gz.len;
	free(gz.p);
	t1 = now_s();
	gz = deflate_sink(&data, n, 0);
	t2 = now_s();
	printf("%zu bytes: 1 thread %.2f s %.1f MB/s %zu bytes; %d threads "
	    "%.2f s %.1f MB/s %zu bytes (%+.3f%%), %.2fx\n", data.len,
	    t1 - t0, (double)data.len / 1e6 / (t1 - t0), s1, n, t2 - t1,
	    (double)data.len / 1e6 / (t2 - t1), gz.len,
	    100.0 * ((double)gz.len - (double)s1) / (double)s1,
	    (t1 - t0) / (t2 - t1));
	free(gz.p);
	free(data.p);
	return 0;
}

static const struct t_case cases[] = {
	{ "sizes", test_sizes },
	{ "pieces", test_pieces },
	{ "big", test_big },
	{ "long_line", test_long_line },
	{ "full", test_full },
	{ "abandon", test_abandon },
	{ "plain", test_plain },
	{ NULL, NULL }
};

int
main(int argc, char **argv)
{
	log_init(0);
	if (argc > 2 && strcmp(argv[1], "speed") == 0)
		return speed(argv[2], argc > 3 ? atoi(argv[3]) : 2);
	return t_main(cases, argc, argv);
}
