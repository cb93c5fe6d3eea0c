/*
 * Following live files (and segments a writer may still append to): read
 * what was appended, line by line, and keep the file's facts (first and
 * last time, oldest full address) current, so that a segment needs no
 * rescan when it is sealed.  The offset advances only at line boundaries;
 * a file is known by device, inode and a hash of its first bytes, so a
 * reused inode does not fool us.  Truncation by someone else (copytruncate)
 * starts the file over.
 */
#include <sys/stat.h>

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <zlib.h>

#include "lethe.h"

#define TAIL_BUF	(1024 * 1024)	/* also the head of a long line */

static char		*tail_buf;
static struct spans	 tail_spans;

void
tail_facts_reset(struct tailpos *tp, int live)
{
	memset(tp, 0, sizeof(*tp));
	tp->ff.live = live;
	tp->ff.first_time = tp->ff.last_time = TIME_NONE;
	tp->ff.oldest_full = TIME_NONE;
	tp->prev_time = TIME_NONE;
}

/* The crc32 of the first n bytes of fd, or -1 when it has fewer. */
static int
head_hash(int fd, uint32_t n, uint32_t *hash)
{
	char buf[TAIL_HEAD];
	ssize_t got;

	if (n > sizeof(buf))
		return -1;
	if ((got = fsio_pread(fd, buf, n, 0)) != (ssize_t)n)
		return -1;
	*hash = (uint32_t)crc32(0L, (const Bytef *)buf, n);
	return 0;
}

/* Is fd still the file tp describes (the same first bytes)? */
int
tail_same_head(int fd, const struct tailpos *tp)
{
	uint32_t h;

	if (tp->head_len == 0)
		return 1;
	return head_hash(fd, tp->head_len, &h) == 0 && h == tp->head_hash;
}

static void
line_time(struct tailpos *tp, int64_t t)
{
	struct file_facts *ff = &tp->ff;

	if (ff->first_time == TIME_NONE || t < ff->first_time)
		ff->first_time = t;
	if (ff->last_time == TIME_NONE || t > ff->last_time)
		ff->last_time = t;
	if (tp->prev_time == TIME_NONE && tp->pending_full) {
		/* Lines before the first time take the first time. */
		if (ff->oldest_full == TIME_NONE || t < ff->oldest_full)
			ff->oldest_full = t;
		tp->pending_full = 0;
	}
	tp->prev_time = t;
}

/* The line just read holds a full address. */
static void
tail_full(struct tailpos *tp)
{
	if (tp->prev_time == TIME_NONE)
		tp->pending_full = 1;
	else if (tp->ff.oldest_full == TIME_NONE ||
	    tp->prev_time < tp->ff.oldest_full)
		tp->ff.oldest_full = tp->prev_time;
}

/* Scan one complete line (without its newline). */
static void
tail_line(struct tailpos *tp, const struct logset *set, const char *line,
    size_t len)
{
	char m[ADDR_OUT_MAX];
	size_t i, mlen;
	int64_t t;
	int full = 0;

	tp->lines++;
	format_scan(set->format, line, len, &tail_spans, &t);
	if (t != TIME_NONE)
		line_time(tp, t);
	for (i = 0; i < tail_spans.n && !full; i++)
		if (addr_mask(line + tail_spans.v[i].off, tail_spans.v[i].len,
		    &set->prefix, m, sizeof(m), &mlen, &full) == -1)
			full = 0;
	if (full)
		tail_full(tp);
}

/*
 * Scan the complete lines of buf[0..n) (read at tp->scan_pos); advance
 * scan_pos past them, and offset to the last line boundary.
 */
static void
tail_chunk(struct tailpos *tp, const struct logset *set, const char *buf,
    size_t n)
{
	const char *p = buf, *end = buf + n, *q;

	while (p < end) {
		q = memchr(p, '\n', (size_t)(end - p));
		if (tp->long_line) {
			/* The head was scanned; skip to the newline. */
			if (q == NULL) {
				p = end;
				break;
			}
			tp->long_line = 0;
		} else if (q == NULL) {
			if (p != buf || n < TAIL_BUF)
				break;
			/*
			 * A line longer than our buffer: scan its head, and
			 * count it as holding a full address, since its rest
			 * may (the rewrite scans much further).
			 */
			tail_line(tp, set, p, n);
			tail_full(tp);
			tp->long_line = 1;
			p = end;
			break;
		} else
			tail_line(tp, set, p, (size_t)(q - p));
		p = q + 1;
		tp->offset = tp->scan_pos + (uint64_t)(p - buf);
	}
	tp->scan_pos += (uint64_t)(p - buf);
}

/* Extend the head hash to the first TAIL_HEAD bytes as the file grows. */
static void
tail_rehash(int fd, struct tailpos *tp, uint64_t size)
{
	uint32_t n = size < TAIL_HEAD ? (uint32_t)size : TAIL_HEAD, h;

	if (n > tp->head_len && head_hash(fd, n, &h) == 0) {
		tp->head_len = n;
		tp->head_hash = h;
	}
}

/*
 * Read what was appended to fd since tp->scan_pos, about budget bytes at
 * most.  Returns 1 when more is waiting, 0 when caught up, -1 on a read
 * error.  A file smaller than what we scanned, or whose first bytes
 * changed, was truncated or replaced: *truncated is set and it starts
 * over.
 */
int
tail_read(int fd, struct tailpos *tp, const struct logset *set,
    size_t budget, int *truncated)
{
	struct stat st;
	ssize_t n;
	uint64_t before;
	size_t want;

	*truncated = 0;
	if (tail_buf == NULL)
		tail_buf = xmalloc(TAIL_BUF);
	if (fsio_fstat(fd, &st) == -1)
		return -1;
	if ((uint64_t)st.st_size < tp->scan_pos || !tail_same_head(fd, tp)) {
		tail_facts_reset(tp, tp->ff.live);
		*truncated = 1;
	}
	tp->size = (uint64_t)st.st_size;
	while (budget > 0 && tp->scan_pos < tp->size) {
		want = TAIL_BUF;
		if (tp->size - tp->scan_pos < want)
			want = (size_t)(tp->size - tp->scan_pos);
		if ((n = fsio_pread(fd, tail_buf, want, (off_t)tp->scan_pos)) <= 0) {
			if (n == -1 && errno == EINTR)
				continue;
			if (n == -1)
				return -1;
			break;
		}
		before = tp->scan_pos;
		tail_chunk(tp, set, tail_buf, (size_t)n);
		budget = (size_t)n >= budget ? 0 : budget - (size_t)n;
		if (tp->scan_pos == before)
			break;		/* a partial line: wait for the rest */
	}
	tail_rehash(fd, tp, tp->size);
	return budget == 0 && tp->scan_pos < tp->size ? 1 : 0;
}

/*
 * A sealed file's last line, when it has no newline: scan what lies past
 * the last line boundary as one more line, so that its time and address
 * count.  Returns 0, or -1 on a read error.
 */
int
tail_finish(int fd, struct tailpos *tp, const struct logset *set)
{
	struct stat st;
	ssize_t n;
	size_t want;

	if (tail_buf == NULL)
		tail_buf = xmalloc(TAIL_BUF);
	if (fsio_fstat(fd, &st) == -1)
		return -1;
	if (tp->long_line || (uint64_t)st.st_size <= tp->scan_pos) {
		tp->long_line = 0;
		return 0;
	}
	want = (uint64_t)st.st_size - tp->scan_pos < TAIL_BUF ?
	    (size_t)((uint64_t)st.st_size - tp->scan_pos) : TAIL_BUF;
	if ((n = fsio_pread(fd, tail_buf, want, (off_t)tp->scan_pos)) < 0)
		return -1;
	tail_line(tp, set, tail_buf, (size_t)n);
	if ((uint64_t)st.st_size - tp->scan_pos > TAIL_BUF)
		tail_full(tp);	/* a long last line: its rest may hold one */
	tp->scan_pos = tp->offset = (uint64_t)st.st_size;
	tp->size = (uint64_t)st.st_size;
	return 0;
}
