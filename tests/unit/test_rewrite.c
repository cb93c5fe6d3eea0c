/*
 * Unit tests of rewrite.c and fsio.c: every case works in a fresh
 * directory under a mkdtemp() root, with the real format and addr code.
 */
#include <sys/types.h>
#include <sys/stat.h>
#include <sys/wait.h>

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdint.h>
#include <time.h>
#include <zlib.h>

#include "lethe.h"
#include "t.h"

#define T1	"28/Nov/2026:10:00:00 +0000"	/* 1795860000 */
#define T2	"29/Nov/2026:10:00:00 +0000"	/* 1795946400 */
#define T1_EPOCH	1795860000
#define T2_EPOCH	1795946400

static char	 root[64];
static char	 dir[PATH_MAX];
static int	 dfd = -1;
static int	 ncase;
static struct format *fmt;

static const char line_old[] =
    "203.0.113.7 - - [" T1 "] \"GET / HTTP/1.1\" 200 5 \"-\" \"ua\"\n";
static const char line_old_masked[] =
    "203.0.0.0 - - [" T1 "] \"GET / HTTP/1.1\" 200 5 \"-\" \"ua\"\n";
static const char line_new_[] =
    "198.51.100.23 - - [" T2 "] \"GET /x HTTP/1.1\" 404 9 \"-\" \"b\"\n";
static const char line_new_masked[] =
    "198.51.0.0 - - [" T2 "] \"GET /x HTTP/1.1\" 404 9 \"-\" \"b\"\n";

/* A fresh directory for one case; dfd opened on it. */
static void
setup(void)
{
	const char *why;

	if (dfd != -1)
		close(dfd);
	snprintf(dir, sizeof(dir), "%s/c%d", root, ncase++);
	if (mkdir(dir, 0755) == -1)
		abort();
	if ((dfd = fsio_opendir(dir, &why)) == -1) {
		fprintf(stderr, "opendir %s: %s\n", dir, why);
		abort();
	}
}

static void
put(const char *name, const void *p, size_t n)
{
	int fd;

	fd = openat(dfd, name, O_WRONLY | O_CREAT | O_TRUNC, 0644);
	T_ASSERT(fd != -1);
	T_ASSERT(fsio_write_all(fd, p, n) == 0);
	close(fd);
}

/* The whole file; *n its size; NULL if absent.  Caller frees. */
static char *
get(const char *name, size_t *n)
{
	struct stat st;
	char *p;
	int fd;

	if ((fd = openat(dfd, name, O_RDONLY)) == -1)
		return NULL;
	fstat(fd, &st);
	p = malloc((size_t)st.st_size + 1);
	*n = (size_t)read(fd, p, (size_t)st.st_size);
	p[*n] = '\0';
	close(fd);
	return p;
}

/* gzip p[0..n) as one member (appended to what the file holds). */
static void
put_gz(const char *name, const char *p, size_t n, int append)
{
	unsigned char out[1 << 16];
	z_stream z;
	int fd;

	memset(&z, 0, sizeof(z));
	T_ASSERT(deflateInit2(&z, 6, Z_DEFLATED, 31, 8,
	    Z_DEFAULT_STRATEGY) == Z_OK);
	fd = openat(dfd, name, O_WRONLY | O_CREAT |
	    (append ? O_APPEND : O_TRUNC), 0644);
	T_ASSERT(fd != -1);
	z.next_in = (unsigned char *)(uintptr_t)p;
	z.avail_in = (uInt)n;
	do {
		z.next_out = out;
		z.avail_out = sizeof(out);
		deflate(&z, Z_FINISH);
		fsio_write_all(fd, out, sizeof(out) - z.avail_out);
	} while (z.avail_out == 0);
	deflateEnd(&z);
	close(fd);
}

/* Inflate every member of a gzip file; *comment: first header's. */
static char *
get_gz(const char *name, size_t *n, char *comment, size_t csz)
{
	static unsigned char chunk[1 << 16];
	gz_header h;
	z_stream z;
	size_t cap = 1 << 16, rn;
	char *out, *in;
	int r;

	if ((in = get(name, &rn)) == NULL)
		return NULL;
	out = malloc(cap);
	*n = 0;
	memset(&z, 0, sizeof(z));
	memset(&h, 0, sizeof(h));
	comment[0] = '\0';
	h.comment = (unsigned char *)comment;
	h.comm_max = (uInt)csz;
	inflateInit2(&z, 31);
	inflateGetHeader(&z, &h);
	z.next_in = (unsigned char *)in;
	z.avail_in = (uInt)rn;
	for (;;) {
		z.next_out = chunk;
		z.avail_out = sizeof(chunk);
		r = inflate(&z, Z_NO_FLUSH);
		if (*n + sizeof(chunk) > cap)
			out = realloc(out, cap *= 2);
		memcpy(out + *n, chunk, sizeof(chunk) - z.avail_out);
		*n += sizeof(chunk) - z.avail_out;
		if (r == Z_STREAM_END && z.avail_in > 0)
			inflateReset(&z);
		else if (r != Z_OK)
			break;
	}
	T_ASSERT(r == Z_STREAM_END);
	inflateEnd(&z);
	free(in);
	return out;
}

static int
exists(const char *name)
{
	struct stat st;

	return fstatat(dfd, name, &st, AT_SYMLINK_NOFOLLOW) == 0;
}

/* Number of temp files left in the case directory. */
static int
ntemps(void)
{
	char cmd[PATH_MAX + 64];
	FILE *f;
	int n = -1;

	snprintf(cmd, sizeof(cmd), "ls -A '%s' | grep -c lethe-", dir);
	if ((f = popen(cmd, "r")) != NULL) {
		if (fscanf(f, "%d", &n) != 1)
			n = -1;
		pclose(f);
	}
	return n;
}

static void
opts_init(struct rewrite_opts *o, int64_t mask_before)
{
	memset(o, 0, sizeof(*o));
	o->format = fmt;
	o->mask_before = mask_before;
	o->now = TIME_NONE;
	o->start_time = TIME_NONE;
	o->audit_before = TIME_NONE;
}

static void
test_plain_mask(void)
{
	struct rewrite_opts o;
	struct rewrite_stats s;
	struct timespec ts[2];
	struct stat st;
	const char *err = NULL;
	char want[512], *got;
	size_t n;

	setup();
	snprintf(want, sizeof(want), "%s%s", line_old, line_new_);
	put("a.log", want, strlen(want));
	if (geteuid() == 0)
		T_ASSERT(fchownat(dfd, "a.log", 1234, 5678, 0) == 0);
	T_ASSERT(fchmodat(dfd, "a.log", 0640, 0) == 0);
	ts[0].tv_sec = ts[1].tv_sec = 1700000000;
	ts[0].tv_nsec = ts[1].tv_nsec = 0;
	T_ASSERT(utimensat(dfd, "a.log", ts, 0) == 0);
	opts_init(&o, T1_EPOCH + 3600);
	o.audit_before = T2_EPOCH + 1;
	T_EQ_INT(rewrite_file(dfd, "a.log", NULL, NULL, &o, &s, &err), 0);
	snprintf(want, sizeof(want), "%s%s", line_old_masked, line_new_);
	got = get("a.log", &n);
	T_EQ_STR(got, want);
	free(got);
	T_ASSERT(fstatat(dfd, "a.log", &st, 0) == 0);
	if (geteuid() == 0) {
		T_EQ_INT(st.st_uid, 1234);
		T_EQ_INT(st.st_gid, 5678);
	}
	T_EQ_INT(st.st_mode & 07777, 0640);
	T_EQ_INT(st.st_mtim.tv_sec, 1700000000);
	T_EQ_INT(s.l.lines, 2);
	T_EQ_INT(s.l.addrs_masked, 1);
	T_EQ_INT(s.l.first_time, T1_EPOCH);
	T_EQ_INT(s.l.last_time, T2_EPOCH);
	T_EQ_INT(s.l.oldest_full, T2_EPOCH);
	T_EQ_INT(s.l.full_past, 1);
	T_EQ_INT(s.l.full_past_first, 2);
	T_EQ_INT(s.l.bytes_in, strlen(line_old) + strlen(line_new_));
	T_EQ_INT(s.l.bytes_out, strlen(line_old_masked) + strlen(line_new_));
	T_EQ_INT(s.gzip_in, 0);
	T_EQ_INT(ntemps(), 0);
}

static void
test_plain_to_gzip(void)
{
	struct rewrite_opts o;
	struct rewrite_stats s;
	const char *err = NULL;
	char want[512], comment[32], *got;
	size_t n;

	setup();
	snprintf(want, sizeof(want), "%s%s", line_old, line_new_);
	put("a.log.1", want, strlen(want));
	opts_init(&o, TIME_NONE);
	o.compress = 1;
	T_EQ_INT(rewrite_file(dfd, "a.log.1", "a.log.1.gz", NULL, &o, &s,
	    &err), 0);
	T_ASSERT(!exists("a.log.1"));
	got = get_gz("a.log.1.gz", &n, comment, sizeof(comment));
	T_ASSERT(got != NULL && n == strlen(want) &&
	    memcmp(got, want, n) == 0);
	T_EQ_STR(comment, "lethe");
	free(got);
	T_EQ_INT(s.l.addrs_masked, 0);
	T_EQ_INT(s.l.oldest_full, T1_EPOCH);
	T_EQ_INT(ntemps(), 0);
}

static void
test_gzip_to_gzip(void)
{
	struct rewrite_opts o;
	struct rewrite_stats s;
	const char *err = NULL;
	char in[512], want[512], comment[32], *got;
	size_t n;

	setup();
	snprintf(in, sizeof(in), "%s%s", line_old, line_new_);
	snprintf(want, sizeof(want), "%s%s", line_old_masked,
	    line_new_masked);
	put_gz("a.log.2.gz", in, strlen(in), 0);
	opts_init(&o, INT64_MAX);
	T_EQ_INT(rewrite_file(dfd, "a.log.2.gz", NULL, NULL, &o, &s, &err), 0);
	got = get_gz("a.log.2.gz", &n, comment, sizeof(comment));
	T_ASSERT(got != NULL && n == strlen(want) &&
	    memcmp(got, want, n) == 0);
	T_EQ_STR(comment, "lethe");
	free(got);
	T_EQ_INT(s.gzip_in, 1);
	T_EQ_INT(s.l.addrs_masked, 2);
	T_EQ_INT(s.l.oldest_full, TIME_NONE);
	/* Masking again changes nothing. */
	T_EQ_INT(rewrite_file(dfd, "a.log.2.gz", NULL, NULL, &o, &s, &err), 0);
	T_EQ_INT(s.l.addrs_masked, 0);
	T_EQ_INT(s.l.bytes_out, strlen(want));
}

static void
test_multi_member(void)
{
	struct rewrite_opts o;
	struct rewrite_stats s;
	const char *err = NULL;
	char want[512], comment[32], *got;
	size_t n;

	setup();
	put_gz("m.gz", line_old, strlen(line_old), 0);
	put_gz("m.gz", "", 0, 1);	/* an empty member between */
	put_gz("m.gz", line_new_, strlen(line_new_), 1);
	opts_init(&o, T2_EPOCH);
	T_EQ_INT(rewrite_file(dfd, "m.gz", NULL, NULL, &o, &s, &err), 0);
	snprintf(want, sizeof(want), "%s%s", line_old_masked, line_new_);
	got = get_gz("m.gz", &n, comment, sizeof(comment));
	T_ASSERT(got != NULL && n == strlen(want) &&
	    memcmp(got, want, n) == 0);
	free(got);
	T_EQ_INT(s.l.lines, 2);
}

static void
test_bad_gzip(void)
{
	struct rewrite_opts o;
	struct rewrite_stats s;
	const char *err = NULL;
	char *orig, *after;
	size_t n, n2;
	int fd;

	setup();
	put_gz("t.gz", line_old, strlen(line_old), 0);
	orig = get("t.gz", &n);
	put("t.gz", orig, n - 5);
	opts_init(&o, INT64_MAX);
	T_EQ_INT(rewrite_file(dfd, "t.gz", NULL, NULL, &o, &s, &err), -1);
	T_EQ_STR(err, "truncated gzip");
	after = get("t.gz", &n2);
	T_ASSERT(n2 == n - 5 && memcmp(orig, after, n2) == 0);
	free(after);
	/* A bad CRC. */
	orig[n - 8] ^= 0x55;
	put("c.gz", orig, n);
	T_EQ_INT(rewrite_file(dfd, "c.gz", NULL, NULL, &o, &s, &err), -1);
	T_EQ_STR(err, "corrupt gzip");
	/* Garbage after a member. */
	orig[n - 8] ^= 0x55;
	put("g.gz", orig, n);
	put_gz("g.gz", line_new_, strlen(line_new_), 1);
	fd = openat(dfd, "g.gz", O_WRONLY | O_APPEND);
	T_ASSERT(fsio_write_all(fd, "\0junk", 5) == 0);
	close(fd);
	T_EQ_INT(rewrite_file(dfd, "g.gz", NULL, NULL, &o, &s, &err), -1);
	T_EQ_STR(err, "data after the NUL padding of a gzip file");
	/* NUL padding alone is fine, as zcat says. */
	put("p.gz", orig, n);
	fd = openat(dfd, "p.gz", O_WRONLY | O_APPEND);
	T_ASSERT(fsio_write_all(fd, "\0\0\0\0", 4) == 0);
	close(fd);
	T_EQ_INT(rewrite_file(dfd, "p.gz", NULL, NULL, &o, &s, &err), 0);
	T_EQ_INT(s.l.lines, 1);
	free(orig);
	T_EQ_INT(ntemps(), 0);
}

static void
test_refusals(void)
{
	struct rewrite_opts o;
	struct rewrite_stats s;
	struct stat st;
	const char *err = NULL, *why = NULL;
	char path[PATH_MAX + 16];
	int fd;

	setup();
	opts_init(&o, INT64_MAX);
	put("real.log", line_old, strlen(line_old));
	T_ASSERT(symlinkat("real.log", dfd, "link.log") == 0);
	T_EQ_INT(rewrite_file(dfd, "link.log", NULL, NULL, &o, &s, &err), -1);
	T_EQ_STR(err, "is a symbolic link");
	T_ASSERT(linkat(dfd, "real.log", dfd, "hard.log", 0) == 0);
	T_EQ_INT(rewrite_file(dfd, "real.log", NULL, NULL, &o, &s, &err), -1);
	T_EQ_STR(err, "has more than one hard link");
	T_ASSERT(mkfifoat(dfd, "fifo", 0644) == 0);
	T_EQ_INT(rewrite_file(dfd, "fifo", NULL, NULL, &o, &s, &err), -1);
	T_EQ_STR(err, "not a regular file");
	T_EQ_INT(fsio_openat_file(dfd, "fifo", &st, &why), -1);
	T_EQ_STR(why, "not a regular file");
	T_EQ_INT(rewrite_file(dfd, "none", NULL, NULL, &o, &s, &err), -1);
	T_ASSERT(strncmp(err, "cannot stat", 11) == 0);
	memset(&st, 0, sizeof(st));
	T_EQ_INT(unlinkat(dfd, "hard.log", 0), 0);
	T_EQ_INT(rewrite_file(dfd, "real.log", NULL, &st, &o, &s, &err), -1);
	T_EQ_STR(err, "file changed");

	snprintf(path, sizeof(path), "%s/open", dir);
	T_ASSERT(mkdir(path, 0777) == 0 && chmod(path, 0777) == 0);
	T_EQ_INT(fsio_opendir(path, &why), -1);
	T_EQ_STR(why, "directory is writable by others than root and "
	    "its owner");
	if (geteuid() == 0) {
		T_ASSERT(chmod(path, 0775) == 0 && chown(path, 0, 0) == 0);
		fd = fsio_opendir(path, &why);
		T_ASSERT(fd != -1);	/* group root may write */
		close(fd);
		T_ASSERT(chown(path, 0, 100) == 0);
		T_EQ_INT(fsio_opendir(path, &why), -1);
	}
	snprintf(path, sizeof(path), "%s/dlink", dir);
	T_ASSERT(symlink(root, path) == 0);
	T_EQ_INT(fsio_opendir(path, &why), -1);
	T_EQ_STR(why, "is a symbolic link");
	T_EQ_INT(ntemps(), 0);
}

static int
ours_cb(const char *name, void *arg)
{
	return strcmp(name, (const char *)arg) == 0;
}

static void
test_clean_tmp(void)
{
	char tmp[NAME_MAX + 1];
	int fd;

	setup();
	put(".a.log.lethe-Ab3dE9", "x", 1);
	put(".a.log.gz.lethe-zzzzzz", "x", 1);
	put(".b.log.lethe-Ab3dE9", "x", 1);
	put(".a.log.lethe-Ab3dE", "x", 1);
	put(".a.log.lethe-Ab3dE99", "x", 1);
	put("a.log", "x", 1);
	fd = fsio_tmp_create(dfd, "a.log", tmp, sizeof(tmp));
	T_ASSERT(fd != -1);
	close(fd);
	T_ASSERT(strncmp(tmp, ".a.log.lethe-", 13) == 0 && strlen(tmp) == 19);
	T_EQ_INT(fsio_clean_tmp(dfd, ours_cb, (void *)(uintptr_t)"a.log"), 0);
	T_ASSERT(!exists(".a.log.lethe-Ab3dE9"));
	T_ASSERT(!exists(tmp));
	T_ASSERT(exists(".a.log.gz.lethe-zzzzzz"));
	T_ASSERT(exists(".b.log.lethe-Ab3dE9"));
	T_ASSERT(exists(".a.log.lethe-Ab3dE"));
	T_ASSERT(exists(".a.log.lethe-Ab3dE99"));
	T_ASSERT(exists("a.log"));
	T_EQ_INT(fsio_clean_tmp(dfd, NULL, NULL), 0);
	T_ASSERT(!exists(".b.log.lethe-Ab3dE9"));
	T_ASSERT(!exists(".a.log.gz.lethe-zzzzzz"));
	T_EQ_INT(fsio_tmp_create(dfd, "x/y", tmp, sizeof(tmp)), -1);
	T_EQ_INT(fsio_tmp_create(dfd, "a.log", tmp, 10), -1);
}

static void
test_rename_noreplace(void)
{
	char *got;
	size_t n;

	setup();
	put("a", "A", 1);
	put("b", "B", 1);
	T_EQ_INT(fsio_rename_noreplace(dfd, "a", "b"), -1);
	T_EQ_INT(errno, EEXIST);
	T_ASSERT(exists("a"));
	T_EQ_INT(fsio_rename_noreplace(dfd, "a", "c"), 0);
	T_ASSERT(!exists("a"));
	got = get("c", &n);
	T_EQ_STR(got, "A");
	free(got);
	T_EQ_INT(fsio_renameat(dfd, "c", "b"), 0);
	got = get("b", &n);
	T_EQ_STR(got, "A");
	free(got);
}

/*
 * A line of body + 2 bytes with its newline (head of the line, then
 * filler) streams through with only its address masked.
 */
static void
long_line(size_t len)
{
	static const char head[] = "203.0.113.7 - - [" T1 "] \"GET /";
	struct rewrite_opts o;
	struct rewrite_stats s;
	const char *err = NULL;
	char *in, *got;
	size_t n, i, nl = strlen(line_new_);

	setup();
	in = malloc(len + nl + 1);
	memcpy(in, head, sizeof(head) - 1);
	for (i = sizeof(head) - 1; i < len - 1; i++)
		in[i] = (char)('a' + i % 26);
	in[len - 1] = '\n';
	memcpy(in + len, line_new_, nl);
	put("long.log", in, len + nl);
	opts_init(&o, INT64_MAX);
	T_EQ_INT(rewrite_file(dfd, "long.log", NULL, NULL, &o, &s, &err), 0);
	got = get("long.log", &n);
	T_EQ_INT(n, len + nl - 5);
	T_ASSERT(memcmp(got, "203.0.0.0 ", 10) == 0);
	T_ASSERT(memcmp(got + 9, in + 11, len - 11) == 0);
	T_ASSERT(memcmp(got + len - 2, line_new_masked, nl - 3) == 0);
	T_EQ_INT(s.l.lines, 2);
	T_EQ_INT(s.l.addrs_masked, 2);
	free(in);
	free(got);
}

/* Around the 1 MiB head buffer, and far past it. */
static void
test_long_line(void)
{
	long_line((1 << 20) - 1);
	long_line(1 << 20);
	long_line((1 << 20) + 1);
	long_line((1 << 20) + 2);
	long_line(3 << 20);
}

/* No newline at the end, NUL bytes and bad UTF-8 in a line. */
static void
test_odd_bytes(void)
{
	static const char in[] =
	    "203.0.113.7 - - [" T1 "] \"GET /\0\xff\xfe HTTP/1.1\" 200 5 "
	    "\"-\" \"u\0a\"\n"
	    "198.51.100.23 - - [" T2 "] \"GET / HTTP/1.1\" 200 5 \"-\" \"x\"";
	static const char want[] =
	    "203.0.0.0 - - [" T1 "] \"GET /\0\xff\xfe HTTP/1.1\" 200 5 "
	    "\"-\" \"u\0a\"\n"
	    "198.51.0.0 - - [" T2 "] \"GET / HTTP/1.1\" 200 5 \"-\" \"x\"";
	struct rewrite_opts o;
	struct rewrite_stats s;
	const char *err = NULL;
	char *got;
	size_t n;

	setup();
	put("odd.log", in, sizeof(in) - 1);
	opts_init(&o, INT64_MAX);
	T_EQ_INT(rewrite_file(dfd, "odd.log", NULL, NULL, &o, &s, &err), 0);
	got = get("odd.log", &n);
	T_EQ_INT(n, sizeof(want) - 1);
	T_ASSERT(got != NULL && memcmp(got, want, sizeof(want) - 1) == 0);
	T_EQ_INT(s.l.lines, 2);
	free(got);
}

/* rewrite_scan: lines before the first time get start_time. */
static void
test_scan(void)
{
	static const char in[] = "garbage line\n"
	    "203.0.113.9 - - [-] \"GET / HTTP/1.1\" 200 5 \"-\" \"ua\"\n"
	    "203.0.113.7 - - [" T2 "] \"GET / HTTP/1.1\" 200 5 \"-\" \"ua\"\n"
	    "198.51.100.1 - - [bad] \"GET / HTTP/1.1\" 200 5 \"-\" \"ua\"\n";
	struct rewrite_opts o;
	struct rewrite_stats s;
	const char *err = NULL;
	int fd;

	setup();
	put("s.log", in, sizeof(in) - 1);
	fd = openat(dfd, "s.log", O_RDONLY);
	opts_init(&o, TIME_NONE);
	o.start_time = T1_EPOCH;
	o.audit_before = T2_EPOCH;
	T_EQ_INT(rewrite_scan(fd, &o, &s, &err), 0);
	T_EQ_INT(s.l.lines, 4);
	T_EQ_INT(s.l.first_time, T2_EPOCH);
	T_EQ_INT(s.l.last_time, T2_EPOCH);
	T_EQ_INT(s.l.bytes_out, sizeof(in) - 1);
	T_EQ_INT(s.l.addrs_masked, 0);
	/*
	 * The first two lines take start_time; lines 1, 2 and 4 are not
	 * understood (no time field that fits), and the addresses of 2 and
	 * 4 are tokens outside any address field, full.
	 */
	T_EQ_INT(s.l.oldest_full, T1_EPOCH);
	T_EQ_INT(s.l.full_past, 0);
	T_EQ_INT(s.l.bad, 3);
	T_EQ_INT(s.l.bad_first, 1);
	T_EQ_INT(s.l.bad_past, 2);
	T_EQ_INT(s.l.stray, 2);
	T_EQ_INT(s.l.stray_first, 2);
	close(fd);
	/* Empty input. */
	put("e.log", "", 0);
	fd = openat(dfd, "e.log", O_RDONLY);
	T_EQ_INT(rewrite_scan(fd, &o, &s, &err), 0);
	T_EQ_INT(s.l.lines, 0);
	T_EQ_INT(s.l.first_time, TIME_NONE);
	close(fd);
}

/* lethe mask: each line comes out as soon as it went in. */
static void
test_stream(void)
{
	struct line_stats ls;
	const char *err = NULL;
	char buf[512];
	int in[2], out[2], status;
	size_t got;
	ssize_t n;
	pid_t pid;

	T_ASSERT(pipe(in) == 0 && pipe(out) == 0);
	if ((pid = fork()) == 0) {
		close(in[1]);
		close(out[0]);
		_exit(rewrite_stream(in[0], out[1], fmt, 1, &ls, &err) == 0 ?
		    0 : 1);
	}
	close(in[0]);
	close(out[1]);
	T_ASSERT(fsio_write_all(in[1], line_old, strlen(line_old)) == 0);
	for (got = 0; got < strlen(line_old_masked); got += (size_t)n)
		if ((n = read(out[0], buf + got, sizeof(buf) - got)) <= 0)
			break;
	buf[got] = '\0';
	T_EQ_STR(buf, line_old_masked);
	/* A partial last line at the end of input. */
	T_ASSERT(fsio_write_all(in[1], line_new_, strlen(line_new_) - 1) == 0);
	close(in[1]);
	for (got = 0; (n = read(out[0], buf + got, sizeof(buf) - got)) > 0;)
		got += (size_t)n;
	buf[got] = '\0';
	T_ASSERT(got == strlen(line_new_masked) - 1 &&
	    memcmp(buf, line_new_masked, got) == 0);
	close(out[0]);
	T_ASSERT(waitpid(pid, &status, 0) == pid && WIFEXITED(status) &&
	    WEXITSTATUS(status) == 0);
}

/* All of a source: bytes into *out, the last return (0 or -1) and the
   error words; ahead or not. */
static ssize_t
read_all(const char *name, int ahead, char **out, size_t *n, char *err,
    size_t esz)
{
	struct source *src;
	const char *buf;
	size_t cap = 1 << 20;
	ssize_t r;
	int fd;

	fd = openat(dfd, name, O_RDONLY);
	T_ASSERT(fd != -1);
	src = source_new(fd, 1);
	source_set_ahead(src, ahead);
	*out = malloc(cap);
	*n = 0;
	while ((r = source_next(src, &buf)) > 0) {
		if (*n + (size_t)r > cap)
			*out = realloc(*out, cap = 2 * (*n + (size_t)r));
		memcpy(*out + *n, buf, (size_t)r);
		*n += (size_t)r;
	}
	snprintf(err, esz, "%s", r == -1 ? source_error(src) : "");
	source_free(src);
	close(fd);
	return r;
}

/*
 * Inflated ahead on a thread: the same bytes, the same end and the same
 * error as inflated by the caller, on members longer than the ring, cut
 * short, corrupt, padded; and a caller that stops early is not held.
 */
static void
test_ahead(void)
{
	static const char *names[] = { "a.gz", "t.gz", "c.gz", "j.gz" };
	char *big, *orig, *x, *y, ex[160], ey[160];
	size_t bn = 0, n, nx, ny, i = 0;
	struct source *src;
	const char *buf;
	ssize_t rx, ry;
	int fd;

	setup();
	big = malloc(6 << 20);
	while (bn + 2 * sizeof(line_old) < (size_t)(6 << 20)) {
		memcpy(big + bn, i % 3 ? line_old : line_new_,
		    i % 3 ? strlen(line_old) : strlen(line_new_));
		bn += i++ % 3 ? strlen(line_old) : strlen(line_new_);
	}
	put_gz("a.gz", big, bn / 2, 0);		/* two members */
	put_gz("a.gz", big + bn / 2, bn - bn / 2, 1);
	orig = get("a.gz", &n);
	put("t.gz", orig, n - 3);		/* truncated */
	orig[n / 3] ^= 0x5a;
	put("c.gz", orig, n);			/* corrupt */
	orig[n / 3] ^= 0x5a;
	put("j.gz", orig, n);			/* junk after padding */
	fd = openat(dfd, "j.gz", O_WRONLY | O_APPEND);
	T_ASSERT(fsio_write_all(fd, "\0\0x", 3) == 0);
	close(fd);
	for (i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
		rx = read_all(names[i], 0, &x, &nx, ex, sizeof(ex));
		ry = read_all(names[i], 1, &y, &ny, ey, sizeof(ey));
		T_EQ_INT(ry, rx);
		T_EQ_STR(ey, ex);
		T_EQ_INT(ny, nx);
		T_ASSERT(nx == ny && memcmp(x, y, nx) == 0);
		if (i == 0)
			T_ASSERT(nx == bn && memcmp(x, big, bn) == 0);
		else
			T_EQ_INT(rx, -1);
		free(x);
		free(y);
	}
	/* One buffer taken, then no more wanted: the thread is joined. */
	fd = openat(dfd, "a.gz", O_RDONLY);
	src = source_new(fd, 1);
	source_set_ahead(src, 1);
	T_ASSERT(source_next(src, &buf) > 0);
	source_stop(src);
	T_EQ_INT(source_next(src, &buf), 0);
	T_ASSERT(source_raw(src) > 0);
	source_free(src);
	close(fd);
	free(orig);
	free(big);
}

/* Stats of two parts added: counts summed, the earliest and latest time. */
static void
test_stats_add(void)
{
	struct line_stats a, b;

	line_stats_init(&a);
	line_stats_init(&b);
	a.lines = 3;
	a.first_time = 100;
	a.last_time = 500;
	a.bad = 1;
	a.bad_first = 2;
	b.lines = 2;
	b.first_time = 50;
	b.last_time = 400;
	b.bad = 1;
	b.bad_first = 1;
	b.oldest_full = 60;
	line_stats_add(&a, &b);
	T_EQ_INT(a.lines, 5);
	T_EQ_INT(a.first_time, 50);
	T_EQ_INT(a.last_time, 500);
	T_EQ_INT(a.bad, 2);
	T_EQ_INT(a.bad_first, 2);
	T_EQ_INT(a.oldest_full, 60);
	line_stats_init(&b);
	line_stats_add(&a, &b);		/* an empty part changes nothing */
	T_EQ_INT(a.first_time, 50);
	T_EQ_INT(a.last_time, 500);
}

static const struct t_case cases[] = {
	{ "plain_mask", test_plain_mask },
	{ "plain_to_gzip", test_plain_to_gzip },
	{ "gzip_to_gzip", test_gzip_to_gzip },
	{ "multi_member", test_multi_member },
	{ "bad_gzip", test_bad_gzip },
	{ "refusals", test_refusals },
	{ "clean_tmp", test_clean_tmp },
	{ "rename_noreplace", test_rename_noreplace },
	{ "long_line", test_long_line },
	{ "odd_bytes", test_odd_bytes },
	{ "scan", test_scan },
	{ "stream", test_stream },
	{ "ahead", test_ahead },
	{ "stats_add", test_stats_add },
	{ NULL, NULL }
};

int
main(int argc, char **argv)
{
	struct format_spec spec;
	const char *errstr;
	char cmd[PATH_MAX + 16];
	int rv, col;

	log_init(0);
	snprintf(root, sizeof(root), "/tmp/test_rewrite.XXXXXX");
	if (mkdtemp(root) == NULL)
		abort();
	memset(&spec, 0, sizeof(spec));
	spec.kind = (char *)(uintptr_t)"combined";
	spec.prefix.v4 = 16;
	spec.prefix.v6 = 32;
	spec.zone = tz_utc();
	if ((fmt = format_new(&spec, &errstr, &col)) == NULL) {
		fprintf(stderr, "format_new: %s\n", errstr);
		return 1;
	}
	rv = t_main(cases, argc, argv);
	format_free(fmt);
	if (dfd != -1)
		close(dfd);
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", root);
	if (system(cmd) != 0)
		rv = 1;
	return rv;
}
