/*
 * Log formats: find a line's time and the byte spans of its candidate
 * address tokens.  Pure: no filesystem, no clock.  format_scan() runs once
 * per line and allocates nothing once the caller's struct spans has room:
 * one left-to-right pass with memchr, PCRE2 match data made once per format.
 */
#include <limits.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define PCRE2_CODE_UNIT_WIDTH 8
#include <pcre2.h>

#include "lethe.h"

#define JSON_DEPTH	32		/* nesting and key path limit */
#define FIELDS_MAX	64		/* json keys: one bit each */
#define EPOCH_MAX	253402300799LL	/* 9999-12-31T23:59:59Z */
#define JIT_STACK_MAX	(1024 * 1024)

enum field_bits {
	F_REMOTE_ADDR	= 1 << 0,
	F_XFF		= 1 << 1,
	F_CLIENT	= 1 << 2,
	F_REMOTE	= 1 << 3,
};

#define K(k)		(1 << (k))

static const struct {
	const char	*name;
	int		 bit;
	int		 kinds;
} text_fields[] = {
	{ "remote_addr", F_REMOTE_ADDR, K(FORMAT_COMBINED) | K(FORMAT_COMMON) |
	    K(FORMAT_MAIN) | K(FORMAT_VHOST_COMBINED) },
	{ "http_x_forwarded_for", F_XFF, K(FORMAT_MAIN) },
	{ "client", F_CLIENT, K(FORMAT_NGINX_ERROR) | K(FORMAT_APACHE_ERROR) },
	{ "remote", F_REMOTE, K(FORMAT_APACHE_ERROR) },
};

static const struct {
	const char	*name;
	const char	*fields;
} kinds[] = {
	[FORMAT_COMBINED] =		{ "combined", "remote_addr" },
	[FORMAT_COMMON] =		{ "common", "remote_addr" },
	[FORMAT_MAIN] =			{ "main",
					  "remote_addr,http_x_forwarded_for" },
	[FORMAT_VHOST_COMBINED] =	{ "vhost_combined", "remote_addr" },
	[FORMAT_NGINX_ERROR] =		{ "nginx_error", "client" },
	[FORMAT_APACHE_ERROR] =		{ "apache_error", "client,remote" },
	[FORMAT_JSON] =			{ "json", NULL },
	[FORMAT_REGEX] =		{ "regex", NULL },
};

#define NKINDS		(sizeof(kinds) / sizeof(kinds[0]))

/* Top-level json keys that hold the time, best first. */
static const char *const json_time_keys[] = {
	"time_local", "time_iso8601", "time", "ts"
};
#define NTIMEKEYS	(sizeof(json_time_keys) / sizeof(json_time_keys[0]))

static const char months[] = "JanFebMarAprMayJunJulAugSepOctNovDec";

/* A json key path, "request.remote_ip": components point into name. */
struct jfield {
	char		*name;
	size_t		 ncomp;
	size_t		 off[JSON_DEPTH];
	size_t		 len[JSON_DEPTH];
};

struct format {
	enum format_kind kind;
	char		*regex;		/* as given, for format_clone */
	char	       **given;
	size_t		 ngiven;
	int		 fields;	/* text formats: enum field_bits */
	struct jfield	*jf;		/* json */
	size_t		 njf;
	pcre2_code	*re;		/* regex */
	pcre2_match_data *md;
	pcre2_match_context *mctx;
	pcre2_jit_stack	*jstack;
	int		 jit;
	uint32_t	*groups;	/* address group numbers */
	uint32_t	*order;		/* scratch: set groups by offset */
	size_t		 ngroups;
	uint32_t	*tgroups;	/* "time" group numbers */
	size_t		 ntgroups;
	char		 clf_text[26];	/* the last CLF time, */
	int64_t		 clf_t;		/* its value, */
	int		 clf_ok;	/* if there is one */
};

/* State of the json walker over one line. */
struct jwalk {
	const struct format *f;
	const char	*s;
	size_t		 len;
	size_t		 i;
	struct spans	*sp;
	int64_t		*t;
	size_t		 tprio;
};

/* format_new's error messages; valid until the next call. */
static char	format_err[256];

static int	json_value(struct jwalk *, int, size_t, uint64_t);

/*
 * Spans.
 */

void
spans_release(struct spans *sp)
{
	free(sp->v);
	sp->v = NULL;
	sp->n = sp->cap = 0;
}

/* Append [off, off + len); empty spans and overlaps are dropped. */
static inline void
spans_add(struct spans *sp, size_t off, size_t len)
{
	struct span *last;
	size_t cap;

	if (len == 0)
		return;
	if (sp->n > 0) {
		last = &sp->v[sp->n - 1];
		if (off < (size_t)last->off + last->len)
			return;
	}
	if (sp->n == sp->cap) {
		cap = sp->cap ? sp->cap * 2 : 16;
		sp->v = xreallocarray(sp->v, cap, sizeof(*sp->v));
		sp->cap = cap;
	}
	sp->v[sp->n].off = (uint32_t)off;
	sp->v[sp->n].len = (uint32_t)len;
	sp->n++;
}

static int
is_sep(char c)
{
	return c == ',' || c == ' ' || c == '\t';
}

/* A list field "a, b c": one span per element of s[off, end). */
static void
spans_add_list(struct spans *sp, const char *s, size_t off, size_t end)
{
	size_t start;

	while (off < end) {
		while (off < end && is_sep(s[off]))
			off++;
		start = off;
		while (off < end && !is_sep(s[off]))
			off++;
		spans_add(sp, start, off - start);
	}
}

/*
 * Time.
 */

static int
digits(const char *s, size_t n, int *v)
{
	size_t i;
	int x = 0;

	for (i = 0; i < n; i++) {
		if (s[i] < '0' || s[i] > '9')
			return -1;
		x = x * 10 + (s[i] - '0');
	}
	*v = x;
	return 0;
}

static int
is_digit(char c)
{
	return c >= '0' && c <= '9';
}

static int
month_index(const char *s)
{
	int i;

	for (i = 0; i < 12; i++)
		if (memcmp(s, months + 3 * i, 3) == 0)
			return i + 1;
	return -1;
}

/* Days since 1970-01-01 of a proleptic Gregorian date. */
static int64_t
days_from_civil(int64_t y, int m, int d)
{
	int64_t era, yoe, doy, doe;

	if (m <= 2)
		y--;
	era = (y >= 0 ? y : y - 399) / 400;
	yoe = y - era * 400;
	doy = (153 * (m > 2 ? m - 3 : m + 9) + 2) / 5 + d - 1;
	doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
	return era * 146097 + doe - 719468;
}

static int
valid_tm(int y, int mo, int d, int h, int mi, int s)
{
	static const int mdays[] = {
		31, 29, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31
	};

	if (y < 1 || y > 9999 || mo < 1 || mo > 12 || d < 1 ||
	    d > mdays[mo - 1] || h > 23 || mi > 59 || s > 60)
		return 0;
	if (mo == 2 && d == 29 && !(y % 4 == 0 && (y % 100 != 0 ||
	    y % 400 == 0)))
		return 0;
	return 1;
}

/* UTC broken-down time minus an offset east of UTC, in seconds. */
static int
utc_epoch(int y, int mo, int d, int h, int mi, int s, int off, int64_t *t)
{
	if (!valid_tm(y, mo, d, h, mi, s))
		return -1;
	*t = days_from_civil(y, mo, d) * 86400 + h * 3600 + mi * 60 + s - off;
	return 0;
}

/* Local broken-down time, DST as the zone says. */
static int
local_epoch(int y, int mo, int d, int h, int mi, int s, int64_t *t)
{
	struct tm tm;
	time_t r;

	if (!valid_tm(y, mo, d, h, mi, s))
		return -1;
	memset(&tm, 0, sizeof(tm));
	tm.tm_year = y - 1900;
	tm.tm_mon = mo - 1;
	tm.tm_mday = d;
	tm.tm_hour = h;
	tm.tm_min = mi;
	tm.tm_sec = s;
	tm.tm_isdst = -1;
	if ((r = mktime(&tm)) == (time_t)-1)
		return -1;
	*t = r;
	return 0;
}

/* "+01:00", "+0100", "+01", "-05:30": seconds east of UTC. */
static int
parse_offset(const char *s, size_t len, int *off)
{
	int h, m = 0;

	if (len < 3 || (s[0] != '+' && s[0] != '-') || digits(s + 1, 2, &h))
		return -1;
	if (len == 6 && s[3] == ':') {
		if (digits(s + 4, 2, &m))
			return -1;
	} else if (len == 5) {
		if (digits(s + 3, 2, &m))
			return -1;
	} else if (len != 3)
		return -1;
	if (h > 23 || m > 59)
		return -1;
	*off = (h * 3600 + m * 60) * (s[0] == '-' ? -1 : 1);
	return 0;
}

/* Skip an optional ".123" or ",123" at s[*i]. */
static int
skip_fraction(const char *s, size_t len, size_t *i)
{
	if (*i < len && (s[*i] == '.' || s[*i] == ',')) {
		(*i)++;
		if (*i >= len || !is_digit(s[*i]))
			return -1;
		while (*i < len && is_digit(s[*i]))
			(*i)++;
	}
	return 0;
}

/* "10/Oct/2000:13:55:36 -0700" */
static int
parse_clf(const char *s, size_t len, int64_t *t)
{
	int d, mo, y, h, mi, sec, off;

	if (len != 26 || s[2] != '/' || s[6] != '/' || s[11] != ':' ||
	    s[14] != ':' || s[17] != ':' || s[20] != ' ')
		return -1;
	if (digits(s, 2, &d) || (mo = month_index(s + 3)) == -1 ||
	    digits(s + 7, 4, &y) || digits(s + 12, 2, &h) ||
	    digits(s + 15, 2, &mi) || digits(s + 18, 2, &sec) ||
	    parse_offset(s + 21, 5, &off))
		return -1;
	return utc_epoch(y, mo, d, h, mi, sec, off, t);
}

/*
 * "2026-11-29T04:00:00[.123][Z|+01:00|+0100]", "T" or a space; also
 * "2026/11/28 13:55:36" (nginx).  Without a zone: local time.
 */
static int
parse_iso(const char *s, size_t len, int64_t *t)
{
	int y, mo, d, h, mi, sec, off;
	size_t i = 19;

	if (len < 19 || (s[4] != '-' && s[4] != '/') || s[7] != s[4] ||
	    (s[10] != 'T' && s[10] != 't' && s[10] != ' ') ||
	    s[13] != ':' || s[16] != ':')
		return -1;
	if (digits(s, 4, &y) || digits(s + 5, 2, &mo) ||
	    digits(s + 8, 2, &d) || digits(s + 11, 2, &h) ||
	    digits(s + 14, 2, &mi) || digits(s + 17, 2, &sec) ||
	    skip_fraction(s, len, &i))
		return -1;
	if (i == len)
		return local_epoch(y, mo, d, h, mi, sec, t);
	if ((s[i] == 'Z' || s[i] == 'z') && i + 1 == len)
		return utc_epoch(y, mo, d, h, mi, sec, 0, t);
	if (s[i] == ' ' && i + 1 < len)
		i++;
	if (parse_offset(s + i, len - i, &off))
		return -1;
	return utc_epoch(y, mo, d, h, mi, sec, off, t);
}

/* Apache's "Sun Nov 29 05:47:57[.123456] 2026", local time. */
static int
parse_ctime(const char *s, size_t len, int64_t *t)
{
	int mo, d, h, mi, sec, y;
	size_t i = 8;

	if (len < 23 || s[3] != ' ' || (mo = month_index(s + 4)) == -1 ||
	    s[7] != ' ')
		return -1;
	if (s[i] == ' ')
		i++;
	if (is_digit(s[i]) && is_digit(s[i + 1])) {
		(void)digits(s + i, 2, &d);
		i += 2;
	} else if (is_digit(s[i])) {
		d = s[i++] - '0';
	} else
		return -1;
	if (len - i < 9 || s[i] != ' ' || s[i + 3] != ':' ||
	    s[i + 6] != ':' || digits(s + i + 1, 2, &h) ||
	    digits(s + i + 4, 2, &mi) || digits(s + i + 7, 2, &sec))
		return -1;
	i += 9;
	if (skip_fraction(s, len, &i) || len - i != 5 || s[i] != ' ' ||
	    digits(s + i + 1, 4, &y))
		return -1;
	return local_epoch(y, mo, d, h, mi, sec, t);
}

/* "1764388800" or "1764388800.123" */
static int
parse_epoch(const char *s, size_t len, int64_t *t)
{
	int64_t v = 0;
	size_t i = 0;

	while (i < len && is_digit(s[i])) {
		if (i == 12)
			return -1;
		v = v * 10 + (s[i++] - '0');
	}
	if (i == 0 || skip_fraction(s, len, &i) || i != len || v > EPOCH_MAX)
		return -1;
	*t = v;
	return 0;
}

int
format_parse_time(const char *s, size_t len, int64_t *t)
{
	while (len > 0 && (s[0] == ' ' || s[0] == '\t')) {
		s++;
		len--;
	}
	while (len > 0 && (s[len - 1] == ' ' || s[len - 1] == '\t'))
		len--;
	if (len >= 2 && s[0] == '[' && s[len - 1] == ']') {
		s++;
		len -= 2;
	}
	if (len == 0)
		return -1;
	if (!is_digit(s[0]))
		return parse_ctime(s, len, t);
	if (len >= 3 && s[2] == '/')
		return parse_clf(s, len, t);
	if (len >= 5 && (s[4] == '-' || s[4] == '/'))
		return parse_iso(s, len, t);
	return parse_epoch(s, len, t);
}

/*
 * Text formats.
 */

/*
 * parse_clf, remembering the last time parsed: lines come in time order,
 * many in the same second, so most lines repeat the line before's time.
 */
static int
parse_clf_cached(struct format *f, const char *s, int64_t *t)
{
	if (f->clf_ok && memcmp(s, f->clf_text, sizeof(f->clf_text)) == 0) {
		*t = f->clf_t;
		return 0;
	}
	if (parse_clf(s, sizeof(f->clf_text), t) == -1)
		return -1;
	memcpy(f->clf_text, s, sizeof(f->clf_text));
	f->clf_t = *t;
	f->clf_ok = 1;
	return 0;
}

/*
 * Find "[10/Oct/2000:13:55:36 -0700]" at or after from: sets *t and
 * returns the offset past "]", or returns from when there is none.
 */
static size_t
scan_clf_time(struct format *f, const char *s, size_t len, size_t from,
    int64_t *t)
{
	const char *q, *e;
	size_t o, n, i = from;
	int tries;

	for (tries = 0; tries < 4 && i < len; tries++) {
		if ((q = memchr(s + i, '[', len - i)) == NULL)
			break;
		o = q - s;
		if (len - o >= 28 && s[o + 27] == ']' &&
		    parse_clf_cached(f, s + o + 1, t) == 0)
			return o + 28;
		/* other forms, not too short to be a time */
		n = len - o - 1 < 64 ? len - o - 1 : 64;
		if ((e = memchr(s + o + 1, ']', n)) != NULL &&
		    (n = e - s - o - 1) >= 10 &&
		    format_parse_time(s + o + 1, n, t) == 0)
			return e - s + 1;
		i = o + 1;
	}
	return from;
}

/* End of the token that starts at off: the next space, or len. */
static size_t
token_end(const char *s, size_t len, size_t off)
{
	const char *q;

	if (off >= len)
		return len;
	q = memchr(s + off, ' ', len - off);
	return q != NULL ? (size_t)(q - s) : len;
}

/* The last quoted field of a line, when it starts at or after from. */
static void
scan_last_quoted(const char *s, size_t len, size_t from, struct spans *sp)
{
	const char *q;

	while (len > from && (s[len - 1] == ' ' || s[len - 1] == '\t' ||
	    s[len - 1] == '\r'))
		len--;
	if (len < from + 2 || s[len - 1] != '"')
		return;
	if ((q = memrchr(s + from, '"', len - 1 - from)) == NULL)
		return;
	spans_add_list(sp, s, q - s + 1, len - 1);
}

/*
 * combined, common, main, vhost_combined.  t NULL: the time is not
 * wanted, but main still needs to know where it ends.
 */
static void
scan_access(struct format *f, const char *s, size_t len, struct spans *sp,
    int64_t *t)
{
	size_t off = 0, end, after;
	int64_t unused;

	end = token_end(s, len, 0);
	if (f->kind == FORMAT_VHOST_COMBINED) {
		if (end == len)
			return;
		off = end + 1;
		end = token_end(s, len, off);
	}
	if (f->fields & F_REMOTE_ADDR)
		spans_add(sp, off, end - off);
	if (f->kind != FORMAT_MAIN || !(f->fields & F_XFF)) {
		if (t != NULL)
			(void)scan_clf_time(f, s, len, end, t);
		return;
	}
	after = scan_clf_time(f, s, len, end, t != NULL ? t : &unused);
	scan_last_quoted(s, len, after, sp);
}

/* "... client: 192.0.2.7, server: ..." after an nginx error's time */
static void
scan_nginx_error(const struct format *f, const char *s, size_t len,
    struct spans *sp, int64_t *t)
{
	static const char key[] = ", client: ";
	const char *q;
	size_t off = 0, end;
	int64_t unused;

	if (len >= 20 && s[19] == ' ' &&
	    parse_iso(s, 19, t != NULL ? t : &unused) == 0)
		off = 20;
	if (!(f->fields & F_CLIENT))
		return;
	while (off < len && (q = memmem(s + off, len - off, key,
	    sizeof(key) - 1)) != NULL) {
		off = q - s + sizeof(key) - 1;
		for (end = off; end < len && s[end] != ',' && s[end] != ' ';
		    end++)
			;
		spans_add(sp, off, end - off);
		off = end;
	}
}

/*
 * Apache writes "ADDR:PORT" without brackets, also for IPv6
 * ("[client 2001:db8::1:51234]"): the span is the address alone when the
 * text before the last colon is one, so the port stays as it is.
 */
static size_t
apache_addr_len(const char *s, size_t len)
{
	static const struct addr_prefix any = { 32, 128 };
	char out[ADDR_OUT_MAX];
	const char *colon;
	size_t i, olen;
	int full;

	if (len == 0 || s[0] == '[' || (colon = memrchr(s, ':', len)) == NULL ||
	    memchr(s, ':', (size_t)(colon - s)) == NULL)
		return len;
	for (i = (size_t)(colon - s) + 1; i < len; i++)
		if (s[i] < '0' || s[i] > '9')
			return len;
	if (len - (size_t)(colon - s) - 1 > 5)
		return len;
	if (addr_mask(s, (size_t)(colon - s), &any, out, sizeof(out), &olen,
	    &full) == 0)
		return (size_t)(colon - s);
	return len;
}

/* "[Sun Nov 29 05:47:57 2026] [core:error] ... [client 192.0.2.7:1234]" */
static void
scan_apache_error(const struct format *f, const char *s, size_t len,
    struct spans *sp, int64_t *t)
{
	const char *q;
	size_t off = 0, end;
	int64_t unused;
	int bit;

	if (len > 0 && s[0] == '[' && (q = memchr(s, ']',
	    len < 64 ? len : 64)) != NULL) {
		if (format_parse_time(s + 1, q - s - 1,
		    t != NULL ? t : &unused) == 0)
			off = q - s + 1;
	}
	while (off < len && (q = memchr(s + off, '[', len - off)) != NULL) {
		off = q - s + 1;
		if (len - off < 7)
			break;
		if (memcmp(s + off, "client ", 7) == 0)
			bit = F_CLIENT;
		else if (memcmp(s + off, "remote ", 7) == 0)
			bit = F_REMOTE;
		else
			continue;
		if (!(f->fields & bit))
			continue;
		off += 7;
		for (end = off; end < len && s[end] != ']' && s[end] != ' ';
		    end++)
			;
		spans_add(sp, off, apache_addr_len(s + off, end - off));
		off = end;
	}
}

/*
 * json: a recursive walker with a depth limit that never reads past len
 * and stops at the first malformed byte, keeping what it found.
 */

static inline void
json_ws(struct jwalk *w)
{
	char c;

	/* between tokens of compact json (nginx's): no space at all */
	if (w->i < w->len && (unsigned char)w->s[w->i] > ' ')
		return;
	while (w->i < w->len) {
		c = w->s[w->i];
		if (c != ' ' && c != '\t' && c != '\n' && c != '\r')
			break;
		w->i++;
	}
}

/* At a '"': the raw content is [*off, *off + *n); moves past the '"'. */
static int
json_string(struct jwalk *w, size_t *off, size_t *n)
{
	const char *q;
	size_t j = w->i + 1, k, b, near;

	for (;;) {
		/* keys and most values are short: look there before memchr */
		near = w->len - j < 24 ? w->len : j + 24;
		for (k = j; k < near && w->s[k] != '"'; k++)
			;
		if (k == near) {
			if (k >= w->len || (q = memchr(w->s + k, '"',
			    w->len - k)) == NULL)
				return -1;
			k = q - w->s;
		}
		for (b = k; b > w->i + 1 && w->s[b - 1] == '\\'; b--)
			;
		if ((k - b) % 2 == 0)
			break;
		j = k + 1;
	}
	*off = w->i + 1;
	*n = k - *off;
	w->i = k + 1;
	return 0;
}

/* A number, true, false or null: up to the next delimiter. */
static int
json_scalar(struct jwalk *w, size_t *off, size_t *n)
{
	size_t i = w->i;
	char c;

	while (i < w->len) {
		c = w->s[i];
		if (c == ',' || c == '}' || c == ']' || c == ' ' ||
		    c == '\t' || c == '\r' || c == '\n' || c == '"' ||
		    c == '{' || c == '[' || c == ':')
			break;
		i++;
	}
	if (i == w->i)
		return -1;
	*off = w->i;
	*n = i - w->i;
	w->i = i;
	return 0;
}

/* The fields of live whose component at level is the key k. */
static uint64_t
json_match(const struct format *f, size_t level, uint64_t live,
    const char *k, size_t klen)
{
	const struct jfield *jf;
	uint64_t m = 0;
	size_t j;

	for (j = 0; live != 0 && j < f->njf; j++) {
		jf = &f->jf[j];
		if (!(live & (1ULL << j)) || jf->ncomp <= level)
			continue;
		if (jf->len[level] == klen &&
		    memcmp(jf->name + jf->off[level], k, klen) == 0)
			m |= 1ULL << j;
	}
	return m;
}

/* Is a field of live complete at level (the value is an address)? */
static int
json_target(const struct format *f, size_t level, uint64_t live)
{
	size_t j;

	for (j = 0; live != 0 && j < f->njf; j++)
		if ((live & (1ULL << j)) && f->jf[j].ncomp == level)
			return 1;
	return 0;
}

/* A top-level key that may hold the time: look at its value. */
static void
json_time(struct jwalk *w, const char *k, size_t klen)
{
	struct jwalk peek = *w;
	size_t p, off, n;
	int64_t t;

	for (p = 0; p < w->tprio; p++)
		if (strlen(json_time_keys[p]) == klen &&
		    memcmp(json_time_keys[p], k, klen) == 0)
			break;
	if (p >= w->tprio)
		return;
	json_ws(&peek);
	if (peek.i < peek.len && peek.s[peek.i] == '"') {
		if (json_string(&peek, &off, &n) == -1)
			return;
	} else if (json_scalar(&peek, &off, &n) == -1)
		return;
	if (format_parse_time(w->s + off, n, &t) == 0) {
		*w->t = t;
		w->tprio = p;
	}
}

static int
json_object(struct jwalk *w, int nest, size_t level, uint64_t live)
{
	size_t koff, klen;
	uint64_t m;

	w->i++;
	json_ws(w);
	if (w->i < w->len && w->s[w->i] == '}') {
		w->i++;
		return 0;
	}
	for (;;) {
		json_ws(w);
		if (w->i >= w->len || w->s[w->i] != '"' ||
		    json_string(w, &koff, &klen) == -1)
			return -1;
		json_ws(w);
		if (w->i >= w->len || w->s[w->i] != ':')
			return -1;
		w->i++;
		m = json_match(w->f, level, live, w->s + koff, klen);
		if (nest == 1 && w->t != NULL)
			json_time(w, w->s + koff, klen);
		if (json_value(w, nest, level + 1, m) == -1)
			return -1;
		json_ws(w);
		if (w->i >= w->len)
			return -1;
		if (w->s[w->i] == '}') {
			w->i++;
			return 0;
		}
		if (w->s[w->i++] != ',')
			return -1;
	}
}

/* Elements of an array stand at the level of the array's key. */
static int
json_array(struct jwalk *w, int nest, size_t level, uint64_t live)
{
	char c;

	w->i++;
	json_ws(w);
	if (w->i < w->len && w->s[w->i] == ']') {
		w->i++;
		return 0;
	}
	for (;;) {
		if (json_value(w, nest, level, live) == -1)
			return -1;
		json_ws(w);
		if (w->i >= w->len)
			return -1;
		c = w->s[w->i++];
		if (c == ']')
			return 0;
		if (c != ',')
			return -1;
	}
}

static int
json_value(struct jwalk *w, int nest, size_t level, uint64_t live)
{
	size_t off, n;

	json_ws(w);
	if (w->i >= w->len)
		return -1;
	switch (w->s[w->i]) {
	case '{':
		if (nest >= JSON_DEPTH || level > JSON_DEPTH)
			return -1;
		return json_object(w, nest + 1, level, live);
	case '[':
		if (nest >= JSON_DEPTH)
			return -1;
		return json_array(w, nest + 1, level, live);
	case '"':
		if (json_string(w, &off, &n) == -1)
			return -1;
		if (json_target(w->f, level, live))
			spans_add_list(w->sp, w->s, off, off + n);
		return 0;
	default:
		return json_scalar(w, &off, &n);
	}
}

static void
scan_json(const struct format *f, const char *s, size_t len,
    struct spans *sp, int64_t *t)
{
	struct jwalk w;
	const char *q;

	memset(&w, 0, sizeof(w));
	w.f = f;
	w.s = s;
	w.len = len;
	w.sp = sp;
	w.t = t;
	w.tprio = NTIMEKEYS;
	json_ws(&w);
	if (w.i < len && s[w.i] != '{') {
		if ((q = memchr(s + w.i, '{', len - w.i)) == NULL)
			return;
		w.i = q - s;
	}
	if (w.i < len)
		(void)json_object(&w, 1, 0, f->njf == FIELDS_MAX ? ~0ULL :
		    (1ULL << f->njf) - 1);
}

/*
 * regex
 */

static void
scan_regex(struct format *f, const char *s, size_t len, struct spans *sp,
    int64_t *t)
{
	PCRE2_SIZE *ov, a, b;
	size_t i, j, n = 0;
	uint32_t g;
	int rc;

	if (f->jit)
		rc = pcre2_jit_match(f->re, (PCRE2_SPTR)s, len, 0, 0, f->md,
		    f->mctx);
	else
		rc = pcre2_match(f->re, (PCRE2_SPTR)s, len, 0, 0, f->md,
		    f->mctx);
	if (rc == PCRE2_ERROR_JIT_STACKLIMIT)
		rc = pcre2_match(f->re, (PCRE2_SPTR)s, len, 0, PCRE2_NO_JIT,
		    f->md, f->mctx);
	if (rc <= 0)
		return;
	ov = pcre2_get_ovector_pointer(f->md);
	for (i = 0; t != NULL && i < f->ntgroups; i++) {
		g = f->tgroups[i];
		if (g < (uint32_t)rc && ov[2 * g] != PCRE2_UNSET &&
		    ov[2 * g] <= ov[2 * g + 1] && ov[2 * g + 1] <= len &&
		    format_parse_time(s + ov[2 * g], ov[2 * g + 1] - ov[2 * g],
		    t) == 0)
			break;
	}
	/* Set groups sorted by start, the longer first: few, so insertion. */
	for (i = 0; i < f->ngroups; i++) {
		g = f->groups[i];
		if (g >= (uint32_t)rc || (a = ov[2 * g]) == PCRE2_UNSET ||
		    (b = ov[2 * g + 1]) < a || b > len)
			continue;
		for (j = n; j > 0 && (ov[2 * f->order[j - 1]] > a ||
		    (ov[2 * f->order[j - 1]] == a &&
		    ov[2 * f->order[j - 1] + 1] < b)); j--)
			f->order[j] = f->order[j - 1];
		f->order[j] = g;
		n++;
	}
	for (i = 0; i < n; i++) {
		g = f->order[i];
		spans_add_list(sp, s, ov[2 * g], ov[2 * g + 1]);
	}
}

/*
 * As lethe.h says; t may also be NULL when the caller does not want the
 * time (lethe mask masks every line), which spares parsing it.
 */
void
format_scan(struct format *f, const char *line, size_t len,
    struct spans *sp, int64_t *t)
{
	sp->n = 0;
	if (t != NULL)
		*t = TIME_NONE;
	if (len > UINT32_MAX)
		len = UINT32_MAX;
	switch (f->kind) {
	case FORMAT_COMBINED:
	case FORMAT_COMMON:
	case FORMAT_MAIN:
	case FORMAT_VHOST_COMBINED:
		scan_access(f, line, len, sp, t);
		break;
	case FORMAT_NGINX_ERROR:
		scan_nginx_error(f, line, len, sp, t);
		break;
	case FORMAT_APACHE_ERROR:
		scan_apache_error(f, line, len, sp, t);
		break;
	case FORMAT_JSON:
		scan_json(f, line, len, sp, t);
		break;
	case FORMAT_REGEX:
		scan_regex(f, line, len, sp, t);
		break;
	}
}

/*
 * Names and construction.
 */

int
format_kind_parse(const char *s, enum format_kind *k)
{
	size_t i;

	for (i = 0; i < NKINDS; i++) {
		if (strcmp(s, kinds[i].name) == 0) {
			*k = (enum format_kind)i;
			return 0;
		}
	}
	return -1;
}

const char *
format_kind_name(enum format_kind k)
{
	if ((size_t)k >= NKINDS)
		return "unknown";
	return kinds[k].name;
}

const char *
format_default_fields(enum format_kind k)
{
	if ((size_t)k >= NKINDS)
		return NULL;
	return kinds[k].fields;
}

/* One text format field name (s[0..n), "$" allowed): its bit, or -1. */
static int
text_field(enum format_kind k, const char *s, size_t n)
{
	size_t i;

	if (n > 0 && s[0] == '$') {
		s++;
		n--;
	}
	for (i = 0; i < sizeof(text_fields) / sizeof(text_fields[0]); i++) {
		if (strlen(text_fields[i].name) == n &&
		    memcmp(text_fields[i].name, s, n) == 0 &&
		    (text_fields[i].kinds & K(k)))
			return text_fields[i].bit;
	}
	return -1;
}

static int
setup_text(struct format *f, char *const *fields, size_t nfields)
{
	const char *d, *c;
	size_t i;
	int bit;

	if (nfields == 0) {
		d = kinds[f->kind].fields;
		for (;;) {
			c = d + strcspn(d, ",");
			f->fields |= text_field(f->kind, d, c - d);
			if (*c == '\0')
				break;
			d = c + 1;
		}
		return 0;
	}
	for (i = 0; i < nfields; i++) {
		if ((bit = text_field(f->kind, fields[i],
		    strlen(fields[i]))) == -1) {
			snprintf(format_err, sizeof(format_err),
			    "format %s has no address field \"%s\"",
			    kinds[f->kind].name, log_esc(fields[i]));
			return -1;
		}
		f->fields |= bit;
	}
	return 0;
}

static int
setup_json(struct format *f, char *const *fields, size_t nfields)
{
	struct jfield *jf;
	const char *c;
	size_t i, o;

	if (nfields == 0 || nfields > FIELDS_MAX) {
		snprintf(format_err, sizeof(format_err), "format json needs "
		    "1 to %d key names in \"addresses\"", FIELDS_MAX);
		return -1;
	}
	f->jf = xcalloc(nfields, sizeof(*f->jf));
	f->njf = nfields;
	for (i = 0; i < nfields; i++) {
		jf = &f->jf[i];
		jf->name = xstrdup(fields[i]);
		for (o = 0;; o = c - jf->name + 1) {
			c = jf->name + o + strcspn(jf->name + o, ".");
			if (c == jf->name + o || jf->ncomp == JSON_DEPTH) {
				snprintf(format_err, sizeof(format_err),
				    "bad json key \"%s\"", log_esc(jf->name));
				return -1;
			}
			jf->off[jf->ncomp] = o;
			jf->len[jf->ncomp++] = c - jf->name - o;
			if (*c == '\0')
				break;
		}
	}
	return 0;
}

/* Sort the named groups of the pattern: addresses and times. */
static int
regex_groups(struct format *f, char *const *fields, size_t nfields)
{
	PCRE2_SPTR table, first, last;
	const char *name;
	uint32_t count, esz, i;
	size_t j;
	int addr, any = 0;

	(void)pcre2_pattern_info(f->re, PCRE2_INFO_NAMECOUNT, &count);
	(void)pcre2_pattern_info(f->re, PCRE2_INFO_NAMEENTRYSIZE, &esz);
	(void)pcre2_pattern_info(f->re, PCRE2_INFO_NAMETABLE, &table);
	f->groups = xcalloc(count + 1, sizeof(*f->groups));
	f->order = xcalloc(count + 1, sizeof(*f->order));
	f->tgroups = xcalloc(count + 1, sizeof(*f->tgroups));
	for (i = 0; i < count; i++) {
		name = (const char *)table + (size_t)i * esz + 2;
		any |= addr = strncmp(name, "addr", 4) == 0;
		for (j = 0; !addr && j < nfields; j++)
			addr = strcmp(name, fields[j]) == 0;
		if (addr)
			f->groups[f->ngroups++] = table[i * esz] << 8 |
			    table[i * esz + 1];
		else if (strcmp(name, "time") == 0)
			f->tgroups[f->ntgroups++] = table[i * esz] << 8 |
			    table[i * esz + 1];
	}
	if (!any) {
		snprintf(format_err, sizeof(format_err),
		    "regex has no named group addr");
		return -1;
	}
	for (j = 0; j < nfields; j++) {
		if (pcre2_substring_nametable_scan(f->re,
		    (PCRE2_SPTR)fields[j], &first, &last) < 0) {
			snprintf(format_err, sizeof(format_err),
			    "regex has no named group \"%s\"",
			    log_esc(fields[j]));
			return -1;
		}
	}
	return 0;
}

static int
setup_regex(struct format *f, const char *regex, char *const *fields,
    size_t nfields)
{
	PCRE2_UCHAR msg[128];
	PCRE2_SIZE eoff;
	int ec;

	if (regex == NULL || nfields == 0) {
		snprintf(format_err, sizeof(format_err), "format regex needs "
		    "\"regex\" and \"addresses\" (its addr groups)");
		return -1;
	}
	f->re = pcre2_compile((PCRE2_SPTR)regex, PCRE2_ZERO_TERMINATED,
	    PCRE2_DUPNAMES, &ec, &eoff, NULL);
	if (f->re == NULL) {
		(void)pcre2_get_error_message(ec, msg, sizeof(msg));
		snprintf(format_err, sizeof(format_err),
		    "%s at offset %zu", (const char *)msg, (size_t)eoff);
		return -1;
	}
	if (regex_groups(f, fields, nfields) == -1)
		return -1;
	if ((f->md = pcre2_match_data_create_from_pattern(f->re, NULL)) ==
	    NULL || (f->mctx = pcre2_match_context_create(NULL)) == NULL)
		fatalx("pcre2: out of memory");
	if (pcre2_jit_compile(f->re, PCRE2_JIT_COMPLETE) == 0) {
		f->jit = 1;
		f->jstack = pcre2_jit_stack_create(32 * 1024, JIT_STACK_MAX,
		    NULL);
		if (f->jstack != NULL)
			pcre2_jit_stack_assign(f->mctx, NULL, f->jstack);
	}
	return 0;
}

/*
 * Compile a format; the caller owns the result (format_free).  fields
 * are copied.
 */
struct format *
format_new(enum format_kind kind, const char *regex, char *const *fields,
    size_t nfields, const char **errstr)
{
	struct format *f;
	int rc;

	*errstr = NULL;
	if ((size_t)kind >= NKINDS) {
		*errstr = "unknown format";
		return NULL;
	}
	f = xcalloc(1, sizeof(*f));
	f->kind = kind;
	f->regex = regex != NULL ? xstrdup(regex) : NULL;
	f->given = xcalloc(nfields + 1, sizeof(*f->given));
	for (f->ngiven = 0; f->ngiven < nfields; f->ngiven++)
		f->given[f->ngiven] = xstrdup(fields[f->ngiven]);
	if (kind == FORMAT_JSON)
		rc = setup_json(f, fields, nfields);
	else if (kind == FORMAT_REGEX)
		rc = setup_regex(f, regex, fields, nfields);
	else
		rc = setup_text(f, fields, nfields);
	if (rc == -1) {
		*errstr = format_err;
		format_free(f);
		return NULL;
	}
	return f;
}

void
format_free(struct format *f)
{
	size_t i;

	if (f == NULL)
		return;
	for (i = 0; i < f->njf; i++)
		free(f->jf[i].name);
	free(f->jf);
	pcre2_match_data_free(f->md);
	pcre2_match_context_free(f->mctx);
	pcre2_jit_stack_free(f->jstack);
	pcre2_code_free(f->re);
	free(f->groups);
	free(f->order);
	free(f->tgroups);
	for (i = 0; i < f->ngiven; i++)
		free(f->given[i]);
	free(f->given);
	free(f->regex);
	free(f);
}

/* A fresh copy of a compiled format, for another thread. */
struct format *
format_clone(const struct format *f)
{
	struct format *c;
	const char *errstr;

	if ((c = format_new(f->kind, f->regex, f->given, f->ngiven,
	    &errstr)) == NULL)
		fatalx("format_clone: %s", errstr);
	return c;
}
