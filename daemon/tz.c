/*
 * Time zones: the offset from UTC in force at an instant, and local
 * wall-clock times back to UTC.  Pure: no filesystem, no clock, no libc
 * time functions.  A zone is built from TZif bytes (RFC 8536) or a POSIX
 * TZ string, in one allocation, and is read-only afterwards, so threads
 * share it; lookups binary-search the transitions and allocate nothing.
 *
 * A zone is a list of transitions (UTC instant, offset in force from it
 * on), the offset before the first (time type 0, as RFC 8536 says), and
 * an optional rule (the TZif footer, or the POSIX string itself) for the
 * times after the last transition.  Leap second records of a TZif file
 * are skipped: a "right/" zone is read as if its times were UTC.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lethe.h"

#define DAY		86400
#define HOUR		3600
#define OFF_MAX		(26 * HOUR - 1)	/* |UT offset|, RFC 8536's bound */
#define RULE_HOURS_MAX	167		/* |hours| of a rule's time of day */
#define SPILL		(10 * DAY)	/* how far a rule's transition may lie
					   outside its calendar year in UTC */
#define T_LIMIT		(INT64_C(1) << 60) /* inputs clamped to +-T_LIMIT */
#define TZIF_HDR	44
#define TYPES_MAX	256		/* a transition's type is one byte */
#define CYCLE		400		/* years after which rules repeat */

enum date_kind {
	DATE_JULIAN,			/* Jn: 1..365, no February 29 */
	DATE_ZERO,			/* n: 0..365, February 29 counted */
	DATE_MONTH,			/* Mm.w.d */
};

/* A rule's date and time of day (wall clock before the change). */
struct tz_date {
	enum date_kind	 kind;
	int		 day;
	int		 mon;		/* 1..12 */
	int		 week;		/* 1..5, 5: the last */
	int		 wday;		/* 0..6, 0: Sunday */
	int32_t		 secs;		/* -167 h..167 h */
};

enum rule_kind {
	RULE_NONE,			/* no rule: the last offset stays */
	RULE_FIXED,			/* std only */
	RULE_DST,			/* start before end within a year */
	RULE_REVERSED,			/* end before start (south) */
	RULE_ALLDST,			/* DST all year */
};

struct tz_rule {
	enum rule_kind	 kind;
	int32_t		 std;		/* seconds east of UTC */
	int32_t		 dst;
	int32_t		 hi;		/* the larger of the two */
	struct tz_date	 start;		/* to DST, std wall clock */
	struct tz_date	 end;		/* to std, DST wall clock */
};

struct tz {
	const char	*name;
	size_t		 n;		/* transitions */
	int64_t		*at;		/* UTC, strictly ascending */
	int32_t		*off;		/* in force from at[i] on */
	int32_t		 off0;		/* before at[0] */
	struct tz_rule	 rule;		/* after at[n - 1] */
};

/* A cursor over a POSIX TZ string. */
struct pcur {
	const char	*p;
	const char	*e;
};

static struct tz utc_zone = { "UTC", 0, NULL, NULL, 0,
	{ RULE_NONE, 0, 0, 0, { DATE_ZERO, 0, 0, 0, 0, 0 },
	    { DATE_ZERO, 0, 0, 0, 0, 0 } } };

/* Messages naming the zone, valid until the next one in this thread. */
static _Thread_local char tz_errbuf[192];

static const char *
fail(const char *name, const char *what)
{
	snprintf(tz_errbuf, sizeof(tz_errbuf), "time zone \"%.64s\": %s",
	    name, what);
	return tz_errbuf;
}

/*
 * Calendar.
 */

static int
is_leap(int64_t y)
{
	return y % 4 == 0 && (y % 100 != 0 || y % 400 == 0);
}

static int64_t
floor_div(int64_t a, int64_t b)
{
	return a / b - (a % b < 0);
}

/* Days since 1970-01-01 of a proleptic Gregorian date. */
int64_t
tz_days_from_civil(int64_t y, int m, int d)
{
	int64_t era, yoe, doy, doe;

	if (m <= 2)
		y--;
	era = floor_div(y, 400);
	yoe = y - era * 400;
	doy = (153 * (m > 2 ? m - 3 : m + 9) + 2) / 5 + d - 1;
	doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
	return era * 146097 + doe - 719468;
}

/* The Gregorian year of UTC time t. */
int64_t
tz_year_of(int64_t t)
{
	int64_t z, era, doe, yoe, doy, mp;

	z = floor_div(t, DAY) + 719468;
	era = floor_div(z, 146097);
	doe = z - era * 146097;
	yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
	doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
	mp = (5 * doy + 2) / 153;
	return yoe + era * 400 + (mp >= 10);
}

static int
month_days(int64_t y, int m)
{
	static const int mdays[] = {
		31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31
	};

	return mdays[m - 1] + (m == 2 && is_leap(y));
}

static int64_t
clamp(int64_t t)
{
	return t < -T_LIMIT ? -T_LIMIT : t > T_LIMIT ? T_LIMIT : t;
}

/*
 * Rules.
 */

/* Wall-clock seconds (since 1970-01-01 of that clock) of d in year y. */
static int64_t
date_when(const struct tz_date *d, int64_t y)
{
	int64_t days;
	int first, md;

	switch (d->kind) {
	case DATE_JULIAN:
		days = tz_days_from_civil(y, 1, 1) + d->day - 1 +
		    (d->day >= 60 && is_leap(y));
		break;
	case DATE_ZERO:
		days = tz_days_from_civil(y, 1, 1) + d->day;
		break;
	default:
		days = tz_days_from_civil(y, d->mon, 1);
		first = (int)(((days + 4) % 7 + 7) % 7);	/* Thursday */
		md = 1 + (d->wday - first + 7) % 7 + 7 * (d->week - 1);
		if (md > month_days(y, d->mon))
			md -= 7;
		days += md - 1;
		break;
	}
	return days * DAY + d->secs;
}

/* The year's two transitions in UTC, earlier first. */
static void
rule_pair(const struct tz_rule *r, int64_t y, int64_t *a, int64_t *b)
{
	int64_t s, e;

	s = date_when(&r->start, y) - r->std;
	e = date_when(&r->end, y) - r->dst;
	if (r->kind == RULE_REVERSED) {
		*a = e;
		*b = s;
	} else {
		*a = s;
		*b = e;
	}
}

/*
 * The offset the rule gives at UTC time t: the state after the last
 * transition at or before t.  Transitions alternate (rule_classify
 * checked), so the pair of t's year decides, or of the year before or
 * after when t is near New Year and a transition spills over.
 */
static int32_t
rule_offset(const struct tz_rule *r, int64_t t)
{
	int64_t y, a, b;
	int rev = r->kind == RULE_REVERSED;

	if (r->kind == RULE_FIXED)
		return r->std;
	if (r->kind == RULE_ALLDST)
		return r->dst;
	y = tz_year_of(t);
	rule_pair(r, y, &a, &b);
	if (t < a && t - tz_days_from_civil(y, 1, 1) * DAY < SPILL)
		rule_pair(r, y - 1, &a, &b);
	else if (t >= b && tz_days_from_civil(y + 1, 1, 1) * DAY - t <= SPILL)
		rule_pair(r, y + 1, &a, &b);
	/* between a and b: after a start (normal) or an end (reversed) */
	return (a <= t && t < b) != rev ? r->dst : r->std;
}

/*
 * Decide how the start and end transitions fall: every year start before
 * end before the next start (RULE_DST), end before start before the next
 * end (RULE_REVERSED), or each DST period reaching the next (RULE_ALLDST,
 * RFC 8536's "DST all year").  The dates repeat every 400 years, so one
 * cycle decides for all.  Returns -1 when the rule fits none of these.
 */
static int
rule_classify(struct tz_rule *r)
{
	int64_t s[CYCLE + 1], e[CYCLE + 1];
	int i, fwd = 1, rev = 1, all = 1;

	for (i = 0; i <= CYCLE; i++) {
		s[i] = date_when(&r->start, 2000 + i) - r->std;
		e[i] = date_when(&r->end, 2000 + i) - r->dst;
	}
	for (i = 0; i < CYCLE; i++) {
		if (!(s[i] < e[i] && e[i] < s[i + 1]))
			fwd = 0;
		if (!(e[i] < s[i] && s[i] < e[i + 1]))
			rev = 0;
		if (!(s[i] < e[i] && e[i] >= s[i + 1]))
			all = 0;
	}
	if (fwd)
		r->kind = RULE_DST;
	else if (rev)
		r->kind = RULE_REVERSED;
	else if (all)
		r->kind = RULE_ALLDST;
	else
		return -1;
	return 0;
}

/*
 * POSIX TZ strings: std offset [dst [offset] [,start[/time],end[/time]]].
 */

static int
is_alpha(int c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z');
}

static int
is_digit(int c)
{
	return c >= '0' && c <= '9';
}

/* An unsigned number of 1..maxd digits, at most max. */
static int
pnum(struct pcur *c, int maxd, int max, int *v)
{
	int n = 0, x = 0;

	while (c->p < c->e && is_digit(*c->p) && n < maxd) {
		x = x * 10 + (*c->p++ - '0');
		n++;
	}
	if (n == 0 || x > max)
		return -1;
	*v = x;
	return 0;
}

/* "EST" or "<+0530>": at least three characters. */
static int
pname(struct pcur *c)
{
	const char *b = c->p;

	if (c->p < c->e && *c->p == '<') {
		for (b = ++c->p; c->p < c->e && *c->p != '>'; c->p++)
			if (!is_alpha(*c->p) && !is_digit(*c->p) &&
			    *c->p != '+' && *c->p != '-')
				return -1;
		if (c->p == c->e || c->p - b < 3)
			return -1;
		c->p++;
		return 0;
	}
	while (c->p < c->e && is_alpha(*c->p))
		c->p++;
	return c->p - b < 3 ? -1 : 0;
}

/* [+-]hh[:mm[:ss]], hours at most maxh: seconds, sign applied. */
static int
phms(struct pcur *c, int maxh, int32_t *v)
{
	int neg = 0, h, m = 0, s = 0;

	if (c->p < c->e && (*c->p == '+' || *c->p == '-'))
		neg = *c->p++ == '-';
	if (pnum(c, maxh > 99 ? 3 : 2, maxh, &h) == -1)
		return -1;
	if (c->p < c->e && *c->p == ':') {
		c->p++;
		if (pnum(c, 2, 59, &m) == -1)
			return -1;
		if (c->p < c->e && *c->p == ':') {
			c->p++;
			if (pnum(c, 2, 59, &s) == -1)
				return -1;
		}
	}
	*v = (h * HOUR + m * 60 + s) * (neg ? -1 : 1);
	return 0;
}

/* Jn, n or Mm.w.d, then an optional /time (default 02:00). */
static int
pdate(struct pcur *c, struct tz_date *d)
{
	memset(d, 0, sizeof(*d));
	d->secs = 2 * HOUR;
	if (c->p < c->e && *c->p == 'J') {
		c->p++;
		d->kind = DATE_JULIAN;
		if (pnum(c, 3, 365, &d->day) == -1 || d->day < 1)
			return -1;
	} else if (c->p < c->e && *c->p == 'M') {
		c->p++;
		d->kind = DATE_MONTH;
		if (pnum(c, 2, 12, &d->mon) == -1 || d->mon < 1 ||
		    c->p == c->e || *c->p++ != '.' ||
		    pnum(c, 1, 5, &d->week) == -1 || d->week < 1 ||
		    c->p == c->e || *c->p++ != '.' ||
		    pnum(c, 1, 6, &d->wday) == -1)
			return -1;
	} else {
		d->kind = DATE_ZERO;
		if (pnum(c, 3, 365, &d->day) == -1)
			return -1;
	}
	if (c->p < c->e && *c->p == '/') {
		c->p++;
		return phms(c, RULE_HOURS_MAX, &d->secs);
	}
	return 0;
}

/* Parse s[0..len) into *r; returns NULL or what is wrong. */
static const char *
posix_parse(const char *s, size_t len, struct tz_rule *r)
{
	struct pcur c = { s, s + len };
	int32_t west;

	memset(r, 0, sizeof(*r));
	if (pname(&c) == -1)
		return "bad standard time name";
	if (phms(&c, 24, &west) == -1)
		return "bad standard time offset";
	r->kind = RULE_FIXED;
	r->std = r->dst = r->hi = -west;
	if (c.p == c.e)
		return NULL;
	if (pname(&c) == -1)
		return "bad daylight saving time name";
	r->dst = r->std + HOUR;
	if (c.p < c.e && *c.p != ',') {
		if (phms(&c, 24, &west) == -1)
			return "bad daylight saving time offset";
		r->dst = -west;
	}
	if (c.p == c.e) {
		/* no rule: the US one, M3.2.0,M11.1.0 */
		r->start = (struct tz_date){ DATE_MONTH, 0, 3, 2, 0, 2 * HOUR };
		r->end = (struct tz_date){ DATE_MONTH, 0, 11, 1, 0, 2 * HOUR };
	} else if (*c.p++ != ',' || pdate(&c, &r->start) == -1 ||
	    c.p == c.e || *c.p++ != ',' || pdate(&c, &r->end) == -1)
		return "bad rule";
	if (c.p != c.e)
		return "trailing characters";
	r->hi = r->std > r->dst ? r->std : r->dst;
	if (rule_classify(r) == -1)
		return "rule transitions out of order";
	return NULL;
}

/* One allocation: the struct, n transitions, the name. */
static struct tz *
tz_alloc(const char *name, size_t n)
{
	struct tz *tz;
	size_t nlen = strlen(name) + 1;
	char *p;

	p = xmalloc(sizeof(*tz) + n * (sizeof(int64_t) + sizeof(int32_t)) +
	    nlen);
	tz = (struct tz *)(void *)p;
	memset(tz, 0, sizeof(*tz));
	tz->n = n;
	tz->at = (int64_t *)(void *)(p + sizeof(*tz));
	tz->off = (int32_t *)(void *)(p + sizeof(*tz) + n * sizeof(int64_t));
	memcpy(p + sizeof(*tz) + n * (sizeof(int64_t) + sizeof(int32_t)),
	    name, nlen);
	tz->name = p + sizeof(*tz) + n * (sizeof(int64_t) + sizeof(int32_t));
	return tz;
}

struct tz *
tz_from_posix(const char *spec, const char **errstr)
{
	struct tz_rule r;
	struct tz *tz;
	const char *why;

	if ((why = posix_parse(spec, strlen(spec), &r)) != NULL) {
		*errstr = fail(spec, why);
		return NULL;
	}
	tz = tz_alloc(spec, 0);
	tz->off0 = r.std;
	tz->rule = r;
	return tz;
}

/*
 * TZif (RFC 8536).
 */

struct tzif_hdr {
	int		 version;	/* 1..4 */
	uint32_t	 isut;
	uint32_t	 isstd;
	uint32_t	 leap;
	uint32_t	 time;
	uint32_t	 type;
	uint32_t	 chars;
};

static uint32_t
be32(const unsigned char *p)
{
	return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 |
	    (uint32_t)p[2] << 8 | p[3];
}

static int64_t
be64(const unsigned char *p)
{
	return (int64_t)((uint64_t)be32(p) << 32 | be32(p + 4));
}

static const char *
tzif_header(const unsigned char *p, size_t len, struct tzif_hdr *h)
{
	if (len < TZIF_HDR)
		return "truncated header";
	if (memcmp(p, "TZif", 4) != 0)
		return "not a TZif file";
	if (p[4] == 0)
		h->version = 1;
	else if (p[4] >= '2' && p[4] <= '4')
		h->version = p[4] - '0';
	else
		return "unknown TZif version";
	h->isut = be32(p + 20);
	h->isstd = be32(p + 24);
	h->leap = be32(p + 28);
	h->time = be32(p + 32);
	h->type = be32(p + 36);
	h->chars = be32(p + 40);
	return NULL;
}

/* Bytes of the data block after h, with tsize-byte times. */
static uint64_t
tzif_block_len(const struct tzif_hdr *h, int tsize)
{
	return (uint64_t)h->time * (tsize + 1) + (uint64_t)h->type * 6 +
	    h->chars + (uint64_t)h->leap * (tsize + 4) + h->isstd + h->isut;
}

/* Check the counts and the types of the block at p (length checked). */
static const char *
tzif_check(const struct tzif_hdr *h, const unsigned char *p, int tsize)
{
	const unsigned char *ty, *ind;
	uint32_t i;
	int32_t off;

	if (h->type == 0 || h->type > TYPES_MAX)
		return "bad number of local time types";
	if (h->chars == 0)
		return "no time zone designations";
	if ((h->isut != 0 && h->isut != h->type) ||
	    (h->isstd != 0 && h->isstd != h->type))
		return "bad number of indicators";
	ty = p + (size_t)h->time * (tsize + 1);
	for (i = 0; i < h->type; i++) {
		off = (int32_t)be32(ty + 6 * i);
		if (off < -OFF_MAX || off > OFF_MAX)
			return "UT offset out of range";
		if (ty[6 * i + 4] > 1 || ty[6 * i + 5] >= h->chars)
			return "bad local time type";
	}
	ind = ty + 6 * (size_t)h->type + h->chars +
	    (size_t)h->leap * (tsize + 4);
	for (i = 0; i < h->isstd + h->isut; i++)
		if (ind[i] > 1)
			return "bad indicator";
	for (i = 0; i < h->time; i++)
		if (p[(size_t)h->time * tsize + i] >= h->type)
			return "bad transition type";
	return NULL;
}

/* Fill tz's transitions from the block at p; -1 when out of order. */
static const char *
tzif_fill(struct tz *tz, const struct tzif_hdr *h, const unsigned char *p,
    int tsize)
{
	const unsigned char *idx = p + (size_t)h->time * tsize;
	const unsigned char *ty = idx + h->time;
	int64_t *at = tz->at;
	int32_t *off = tz->off;
	uint32_t i;

	tz->off0 = (int32_t)be32(ty);
	for (i = 0; i < h->time; i++) {
		at[i] = tsize == 8 ? be64(p + 8 * (size_t)i) :
		    (int32_t)be32(p + 4 * (size_t)i);
		if (at[i] < -T_LIMIT || at[i] > T_LIMIT)
			return "transition time out of range";
		if (i > 0 && at[i] <= at[i - 1])
			return "transitions out of order";
		off[i] = (int32_t)be32(ty + 6 * (size_t)idx[i]);
	}
	return NULL;
}

/* The footer "\nTZ\n" at p[0..len): its rule (RULE_NONE when empty). */
static const char *
tzif_footer(const unsigned char *p, size_t len, struct tz_rule *r)
{
	const unsigned char *nl;

	memset(r, 0, sizeof(*r));
	if (len < 2 || p[0] != '\n' ||
	    (nl = memchr(p + 1, '\n', len - 1)) == NULL)
		return "truncated footer";
	if (nl == p + 1)
		return NULL;
	if (posix_parse((const char *)p + 1, (size_t)(nl - p - 1), r) != NULL)
		return "bad TZ string in footer";
	return NULL;
}

struct tz *
tz_from_tzif(const char *name, const unsigned char *buf, size_t len,
    const char **errstr)
{
	struct tzif_hdr h;
	struct tz_rule r;
	struct tz *tz;
	const char *why;
	uint64_t skip;
	int tsize = 4, v1;

	memset(&r, 0, sizeof(r));
	if ((why = tzif_header(buf, len, &h)) != NULL)
		goto fail;
	if (h.version >= 2) {
		skip = TZIF_HDR + tzif_block_len(&h, 4);
		if (skip > len) {
			why = "truncated data";
			goto fail;
		}
		buf += skip;
		len -= skip;
		tsize = 8;
		v1 = h.version;
		if ((why = tzif_header(buf, len, &h)) != NULL)
			goto fail;
		if (h.version != v1) {
			why = "bad second header";
			goto fail;
		}
	}
	if (TZIF_HDR + tzif_block_len(&h, tsize) > len) {
		why = "truncated data";
		goto fail;
	}
	if ((why = tzif_check(&h, buf + TZIF_HDR, tsize)) != NULL)
		goto fail;
	skip = TZIF_HDR + tzif_block_len(&h, tsize);
	if (tsize == 8 &&
	    (why = tzif_footer(buf + skip, len - skip, &r)) != NULL)
		goto fail;
	tz = tz_alloc(name, h.time);
	if ((why = tzif_fill(tz, &h, buf + TZIF_HDR, tsize)) != NULL) {
		free(tz);
		goto fail;
	}
	tz->rule = r;
	return tz;
fail:
	*errstr = fail(name, why);
	return NULL;
}

/*
 * Lookups.
 */

const struct tz *
tz_utc(void)
{
	return &utc_zone;
}

void
tz_free(struct tz *tz)
{
	if (tz == NULL || tz == &utc_zone)
		return;
	free(tz);
}

const char *
tz_name(const struct tz *tz)
{
	return tz->name;
}

int
tz_offset(const struct tz *tz, int64_t t)
{
	size_t lo = 0, hi = tz->n, mid;

	t = clamp(t);
	while (lo < hi) {
		mid = lo + (hi - lo) / 2;
		if (tz->at[mid] <= t)
			lo = mid + 1;
		else
			hi = mid;
	}
	/* lo: transitions at or before t */
	if (tz->rule.kind != RULE_NONE && (tz->n == 0 || (lo == tz->n &&
	    t > tz->at[tz->n - 1])))
		return rule_offset(&tz->rule, t);
	return lo == 0 ? tz->off0 : tz->off[lo - 1];
}

/* Wall time of transition i: the later of the clocks before and after. */
static int64_t
wall_at(const struct tz *tz, size_t i)
{
	int32_t a = i == 0 ? tz->off0 : tz->off[i - 1], b = tz->off[i];

	return tz->at[i] + (a > b ? a : b);
}

/*
 * Each transition takes effect, in wall-clock terms, at the later of its
 * two wall clocks: a time in a gap still gets the offset before it (and
 * lands after the gap), a time in an overlap the offset before it too
 * (the earlier instant).  The rule does the same: its transitions shifted
 * by the larger of its offsets keep their order.  This is zoneinfo's
 * fold=0 everywhere; glibc's mktime (tm_isdst -1) differs only in a gap
 * that leaves a DST type for a standard one, where it takes the offset
 * after the gap (tests/unit/tz_equiv.py checks both).
 */
int64_t
tz_local_to_utc(const struct tz *tz, int64_t local)
{
	size_t lo = 0, hi = tz->n, mid;
	int64_t u;

	local = clamp(local);
	while (lo < hi) {
		mid = lo + (hi - lo) / 2;
		if (wall_at(tz, mid) <= local)
			lo = mid + 1;
		else
			hi = mid;
	}
	/* lo: transitions in effect by local */
	if (lo < tz->n || tz->rule.kind == RULE_NONE)
		return local - (lo == 0 ? tz->off0 : tz->off[lo - 1]);
	u = local - tz->rule.hi;
	if (tz->n > 0 && u <= tz->at[tz->n - 1])
		return local - tz->off[tz->n - 1];
	return local - rule_offset(&tz->rule, u);
}
