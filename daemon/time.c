/*
 * Timestamps of log lines: CLF, ISO 8601, epoch seconds (and ms, us, ns),
 * syslog, ctime and strptime patterns, to UTC seconds.  Pure: no clock
 * (a reference time comes in for forms without a year), no filesystem;
 * allocation-free and thread-safe once compiled.  Offset-less times go
 * through the format's zone (tz.c).
 *
 * Each form is one fixed-position pass: no loops over tables per byte,
 * month names by a switch on their three letters.  Auto mode picks the
 * form by the first bytes, so it costs one attempt in the common cases.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lethe.h"

#define DAY		86400
#define EPOCH_MAX	INT64_C(253402300799)	/* 9999-12-31T23:59:59Z */
#define REF_AHEAD	(31 * DAY)	/* how far past ref a yearless time
					   may lie */
#define YEARS_BACK	8		/* Feb 29: up to 8 years apart */
#define PATTERN_MAX	256

/* What a pattern holds, found by time_new. */
enum pat_flags {
	P_YEAR		= 1 << 0,
	P_MONTH		= 1 << 1,
	P_DAY		= 1 << 2,
	P_EPOCH		= 1 << 3,
	P_HOUR12	= 1 << 4,
	P_AMPM		= 1 << 5,
};

struct timefmt {
	enum time_form	 form;
	char		*pattern;	/* TIME_STRPTIME: %T, %F expanded */
	int		 flags;		/* enum pat_flags */
	const struct tz	*zone;		/* not owned */
};

/* A broken-down time as read. */
struct wall {
	int		 y, mo, d, h, mi, s;
	int		 has_off;
	int		 off;		/* seconds east, when has_off */
};

/* strptime state beyond the wall clock. */
struct pstate {
	struct wall	 w;
	int		 pm;		/* -1: no %p */
	int		 epoch_set;
	int64_t		 epoch;
};

static const struct {
	const char	*name;
	enum time_form	 form;
} forms[] = {
	{ "auto",	TIME_AUTO },
	{ "clf",	TIME_CLF },
	{ "clf_ms",	TIME_CLF_MS },
	{ "iso8601",	TIME_ISO8601 },
	{ "epoch",	TIME_EPOCH },
	{ "epoch_ms",	TIME_EPOCH_MS },
	{ "epoch_us",	TIME_EPOCH_US },
	{ "epoch_ns",	TIME_EPOCH_NS },
	{ "syslog",	TIME_SYSLOG },
	{ "ctime",	TIME_CTIME },
};

static const char *const month_names[] = {
	"january", "february", "march", "april", "may", "june", "july",
	"august", "september", "october", "november", "december"
};

static const char *const day_names[] = {
	"sunday", "monday", "tuesday", "wednesday", "thursday", "friday",
	"saturday"
};

/* Messages naming a conversion, valid until the next in this thread. */
static _Thread_local char time_errbuf[96];

/*
 * Pieces.
 */

static int
is_digit(char c)
{
	return (unsigned)((unsigned char)c - '0') < 10u;
}

static int
is_blank(char c)
{
	return c == ' ' || c == '\t';
}

static int
lower(char c)
{
	return c >= 'A' && c <= 'Z' ? c + ('a' - 'A') : (unsigned char)c;
}

/* Two digits at s, or -1. */
static int
dig2(const char *s)
{
	unsigned a = (unsigned char)s[0] - '0', b = (unsigned char)s[1] - '0';

	return a < 10 && b < 10 ? (int)(a * 10 + b) : -1;
}

static int
dig4(const char *s)
{
	int a = dig2(s), b = dig2(s + 2);

	return a < 0 || b < 0 ? -1 : a * 100 + b;
}

#define K3(a, b, c)	((unsigned)(a) << 16 | (unsigned)(b) << 8 | (c))

/* Three letters at s as one key; fold: as "Abc" (only letters change). */
static unsigned
key3(const char *s, int fold)
{
	unsigned a = (unsigned char)s[0], b = (unsigned char)s[1],
	    c = (unsigned char)s[2];

	if (fold) {
		a &= ~0x20u;
		b |= 0x20u;
		c |= 0x20u;
	}
	return K3(a, b, c);
}

/* "Jan".."Dec" at s: 1..12, or 0. */
static int
month3(const char *s, int fold)
{
	switch (key3(s, fold)) {
	case K3('J', 'a', 'n'): return 1;
	case K3('F', 'e', 'b'): return 2;
	case K3('M', 'a', 'r'): return 3;
	case K3('A', 'p', 'r'): return 4;
	case K3('M', 'a', 'y'): return 5;
	case K3('J', 'u', 'n'): return 6;
	case K3('J', 'u', 'l'): return 7;
	case K3('A', 'u', 'g'): return 8;
	case K3('S', 'e', 'p'): return 9;
	case K3('O', 'c', 't'): return 10;
	case K3('N', 'o', 'v'): return 11;
	case K3('D', 'e', 'c'): return 12;
	}
	return 0;
}

/* "Sun".."Sat" at s: 1..7, or 0. */
static int
wday3(const char *s, int fold)
{
	switch (key3(s, fold)) {
	case K3('S', 'u', 'n'): return 1;
	case K3('M', 'o', 'n'): return 2;
	case K3('T', 'u', 'e'): return 3;
	case K3('W', 'e', 'd'): return 4;
	case K3('T', 'h', 'u'): return 5;
	case K3('F', 'r', 'i'): return 6;
	case K3('S', 'a', 't'): return 7;
	}
	return 0;
}

/* Skip an optional fraction at s[*i]: '.' (or ',' when comma) digits. */
static int
skip_frac(const char *s, size_t len, size_t *i, int comma)
{
	if (*i < len && (s[*i] == '.' || (comma && s[*i] == ','))) {
		if (++*i >= len || !is_digit(s[*i]))
			return -1;
		while (*i < len && is_digit(s[*i]))
			(*i)++;
	}
	return 0;
}

/* "+01:00", "+0100", "+01" (ISO; "+0100" only when clf). */
static int
parse_offset(const char *s, size_t len, int clf, int *off)
{
	int h, m = 0;

	if (len < 3 || (s[0] != '+' && s[0] != '-') || (h = dig2(s + 1)) < 0)
		return -1;
	if (len == 5)
		m = dig2(s + 3);
	else if (len == 6 && s[3] == ':' && !clf)
		m = dig2(s + 4);
	else if (len != 3 || clf)
		return -1;
	if (m < 0 || h > 23 || m > 59)
		return -1;
	*off = (h * 3600 + m * 60) * (s[0] == '-' ? -1 : 1);
	return 0;
}

static int
valid_wall(const struct wall *w)
{
	static const int mdays[] = {
		31, 29, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31
	};

	if (w->y < 1 || w->y > 9999 || w->mo < 1 || w->mo > 12 ||
	    w->d < 1 || w->d > mdays[w->mo - 1] || w->h < 0 || w->h > 23 ||
	    w->mi < 0 || w->mi > 59 || w->s < 0 || w->s > 60)
		return 0;
	return w->mo != 2 || w->d != 29 || (w->y % 4 == 0 &&
	    (w->y % 100 != 0 || w->y % 400 == 0));
}

/* The wall clock to UTC: its own offset, or the zone's. */
static int
finish(const struct wall *w, const struct tz *zone, int64_t *t)
{
	int64_t local;

	if (!valid_wall(w))
		return -1;
	local = tz_days_from_civil(w->y, w->mo, w->d) * DAY +
	    w->h * 3600 + w->mi * 60 + w->s;
	*t = w->has_off ? local - w->off : tz_local_to_utc(zone, local);
	return 0;
}

/*
 * A yearless time: the latest year that puts it no more than REF_AHEAD
 * after ref ("Dec 31" read on Jan 2 is last year's).
 */
static int
finish_yearless(struct wall *w, const struct tz *zone, int64_t ref,
    int64_t *t)
{
	int64_t y, u;

	if (ref < -EPOCH_MAX || ref > EPOCH_MAX)
		return -1;
	y = tz_year_of(ref) + 1;
	for (w->y = (int)y; w->y >= y - 1 - YEARS_BACK; w->y--)
		if (finish(w, zone, &u) == 0 && u <= ref + REF_AHEAD) {
			*t = u;
			return 0;
		}
	return -1;
}

/* "29", "9", or " 9" (space padded) at s[*i], then a space. */
static int
mday(const char *s, size_t len, size_t *i, int *d)
{
	size_t j = *i;

	if (j < len && s[j] == ' ')
		j++;
	if (j + 1 >= len || !is_digit(s[j]))
		return -1;
	if (is_digit(s[j + 1]) && j == *i) {
		*d = dig2(s + j);
		j += 2;
	} else
		*d = s[j++] - '0';
	if (j >= len || s[j] != ' ')
		return -1;
	*i = j;
	return 0;
}

/* "hh:mm:ss" at s[i..]: 8 bytes. */
static int
hms(const char *s, size_t len, size_t i, struct wall *w)
{
	if (len - i < 8 || s[i + 2] != ':' || s[i + 5] != ':' ||
	    (w->h = dig2(s + i)) < 0 || (w->mi = dig2(s + i + 3)) < 0 ||
	    (w->s = dig2(s + i + 6)) < 0)
		return -1;
	return 0;
}

/*
 * The fixed forms.
 */

/*
 * "10/Oct/2000:13:55:36 -0700"; loose (clf_ms, auto): a fraction and no
 * zone allowed, "06/Feb/2009:12:14:14.655" (HAProxy).
 */
static int
parse_clf(const char *s, size_t len, int loose, const struct tz *zone,
    int64_t *t)
{
	struct wall w;
	size_t i = 20;

	if (len < 20 || s[2] != '/' || s[6] != '/' || s[11] != ':' ||
	    (w.d = dig2(s)) < 0 || (w.mo = month3(s + 3, 0)) == 0 ||
	    (w.y = dig4(s + 7)) < 0 || hms(s, len, 12, &w) == -1)
		return -1;
	if (loose && skip_frac(s, len, &i, 0) == -1)
		return -1;
	w.has_off = i < len;
	if (w.has_off) {
		if (s[i] != ' ' || parse_offset(s + i + 1, len - i - 1, 1,
		    &w.off) == -1)
			return -1;
	} else if (!loose)
		return -1;
	return finish(&w, zone, t);
}

/*
 * "2026-11-29T04:00:00[.123][Z|+01:00|+0100|+01]", 'T', 't' or ' ';
 * "2026/11/28 13:55:36" (nginx error log).  No zone: zone.
 */
static int
parse_iso(const char *s, size_t len, const struct tz *zone, int64_t *t)
{
	struct wall w;
	size_t i = 19;

	if (len < 19 || (s[4] != '-' && s[4] != '/') || s[7] != s[4] ||
	    (s[10] != 'T' && s[10] != 't' && s[10] != ' ') ||
	    (w.y = dig4(s)) < 0 || (w.mo = dig2(s + 5)) < 0 ||
	    (w.d = dig2(s + 8)) < 0 || hms(s, len, 11, &w) == -1 ||
	    skip_frac(s, len, &i, 1) == -1)
		return -1;
	w.has_off = i < len;
	w.off = 0;
	if (i == len || ((s[i] == 'Z' || s[i] == 'z') && i + 1 == len))
		return finish(&w, zone, t);
	if (s[i] == ' ' && i + 1 < len)
		i++;
	if (parse_offset(s + i, len - i, 0, &w.off) == -1)
		return -1;
	return finish(&w, zone, t);
}

/* "Sun Nov 29 05:47:57[.123456] 2026", "Sun Nov  9 ..." (Apache). */
static int
parse_ctime(const char *s, size_t len, const struct tz *zone, int64_t *t)
{
	struct wall w;
	size_t i = 8;

	if (len < 23 || s[3] != ' ' || wday3(s, 0) == 0 ||
	    (w.mo = month3(s + 4, 0)) == 0 || s[7] != ' ' ||
	    mday(s, len, &i, &w.d) == -1 || hms(s, len, i + 1, &w) == -1)
		return -1;
	i += 9;
	if (skip_frac(s, len, &i, 0) == -1 || len - i != 5 || s[i] != ' ' ||
	    (w.y = dig4(s + i + 1)) < 0)
		return -1;
	w.has_off = 0;
	return finish(&w, zone, t);
}

/* "Nov 29 05:47:57[.123]", "Nov  9 ...": the year from ref. */
static int
parse_syslog(const char *s, size_t len, const struct tz *zone, int64_t ref,
    int64_t *t)
{
	struct wall w;
	size_t i = 4;

	if (len < 14 || s[3] != ' ' || (w.mo = month3(s, 0)) == 0 ||
	    mday(s, len, &i, &w.d) == -1 || hms(s, len, i + 1, &w) == -1)
		return -1;
	i += 9;
	if (skip_frac(s, len, &i, 0) == -1 || i != len)
		return -1;
	w.has_off = 0;
	return finish_yearless(&w, zone, ref, t);
}

/*
 * Digits with an optional ".digits": seconds, or with scale 3, 6, 9 ms,
 * us, ns (the last scale digits of the integer part are below a second,
 * dropped).  Scale -1 (auto): by the integer's digit count, 1-11
 * seconds, 12-14 ms, 15-17 us, 18-20 ns.
 */
static int
parse_epoch(const char *s, size_t len, int scale, int64_t *t)
{
	size_t n = 0, i;
	int64_t v = 0;

	while (n < len && is_digit(s[n]))
		n++;
	i = n;
	if (n == 0 || skip_frac(s, len, &i, 0) == -1 || i != len)
		return -1;
	if (scale < 0) {
		if (n > 20)
			return -1;
		scale = n <= 11 ? 0 : n <= 14 ? 3 : n <= 17 ? 6 : 9;
	}
	for (i = 0; i + (size_t)scale < n; i++)
		if ((v = v * 10 + (s[i] - '0')) > EPOCH_MAX)
			return -1;
	*t = v;
	return 0;
}

static int
parse_auto(const char *s, size_t len, const struct tz *zone, int64_t ref,
    int64_t *t)
{
	if (len == 0)
		return -1;
	if (is_digit(s[0])) {
		if (len > 2 && s[2] == '/')
			return parse_clf(s, len, 1, zone, t);
		if (len > 4 && (s[4] == '-' || s[4] == '/'))
			return parse_iso(s, len, zone, t);
		return parse_epoch(s, len, -1, t);
	}
	if (len > 4 && s[3] == ' ' && !is_digit(s[4]) && s[4] != ' ')
		return parse_ctime(s, len, zone, t);
	return parse_syslog(s, len, zone, ref, t);
}

/*
 * strptime patterns.
 */

/* 1..maxd digits at s[*i], in lo..hi. */
static int
pnum(const char *s, size_t len, size_t *i, int maxd, int lo, int hi,
    int *v)
{
	int n = 0, x = 0;

	while (*i < len && n < maxd && is_digit(s[*i])) {
		x = x * 10 + (s[(*i)++] - '0');
		n++;
	}
	if (n == 0 || x < lo || x > hi)
		return -1;
	*v = x;
	return 0;
}

/* A full or three-letter English name from names, any case: index. */
static int
pname(const char *s, size_t len, size_t *i, const char *const *names,
    int idx)
{
	const char *full = names[idx];
	size_t n = strlen(full), k;

	for (k = 3; k < n && *i + k < len; k++)
		if (lower(s[*i + k]) != full[k])
			break;
	*i += k == n ? n : 3;
	return idx;
}

static int
pmonth(const char *s, size_t len, size_t *i, int *mo)
{
	int m;

	if (len - *i < 3 || (m = month3(s + *i, 1)) == 0)
		return -1;
	*mo = pname(s, len, i, month_names, m - 1) + 1;
	return 0;
}

static int
pwday(const char *s, size_t len, size_t *i)
{
	int d;

	if (len - *i < 3 || (d = wday3(s + *i, 1)) == 0)
		return -1;
	(void)pname(s, len, i, day_names, d - 1);
	return 0;
}

/* %z: "Z", "+hh", "+hhmm", "+hh:mm". */
static int
pzone(const char *s, size_t len, size_t *i, struct wall *w)
{
	size_t j = *i, n;

	w->has_off = 1;
	w->off = 0;
	if (j < len && s[j] == 'Z') {
		*i = j + 1;
		return 0;
	}
	n = len - j >= 6 && s[j + 3] == ':' ? 6 : len - j >= 5 &&
	    is_digit(s[j + 3]) ? 5 : 3;
	if (len - j < n || parse_offset(s + j, n, 0, &w->off) == -1)
		return -1;
	*i = j + n;
	return 0;
}

/* %Z: "UTC", "GMT", "Z". */
static int
pzname(const char *s, size_t len, size_t *i, struct wall *w)
{
	w->has_off = 1;
	w->off = 0;
	if (len - *i >= 3 && (memcmp(s + *i, "UTC", 3) == 0 ||
	    memcmp(s + *i, "GMT", 3) == 0))
		*i += 3;
	else if (*i < len && s[*i] == 'Z')
		(*i)++;
	else
		return -1;
	return 0;
}

/* %p: "AM", "PM", any case. */
static int
pampm(const char *s, size_t len, size_t *i, int *pm)
{
	int a, m;

	if (len - *i < 2)
		return -1;
	a = lower(s[*i]);
	m = lower(s[*i + 1]);
	if ((a != 'a' && a != 'p') || m != 'm')
		return -1;
	*pm = a == 'p';
	*i += 2;
	return 0;
}

/* %s: epoch seconds. */
static int
pepoch(const char *s, size_t len, size_t *i, struct pstate *st)
{
	size_t j = *i;
	int64_t v = 0;

	if (j >= len || !is_digit(s[j]))
		return -1;
	for (; j < len && is_digit(s[j]); j++)
		if ((v = v * 10 + (s[j] - '0')) > EPOCH_MAX)
			return -1;
	st->epoch = v;
	st->epoch_set = 1;
	*i = j;
	return 0;
}

/* %f: fraction digits, dropped. */
static int
pfrac(const char *s, size_t len, size_t *i)
{
	if (*i >= len || !is_digit(s[*i]))
		return -1;
	while (*i < len && is_digit(s[*i]))
		(*i)++;
	return 0;
}

/* One conversion (time_new checked c) at s[*i]. */
static int
conv(char c, const char *s, size_t len, size_t *i, struct pstate *st)
{
	struct wall *w = &st->w;

	switch (c) {
	case 'Y':
		if (len - *i < 4 || (w->y = dig4(s + *i)) < 0)
			return -1;
		*i += 4;
		return 0;
	case 'y':
		if (len - *i < 2 || (w->y = dig2(s + *i)) < 0)
			return -1;
		w->y += w->y < 69 ? 2000 : 1900;
		*i += 2;
		return 0;
	case 'm':
		return pnum(s, len, i, 2, 1, 12, &w->mo);
	case 'e':
		if (*i < len && s[*i] == ' ')
			(*i)++;
		/* FALLTHROUGH */
	case 'd':
		return pnum(s, len, i, 2, 1, 31, &w->d);
	case 'H':
		return pnum(s, len, i, 2, 0, 23, &w->h);
	case 'I':
		return pnum(s, len, i, 2, 1, 12, &w->h);
	case 'M':
		return pnum(s, len, i, 2, 0, 59, &w->mi);
	case 'S':
		return pnum(s, len, i, 2, 0, 60, &w->s);
	case 'b': case 'h': case 'B':
		return pmonth(s, len, i, &w->mo);
	case 'a': case 'A':
		return pwday(s, len, i);
	case 'z':
		return pzone(s, len, i, w);
	case 'Z':
		return pzname(s, len, i, w);
	case 's':
		return pepoch(s, len, i, st);
	case 'f':
		return pfrac(s, len, i);
	case 'p':
		return pampm(s, len, i, &st->pm);
	case '%':
		if (*i >= len || s[*i] != '%')
			return -1;
		(*i)++;
		return 0;
	}
	return -1;
}

static int
parse_pattern(const struct timefmt *f, const char *s, size_t len,
    int64_t ref, int64_t *t)
{
	struct pstate st;
	const char *p;
	size_t i = 0;

	memset(&st, 0, sizeof(st));
	st.pm = -1;
	st.w.y = 1970;
	st.w.mo = st.w.d = 1;
	for (p = f->pattern; *p != '\0'; p++) {
		if (*p == ' ') {
			if (i >= len || !is_blank(s[i]))
				return -1;
			while (i < len && is_blank(s[i]))
				i++;
		} else if (*p == '%') {
			if (conv(*++p, s, len, &i, &st) == -1)
				return -1;
		} else if (i < len && s[i] == *p)
			i++;
		else
			return -1;
	}
	if (i != len)
		return -1;
	if (st.epoch_set) {
		*t = st.epoch;
		return 0;
	}
	if (st.pm != -1)
		st.w.h = st.w.h % 12 + (st.pm ? 12 : 0);
	if (!(f->flags & P_YEAR))
		return finish_yearless(&st.w, f->zone, ref, t);
	return finish(&st.w, f->zone, t);
}

/*
 * Compiling.
 */

/* What conversion c tells of a pattern. */
static int
conv_flags(char c)
{
	switch (c) {
	case 'Y': case 'y':
		return P_YEAR;
	case 'm': case 'b': case 'h': case 'B':
		return P_MONTH;
	case 'd': case 'e':
		return P_DAY;
	case 'F':
		return P_YEAR | P_MONTH | P_DAY;
	case 's':
		return P_EPOCH;
	case 'I':
		return P_HOUR12;
	case 'p':
		return P_AMPM;
	}
	return 0;
}

/*
 * Check pattern's conversions and copy it to out with %T and %F
 * expanded; NULL or what is wrong.
 */
static const char *
compile_pattern(const char *pat, char *out, size_t outsz, int *flags)
{
	static const char known[] = "YymdeHIMSbhBaAzZsfp%";
	size_t o = 0;
	const char *add;
	char one[3];

	*flags = 0;
	for (; *pat != '\0'; pat++) {
		one[0] = *pat;
		one[1] = one[2] = '\0';
		add = one;
		if (*pat == '%') {
			if (*++pat == '\0')
				return "time format ends with %";
			one[1] = *pat;
			*flags |= conv_flags(*pat);
			if (*pat == 'T')
				add = "%H:%M:%S";
			else if (*pat == 'F')
				add = "%Y-%m-%d";
			else if (strchr(known, *pat) == NULL) {
				snprintf(time_errbuf, sizeof(time_errbuf),
				    "unknown conversion %%%c in time format",
				    *pat >= ' ' && *pat < 127 ? *pat : '?');
				return time_errbuf;
			}
		}
		if (o + strlen(add) >= outsz)
			return "time format too long";
		memcpy(out + o, add, strlen(add) + 1);
		o += strlen(add);
	}
	return NULL;
}

static const char *
check_flags(int flags)
{
	if (!(flags & P_EPOCH) && (!(flags & P_MONTH) || !(flags & P_DAY)))
		return "time format needs a month and a day, or %s";
	if (!(flags & P_HOUR12) != !(flags & P_AMPM))
		return "time format needs %I and %p together";
	return NULL;
}

struct timefmt *
time_new(const char *spec, const struct tz *zone, const char **errstr)
{
	struct timefmt *f;
	char buf[PATTERN_MAX];
	const char *why;
	size_t i;
	int flags;

	*errstr = NULL;
	if (spec == NULL)
		spec = "auto";
	f = xcalloc(1, sizeof(*f));
	f->zone = zone != NULL ? zone : tz_utc();
	if (strchr(spec, '%') != NULL) {
		if ((why = compile_pattern(spec, buf, sizeof(buf),
		    &flags)) != NULL || (why = check_flags(flags)) != NULL) {
			*errstr = why;
			free(f);
			return NULL;
		}
		f->form = TIME_STRPTIME;
		f->pattern = xstrdup(buf);
		f->flags = flags;
		return f;
	}
	for (i = 0; i < sizeof(forms) / sizeof(forms[0]); i++)
		if (strcmp(spec, forms[i].name) == 0) {
			f->form = forms[i].form;
			return f;
		}
	free(f);
	*errstr = "unknown time format";
	return NULL;
}

void
time_free(struct timefmt *f)
{
	if (f == NULL)
		return;
	free(f->pattern);
	free(f);
}

/* Blanks around, then one pair of [ ] when brackets. */
static void
trim(const char **s, size_t *len, int brackets)
{
	while (*len > 0 && is_blank(**s)) {
		(*s)++;
		(*len)--;
	}
	while (*len > 0 && is_blank((*s)[*len - 1]))
		(*len)--;
	if (brackets && *len >= 2 && (*s)[0] == '[' && (*s)[*len - 1] == ']') {
		(*s)++;
		*len -= 2;
	}
}

int
time_parse(const struct timefmt *f, const char *s, size_t len, int64_t ref,
    int64_t *t)
{
	/* a pattern that starts with '[' matches the brackets itself */
	trim(&s, &len, f->form != TIME_STRPTIME || f->pattern[0] != '[');
	switch (f->form) {
	case TIME_AUTO:
		return parse_auto(s, len, f->zone, ref, t);
	case TIME_CLF:
	case TIME_CLF_MS:
		return parse_clf(s, len, f->form == TIME_CLF_MS, f->zone, t);
	case TIME_ISO8601:
		return parse_iso(s, len, f->zone, t);
	case TIME_EPOCH:
		return parse_epoch(s, len, 0, t);
	case TIME_EPOCH_MS:
		return parse_epoch(s, len, 3, t);
	case TIME_EPOCH_US:
		return parse_epoch(s, len, 6, t);
	case TIME_EPOCH_NS:
		return parse_epoch(s, len, 9, t);
	case TIME_SYSLOG:
		return parse_syslog(s, len, f->zone, ref, t);
	case TIME_CTIME:
		return parse_ctime(s, len, f->zone, t);
	case TIME_STRPTIME:
		return parse_pattern(f, s, len, ref, t);
	}
	return -1;
}

int
time_parse_auto(const char *s, size_t len, const struct tz *zone,
    int64_t ref, int64_t *t)
{
	trim(&s, &len, 1);
	return parse_auto(s, len, zone, ref, t);
}
