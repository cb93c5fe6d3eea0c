/*
 * THE line engine: every reader of lines drives it (a rewrite, a scan for
 * facts, audit, lethe mask, the daemon following a file).  Bytes are fed
 * in chunks of any size; the engine frames lines, has the format read
 * each, settles its time, has the transform rewrite its addresses, sends
 * the result to the sink and keeps the facts of what it read.  Pure: no
 * clock (now is an option), no filesystem.
 *
 * A line's time is its own (the format's field) unless that is more than
 * a day after now, or more than a day before the line before (and the
 * next line does not confirm the jump): then, as a line without a time,
 * it takes the line before's time.  Lines before the first time take
 * start_time, or count as the oldest there is.
 *
 * A line the format does not understand passes through unchanged but for
 * every address-like token in it (field_free), masked when the line is
 * rewritten, and is counted.  A line longer than LINE_HEAD is never cut:
 * its first LINE_HEAD bytes are read as a line for its time, and the
 * whole of it is scanned a window at a time in bounded memory.
 */
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "lethe.h"

#define DAY		86400
#define HEAD_MIN	(64 * 1024)	/* the head buffer at first */
#define WIN		(64 * 1024)	/* a long line's window */
#define CARRY		96		/* bytes kept back at a window's end */

struct line_engine {
	struct line_opts o;
	struct line_stats *st;
	struct scan	 sc;
	struct spans	 fs;		/* the free scan's spans */
	struct spans	 merged;
	char		*head;		/* a line being gathered */
	size_t		 hcap;		/* HEAD_MIN .. LINE_HEAD */
	size_t		 hlen;
	int		 overflow;	/* in the rest of a long line */
	int		 long_rw;	/* ... which is being rewritten */
	int64_t		 long_time;
	char		*win;		/* ... its window: 2 bytes of context */
	size_t		 wlen;
	int64_t		 prev_time;	/* TIME_NONE: none yet */
	int64_t		 odd_time;	/* a time not believed, to confirm */
	uint64_t	 pending_full;	/* full addresses before any time */
	uint64_t	 pending_full_line;
	uint64_t	 pending_bad;
	uint64_t	 pending_bad_line;
	uint64_t	 fed;
	uint64_t	 boundary;
	const char	*err;
};

void
line_stats_init(struct line_stats *st)
{
	memset(st, 0, sizeof(*st));
	st->first_time = st->last_time = st->oldest_full = TIME_NONE;
}

static void	first(uint64_t *, uint64_t *, uint64_t, uint64_t);

/* One count with its first line, the later part's numbers offset. */
static void
add_first(uint64_t *n, uint64_t *fst, uint64_t k, uint64_t kfirst,
    uint64_t offset)
{
	if (k > 0)
		first(n, fst, kfirst + offset, k);
}

static int64_t
min_time(int64_t a, int64_t b)
{
	return a == TIME_NONE ? b : b == TIME_NONE ? a : a < b ? a : b;
}

void
line_stats_add(struct line_stats *st, const struct line_stats *later)
{
	uint64_t off = st->lines;
	int i;

	st->lines += later->lines;
	st->bytes_in += later->bytes_in;
	st->bytes_out += later->bytes_out;
	st->timed += later->timed;
	st->future += later->future;
	st->disorder += later->disorder;
	add_first(&st->bad, &st->bad_first, later->bad, later->bad_first, off);
	add_first(&st->bad_past, &st->bad_past_first, later->bad_past,
	    later->bad_past_first, off);
	add_first(&st->stray, &st->stray_first, later->stray,
	    later->stray_first, off);
	add_first(&st->full_past, &st->full_past_first, later->full_past,
	    later->full_past_first, off);
	st->long_lines += later->long_lines;
	st->addrs_masked += later->addrs_masked;
	st->held += later->held;
	for (i = 0; i < FIELDS_MAX; i++)
		st->field_lines[i] += later->field_lines[i];
	/* the earliest and the latest, as one pass keeps them */
	st->first_time = min_time(st->first_time, later->first_time);
	if (st->last_time == TIME_NONE || (later->last_time != TIME_NONE &&
	    later->last_time > st->last_time))
		st->last_time = later->last_time;
	st->oldest_full = min_time(st->oldest_full, later->oldest_full);
	st->pending_full += later->pending_full;
}

struct line_engine *
line_new(const struct line_opts *o, struct line_stats *st)
{
	struct line_engine *e = xcalloc(1, sizeof(*e));

	e->o = *o;
	e->st = st;
	e->prev_time = o->start_time;
	e->odd_time = TIME_NONE;
	e->hcap = HEAD_MIN;
	e->head = xmalloc(e->hcap + 1);
	return e;
}

void
line_free(struct line_engine *e)
{
	if (e == NULL)
		return;
	scan_release(&e->sc);
	spans_release(&e->fs);
	spans_release(&e->merged);
	free(e->head);
	free(e->win);
	free(e);
}

void
line_set_prev(struct line_engine *e, int64_t t)
{
	e->prev_time = t;
}

void
line_set_stats(struct line_engine *e, struct line_stats *st)
{
	e->st = st;
}

void
line_set_format(struct line_engine *e, struct format *f)
{
	e->o.format = f;
}

void
line_set_now(struct line_engine *e, int64_t now)
{
	e->o.now = now;
}

void
line_set_holds(struct line_engine *e, const struct holds *h)
{
	e->o.holds = h;
}

uint64_t
line_boundary(const struct line_engine *e)
{
	return e->boundary;
}

const char *
line_error(const struct line_engine *e)
{
	return e->err != NULL ? e->err : "failed";
}

/* ---- facts ----------------------------------------------------------------- */

static int
past(const struct line_engine *e, int64_t t)
{
	return e->o.audit_before != TIME_NONE &&
	    (t == TIME_NONE || t < e->o.audit_before);
}

static void
first(uint64_t *n, uint64_t *first, uint64_t line, uint64_t k)
{
	if (*n == 0)
		*first = line;
	*n += k;
}

/* The first time of a file: lines before it take it. */
static void
resolve_pending(struct line_engine *e, int64_t t)
{
	struct line_stats *st = e->st;

	if (e->pending_full > 0) {
		if (st->oldest_full == TIME_NONE || t < st->oldest_full)
			st->oldest_full = t;
		if (past(e, t))
			first(&st->full_past, &st->full_past_first,
			    e->pending_full_line, e->pending_full);
	}
	if (e->pending_bad > 0 && past(e, t))
		first(&st->bad_past, &st->bad_past_first, e->pending_bad_line,
		    e->pending_bad);
	e->pending_full = e->pending_bad = 0;
	st->pending_full = 0;
}

/* A full address stays on a line of time t. */
static void
full_stays(struct line_engine *e, int64_t t, int stray)
{
	struct line_stats *st = e->st;

	if (e->o.format->spec.pseudonyms)
		return;		/* their keys die with the window */
	if (stray)
		first(&st->stray, &st->stray_first, st->lines, 1);
	if (t == TIME_NONE) {
		if (e->pending_full++ == 0)
			e->pending_full_line = st->lines;
		st->pending_full = 1;
		return;
	}
	if (st->oldest_full == TIME_NONE || t < st->oldest_full)
		st->oldest_full = t;
	if (!stray && past(e, t))
		first(&st->full_past, &st->full_past_first, st->lines, 1);
}

static void
not_understood(struct line_engine *e, int64_t t)
{
	struct line_stats *st = e->st;

	first(&st->bad, &st->bad_first, st->lines, 1);
	if (t == TIME_NONE && e->o.audit_before != TIME_NONE) {
		if (e->pending_bad++ == 0)
			e->pending_bad_line = st->lines;
		return;
	}
	if (past(e, t))
		first(&st->bad_past, &st->bad_past_first, st->lines, 1);
}

/*
 * The time a line goes by: its own, when it is believable; else the line
 * before's.  A jump back of more than a day is believed when the next
 * line confirms it (a file that really goes back), not for one line.
 */
static int64_t
line_time(struct line_engine *e, int64_t t)
{
	struct line_stats *st = e->st;
	int64_t prev = e->prev_time;

	if (t == TIME_NONE)
		return prev;
	if (e->o.now != TIME_NONE && t > e->o.now + DAY) {
		st->future++;
		return prev;
	}
	if (prev != TIME_NONE && t < prev - DAY && (e->odd_time == TIME_NONE ||
	    t < e->odd_time - DAY || t > e->odd_time + DAY)) {
		st->disorder++;
		e->odd_time = t;
		return prev;
	}
	e->odd_time = TIME_NONE;
	st->timed++;
	if (st->first_time == TIME_NONE) {
		st->first_time = st->last_time = t;
		resolve_pending(e, t);
	} else if (t < st->first_time)
		st->first_time = t;
	if (t > st->last_time)
		st->last_time = t;
	e->prev_time = t;
	return t;
}

/* ---- output ------------------------------------------------------------------ */

static int
emit(struct line_engine *e, const char *p, size_t n)
{
	e->st->bytes_out += n;
	if (e->o.sink == NULL || n == 0)
		return 0;
	if (sink_write(e->o.sink, p, n) == -1) {
		e->err = sink_error(e->o.sink);
		return -1;
	}
	return 0;
}

/* Does span s overlap any of v (sorted)? */
static int
overlaps(const struct spans *v, const struct span *s)
{
	size_t i;

	for (i = 0; i < v->n; i++) {
		if (v->v[i].off >= s->off + s->len)
			break;
		if (v->v[i].off + v->v[i].len > s->off)
			return 1;
	}
	return 0;
}

/* The format's spans and the free scan's that do not overlap them. */
static const struct spans *
merge(struct line_engine *e)
{
	const struct spans *a = &e->sc.spans, *b = &e->fs;
	const struct span *s;
	size_t i = 0, j = 0;

	if (b->n == 0)
		return a;
	spans_reset(&e->merged);
	while (i < a->n || j < b->n) {
		if (j >= b->n || (i < a->n && a->v[i].off <= b->v[j].off)) {
			s = &a->v[i++];
			(void)spans_add(&e->merged, s->off, s->len, a->text +
			    s->moff, s->mlen, s->field, s->flags);
			continue;
		}
		s = &b->v[j++];
		if (!overlaps(a, s))
			(void)spans_add(&e->merged, s->off, s->len, b->text +
			    s->moff, s->mlen, s->field, s->flags);
	}
	return &e->merged;
}

/*
 * Write line[0..len) with its spans, rewritten when rw; facts of the
 * addresses that stay full.  Returns 0 or -1.
 */
/*
 * The time a full address that stays counts at: the line's, or later
 * while a hold keeps it (counted as held once per line when the line is
 * older than audit_before).
 */
static int64_t
held_time(struct line_engine *e, const char *line, const struct span *s,
    int64_t t, int *held)
{
	uint8_t v[16];
	int64_t h;

	if (e->o.holds == NULL || e->o.holds->n == 0 ||
	    addr_value(line + s->off, s->len, v) == -1 ||
	    (h = holds_time(e->o.holds, v, t)) == t)
		return t;
	if (!*held && past(e, t) && !past(e, h)) {
		e->st->held++;
		*held = 1;
	}
	return h;
}

static int
write_spans(struct line_engine *e, const char *line, size_t len,
    const struct spans *sp, int rw, int64_t t)
{
	const struct xform *x = e->o.xform;
	const struct span *s;
	char out[ADDR_OUT_MAX];
	size_t i, pos = 0, olen;
	int full, held = 0;

	for (i = 0; i < sp->n; i++) {
		s = &sp->v[i];
		if (s->off < pos || s->off + s->len > len)
			continue;
		if (!rw || x->ops->addr(x->arg, line, s, sp->text + s->moff,
		    out, &olen, &full) == -1) {
			if (s->flags & SPAN_FULL)
				full_stays(e, held_time(e, line, s, t, &held),
				    s->field == FIELD_FREE);
			continue;
		}
		if (s->flags & SPAN_FULL)
			e->st->addrs_masked++;
		if (full)
			full_stays(e, held_time(e, line, s, t, &held),
			    s->field == FIELD_FREE);
		if (emit(e, line + pos, s->off - pos) == -1 ||
		    emit(e, out, olen) == -1)
			return -1;
		pos = s->off + s->len;
	}
	return emit(e, line + pos, len - pos);
}

/* The transform's look at a line it has seen (find, erase's count). */
static int
ended(struct line_engine *e, const char *line, size_t len,
    const struct spans *sp, int64_t t, int more)
{
	const struct xform *x = e->o.xform;

	if (x == NULL || x->ops->end == NULL ||
	    x->ops->end(x->arg, line, len, sp, t, more) == 0)
		return 0;
	e->err = "stopped by the transform";
	return -1;
}

static int
rewrites(const struct line_engine *e, int64_t t)
{
	return e->o.xform != NULL && e->o.xform->ops->line(e->o.xform->arg, t);
}

/* One line of at most LINE_HEAD bytes, with its newline when nl. */
static int
one(struct line_engine *e, const char *line, size_t len, int nl)
{
	struct line_stats *st = e->st;
	const struct spans *sp;
	int64_t t;
	size_t i;
	int rw;

	st->lines++;
	st->bytes_in += len + (nl != 0);
	if (len == 0 || (len == 1 && line[0] == '\r')) {
		/* An empty line holds nothing: it passes as it is. */
		return emit(e, line, len) == -1 ||
		    (nl && emit(e, "\n", 1) == -1) ? -1 : 0;
	}
	format_scan(e->o.format, e->o.fstate, line, len, e->o.ref, &e->sc);
	t = line_time(e, e->sc.bad == SCAN_NOMATCH ? TIME_NONE : e->sc.time);
	spans_reset(&e->fs);
	if (e->sc.bad != SCAN_OK) {
		not_understood(e, t);
		(void)field_free(&e->o.format->fo, line, 0, len, &e->fs);
	}
	for (i = 0; i < FIELDS_MAX && e->sc.fields != 0; i++)
		if (e->sc.fields & (1U << i))
			st->field_lines[i]++;
	sp = merge(e);
	rw = rewrites(e, t);
	if (write_spans(e, line, len, sp, rw, t) == -1 ||
	    ended(e, line, len, sp, t, 0) == -1 ||
	    (nl && emit(e, "\n", 1) == -1))
		return -1;
	return 0;
}

/* ---- long lines ---------------------------------------------------------- */

/*
 * The window of a long line: free-scan and write what cannot belong to
 * a token that goes on past it (all of it at the line's end), keep the
 * rest.  win[0..2) is context (the two bytes before), never written.
 */
static int
window(struct line_engine *e, int last)
{
	static const char stop[] = " \t\",;()<>'=&?|\\{}";
	struct spans *sp = &e->fs;
	size_t cut = e->wlen, i;
	int ctx = e->win[0] != '\0' || e->win[1] != '\0';

	if (!last) {
		for (i = e->wlen; i > 2 && e->wlen - i < CARRY &&
		    strchr(stop, e->win[i - 1]) == NULL; i--)
			;
		cut = e->wlen - i >= CARRY ? e->wlen - CARRY : i;
	}
	spans_reset(sp);
	(void)field_free_ctx(&e->o.format->fo, e->win, ctx ? 0 : 2, 2, cut,
	    sp);
	for (i = 0; i < sp->n; i++)
		sp->v[i].off -= 2;
	if (write_spans(e, e->win + 2, cut - 2, sp, e->long_rw,
	    e->long_time) == -1 ||
	    ended(e, e->win + 2, cut - 2, sp, e->long_time, !last) == -1)
		return -1;
	e->win[0] = e->win[cut - 2];
	e->win[1] = e->win[cut - 1];
	memmove(e->win + 2, e->win + cut, e->wlen - cut);
	e->wlen = 2 + (e->wlen - cut);
	return 0;
}

/* More of a long line: p[0..n), its end when end. */
static int
long_more(struct line_engine *e, const char *p, size_t n, int end)
{
	size_t take;

	while (n > 0) {
		take = WIN + 2 - e->wlen < n ? WIN + 2 - e->wlen : n;
		memcpy(e->win + e->wlen, p, take);
		e->wlen += take;
		p += take;
		n -= take;
		e->st->bytes_in += take;
		if (e->wlen == WIN + 2 && window(e, 0) == -1)
			return -1;
	}
	if (!end)
		return 0;
	if (window(e, 1) == -1)
		return -1;
	e->st->bytes_in++;
	e->overflow = 0;
	return emit(e, "\n", 1);
}

/* A line that fills the head: its time from the head, then stream it. */
static int
long_start(struct line_engine *e)
{
	struct line_stats *st = e->st;

	st->lines++;
	st->long_lines++;
	format_scan(e->o.format, e->o.fstate, e->head, e->hlen, e->o.ref,
	    &e->sc);
	e->long_time = line_time(e, e->sc.bad == SCAN_NOMATCH ? TIME_NONE :
	    e->sc.time);
	not_understood(e, e->long_time);
	e->long_rw = rewrites(e, e->long_time);
	e->overflow = 1;
	if (e->win == NULL)
		e->win = xmalloc(WIN + 2);
	e->win[0] = e->win[1] = '\0';
	e->wlen = 2;
	e->hlen = 0;
	return long_more(e, e->head, LINE_HEAD, 0);
}

/* ---- framing ------------------------------------------------------------------ */

/* Add p[0..n) to the line being gathered; a long one starts streaming. */
static int
gather(struct line_engine *e, const char *p, size_t n, int nl)
{
	size_t cap, take;

	if (e->hlen + n > e->hcap && e->hcap < LINE_HEAD) {
		for (cap = e->hcap; cap < e->hlen + n && cap < LINE_HEAD;
		    cap *= 2)
			;
		e->hcap = cap < LINE_HEAD ? cap : LINE_HEAD;
		e->head = xreallocarray(e->head, e->hcap + 1, 1);
	}
	take = e->hcap - e->hlen < n ? e->hcap - e->hlen : n;
	memcpy(e->head + e->hlen, p, take);
	e->hlen += take;
	if (take < n || (e->hlen == LINE_HEAD && !nl)) {
		if (long_start(e) == -1)
			return -1;
		return long_more(e, p + take, n - take, nl);
	}
	if (!nl)
		return 0;
	take = e->hlen;
	e->hlen = 0;
	return one(e, e->head, take, 1);
}

int
line_feed(struct line_engine *e, const char *p, size_t n)
{
	const char *end = p + n, *q;
	int r;

	if (e->o.cancel != NULL && *e->o.cancel) {
		e->err = "abandoned: lethe is stopping";
		errno = ECANCELED;
		return -1;
	}
	while (p < end) {
		q = memchr(p, '\n', (size_t)(end - p));
		if (e->overflow)
			r = long_more(e, p, (size_t)((q != NULL ? q : end) - p),
			    q != NULL);
		else if (e->hlen == 0 && q != NULL && q - p <= LINE_HEAD)
			r = one(e, p, (size_t)(q - p), 1);
		else
			r = gather(e, p, (size_t)((q != NULL ? q : end) - p),
			    q != NULL);
		if (r == -1)
			return -1;
		e->fed += (uint64_t)((q != NULL ? q + 1 : end) - p);
		if (q != NULL)
			e->boundary = e->fed;
		p = q != NULL ? q + 1 : end;
	}
	if (e->o.sink != NULL && sink_line_end(e->o.sink) == -1) {
		e->err = sink_error(e->o.sink);
		return -1;
	}
	return 0;
}

int
line_finish(struct line_engine *e)
{
	struct line_stats *st = e->st;
	int r = 0;

	if (e->overflow) {
		if (window(e, 1) == -1)
			return -1;
		e->overflow = 0;
	} else if (e->hlen > 0) {
		r = one(e, e->head, e->hlen, 0);
		e->hlen = 0;
	}
	e->boundary = e->fed;
	/* Lines of unknown time: the oldest there is (start_time when set). */
	if (e->pending_full > 0 && e->o.audit_before != TIME_NONE)
		first(&st->full_past, &st->full_past_first,
		    e->pending_full_line, e->pending_full);
	if (e->pending_bad > 0)
		first(&st->bad_past, &st->bad_past_first, e->pending_bad_line,
		    e->pending_bad);
	e->pending_full = e->pending_bad = 0;
	if (r == 0 && e->o.sink != NULL && sink_line_end(e->o.sink) == -1) {
		e->err = sink_error(e->o.sink);
		return -1;
	}
	return r;
}
