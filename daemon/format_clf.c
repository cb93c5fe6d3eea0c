/*
 * Template formats: a line matched against the server's own format string
 * (logfmt.c), whole, left to right.  This is how combined, common, main
 * and vhost_combined are read too (format.c gives their strings).
 *
 * Every byte but what the server computes ($remote_addr, its clock,
 * status and sizes) is chosen by a client, and $remote_user is written
 * raw (nginx logs whatever an Authorization: Basic header holds), so a
 * field is never found by what it looks like: a field ends where the
 * literal after it begins, and where a free-text field could end in
 * several places, each is tried until the rest of the line fits (a
 * bounded backtracking).  Raw quotes are the anchors: nginx, Apache and
 * JSON escaping never leave one inside a value, so `[$time_local] "`
 * can only be the time right before the request's opening quote, never
 * a `[1000000000]` a client sent as its user name.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lethe.h"

#define STEPS_MAX	256	/* match attempts per line */

struct clf {
	struct tpl	 tpl;
	int		*bit;		/* per item: address field bit, or -1 */
	struct timefmt **tf;		/* per item: its time format, or NULL */
	uint32_t	*pos;		/* per item: start, end of its match */
	size_t		 time_item;	/* the one whose time the line takes */
	char		 clf_text[26];	/* the last CLF time, */
	int64_t		 clf_t;		/* its value, */
	int		 clf_ok;	/* if there is one */
};

struct clf_match {
	const struct clf *c;
	const struct format *f;
	const char	*s;
	size_t		 len;
	int64_t		 ref;
	int		 steps;
};

static char	clf_err[256];

/* ---- compile ------------------------------------------------------------- */

/* Does item it answer to name (its name, or as written; "$" optional)? */
static int
answers(const struct tpl_item *it, const char *name)
{
	if (name[0] == '$')
		name++;
	return strcmp(it->text, name) == 0 || strcmp(it->orig, name) == 0 ||
	    (it->orig[0] == '$' && strcmp(it->orig + 1, name) == 0);
}

/* "addresses": exactly the fields named (a header such as $http_x_foo
   named there becomes an address list). */
static int
pick_addresses(struct format *f, struct clf *c)
{
	struct tpl_item *it;
	size_t i, j;
	int found;

	for (j = 0; j < f->spec.nfields; j++) {
		found = 0;
		for (i = 0; i < c->tpl.n; i++) {
			it = &c->tpl.v[i];
			if (it->lit || !answers(it, f->spec.fields[j]))
				continue;
			if (it->role != TR_ADDR)
				it->role = TR_LIST;
			it->named = 1;
			found = 1;
		}
		if (!found) {
			(void)snprintf(clf_err, sizeof(clf_err), "addresses "
			    "names \"%s\", which the format does not have",
			    log_esc(f->spec.fields[j]));
			return -1;
		}
	}
	for (i = 0; i < c->tpl.n; i++) {
		it = &c->tpl.v[i];
		if ((it->role == TR_ADDR || it->role == TR_LIST) &&
		    !it->named)
			it->role = TR_OTHER;
	}
	return 0;
}

static int
compile_items(struct format *f, struct clf *c)
{
	struct tpl_item *it;
	const char *err;
	size_t i;
	int b;

	c->time_item = SIZE_MAX;
	for (i = 0; i < c->tpl.n; i++) {
		it = &c->tpl.v[i];
		c->bit[i] = -1;
		if (it->lit)
			continue;
		if (it->role == TR_ADDR || it->role == TR_LIST) {
			if ((b = format_add_name(f, it->text)) == -1) {
				(void)snprintf(clf_err, sizeof(clf_err),
				    "more than %d address fields", FIELDS_MAX);
				return -1;
			}
			c->bit[i] = b;
		}
		if (it->role != TR_TIME || c->time_item != SIZE_MAX)
			continue;
		c->time_item = i;
		if (f->spec.time_format != NULL)
			continue;	/* the set's time_format wins */
		if ((c->tf[i] = time_new(it->time, f->spec.zone != NULL ?
		    f->spec.zone : tz_utc(), &err)) == NULL) {
			f->errcol = it->col;
			(void)snprintf(clf_err, sizeof(clf_err), "%s: %s",
			    log_esc(it->orig), err);
			return -1;
		}
	}
	return 0;
}

/* What check should say of a log_format that compiles. */
static void
clf_warnings(struct format *f, const struct clf *c)
{
	const struct tpl_item *it;
	size_t i, n = 0;

	if (f->spec.log_format == NULL)
		return;		/* a built-in one */
	for (i = 0; i < c->tpl.n; i++) {
		it = &c->tpl.v[i];
		if (it->lit || !it->unknown || n++ > 0)
			continue;
		format_warn(f, it->col, "%s is not a variable lethe knows (a "
		    "map or set variable? a typo?): read as client text, "
		    "never as an address or a time", log_esc(it->orig));
	}
	if (n > 1)
		format_warn(f, 0, "log_format has %zu variables lethe does not "
		    "know; the first is named above", n);
	if (f->nnames == 0)
		format_warn(f, 0, "log_format has no address field "
		    "($remote_addr, %%h, %%a, ...): the lines it describes "
		    "keep whatever address they hold");
}

static int
clf_compile(struct format *f, const char **errstr)
{
	const char *src = f->spec.log_format;
	struct clf *c;

	if (src == NULL && (src = format_builtin(f->spec.kind)) == NULL) {
		*errstr = "no log_format";
		return -1;
	}
	c = xcalloc(1, sizeof(*c));
	f->priv = c;
	if (logfmt_parse(src, &c->tpl, errstr, &f->errcol) == -1)
		return -1;
	c->bit = xcalloc(c->tpl.n + 1, sizeof(*c->bit));
	c->tf = xcalloc(c->tpl.n + 1, sizeof(*c->tf));
	c->pos = xcalloc(2 * c->tpl.n + 2, sizeof(*c->pos));
	if ((f->spec.nfields > 0 && pick_addresses(f, c) == -1) ||
	    compile_items(f, c) == -1) {
		*errstr = clf_err;
		return -1;
	}
	clf_warnings(f, c);
	return 0;
}

static void
clf_release(struct format *f)
{
	struct clf *c = f->priv;
	size_t i;

	if (c == NULL)
		return;
	for (i = 0; i < c->tpl.n && c->tf != NULL; i++)
		time_free(c->tf[i]);
	free(c->tf);
	free(c->bit);
	free(c->pos);
	logfmt_release(&c->tpl);
	free(c);
	f->priv = NULL;
}

/* ---- match --------------------------------------------------------------- */

/* Is s[i] a raw quote (the escaping in force leaves none in values)? */
static int
raw_quote(const struct clf_match *m, size_t i)
{
	size_t b = i;

	if (m->s[i] != '"')
		return 0;
	if (m->c->tpl.esc == TE_NGINX || m->c->tpl.esc == TE_NONE)
		return 1;
	while (b > 0 && m->s[b - 1] == '\\')
		b--;
	return (i - b) % 2 == 0;
}

/* The first raw quote at or after i, or len. */
static size_t
next_quote(const struct clf_match *m, size_t i)
{
	const char *q;

	while (i < m->len && (q = memchr(m->s + i, '"', m->len - i)) != NULL) {
		i = (size_t)(q - m->s);
		if (raw_quote(m, i))
			return i;
		i++;
	}
	return m->len;
}

/* Bytes that end a token: blank, tab, quote. */
static const unsigned char token_end[256] = {
	['\t'] = 1, [' '] = 1, ['"'] = 1,
};

/* How far a field of this item may reach from pos. */
static size_t
limit(const struct clf_match *m, const struct tpl_item *it, size_t pos)
{
	size_t i;

	if (m->c->tpl.esc == TE_NONE && (it->quoted || it->cls != TC_TOKEN))
		return m->len;
	if (it->quoted || it->cls == TC_FREE || it->cls == TC_TIMEPAT)
		return next_quote(m, pos);
	for (i = pos; i < m->len; i++)
		if (token_end[(unsigned char)m->s[i]])
			break;
	return i;
}

static int	match(struct clf_match *, size_t, size_t);

/* Literals are a few bytes (" - ", "] \"", "\" \""): no call for them. */
static inline int
lit_eq(const char *a, const char *b, size_t n)
{
	while (n > 0 && *a == *b) {
		a++;
		b++;
		n--;
	}
	return n == 0;
}

/* A time field of a pattern, which must parse where it is. */
static int
timepat_ok(struct clf_match *m, size_t i, size_t a, size_t b)
{
	int64_t t;

	return format_time(m->f, m->s + a, b - a, m->ref, &t) == 0 ||
	    (m->c->tf[i] != NULL && time_parse(m->c->tf[i], m->s + a, b - a,
	    m->ref, &t) == 0);
}

/* Every field is asked; only a pattern's time has a say (no call). */
static inline int
time_ok(struct clf_match *m, size_t i, size_t a, size_t b)
{
	return m->c->tpl.v[i].cls != TC_TIMEPAT || timepat_ok(m, i, a, b);
}

/* Field i ends at end: record it and match the rest. */
static int
take(struct clf_match *m, size_t i, size_t pos, size_t end)
{
	uint32_t *p = m->c->pos;

	if (!time_ok(m, i, pos, end))
		return -1;
	p[2 * i] = (uint32_t)pos;
	p[2 * i + 1] = (uint32_t)end;
	return match(m, i + 1, end);
}

static int
fixed_shape(const struct clf_match *m, const struct tpl_item *it,
    size_t pos, size_t *end)
{
	const char *s = m->s + pos;

	if (it->cls == TC_CLF) {
		if (m->len - pos < 26 || s[2] != '/' || s[6] != '/' ||
		    s[11] != ':' || s[20] != ' ')
			return -1;
		*end = pos + 26;
		return 0;
	}
	if (m->len - pos < 25 || s[4] != '-' || s[10] != 'T')
		return -1;
	*end = pos + 25;
	return 0;
}

static int
match(struct clf_match *m, size_t i, size_t pos)
{
	const struct tpl *t = &m->c->tpl;
	const struct tpl_item *it, *next;
	const char *q;
	size_t lim, at, end;

	if (++m->steps > STEPS_MAX)
		return -1;
	if (i == t->n)
		return pos == m->len ? 0 : -1;
	it = &t->v[i];
	if (it->lit)
		return m->len - pos >= it->len && lit_eq(m->s + pos, it->text,
		    it->len) ? match(m, i + 1, pos + it->len) : -1;
	if ((it->cls == TC_CLF || it->cls == TC_ISO) && !it->quoted)
		return fixed_shape(m, it, pos, &end) == 0 ?
		    take(m, i, pos, end) : -1;
	lim = limit(m, it, pos);
	if ((next = i + 1 < t->n ? &t->v[i + 1] : NULL) == NULL)
		return lim == m->len ? take(m, i, pos, lim) : -1;
	/* Apache writes an empty user as "" (two raw quotes). */
	if (it->cls == TC_FREE && !it->quoted && m->len - pos >= 2 &&
	    m->s[pos] == '"' && m->s[pos + 1] == '"' &&
	    take(m, i, pos, pos + 2) == 0)
		return 0;
	for (at = pos; at <= lim; at = (size_t)(q - m->s) + 1) {
		q = memchr(m->s + at, next->text[0], lim - at + (lim < m->len));
		if (q == NULL || (size_t)(q - m->s) > lim)
			break;
		/* An address list outside quotes, "a, b, c": its blanks
		   follow commas. */
		if (it->role == TR_LIST && !it->quoted && q > m->s + pos &&
		    q[-1] == ',')
			continue;
		if (m->len - (size_t)(q - m->s) >= next->len &&
		    lit_eq(q, next->text, next->len) &&
		    take(m, i, pos, (size_t)(q - m->s)) == 0)
			return 0;
	}
	return -1;
}

/* Where field i from pos first ends as match() would try it (the next
   literal fits, its time parses), or SIZE_MAX. */
static size_t
first_end(struct clf_match *m, size_t i, size_t pos)
{
	const struct tpl_item *it = &m->c->tpl.v[i], *next = it + 1;
	const char *q;
	size_t lim, at, end;

	lim = limit(m, it, pos);
	for (at = pos; at <= lim; at = end + 1) {
		q = memchr(m->s + at, next->text[0], lim - at + (lim < m->len));
		if (q == NULL || (end = (size_t)(q - m->s)) > lim)
			break;
		if (it->role == TR_LIST && !it->quoted && end > pos &&
		    q[-1] == ',')
			continue;
		if (m->len - end >= next->len && lit_eq(q, next->text,
		    next->len) && time_ok(m, i, pos, end))
			return end;
	}
	return SIZE_MAX;
}

/*
 * The first path match() tries, walked without going back: each field
 * ends at the first place its next literal fits.  Most lines take it, so
 * most lines cost no recursion.  0: the whole line matched that way (the
 * positions are set, as match() would set them); -1: it did not, and
 * match() decides (another path, or none).
 */
static int
first_path(struct clf_match *m)
{
	const struct tpl *t = &m->c->tpl;
	const struct tpl_item *it;
	uint32_t *p = m->c->pos;
	size_t i, pos = 0, end;

	if (t->n + 1 > STEPS_MAX)
		return -1;	/* match() would stop on the way */
	for (i = 0; i < t->n; i++, pos = end) {
		it = &t->v[i];
		if (it->lit) {
			if (m->len - pos < it->len || !lit_eq(m->s + pos,
			    it->text, it->len))
				return -1;
			end = pos + it->len;
			continue;
		}
		if ((it->cls == TC_CLF || it->cls == TC_ISO) && !it->quoted) {
			if (fixed_shape(m, it, pos, &end) == -1 ||
			    !time_ok(m, i, pos, end))
				return -1;
		} else if (i + 1 == t->n) {
			if ((end = limit(m, it, pos)) != m->len ||
			    !time_ok(m, i, pos, end))
				return -1;
		} else if ((it->cls == TC_FREE && !it->quoted &&
		    m->len - pos >= 2 && m->s[pos] == '"' &&
		    m->s[pos + 1] == '"') ||
		    (end = first_end(m, i, pos)) == SIZE_MAX)
			return -1;	/* Apache's "" user: match()'s way */
		p[2 * i] = (uint32_t)pos;
		p[2 * i + 1] = (uint32_t)end;
	}
	return pos == m->len ? 0 : -1;
}

/* Two digits, or -1. */
static inline int
sec2(const char *s)
{
	unsigned a = (unsigned char)s[0] - '0', b = (unsigned char)s[1] - '0';

	return a <= 9 && b <= 9 ? (int)(a * 10 + b) : -1;
}

/* parse_clf with a cache: lines come in time order, many in a second. */
static int
clf_time(struct clf *c, struct format *f, size_t i, const char *s,
    size_t n, int64_t ref, int64_t *t)
{
	int ss, cs;

	if (c->tf[i] == NULL)
		return format_time(f, s, n, ref, t);
	if (n == 26 && c->tpl.v[i].cls == TC_CLF) {
		if (c->clf_ok && memcmp(s, c->clf_text, 26) == 0) {
			*t = c->clf_t;
			return 0;
		}
		/*
		 * "10/Oct/2000:13:55:36 -0700": in the same minute and with
		 * the same offset the time moves with the seconds alone (a
		 * leap second's :60 too, as parse_clf counts it).
		 */
		if (c->clf_ok && (ss = sec2(s + 18)) >= 0 && ss <= 60 &&
		    (cs = sec2(c->clf_text + 18)) >= 0 &&
		    memcmp(s, c->clf_text, 18) == 0 &&
		    memcmp(s + 20, c->clf_text + 20, 6) == 0) {
			*t = c->clf_t + (ss - cs);
			return 0;
		}
		if (time_parse(c->tf[i], s, n, ref, t) == -1)
			return -1;
		memcpy(c->clf_text, s, 26);
		c->clf_t = *t;
		c->clf_ok = 1;
		return 0;
	}
	return time_parse(c->tf[i], s, n, ref, t);
}

static void
clf_scan(struct format *f, void *state UNUSED, const char *line, size_t len,
    int64_t ref, struct scan *sc)
{
	struct clf *c = f->priv;
	struct clf_match m;
	const struct tpl_item *it;
	size_t i, a, b;

	m.c = c;
	m.f = f;
	m.s = line;
	m.len = len > 0 && line[len - 1] == '\r' ? len - 1 : len;
	m.ref = ref;
	m.steps = 0;
	if (first_path(&m) == -1 && match(&m, 0, 0) == -1) {
		sc->bad = SCAN_NOMATCH;
		return;
	}
	for (i = 0; i < c->tpl.n; i++) {
		it = &c->tpl.v[i];
		a = c->pos[2 * i];
		b = c->pos[2 * i + 1];
		if (it->lit)
			continue;
		if (c->bit[i] >= 0)
			format_field(f, sc, line, a, b, (unsigned)c->bit[i],
			    it->role == TR_LIST);
		if (i == c->time_item && clf_time(c, f, i, line + a, b - a, ref,
		    &sc->time) == -1) {
			sc->time = TIME_NONE;
			sc->bad = SCAN_NOTIME;
		}
	}
}

const struct format_ops format_clf_ops = {
	"log_format", clf_compile, clf_scan, NULL, NULL, clf_release, NULL, 0,
};
