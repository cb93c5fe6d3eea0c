/*
 * Following live files (and segments a writer may still append to): what
 * was appended is fed to the line engine as it arrives, so that the
 * file's facts (first and last time, oldest full address, lines not
 * understood) are current when it is sealed and it needs no rescan.  The
 * saved offset is the last line boundary; a file is known by device,
 * inode and a hash of its first bytes, so a reused inode does not fool
 * us.  Truncation by someone else (copytruncate) starts the file over.
 */
#include <sys/stat.h>

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <zlib.h>

#include "lethe.h"

#define TAIL_BUF	(1024 * 1024)

static char		*tail_buf;

/* The engine's facts, as the file's. */
static void
sync_facts(struct tailpos *tp)
{
	const struct line_stats *st = &tp->ls;

	tp->ff.first_time = st->first_time;
	tp->ff.last_time = st->last_time;
	tp->ff.oldest_full = st->oldest_full;
	tp->pending_full = st->pending_full;
	tp->lines = st->lines;
}

void
tail_release(struct tailpos *tp)
{
	line_free(tp->eng);
	tp->eng = NULL;
}

void
tail_facts_reset(struct tailpos *tp, int live)
{
	tail_release(tp);
	memset(tp, 0, sizeof(*tp));
	tp->ff.live = live;
	tp->ff.first_time = tp->ff.last_time = TIME_NONE;
	tp->ff.oldest_full = TIME_NONE;
	tp->prev_time = TIME_NONE;
	line_stats_init(&tp->ls);
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

/* The engine for a file followed from tp->offset (a line boundary). */
static struct line_engine *
engine(struct tailpos *tp, const struct logset *set)
{
	struct line_opts lo;

	if (tp->eng != NULL)
		return tp->eng;
	memset(&lo, 0, sizeof(lo));
	lo.format = set->format;
	lo.now = TIME_NONE;
	lo.start_time = tp->prev_time;
	lo.audit_before = TIME_NONE;
	lo.holds = set->holds;
	/* Restarted part way: the saved facts carry on. */
	tp->ls.first_time = tp->ff.first_time;
	tp->ls.last_time = tp->ff.last_time;
	tp->ls.oldest_full = tp->ff.oldest_full;
	tp->eng = line_new(&lo, &tp->ls);
	tp->scan_pos = tp->base = tp->offset;
	return tp->eng;
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
 * error.  A file smaller than what we read, or whose first bytes
 * changed, was truncated or replaced: *truncated is set and it starts
 * over.
 */
int
tail_read(int fd, struct tailpos *tp, const struct logset *set, int64_t now,
    size_t budget, int *truncated)
{
	struct line_engine *e;
	struct stat st;
	ssize_t n;
	size_t want;

	*truncated = 0;
	if (tail_buf == NULL)
		tail_buf = xmalloc(TAIL_BUF);
	if (fsio_fstat(fd, &st) == -1)
		return -1;
	if ((uint64_t)st.st_size < tp->offset ||
	    (uint64_t)st.st_size < tp->scan_pos || !tail_same_head(fd, tp)) {
		tail_facts_reset(tp, tp->ff.live);
		*truncated = 1;
	}
	e = engine(tp, set);
	line_set_now(e, now);
	tp->size = (uint64_t)st.st_size;
	while (budget > 0 && tp->scan_pos < tp->size) {
		want = TAIL_BUF;
		if (tp->size - tp->scan_pos < want)
			want = (size_t)(tp->size - tp->scan_pos);
		if ((n = fsio_pread(fd, tail_buf, want,
		    (off_t)tp->scan_pos)) <= 0) {
			if (n == -1)
				return -1;
			break;
		}
		if (line_feed(e, tail_buf, (size_t)n) == -1)
			return -1;
		tp->scan_pos += (uint64_t)n;
		budget = (size_t)n >= budget ? 0 : budget - (size_t)n;
	}
	tp->offset = tp->base + line_boundary(e);
	tail_rehash(fd, tp, tp->size);
	sync_facts(tp);
	return budget == 0 && tp->scan_pos < tp->size ? 1 : 0;
}

/*
 * A sealed file's end: its last line, with or without a newline, counts.
 * Returns 0, or -1 on a read error.
 */
int
tail_finish(int fd, struct tailpos *tp, const struct logset *set,
    int64_t now)
{
	int trunc;

	if (tail_read(fd, tp, set, now, SIZE_MAX, &trunc) == -1)
		return -1;
	if (tp->eng != NULL && line_finish(tp->eng) == -1)
		return -1;
	tp->offset = tp->scan_pos;
	sync_facts(tp);
	tail_release(tp);
	return 0;
}
